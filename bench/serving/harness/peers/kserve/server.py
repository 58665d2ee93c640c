"""KServe ModelServer, v1 protocol: python server.py --http_port N
POST /v1/models/digits:predict {"instances": [[64 floats]]} -> {"predictions": [label]}
Model: $BENCH_MODEL_PATH (joblib). Defaults kept except: gRPC off, REST bound to 127.0.0.1, and
1 worker unless --workers N (KServe's own option: N uvicorn processes on one socket)."""

import os

import joblib
import numpy as np
import uvicorn
from kserve import Model, ModelServer, model_server

# KServe hard-codes host="0.0.0.0" for its REST server; bind to loopback only.
_uvicorn_config_init = uvicorn.Config.__init__


def _loopback_config(self, app, *args, **kwargs):
    kwargs["host"] = "127.0.0.1"
    _uvicorn_config_init(self, app, *args, **kwargs)


uvicorn.Config.__init__ = _loopback_config


class Digits(Model):
    def __init__(self, name):
        super().__init__(name)
        self.model = None
        self.load()

    def load(self):
        self.model = joblib.load(os.environ["BENCH_MODEL_PATH"])
        self.ready = True
        return self.ready

    def predict(self, payload, headers=None):
        x = np.asarray(payload["instances"], dtype=np.float64)
        return {"predictions": self.model.predict(x).tolist()}


if __name__ == "__main__":
    args, _ = model_server.parser.parse_known_args()
    ModelServer(http_port=args.http_port, enable_grpc=False, workers=args.workers).start(
        [Digits("digits")]
    )
