"""Entry scripts the batch tests run (written into tmp folders; real worker processes run them)."""

from __future__ import annotations

from pathlib import Path

# Files named like a fault make the script misbehave, once per marker folder when "once" is in
# the name: "bad" raises, "hang" sleeps past the timeout, "kill" SIGKILLs its own worker.
FAULTY = """
import os, signal, sys, time

MARKS = os.environ["TEST_MARKS"]


def init():
    with open(os.path.join(MARKS, f"init-{os.getpid()}"), "w"):
        pass


def _first_time(name):
    mark = os.path.join(MARKS, "done-" + name)
    if os.path.exists(mark):
        return False
    open(mark, "w").close()
    return True


def run(mini_batch):
    out = []
    for path in mini_batch:
        name = os.path.basename(path)
        once = "once" in name
        if "bad" in name and (not once or _first_time(name)):
            raise ValueError(f"bad input {name}")
        if "hang" in name and (not once or _first_time(name)):
            time.sleep(600)
        if "kill" in name and (not once or _first_time(name)):
            os.kill(os.getpid(), signal.SIGKILL)
        if "slow" in name:
            time.sleep(0.3)
        out.append(f"{name} {open(path).read().strip()}")
    return out
"""

TABLE = """
import argparse

def init():
    global scale
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1)
    args, _unknown = parser.parse_known_args()
    scale = args.scale


def run(mini_batch):
    mini_batch["y"] = mini_batch["x"] * scale
    return mini_batch[["id", "y"]]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def make_files(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        (folder / name).write_text(str(i))
    return folder
