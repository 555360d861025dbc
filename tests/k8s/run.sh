#!/usr/bin/env bash
# run.sh — the Kubernetes API double's checks: installs kubernetes-models
# (pinned in package.json and package-lock.json) into node_modules when
# missing, runs double.test.mjs (the double refuses what the official
# schemas refuse, runs pods as processes) and lib.test.sh (the bash helpers
# of lib.sh), then the C client against the double when K8S_TEST names the
# built tests/unit/test_k8s.
set -u
cd "$(dirname "$0")"
if [ ! -d node_modules/kubernetes-models ]; then
	echo "k8s: installing npm packages" >&2
	npm ci --no-audit --no-fund --loglevel=error >&2 || { echo "k8s: npm install failed" >&2; exit 1; }
fi
node --test double.test.mjs || exit 1
bash lib.test.sh || exit 1
if [ -n "${K8S_TEST:-}" ]; then
	(cd ../.. && "$K8S_TEST") || exit 1
fi
