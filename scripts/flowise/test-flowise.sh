#!/usr/bin/env bash
# test-flowise.sh [PYTEST ARGS...] — run tests/flowise against a real Flowise 3.x on 127.0.0.1.
#
# Installs Flowise once into $FLOWISE_CACHE (default /tmp/flowise-cache; a fresh install takes
# about 5 minutes, later runs start in seconds), starts it on a free port with a fresh data
# folder, starts the OpenAI-compatible mock on another free port, gets an API key, runs
# `pytest tests/flowise -m flowise` with FLOWISE_URL, FLOWISE_API_KEY and FLOWKIT_MOCK_OPENAI_URL
# set, and stops both servers and deletes the data folder on exit, whatever happens.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${VENV_BIN:-$ROOT/.venv/bin}"
export FLOWISE_CACHE="${FLOWISE_CACHE:-/tmp/flowise-cache}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/flowkit-flowise.XXXXXX")"
MOCK_PID=""

log() { echo "[test-flowise $(date +%H:%M:%S)] $*" >&2; }
cleanup() {
  local status=$?
  bash "$HERE/stop-flowise.sh" "$WORK/data" || true
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
  if [ "$status" != 0 ] && [ -f "$WORK/data/logs/stdout.log" ]; then
    log "Flowise's last log lines:"; tail -n 20 "$WORK/data/logs/stdout.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { "$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

MOCK_PORT="$(free_port)"
"$BIN/python" "$HERE/mock_openai.py" "$MOCK_PORT" "$WORK/mock.log" >"$WORK/mock.out" 2>&1 &
MOCK_PID=$!
PORT="$(free_port)"
log "starting Flowise on port $PORT (cache $FLOWISE_CACHE), the OpenAI mock on $MOCK_PORT"
URL="$(bash "$HERE/start-flowise.sh" "$PORT" "$WORK/data")"
KEY="$(bash "$HERE/get-apikey.sh" "$URL" 2>/dev/null)"
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$MOCK_PORT/v1/models" >/dev/null && break
  sleep 0.1
done
log "Flowise at $URL; running tests/flowise"
cd "$ROOT"
FLOWISE_URL="$URL" FLOWISE_API_KEY="$KEY" FLOWKIT_MOCK_OPENAI_URL="http://127.0.0.1:$MOCK_PORT/v1" \
  "$BIN/pytest" tests/flowise -m flowise -p no:cacheprovider "$@"
