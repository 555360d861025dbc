#!/usr/bin/env bash
# run.sh — the edge tests: installs miniflare (it brings the real workerd
# runtime) and wrangler (to check wrangler.toml), pinned in package.json,
# when missing; starts one real plue server ($PLUE) as the integration
# tests do, with metrics on so the tests can count the requests that reach
# it; and runs edge.test.mjs: the worker of deploy/edge in workerd, in
# front of that server.
set -u
: "${PLUE:?PLUE must name the plue binary}"
PLUE=$(realpath "$PLUE")
export PLUE
cd "$(dirname "$0")"
if [ ! -d node_modules/miniflare ] || [ ! -d node_modules/wrangler ]; then
	echo "edge: installing npm packages" >&2
	npm ci --no-audit --no-fund --loglevel=error >&2 || { echo "edge: npm install failed" >&2; exit 1; }
fi
source ../integration/lib.sh
# no warm pool: the SSE test feeds its run by hand through the runner
# protocol, so it decides when each event is written
export PLUE_WARM_POOL=0
export PLUE_RUNNER_SECRET="edge-secret-$RANDOM$RANDOM"
export PLUE_METRICS_TOKEN="edge-metrics-$RANDOM$RANDOM"
start_server
PLUE_TOKEN=$(new_user alice)
[ -n "$PLUE_TOKEN" ] || { echo "edge: cannot create the user" >&2; cat "$T_DIR/admin.log" >&2; exit 1; }
export PLUE_BASE=$BASE PLUE_TOKEN PLUE_USER=alice PLUE_RUNNER_SECRET PLUE_METRICS_TOKEN
export EDGE_TMP=$T_DIR
# --test-force-exit: a workerd that failed to start must not hold the
# run open once the tests are over
node --test --test-force-exit "${@:-edge.test.mjs}"
rc=$?
[ $rc -eq 0 ] || { echo "server log tail:"; tail -30 "$T_DIR/serve.log"; }
stop_all
sanitizer_reports || rc=1
exit $rc
