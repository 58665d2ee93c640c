"""Ray Serve: python server.py --port N   (POST /predict)
One deployment, 1 replica. Request {"data": [[64 floats]]} -> {"predictions": [label]}.
Model: $BENCH_MODEL_PATH. Local Ray cluster started here (dashboard off), bound to 127.0.0.1."""

import argparse
import os
import signal
import threading

import joblib
import numpy as np
import ray
from ray import serve
from starlette.requests import Request


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 0})
class Digits:
    def __init__(self):
        self.model = joblib.load(os.environ["BENCH_MODEL_PATH"])

    async def __call__(self, request: Request):
        body = await request.json()
        x = np.asarray(body["data"], dtype=np.float64)
        return {"predictions": self.model.predict(x).tolist()}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8000)
    a = ap.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ray.init(include_dashboard=False, num_cpus=1, _node_ip_address="127.0.0.1")
    serve.start(http_options={"host": "127.0.0.1", "port": a.port})
    serve.run(Digits.bind(), name="digits", route_prefix="/predict")
    print("ready", flush=True)
    stop.wait()
    serve.shutdown()
    ray.shutdown()
