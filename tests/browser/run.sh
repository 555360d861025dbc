#!/usr/bin/env bash
# run.sh — the browser tests: installs the npm packages (playwright-core,
# axe-core, ethers; pinned in package.json) when missing, starts one real
# plue server ($PLUE) as the integration tests do, with the model
# provider's double, and runs every
# *.test.mjs against it in Debian's chromium. Each test file saves
# screenshots of its key pages into $SHOTS; the run lists them at the end.
set -u
: "${PLUE:?PLUE must name the plue binary}"
PLUE=$(realpath "$PLUE")
export PLUE
cd "$(dirname "$0")"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ] ||
	[ ! -d node_modules/ethers ]; then
	echo "browser: installing npm packages" >&2
	npm install --no-audit --no-fund --loglevel=error >&2 || { echo "browser: npm install failed" >&2; exit 1; }
fi
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -x "$CHROMIUM" ] || { echo "browser: Debian's chromium package is missing (scripts/deps.sh test)" >&2; exit 1; }
export CHROMIUM
source ../integration/lib.sh
# the model provider: the Anthropic double (tests/llm/anthropic-double.mjs),
# which agents.test.mjs scripts through PLUE_LLM_DOUBLE
node ../llm/anthropic-double.mjs --port 0 >"$T_DIR/double.out" 2>"$T_DIR/double.log" &
DOUBLE_PID=$!
trap 'kill $DOUBLE_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do grep -q '^listening on' "$T_DIR/double.out" && break; sleep 0.1; done
DPORT=$(sed -n 's/^listening on \([0-9]*\).*/\1/p' "$T_DIR/double.out")
[ -n "$DPORT" ] || { echo "browser: the model double did not start" >&2; cat "$T_DIR/double.log" >&2; exit 1; }
export PLUE_LLM_BASE_URL="http://127.0.0.1:$DPORT" PLUE_LLM_API_KEY="sk-ant-browser-test"
export PLUE_LLM_DOUBLE=$PLUE_LLM_BASE_URL
# every test registers its own people from 127.0.0.1
start_server --register-limit 1000
export PLUE_BASE=$BASE PLUE_DATA_DIR
SHOTS=${SHOTS:-$PWD/../../build/screenshots}
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
export SHOTS
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(*.test.mjs)
node --test --test-concurrency=2 "${files[@]}"
rc=$?
echo "screenshots ($SHOTS):"
(cd "$SHOTS" && ls -1 | sed 's/^/  /')
[ $rc -eq 0 ] || { echo "server log tail:"; tail -30 "$T_DIR/serve.log"; }
# under make SAN=1: what the sanitizers found in the server and its runners
stop_all
sanitizer_reports || rc=1
exit $rc
