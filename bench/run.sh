#!/usr/bin/env bash
# The whole benchmark in one command:
#
#   bash bench/run.sh [--quick] [--systems a,b] [--workloads x,y] [--repeats N] [--name STEM]
#
# Sets up the virtualenvs (bench/.venv-peers, bench/.venv-peers-arq, bench/.venv-offload),
# starts Redis and PostgreSQL on 127.0.0.1 (ports 16379 and 15432, temporary data
# dirs), runs bench/runner.py and stops the servers again, also on failure or Ctrl-C.
# Results: bench/results/latest.md and bench/results/latest.json (or STEM.*).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PY="${PYTHON:-python3}"

log() { printf '[bench] %s\n' "$*" >&2; }

# make_venv DIR STAMP PIP-ARGS...: (re)create DIR unless it was built with the same STAMP.
make_venv() {
    local dir=$1 stamp=$2
    shift 2
    if [[ -f "$dir/.bench-stamp" && "$(cat "$dir/.bench-stamp")" == "$stamp" ]]; then
        return 0
    fi
    log "creating $dir"
    rm -rf "$dir"
    "$PY" -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "$@"
    echo "$stamp" >"$dir/.bench-stamp"
}

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

if ! command -v redis-server >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing redis-server"
        apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
    else
        log "redis-server is missing: install it (Debian: apt-get install redis-server)"
        exit 1
    fi
fi

make_venv "$HERE/.venv-peers" "$(hash_of "$HERE/requirements-peers.txt")" -r "$HERE/requirements-peers.txt"
make_venv "$HERE/.venv-peers-arq" "$(hash_of "$HERE/requirements-arq.txt")" -r "$HERE/requirements-arq.txt"
# offload itself, editable, so the run always measures the working tree. A failure
# here is not fatal: the runner records offload as not importable and goes on.
# The web extra is for the api workload (offload serve).
OFFLOAD_EXTRAS="postgres,web"
make_venv "$HERE/.venv-offload" "$(hash_of "$ROOT/pyproject.toml")-$OFFLOAD_EXTRAS" \
    -e "$ROOT[$OFFLOAD_EXTRAS]" psutil==7.2.2 || log "offload could not be installed; it will be reported as an error"

cleanup() { "$PY" "$HERE/servers.py" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
"$PY" "$HERE/servers.py" stop >/dev/null 2>&1 || true  # leftovers of an interrupted run
"$PY" "$HERE/servers.py" start --redis --postgres >/dev/null
log "redis and postgresql up on 127.0.0.1"

"$PY" "$HERE/runner.py" "$@"
