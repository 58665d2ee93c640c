# Peer definitions for harness/run_peers.sh (PEERS_FILE=bench/serving/peers_modelport.sh).
# modelport serves the azureml peer's entry script unchanged (harness/peers/azureml/score.py).
MP_ROOT=${MP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MP_PY=${MP_PY:-$MP_ROOT/.venv/bin/python}
peer_modelport() {
  NAME=modelport; URL=http://127.0.0.1:5010/score; BODY=$M/body_data.json; EXPECT='[0]'
  CWD=$MP_ROOT/bench/serving/harness/peers/azureml; WORKERS="1 (default; thread-pool run())"
  ENVS=(--env "PATH=$MP_ROOT/.venv/bin:/usr/local/bin:/usr/bin:/bin")
  CMD=("$MP_PY" -m modelport.serving --entry-script score.py --port 5010 --log-level WARNING)
}
peer_modelport_batch() {
  NAME=modelport_batch; URL=http://127.0.0.1:5011/score; BODY=$M/body_data.json; EXPECT='[0]'
  CWD=$MP_ROOT/bench/serving; WORKERS="1 (@modelport.batch 64 / 5 ms)"
  ENVS=(--env "PATH=$MP_ROOT/.venv/bin:/usr/local/bin:/usr/bin:/bin")
  CMD=("$MP_PY" -m modelport.serving --entry-script score_batch.py --port 5011 --log-level WARNING)
}
peer_modelport_noop() {
  NAME=modelport_noop; URL=http://127.0.0.1:5012/score; BODY=$M/body_data.json; EXPECT='[0]'
  CWD=$MP_ROOT/bench/serving; WORKERS="1 (run() returns [0]: the server's own cost)"
  ENVS=(--env "PATH=$MP_ROOT/.venv/bin:/usr/local/bin:/usr/bin:/bin")
  CMD=("$MP_PY" -m modelport.serving --entry-script score_noop.py --port 5012 --log-level WARNING)
}
