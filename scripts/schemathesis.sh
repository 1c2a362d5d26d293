#!/usr/bin/env bash
# Contract fuzzing: schemathesis against a live `mercato serve` on embedded defaults (SQLite, demo catalog,
# its admin token), driven by the server's own /openapi.json. Every check, every phase (examples,
# coverage, fuzzing, stateful), a fixed seed and a bounded number of examples, so a run is repeatable and
# fits a few minutes of CI. Accepted findings live in openapi/schemathesis-baseline.json, each with a reason.
# No --max-time: with it, fuzzing and stateful testing repeat until the time is spent, so what a run covers
# would depend on the machine's speed. Bounded by examples instead; `timeout` is only a guard against a hang.
# Usage: scripts/schemathesis.sh [MERCATO_BINARY]   (env: MAX_EXAMPLES=100 GUARD_SECONDS=900 SEED=42 PORT=18181)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MERCATO=${1:-.build/debug/mercato}
MAX_EXAMPLES=${MAX_EXAMPLES:-100}
GUARD_SECONDS=${GUARD_SECONDS:-900}
SEED=${SEED:-42}
PORT=${PORT:-18181}
VERSION=4.32.5
VENV=.build/schemathesis-venv
say() { printf '[schemathesis] %s\n' "$*" >&2; }

[[ -x $MERCATO ]] || { say "error: no server binary at $MERCATO (build it first: swift build)"; exit 1; }

# A virtualenv under .build (ignored by git, kept between runs on one machine).
if [[ ! -x $VENV/bin/schemathesis ]] || [[ $("$VENV/bin/schemathesis" --version 2>/dev/null) != *"$VERSION"* ]]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
        command -v apt-get >/dev/null || { say "error: python3 venv support is missing and apt-get is unavailable"; exit 1; }
        say "installing python3-venv with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
    fi
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$VERSION"
fi

DATA=$(mktemp -d)
SERVER_PID=""
cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    # The server's log outlives the run, for whoever reads a failure.
    cp "$DATA/server.log" .build/schemathesis-server.log 2>/dev/null || true
    rm -rf -- "$DATA"
}
trap cleanup EXIT

# Loopback only, on embedded defaults whatever the caller's environment says (CI exports DATABASE_URL and
# REDIS_URL for its tests): the demo catalog and its admin token exist only there.
# No admin write limit: fuzzing sends thousands of writes for one store in a minute, and cases the limit
# refused with 429 would test nothing else (the limit has its own tests, AdminWriteLimitTests).
env -u DATABASE_URL -u DATABASE_REPLICA_URLS -u REDIS_URL -u INVENTORY_URL -u TAX_URL MERCATO_ADMIN_WRITE_RATE=0 \
    "$MERCATO" serve --hostname 127.0.0.1 --port "$PORT" --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 200); do
    [[ -s $DATA/demo-admin-token ]] && curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { say "error: the server exited"; cat "$DATA/server.log" >&2; exit 1; }
    sleep 0.1
done
[[ -s $DATA/demo-admin-token ]] || { say "error: the server did not start with its demo token within 20 s"; cat "$DATA/server.log" >&2; exit 1; }
TOKEN=$(cat "$DATA/demo-admin-token")
say "server on http://127.0.0.1:$PORT (data $DATA)"

args=(
    run "http://127.0.0.1:$PORT/openapi.json"
    --url "http://127.0.0.1:$PORT"
    --checks all
    --mode all
    --max-examples "$MAX_EXAMPLES"
    --seed "$SEED"
    --generation-deterministic
    --workers 1
    -H "Authorization: Bearer $TOKEN"
    --report junit --report-junit-path .build/schemathesis-junit.xml
)
# BASELINE_UPDATE=1 records this run's failures into the baseline (then write each one's reason in
# openapi/README.md); otherwise the baseline only lists what is accepted.
if [[ -f openapi/schemathesis-baseline.json || -n ${BASELINE_UPDATE:-} ]]; then args+=(--baseline openapi/schemathesis-baseline.json); fi
# Only the main run records: the revocation's run would replace the file with its own (empty) findings.
update=()
[[ -n ${BASELINE_UPDATE:-} ]] && update=(--baseline-update)
rc=0
# Revoking the token would turn every later admin case into a 401 and test nothing past authentication (it
# did: 11 admin operations saw only 401s), so the revocation runs alone, last, once the rest is done.
REVOKE=revokeCurrentAdminToken
timeout "$GUARD_SECONDS" "$VENV/bin/schemathesis" "${args[@]}" "${update[@]}" --phases examples,coverage,fuzzing,stateful --exclude-operation-id "$REVOKE" || rc=$?
# No links lead to or from it, so it has no stateful phase.
timeout "$GUARD_SECONDS" "$VENV/bin/schemathesis" "${args[@]}" --phases examples,coverage,fuzzing --include-operation-id "$REVOKE" || rc=$?
# Whatever schemathesis concluded, a 5xx in the server's own access log fails the run.
if grep -q -E 'http\.status=5[0-9][0-9]' "$DATA/server.log"; then
    say "the server answered 5xx:"; grep -E 'http\.status=5[0-9][0-9]' "$DATA/server.log" | head -20 >&2
    rc=1
fi
say "exit $rc"
exit "$rc"
