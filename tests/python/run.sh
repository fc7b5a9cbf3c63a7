#!/usr/bin/env bash
# The Python checks of the simulator (crates/codeocean-sim), as .ci/run runs them:
#
#   1. tests/python/fidelity.py: the official Python SDK (codeocean 0.17.0) against three
#      simulators, one per API generation (--api both, legacy, modern);
#   2. tests/python/conformance.py: schemathesis against a fourth simulator, every operation of
#      openapi/codeocean.yaml, responses validated against the spec;
#   3. tests/python/mcp_check.py: the official Python MCP client (mcp 1.29.1) drives `codeocean mcp`
#      against a fifth simulator, over stdio and streamable HTTP (named so as not to shadow the
#      `mcp` package it imports).
#
# Usage: tests/python/run.sh VENV
#   VENV is a virtualenv with .ci/requirements.txt installed (.ci/run passes its own; by hand:
#   python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r .ci/requirements.txt).
# The only things built are the simulator and the CLI with its `mcp` feature (cargo build --locked
# -p codeocean-sim -p codeocean-cli --features codeocean-cli/mcp). Simulators listen
# on free ports of 127.0.0.1 with a random token and are killed on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${1:-${VENV:-}}
if [ -z "$VENV" ] || [ ! -x "$VENV/bin/python" ] || [ ! -x "$VENV/bin/st" ]; then
  echo "usage: $0 VENV (a virtualenv with .ci/requirements.txt installed; got '${VENV}')" >&2
  exit 2
fi
PY="$VENV/bin/python"

started=$SECONDS
cargo build --locked --quiet -p codeocean-sim -p codeocean-cli --features codeocean-cli/mcp
SIM="${CARGO_TARGET_DIR:-target}/debug/codeocean-sim"
CLI="${CARGO_TARGET_DIR:-target}/debug/codeocean"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/codeocean-python-checks.XXXXXX")
TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_sim NAME API: starts a simulator in the background; sets URL to its origin.
start_sim() {
  local name=$1 api=$2 out="$WORK/$1.sim.out" i
  # Created here, not by the background job's redirection: the loop below may read it first.
  : >"$out"
  "$SIM" --port 0 --storage-port 0 --token "$TOKEN" --time-scale 200 --api "$api" \
    >"$out" 2>"$WORK/$name.sim.err" &
  PIDS+=($!)
  for i in $(seq 100); do
    URL=$(sed -n '1s/^listening on \(http:[^ ]*\)$/\1/p' "$out")
    [ -n "$URL" ] && return 0
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "error: simulator '$name' (--api $api) did not print 'listening on http://...':" >&2
  cat "$out" "$WORK/$name.sim.err" >&2
  exit 1
}

declare -A URLS
for api in both legacy modern; do
  start_sim "$api" "$api"
  URLS[$api]=$URL
done
start_sim conformance both
URLS[conformance]=$URL
start_sim mcp both
URLS[mcp]=$URL

# All five checks run at once (the SDK's waiters sleep at least 5 s per poll; schemathesis is
# CPU-bound); each writes its own log, printed in order once all are done.
declare -A JOBS
for api in both legacy modern; do
  CODEOCEAN_TOKEN=$TOKEN "$PY" tests/python/fidelity.py --domain "${URLS[$api]}" --api "$api" \
    >"$WORK/fidelity-$api.log" 2>&1 &
  JOBS[fidelity-$api]=$!
done
CODEOCEAN_TOKEN=$TOKEN "$PY" tests/python/conformance.py --url "${URLS[conformance]}" \
  >"$WORK/conformance.log" 2>&1 &
JOBS[conformance]=$!
CODEOCEAN_DOMAIN=${URLS[mcp]} CODEOCEAN_TOKEN=$TOKEN "$PY" tests/python/mcp_check.py --bin "$CLI" \
  >"$WORK/mcp.log" 2>&1 &
JOBS[mcp]=$!

failed=()
for check in fidelity-both fidelity-legacy fidelity-modern conformance mcp; do
  rc=0
  wait "${JOBS[$check]}" || rc=$?
  echo "::: ${check} (simulator ${URLS[${check#fidelity-}]}) exited ${rc}"
  sed 's/^/    /' "$WORK/$check.log"
  if [ "$rc" -ne 0 ]; then
    failed+=("$check")
    echo "    --- simulator stderr:"
    sed 's/^/    /' "$WORK/${check#fidelity-}.sim.err"
  fi
done

echo "::: python checks took $((SECONDS - started)) s"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "error: python checks failed: ${failed[*]}" >&2
  exit 1
fi
echo "::: python checks passed: fidelity (both, legacy, modern), conformance, mcp"
