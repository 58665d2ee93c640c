#!/usr/bin/env bash
# One full side-by-side run: modelport and the peers (azureml-inference-server-http, mlflow,
# bentoml, litserve) at 1/8/64 connections, one worker each pinned to CPU 0, wrk on CPU 1;
# then @modelport.batch against unbatched modelport at 64 connections; then the tables.
#
# usage: bench/serving/run.sh OUT_NAME        (results in bench/serving/results/OUT_NAME[-batch])
# Needs the peers' venvs and the model: bench/serving/harness/setup_peers.sh (once, ~5 min).
# Env: DURATION (10), WARMUP (2), COLD (3), VENVS (~/.cache/modelport-bench).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: run.sh OUT_NAME}
VENVS=${VENVS:-$HOME/.cache/modelport-bench}
[ -f "$VENVS/model/model.joblib" ] || "$HERE/harness/setup_peers.sh"
export DURATION=${DURATION:-10} WARMUP=${WARMUP:-2} PEERS_FILE="$HERE/peers_modelport.sh"
"$HERE/harness/run_peers.sh" "$HERE/results/$OUT" modelport azureml mlflow bentoml litserve
CONC=64 "$HERE/harness/run_peers.sh" "$HERE/results/$OUT-batch" modelport_batch modelport
python3 "$HERE/report.py" "$HERE/results/$OUT" "$HERE/results/$OUT-batch" \
  --python "$HERE/../../.venv/bin/python" --model "$VENVS/model/model.joblib"
