#!/usr/bin/env bash
# run.sh — the model doubles' checks: installs the official SDKs (versions
# pinned in package.json: @anthropic-ai/sdk, openai) into node_modules when
# missing and runs double.test.mjs and openai-double.test.mjs, which point
# the SDKs at the doubles; then runs the C clients against the same doubles
# when ANTHROPIC_TEST and OPENAI_TEST name the built tests/unit/test_anthropic
# and test_openai. Prints node's and cmocka's summaries.
set -u
cd "$(dirname "$0")"
if [ ! -d node_modules/@anthropic-ai/sdk ] || [ ! -d node_modules/openai ]; then
	echo "llm: installing npm packages" >&2
	npm install --no-audit --no-fund --loglevel=error >&2 || { echo "llm: npm install failed" >&2; exit 1; }
fi
node --test double.test.mjs openai-double.test.mjs || exit 1
for t in "${ANTHROPIC_TEST:-}" "${OPENAI_TEST:-}"; do
	if [ -n "$t" ]; then
		(cd ../.. && "$t") || exit 1
	fi
done
