#!/usr/bin/env bash
# One sweep of the whole side-by-side (issue 15): modelport, KServe 0.21 ModelServer, MLServer,
# azureml-inference-server-http, LitServe, MLflow, BentoML and Ray Serve at 1/8/64 connections,
# one worker each pinned to CPU 0, wrk on CPU 1; then the modes: modelport and KServe with two
# workers (unpinned, c=64), modelport plain / key auth / TLS / both (c=1 and 8, back to back);
# modelport with busy-poll off (one and two workers, the A/B of --busy-poll-us); the script's
# in-process cost in modelport's venv and the peers'; then the report.
#
# usage: bench/serving/run.sh OUT_NAME [reverse]   (reverse: the same list in the opposite order)
# Results: bench/serving/results/OUT_NAME/ (raw JSON per server), OUT_NAME.md (the tables),
# OUT_NAME.summary.json (the figures and the targets). Server logs: $VENVS/logs/runs/OUT_NAME/.
# Needs the peers' venvs and the model: bench/serving/harness/setup_peers.sh (once; run here if
# the model is missing). Env: DURATION (10), WARMUP (2), COLD (3), VENVS (~/.cache/modelport-bench),
# ONLY="name ..." (a subset), BATCH=1 (also @modelport.batch vs unbatched at c=64), NOOP=1 (also
# the server's own cost with a run() that does no model work).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: run.sh OUT_NAME [reverse]}
ORDER=${2:-forward}
export VENVS=${VENVS:-$HOME/.cache/modelport-bench}
M=$VENVS/model
MP_PY=$HERE/../../.venv/bin/python
[ -f "$M/body_kserve_v1.json" ] || "$HERE/harness/setup_peers.sh"
export DURATION=${DURATION:-10} WARMUP=${WARMUP:-2} COLD=${COLD:-3} PEERS_FILE="$HERE/peers_modelport.sh"

LIST=(modelport kserve mlserver azureml litserve mlflow bentoml rayserve
      modelport_w2 kserve_w2 modelport_plain modelport_key modelport_tls modelport_keytls
      modelport_nopoll modelport_w2_nopoll)
[ "${NOOP:-0}" = 1 ] && LIST+=(modelport_noop)
[ -n "${ONLY:-}" ] && read -ra LIST <<<"$ONLY"
if [ "$ORDER" = reverse ]; then
  for ((i = ${#LIST[@]} - 1; i >= 0; i--)); do REV+=("${LIST[i]}"); done
  LIST=("${REV[@]}")
fi

RUN=$HERE/results/$OUT
mkdir -p "$RUN"
{
  echo "# git $(git -C "$HERE" log -1 --format='%h %cI %s' | cut -c1-100)"
  echo "# uncommitted files under src/modelport: $(git -C "$HERE" status --porcelain -- ../../src/modelport | wc -l)"
  echo "# order: ${LIST[*]}"
} >"$RUN/commit.txt"
cat "$RUN/commit.txt"
# The script's own work in modelport's venv (the peers' venv is measured by run_peers.sh)
taskset -c 0 "$MP_PY" -W ignore "$HERE/harness/model_cost.py" --model-dir "$M" \
  --json-out "$RUN/model_cost_modelport.json" | tail -3
rc=0
"$HERE/harness/run_peers.sh" "$RUN" "${LIST[@]}" || rc=$?
if [ "${BATCH:-0}" = 1 ]; then
  CONC=64 "$HERE/harness/run_peers.sh" "$RUN-batch" modelport_batch modelport || rc=$?
fi
cat "$RUN/commit.txt" >>"$RUN/run-info.txt"
python3 "$HERE/report.py" "$RUN" --json-out "$HERE/results/$OUT.summary.json" \
  --python "$MP_PY" --model "$M/model.joblib" | tee "$HERE/results/$OUT.md"
exit $rc
