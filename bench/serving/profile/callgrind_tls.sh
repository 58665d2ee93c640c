#!/bin/bash
# Instructions per /score request, plain vs TLS, with curl as the keep-alive client (one TLS record per
# request, like wrk; http.client's requests cost two SSL reads each). The server (noop script, inline
# run()) runs under callgrind with --busy-poll-us 0 (polling between curl's requests adds loop turns
# that depend on timing: +3.7 k a request on b30d352); counters are zeroed after 300 warm-up
# requests. The measured phase opens one new connection, so subtract the handshake
# (SSLProtocol__do_handshake, ~8.8 M) from TLS. Timings of the same record work warm and after an
# idle CPU: tls_records.py.
# usage: callgrind_tls.sh LABEL http|https [CURL OPTIONS...]    (N=1000 MODEL_DIR=/tmp/hot15/m)
#   callgrind_tls.sh tls13 https --tls13-ciphers TLS_AES_128_GCM_SHA256
set -eu
LABEL=$1; SCHEME=$2; shift 2
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PY=$ROOT/.venv/bin/python
MODEL_DIR=${MODEL_DIR:-/tmp/hot15/m}
N=${N:-1000}
WORK=$(mktemp -d /tmp/cgtls-XXXX)
PORT=$($PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
TLSARGS=()
if [ "$SCHEME" = https ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 2>/dev/null
  TLSARGS=(--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem")
fi
cd "$ROOT/bench/serving"
BENCH_MODEL_PATH=$MODEL_DIR/model.joblib valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" \
  "$PY" -m modelport.serving --entry-script score_noop.py --port "$PORT" --log-level WARNING \
  --inline-run-budget-ms 100000 --busy-poll-us 0 "${TLSARGS[@]}" >/dev/null 2>"$WORK/valgrind.log" &
VP=$!
for _ in $(seq 600); do curl -ks -o /dev/null "$SCHEME://127.0.0.1:$PORT/" && break; sleep 0.2; done
C=(curl -ks -o /dev/null -H Content-Type:application/json --data-binary "@$MODEL_DIR/body_data.json" "$@")
"${C[@]}" "$SCHEME://127.0.0.1:$PORT/score?[1-300]"
callgrind_control -z "$VP" >/dev/null 2>&1
"${C[@]}" -w '%{http_code}\n' "$SCHEME://127.0.0.1:$PORT/score?[1-$N]" | sort | uniq -c
callgrind_control -d "$VP" >/dev/null 2>&1
F=$(ls -t "$WORK"/cg."$VP".* | head -1)
kill "$VP"; wait "$VP" 2>/dev/null || true
T=$(grep -E '^(totals|summary):' "$F" | head -1 | awk '{print $2}')
HS=$(callgrind_annotate --inclusive=yes "$F" 2>/dev/null | awk '/SSLProtocol__do_handshake /{gsub(",","",$1); print $1}' | head -1 || true)
echo "$LABEL: $((T / N)) instructions/request, $(((T - ${HS:-0}) / N)) without the handshake ($N requests)"
cp "$F" "$WORK/$LABEL.cg" && echo "dump: $WORK/$LABEL.cg"
