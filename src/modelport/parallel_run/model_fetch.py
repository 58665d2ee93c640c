"""``Model.get_model_path`` inside a batch run started by driver code: download from its workspace.

v1 did this inside a run: a model missing from the cache was downloaded through the run's
workspace. The workers get that workspace from :func:`models.workspace_env` (``MODELPORT_URL``,
``MODELPORT_TOKEN``, ``MODELPORT_BATCH_WORKSPACE``). Standard library only: a script's built
environment has modelport's serving runtime (this package), not the SDK or httpx.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import ssl
import tempfile
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from modelport.compat.model import ModelNotFound, _models_dir, _the_one_entry
from modelport.parallel_run.models import MODELS_DIR, RUN_APP_ROOT, RUN_WORKSPACE

CHUNK = 1 << 20
_fetched: dict[tuple[str, int | None], str] = {}  # this process: one lookup per model


def fetch_for_script(name: str, version: int | None) -> str:
    """Download ``name`` (``version``, else the latest) from the run's workspace, once.

    Into ``<app root>/azureml-models/<name>/<version>/``; returns what ``get_model_path`` returns
    (the one registered file or folder). Several workers may ask at once: a file lock serialises
    them and the files go to a temp folder renamed into place, so nobody sees a partial model.
    """
    key = (name, version)
    if key in _fetched:
        return _fetched[key]
    workspace = os.environ[RUN_WORKSPACE]
    base = f"/workspaces/{quote(workspace, safe='')}"
    which = f"{name}:{version}" if version is not None else name
    try:
        model = json.loads(
            _get(
                f"{base}/models/{quote(name, safe='')}/versions/{'latest' if version is None else version}"
            ).read()
        )
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise ModelNotFound(
                f"Model {which}: workspace {workspace} answered {_why(e)}"
            ) from None
        raise ModelNotFound(
            f"Model {which} not found in cache at {_models_dir()} or in current working "
            f"directory {os.getcwd()}, and not registered in workspace {workspace}."
        ) from None
    except urllib.error.URLError as e:
        raise ModelNotFound(
            f"Model {which}: cannot reach the workspace server at {os.environ['MODELPORT_URL']} "
            f"({e.reason})"
        ) from None
    parent = os.path.join(_app_root(), MODELS_DIR, str(model["name"]))
    dest = os.path.join(parent, str(model["version"]))
    os.makedirs(parent, exist_ok=True)
    with open(os.path.join(parent, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not os.path.isdir(dest):
            partial = tempfile.mkdtemp(prefix=f".{model['version']}.partial-", dir=parent)
            try:
                for entry in model.get("files") or []:
                    _download(base, entry, partial)
                os.chmod(partial, 0o755)  # mkdtemp's 0700 would stick to the version folder
                os.replace(partial, dest)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
    _fetched[key] = _the_one_entry(dest)
    return _fetched[key]


def _download(base: str, entry: dict[str, Any], folder: str) -> None:
    rel = str(entry["path"])
    parts = rel.split("/")
    if rel.startswith("/") or ".." in parts:
        raise ModelNotFound(f"Refusing to write the model file {rel!r} outside {folder}.")
    target = os.path.join(folder, *parts)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    digest = hashlib.sha256()
    with _get(f"{base}/blobs/{entry['sha256']}") as response, open(target, "wb") as out:
        while data := response.read(CHUNK):
            out.write(data)
            digest.update(data)
    if digest.hexdigest() != entry["sha256"]:
        raise ModelNotFound(f"Checksum mismatch downloading model file {rel}: try again.")


def _get(path: str) -> Any:
    url = os.environ["MODELPORT_URL"].rstrip("/") + "/api/v1" + path
    request = urllib.request.Request(url)
    token = os.environ.get("MODELPORT_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = None
    if url.startswith("https://"):
        context = ssl.create_default_context(cafile=os.environ.get("MODELPORT_CA_BUNDLE"))
    return urllib.request.urlopen(request, timeout=60, context=context)


def _why(error: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(error.read()).get("message")
    except (ValueError, AttributeError):
        message = None
    return f"{error.code}: {message or error.reason}"


def _app_root() -> str:
    return os.environ.get("AML_APP_ROOT") or os.environ.get(RUN_APP_ROOT) or os.getcwd()
