# Peer definitions for harness/run_peers.sh (PEERS_FILE=bench/serving/peers_modelport.sh): modelport
# in its measured modes, and KServe with two workers. modelport serves the azureml peer's entry
# script unchanged (harness/peers/azureml/score.py) with every feature on (request ids, metrics,
# admission control). The modes launch once for their cold start (MODE_COLD=1): it is not what
# they measure.
MP_ROOT=${MP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MP_PY=${MP_PY:-$MP_ROOT/.venv/bin/python}
MP_ENVS=(--env "PATH=$MP_ROOT/.venv/bin:/usr/local/bin:/usr/bin:/bin")
# Key, auth file and self-signed certificate for the auth/TLS modes: made on the spot, outside git.
SECRETS=${SECRETS:-$VENVS/secrets}

mp_secrets() {
  [ -s "$SECRETS/cert.pem" ] && [ -s "$SECRETS/auth.json" ] && return 0
  mkdir -p "$SECRETS" && chmod 700 "$SECRETS"
  python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$SECRETS/key.txt"
  python3 - "$SECRETS" <<'EOF'
import hashlib, json, sys
d = sys.argv[1]
key = open(f"{d}/key.txt").read().strip()
json.dump({"mode": "key", "keyHashes": [hashlib.sha256(key.encode()).hexdigest()]},
          open(f"{d}/auth.json", "w"))
EOF
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$SECRETS/tlskey.pem" -out "$SECRETS/cert.pem" \
    2>/dev/null
}

# $1 name, $2 port, $3 scheme; the rest: extra server arguments
mp_peer() {
  NAME=$1; URL=$3://127.0.0.1:$2/score; BODY=$M/body_data.json; EXPECT='[0]'
  CWD=$MP_ROOT/bench/serving/harness/peers/azureml; ENVS=("${MP_ENVS[@]}")
  CMD=("$MP_PY" -m modelport.serving --entry-script score.py --port "$2" --log-level WARNING "${@:4}")
}
peer_modelport() {
  mp_peer modelport 5010 http; WORKERS="1 (default; run() inline on the loop while short)"
}
peer_modelport_w2() {  # two workers on both cores (wrk stays on CPU 1), at 64 connections
  mp_peer modelport_w2 5013 http --workers 2; WORKERS="2 (--workers 2, unpinned: CPUs 0-1)"
  PCPU=0-1; PCONC=${W2_CONC:-64}; PCOLD=${MODE_COLD:-1}
}
peer_modelport_key() {
  mp_secrets; mp_peer modelport_key 5014 http --auth-file "$SECRETS/auth.json"
  WORKERS="1 (key auth)"; PCONC=${SEC_CONC:-1,8}; PCOLD=${MODE_COLD:-1}
  HEADERS=(--header "Authorization: Bearer $(cat "$SECRETS/key.txt")")
}
peer_modelport_tls() {
  mp_secrets
  mp_peer modelport_tls 5015 https --tls-cert "$SECRETS/cert.pem" --tls-key "$SECRETS/tlskey.pem"
  WORKERS="1 (TLS)"; PCONC=${SEC_CONC:-1,8}; PCOLD=${MODE_COLD:-1}
}
peer_modelport_keytls() {
  mp_secrets
  mp_peer modelport_keytls 5016 https --auth-file "$SECRETS/auth.json" \
    --tls-cert "$SECRETS/cert.pem" --tls-key "$SECRETS/tlskey.pem"
  WORKERS="1 (key auth + TLS)"; PCONC=${SEC_CONC:-1,8}; PCOLD=${MODE_COLD:-1}
  HEADERS=(--header "Authorization: Bearer $(cat "$SECRETS/key.txt")")
}
peer_modelport_plain() {  # the security modes' baseline, measured next to them
  mp_peer modelport_plain 5018 http; WORKERS="1 (plain: the auth/TLS baseline)"
  PCONC=${SEC_CONC:-1,8}; PCOLD=${MODE_COLD:-1}
}
peer_modelport_nopoll() {  # the busy-poll A/B: one worker as modelport, polling off
  mp_peer modelport_nopoll 5019 http --busy-poll-us 0; WORKERS="1 (--busy-poll-us 0)"
  PCOLD=${MODE_COLD:-1}
}
peer_modelport_w2_nopoll() {  # two workers as modelport_w2, polling off
  mp_peer modelport_w2_nopoll 5022 http --workers 2 --busy-poll-us 0
  WORKERS="2 (--workers 2 --busy-poll-us 0, unpinned: CPUs 0-1)"
  PCPU=0-1; PCONC=${W2_CONC:-64}; PCOLD=${MODE_COLD:-1}
}
peer_kserve_w2() {  # KServe's ModelServer with workers=2, unpinned like modelport_w2
  peer_kserve; NAME=kserve_w2; WORKERS="2 (ModelServer workers=2, unpinned: CPUs 0-1)"
  CMD+=(--workers 2); PCPU=0-1; PCONC=${W2_CONC:-64}; PCOLD=${MODE_COLD:-1}
}
peer_modelport_batch() {
  NAME=modelport_batch; URL=http://127.0.0.1:5011/score; BODY=$M/body_data.json; EXPECT='[0]'
  CWD=$MP_ROOT/bench/serving; WORKERS="1 (@modelport.batch 64 / 5 ms)"; ENVS=("${MP_ENVS[@]}")
  CMD=("$MP_PY" -m modelport.serving --entry-script score_batch.py --port 5011 --log-level WARNING)
}
peer_modelport_noop() {
  NAME=modelport_noop; URL=http://127.0.0.1:5012/score; BODY=$M/body_data.json; EXPECT='[0]'
  CWD=$MP_ROOT/bench/serving; WORKERS="1 (run() returns [0]: the server's own cost)"
  ENVS=("${MP_ENVS[@]}")
  CMD=("$MP_PY" -m modelport.serving --entry-script score_noop.py --port 5012 --log-level WARNING)
}
