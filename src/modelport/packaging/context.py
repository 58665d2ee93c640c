"""Write a package's build context: the folder a container builder turns into the image.

    Dockerfile               two stages (packaging/dockerfile.py)
    app/                     the app root exactly as a replica gets it: source snapshot (or the
                             no-code entry script) + azureml-models/NAME/VERSION/...
    runtime/                 modelport's serving runtime snapshot (what a replica's .pth points at)
    requirements.lock.txt    the environment's uv lock
    wheels/                  empty, or the lock's wheels fetched on the host (offline build)
    package.json             what the package holds (models, entry script, Python, image name)

The app root is laid out by the deploy code itself (server/deploy/approot.py), so an image sees
the same files and the same ``AZUREML_MODEL_DIR`` as a local replica.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from modelport.errors import UserError
from modelport.packaging import dockerfile
from modelport.server.deploy import approot

MANIFEST = "package.json"
LOCK_FILE = "requirements.lock.txt"
WHEELS_DIR = "wheels"


@dataclass(frozen=True)
class PackageInputs:
    """Everything a package holds, resolved by the workspace server (packaging/assemble.py)."""

    models: tuple[approot.ModelFiles, ...]
    source_files: tuple[approot.FileEntry, ...]
    entry_script: str
    lock: str
    python_version: str
    environment_name: str
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    generated: Mapping[str, str] = field(default_factory=dict)  # no-code entry script
    no_code: str | None = None
    base_image: str | None = None  # the inference config's baseImage, if any
    image_name: str = "package"
    image_label: str = "latest"
    environment: Mapping[str, Any] = field(default_factory=dict)  # Azure JSON, to lock it
    stored_lock: str | None = None  # the revision's lock when packaging a service

    @property
    def model_dir(self) -> str:
        return approot.model_dir_env(self.models)

    def manifest(self) -> dict[str, Any]:
        return {
            "packageType": "DockerBuildContext",
            "imageName": self.image_name,
            "imageLabel": self.image_label,
            "models": [f"{m.name}:{m.version}" for m in self.models],
            "entryScript": self.entry_script,
            "modelDir": self.model_dir,
            "noCode": self.no_code,
            "environment": self.environment_name,
            "pythonVersion": self.python_version,
            "baseImage": self.base_image or dockerfile.default_base_image(self.python_version),
            "appRoot": dockerfile.APP_ROOT,
            "port": dockerfile.PORT,
        }


def write_context(
    dest: Path, inputs: PackageInputs, blob_path: approot.BlobPath, runtime_root: Path
) -> Path:
    """Create the build context in ``dest`` (must not exist): built aside, renamed into place."""
    if not inputs.lock.strip():
        raise UserError(
            f"Environment {inputs.environment_name!r} has no lock (user_managed_dependencies): "
            "a package installs its environment from a lock; use a managed environment."
        )
    clash = sorted(set(inputs.environment_variables) & set(dockerfile.RESERVED_ENV))
    if clash:
        raise UserError(
            f"Environment variable(s) {', '.join(clash)} are set by the package itself "
            "(app root, model dir, port); remove them from the environment."
        )
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    approot.lay_out(
        tmp / "app", inputs.models, inputs.source_files, blob_path, dict(inputs.generated)
    )
    shutil.copytree(runtime_root, tmp / "runtime", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp / LOCK_FILE).write_text(inputs.lock, encoding="utf-8")
    (tmp / WHEELS_DIR).mkdir()
    (tmp / WHEELS_DIR / "README").write_text(
        "Wheels for an offline build go here (modelport fetches them before building).\n"
    )
    spec = dockerfile.DockerfileSpec(
        python_version=inputs.python_version,
        entry_script=inputs.entry_script,
        model_dir=inputs.model_dir,
        base_image=inputs.base_image or dockerfile.default_base_image(inputs.python_version),
        environment=dict(inputs.environment_variables),
        labels={
            "org.opencontainers.image.title": inputs.image_name,
            "org.opencontainers.image.version": inputs.image_label,
            "modelport.models": ",".join(f"{m.name}:{m.version}" for m in inputs.models),
        },
    )
    (tmp / "Dockerfile").write_text(dockerfile.render(spec), encoding="utf-8")
    (tmp / MANIFEST).write_text(json.dumps(inputs.manifest(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, dest)
    return dest


def read_manifest(context_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(context_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(
            f"{context_dir} is not a modelport build context (no readable {MANIFEST})"
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"{context_dir}/{MANIFEST} is not a JSON object")
    return data


def write_tarball(context_dir: Path, out: Path) -> Path:
    """``context_dir`` as a reproducible .tar.gz (sorted, owner 0, mtime 0, modes 644/755)."""
    tmp = out.with_name(out.name + ".partial")
    with open(tmp, "wb") as raw:
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
        with gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(context_dir.rglob("*")):
                rel = path.relative_to(context_dir).as_posix()
                info = tar.gettarinfo(str(path), arcname=rel)
                info.uid = info.gid = 0
                # modes independent of the server's umask: readable by the image's non-root user
                info.mode = 0o755 if path.is_dir() or info.mode & 0o100 else 0o644
                info.uname = info.gname = ""
                info.mtime = 0
                if path.is_file():
                    with path.open("rb") as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)
    os.replace(tmp, out)
    return out


def extract_tarball(stream: IO[bytes], dest: Path) -> Path:
    """Unpack a context downloaded from the server into ``dest`` (created; must be empty)."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise UserError(f"{dest} is not empty; save a package into a new or empty folder")
    with tarfile.open(fileobj=stream, mode="r|gz") as tar:  # streamed: models can be large
        tar.extractall(dest, filter="data")  # refuses absolute paths, '..' and links out
    return dest
