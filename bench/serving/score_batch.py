"""The digits entry script with @modelport.batch: concurrent requests share one model.predict call."""

import json
import os

import joblib
import numpy as np

import modelport

model = None


def init():
    global model
    path = os.environ.get("BENCH_MODEL_PATH") or os.path.join(
        os.environ.get("AZUREML_MODEL_DIR", "."), "model.joblib"
    )
    model = joblib.load(path)


@modelport.batch(max_batch_size=64, max_latency_ms=5)
def run(raws):
    rows = [json.loads(r)["data"] for r in raws]
    x = np.asarray([row for r in rows for row in r], dtype=np.float64)
    pred = model.predict(x).tolist()
    out, i = [], 0
    for r in rows:
        out.append(pred[i : i + len(r)])
        i += len(r)
    return out
