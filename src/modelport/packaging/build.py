"""Build a package's image with whichever of podman, buildah or docker is installed.

Wheels first (``fetch_wheels=True``, the default): the lock's wheels are downloaded on this host
into the context's ``wheels/``, so the build installs with ``--no-index`` and needs no network at
all. That is what an air-gapped builder needs, it uses this host's proxy and CA trust (a build
container's own pip trusts only its bundled CAs), and repeated builds hit pip's cache here.
Without wheels the build installs from the package index inside the container.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from modelport.errors import UserError
from modelport.packaging.context import LOCK_FILE, WHEELS_DIR, read_manifest

BUILDERS = ("podman", "buildah", "docker")
# podman/buildah: chroot isolation runs RUN steps without an OCI runtime or cgroups, so builds
# work inside containers and CI runners too (the steps only run pip); override with this variable.
ISOLATION_VARIABLE = "MODELPORT_BUILD_ISOLATION"


def find_builder(preferred: str | None = None) -> str:
    """The builder to use: ``preferred`` if given, else the first of podman, buildah, docker."""
    names = (preferred,) if preferred else BUILDERS
    for name in names:
        if name not in BUILDERS:
            raise UserError(f"Unknown image builder {name!r}; use one of {', '.join(BUILDERS)}.")
        if shutil.which(name):
            return name
    wanted = preferred or "podman, buildah or docker"
    raise UserError(
        f"No container image builder found on this machine ({wanted} on PATH). Install one "
        "(e.g. `apt-get install podman`), or build the saved context elsewhere with "
        "`docker build` / `podman build`."
    )


def download_wheels(context_dir: Path, log: Callable[[str], None] = print) -> int:
    """Download the lock's wheels into ``context_dir/wheels`` for an offline build; returns how
    many wheels are there. Runs pip on this host, for the package's Python version."""
    context_dir = Path(context_dir)
    python_version = str(read_manifest(context_dir)["pythonVersion"])
    if platform.system() != "Linux":
        log(f"Not fetching wheels on {platform.system()}: the image is Linux; it installs from "
            "the package index instead.")  # fmt: skip
        return 0
    major_minor = ".".join(python_version.split(".")[:2])
    dest = context_dir / WHEELS_DIR
    args = [
        "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
        "--python-version", major_minor, "--implementation", "cp",
        "--dest", str(dest), "-r", str(context_dir / LOCK_FILE),
    ]  # fmt: skip
    log(f"Fetching the lock's wheels for Python {major_minor} into {dest} (offline build).")
    result = _stream([*_pip(), *args], log, quiet=True)
    if result != 0:
        raise UserError(
            f"Fetching the wheels failed (pip exit {result}); see the lines above, or build with "
            "--no-wheels to install from the package index inside the image."
        )
    return len(list(dest.glob("*.whl")))


def _pip() -> list[str]:
    """This interpreter's pip, else uv's (``uv tool run``): the control plane does not need pip."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    from modelport.environments.uvtool import uv_path

    return [str(uv_path()), "tool", "run", "--from", "pip>=23", "pip"]


def build_image(
    context_dir: str | Path,
    tag: str,
    *,
    base_image: str | None = None,
    builder: str | None = None,
    fetch_wheels: bool = True,
    extra_args: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> str:
    """Build the image of a saved package context and return ``tag``.

    ``base_image`` overrides the Dockerfile's ``BASE_IMAGE`` (it needs the package's Python);
    ``builder`` picks podman, buildah or docker (default: the first installed).
    """
    context_dir = Path(context_dir)
    manifest = read_manifest(context_dir)
    tool = find_builder(builder)
    if fetch_wheels and not any((context_dir / WHEELS_DIR).glob("*.whl")):
        download_wheels(context_dir, log)
    cmd = [tool, "bud" if tool == "buildah" else "build", "-t", tag]
    if tool in ("podman", "buildah"):
        # docker format: OCI images drop HEALTHCHECK
        cmd += ["--format", "docker", f"--isolation={os.environ.get(ISOLATION_VARIABLE, 'chroot')}"]
    if base_image:
        cmd += ["--build-arg", f"BASE_IMAGE={base_image}"]
    cmd += [*extra_args, str(context_dir)]
    log(f"Building {tag} with {tool} (models {', '.join(manifest.get('models', []))}, base "
        f"{base_image or manifest.get('baseImage')}).")  # fmt: skip
    seen: list[str] = []

    def keep(line: str) -> None:
        seen[:] = [*seen[-19:], line]
        log(line)

    result = _stream(cmd, keep)
    if result != 0:
        last = next((line for line in reversed(seen) if line.strip()), "no output")
        raise UserError(f"{tool} build of {tag} failed (exit {result}): {last}")
    log(f"Built {tag}.")
    return tag


def _stream(cmd: list[str], log: Callable[[str], None], *, quiet: bool = False) -> int:
    """Run ``cmd``, handing each output line to ``log``; its exit code."""
    env = dict(os.environ)
    env.setdefault("BUILDAH_LAYERS", "true")
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, bufsize=1, env=env,
        )  # fmt: skip
    except OSError as exc:
        raise UserError(f"Cannot run {cmd[0]}: {exc.strerror or exc}") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        if line and not (quiet and line.startswith(("  ", "Collecting", "Saved", "Requirement"))):
            log(line)
    return proc.wait()


def image_size(tag: str, builder: str | None = None) -> int:
    """Bytes of a built image (podman/docker ``image inspect``)."""
    tool = find_builder(builder)
    out = subprocess.run(
        [tool, "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise UserError(f"{tool} image inspect {tag} failed: {out.stderr.strip()}")
    return int(out.stdout.strip().splitlines()[0])
