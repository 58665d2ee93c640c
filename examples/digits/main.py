"""The main job: the Azure ML v1 "deploy a model" workflow, end to end, on this machine.

Train a digits classifier, register it, write an entry script and the v1 config files, deploy it
as a local web service, wait until it is Healthy and score a few rows through its scoring URI.
Running it again replaces the service (``overwrite=True``). Only the import lines differ from the
v1 how-to (``from azureml.core ...`` → ``from modelport ...``).

    ./scripts/demo                      # or: .venv/bin/python examples/digits/main.py
    ./scripts/demo --workdir /tmp/digits --service digits-demo --port 6789

Everything lives in ``$MODELPORT_HOME`` (default ``~/.modelport``; root's ``/var/lib/modelport``): the local workspace server,
its database and artifacts, the built environments, and this job's files under
``examples/digits``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

import httpx
import joblib
import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from modelport import Environment, InferenceConfig, Model, Webservice, Workspace
from modelport.errors import NotFound
from modelport.webservice import LocalWebservice

MODEL_NAME = "digits"
SCORE_PY = """\
import json
import os

import joblib
import numpy as np


def init():
    global model
    # AZUREML_MODEL_DIR is azureml-models/<name>/<version>; the registered file sits inside it.
    model = joblib.load(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "digits.pkl"))


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    return model.predict(data).tolist()
"""


def train(workdir: Path) -> tuple[Path, LogisticRegression, np.ndarray]:
    """Fit on scikit-learn's bundled digits (no download); return the pickle and held-out rows."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=0)
    clf = LogisticRegression(max_iter=2000)
    clf.fit(x_train, y_train)
    path = workdir / "model" / "digits.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(clf, path)
    return path, clf, x_test


def digits_environment(ws: Workspace) -> Environment:
    """As in the v1 how-to: clone a curated environment and add the packages score.py imports,
    pinned to the versions the model was trained with so that the pickle loads the same."""
    env = Environment.get(ws, "AzureML-Minimal").clone("digits-env")
    for package in (f"scikit-learn=={sklearn.__version__}", f"joblib=={joblib.__version__}"):
        env.python.conda_dependencies.add_pip_package(package)
    return env


def write_v1_files(workdir: Path, env: Environment, port: int) -> tuple[Path, Path]:
    """score.py in a source folder, and inferenceconfig.json / deploymentconfig.json beside it."""
    source = workdir / "source"
    source.mkdir(parents=True, exist_ok=True)
    (source / "score.py").write_text(SCORE_PY)
    ic = {
        "entryScript": "score.py",
        "sourceDirectory": "source",
        "environment": env._serialize_to_dict(),
    }
    dc = {"computeType": "local", "port": port}
    ic_path, dc_path = workdir / "inferenceconfig.json", workdir / "deploymentconfig.json"
    ic_path.write_text(json.dumps(ic, indent=4) + "\n")
    dc_path.write_text(json.dumps(dc, indent=4) + "\n")
    return ic_path, dc_path


def choose_port(ws: Workspace, service: str, wanted: int | None) -> int:
    """The asked port; else the service's current one (a rerun keeps its URI); else 6789 if free."""
    if wanted:
        return wanted
    try:
        current = Webservice(ws, service).port
    except NotFound:
        current = None
    if current:
        return int(current)
    for port in (6789, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port")


def default_workdir() -> Path:
    # the server's own default (root's is /var/lib/modelport): creating ~/.modelport here first
    # would make root's server keep that home, where replicas cannot get users of their own
    from modelport.server.home import default_home

    return default_home() / "examples" / "digits"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=default_workdir(),
        help="where the model, score.py and the config files are written "
        "(default: $MODELPORT_HOME/examples/digits)",
    )
    parser.add_argument("--service", default="digits-svc", help="service name")
    parser.add_argument("--workspace", default="default", help="workspace name")
    parser.add_argument(
        "--port", type=int, default=None, help="service port (default 6789 if free)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    # 1. Train.
    model_path, clf, x_test = train(workdir)
    print(f"Trained LogisticRegression on digits: {model_path}")

    # 2. Connect to the workspace (the local workspace server starts on first use).
    ws = Workspace.get(args.workspace)
    print(f"Workspace {ws.name} at {ws.server_url}")

    # 3. Register the model.
    model = Model.register(
        workspace=ws,
        model_path=str(model_path),
        model_name=MODEL_NAME,
        tags={"area": "digits", "type": "classification"},
        description="LogisticRegression on scikit-learn's digits",
        model_framework=Model.Framework.SCIKITLEARN,
        model_framework_version=sklearn.__version__,
    )
    print(f"Registered model {model.id}")

    # 4. Entry script, inference and deployment configuration (v1 files, and the SDK objects).
    port = choose_port(ws, args.service, args.port)
    env = digits_environment(ws)
    ic_path, dc_path = write_v1_files(workdir, env, port)
    print(f"Wrote {workdir / 'source' / 'score.py'}, {ic_path.name}, {dc_path.name}")
    inference_config = InferenceConfig(
        entry_script="score.py", source_directory=str(workdir / "source"), environment=env
    )
    deployment_config = LocalWebservice.deploy_configuration(port=port)

    # 5. Deploy and wait.
    service = Model.deploy(
        ws, args.service, [model], inference_config, deployment_config, overwrite=True
    )
    service.wait_for_deployment(show_output=True)
    print(f"State: {service.state}")
    print(f"Scoring URI: {service.scoring_uri}")

    # 6. Score a few rows: plain HTTP, then service.run(); compare with the in-process model.
    rows = x_test[:5]
    expected = clf.predict(rows).tolist()
    body = json.dumps({"data": rows.tolist()})
    assert service.scoring_uri is not None
    answer = httpx.post(
        service.scoring_uri, content=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    answer.raise_for_status()
    via_http = answer.json()
    via_run = service.run(body)
    print(f"Answers (HTTP POST): {via_http}")
    print(f"Answers (service.run): {via_run}")
    print(f"Expected (in process): {expected}")
    ok = via_http == expected and via_run == expected
    # modelport only: a one-time link that signs a browser in to the studio (valid 5 minutes)
    from modelport.cli.studio import link_for

    print(f"Studio: {link_for(ws)}")
    print(
        f"{'OK' if ok else 'MISMATCH'}: {service.name} is {service.state} in {time.monotonic() - started:.1f}s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
