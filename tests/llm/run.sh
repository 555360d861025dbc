#!/usr/bin/env bash
# run.sh — the model double's checks: installs the official Anthropic SDK
# (version pinned in package.json) into node_modules when missing and runs
# double.test.mjs, which points the SDK at the double; then, when
# ANTHROPIC_TEST names the built tests/unit/test_anthropic, runs the C
# client against the same double. Prints node's and cmocka's summaries.
set -u
cd "$(dirname "$0")"
if [ ! -d node_modules/@anthropic-ai/sdk ]; then
	echo "llm: installing npm packages" >&2
	npm install --no-audit --no-fund --loglevel=error >&2 || { echo "llm: npm install failed" >&2; exit 1; }
fi
node --test double.test.mjs || exit 1
if [ -n "${ANTHROPIC_TEST:-}" ]; then
	(cd ../.. && "$ANTHROPIC_TEST") || exit 1
fi
