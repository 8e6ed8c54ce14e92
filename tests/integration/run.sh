#!/usr/bin/env bash
# make test-integration: install the Debian prometheus package when missing, then run
# tests/integration with FLOWKIT_INTEGRATION=1 in a process group of its own, which is
# killed on exit (normal, error or interrupt) so no Prometheus or flowkit process outlives it.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTEST="${1:-.venv/bin/pytest}"

if ! command -v prometheus >/dev/null 2>&1; then
    if ! apt-cache policy prometheus 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        apt-get update
    fi
    if ! apt-cache policy prometheus | grep -q 'Candidate: [0-9]'; then
        echo "test-integration: no Debian 'prometheus' package available to install" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y prometheus
    # The package may start its own service; this suite starts and stops its own server.
    $SUDO systemctl stop prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi

group=""
cleanup() {
    if [ -n "$group" ]; then
        kill -TERM -- "-$group" 2>/dev/null || true
        sleep 1
        kill -KILL -- "-$group" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

FLOWKIT_INTEGRATION=1 setsid "$PYTEST" tests/integration -q -p no:cacheprovider &
group=$!
wait "$group"
