"""Shared by the packaging tests (and the Kubernetes tests that run package images).

``ensure_debian_base()`` makes the registry-free base image once per machine: a Debian bookworm
root file system from debootstrap, imported into podman as ``localhost/debian-python:bookworm``
(~50 s, then reused by every run); ``podman_missing()`` says why image tests cannot run here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BASE_IMAGE = "localhost/debian-python:bookworm"
BASE_LOCK = Path(tempfile.gettempdir()) / "mp-debian-base.lock"
# run flags that work on these hosts (hybrid cgroups, no CAP_SYS_RESOURCE): reference note
RUN_FLAGS = (
    "--runtime", "runc", "--network=host",
    "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
)  # fmt: skip


def digits_conda_config(folder: Path, base_image: str | None = None) -> Any:
    """The digits entry script with its packages in a v1 conda file (an InferenceConfig).

    The image tests (tests/packaging, tests/kubernetes/test_kube_play.py) all use this one, so they
    resolve one lock: the first image build installs it, the later ones reuse podman's layers."""
    import yaml

    from modelport import InferenceConfig
    from tests.e2e.deploy_support import DIGITS_SCORE
    from tests.e2e.sdk_deploy_support import DIGITS_PACKAGES, write_source

    folder.mkdir(parents=True, exist_ok=True)
    conda = folder / "conda.yml"  # v1: baseImage goes with a conda file, not an environment
    conda.write_text(yaml.safe_dump({"dependencies": [{"pip": DIGITS_PACKAGES}]}))
    with warnings.catch_warnings():  # "runtime is deprecated": v1 files still carry it
        warnings.simplefilter("ignore")
        return InferenceConfig(
            entry_script="score.py",
            source_directory=str(write_source(folder / "src", DIGITS_SCORE)),
            runtime="python",
            conda_file=str(conda),
            base_image=base_image,
        )


def podman_missing() -> str | None:
    """Why podman-based tests cannot run here, or None."""
    for tool in ("podman", "runc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/system-deps installs it as root on Debian)"
    probe = subprocess.run(["podman", "info"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"podman does not work here: {probe.stderr.strip()[-200:]}"
    return None


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    with open(BASE_LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_debian_base() -> str:
    """The base image's name, creating it first if podman does not have it (one process at a time)."""
    with _locked():
        if subprocess.run(["podman", "image", "exists", BASE_IMAGE], check=False).returncode == 0:
            return BASE_IMAGE
        if shutil.which("debootstrap") is None:
            raise RuntimeError("debootstrap is not installed: cannot make " + BASE_IMAGE)
        with tempfile.TemporaryDirectory(prefix="mp-rootfs-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            subprocess.run(
                ["debootstrap", "--variant=minbase", "--include=python3,python3-venv",
                 "bookworm", str(rootfs)],
                check=True, capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )  # fmt: skip
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(["podman", "import", "-", BASE_IMAGE], stdin=tar.stdout, check=True,
                           capture_output=True)  # fmt: skip
            tar.wait()
        return BASE_IMAGE


def wait_healthy(url: str, timeout: float, stopped: Callable[[], str | None]) -> None:
    """Poll ``GET url/`` until 200; ``stopped()`` returns why the container is gone (fail at once)."""
    import httpx
    import pytest

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        reason = stopped()
        if reason is not None:
            pytest.fail(f"the container stopped: {reason}")
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer GET / within {timeout:.0f} s")
        time.sleep(0.2)  # poll interval, bounded by the deadline
