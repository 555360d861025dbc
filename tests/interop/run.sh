#!/usr/bin/env bash
# run.sh — the interop tests: installs the npm packages a browser dapp would
# use (siwe, ethers; versions pinned in package.json) into node_modules when
# missing, starts a real plue server ($PLUE) as the integration tests do,
# and runs the node:test files against it. Prints node's test summary.
set -u
: "${PLUE:?PLUE must name the plue binary}"
PLUE=$(realpath "$PLUE")
cd "$(dirname "$0")"
if [ ! -d node_modules/siwe ] || [ ! -d node_modules/ethers ]; then
	echo "interop: installing npm packages" >&2
	npm install --no-audit --no-fund --loglevel=error >&2 || { echo "interop: npm install failed" >&2; exit 1; }
fi
source ../integration/lib.sh
start_server
PLUE_BASE=$BASE node --test siwe.test.mjs
rc=$?
[ $rc -eq 0 ] || { echo "server log tail:"; tail -20 "$T_DIR/serve.log"; }
exit $rc
