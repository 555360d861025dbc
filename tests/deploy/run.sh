#!/usr/bin/env bash
# run.sh — the checks of deploy/ (deploy.test.mjs): installs the npm
# packages pinned in package.json (kubernetes-models, @cdktf/hcl2json,
# dockerfile-ast, yaml) into node_modules when missing, then renders both
# overlays with kubectl and runs every check. PLUE names the plue binary
# for `plue workflow lint`; KUBECTLS the kubectl binaries to render with
# (default: the kubectl on PATH). Prints node's summary.
set -u
cd "$(dirname "$0")"
for m in kubernetes-models @cdktf/hcl2json dockerfile-ast yaml; do
	if [ ! -d "node_modules/$m" ]; then
		echo "deploy: installing npm packages" >&2
		npm ci --no-audit --no-fund --loglevel=error >&2 || { echo "deploy: npm ci failed" >&2; exit 1; }
		break
	fi
done
for k in ${KUBECTLS:-kubectl}; do
	command -v "$k" >/dev/null || { echo "deploy: no '$k' (make deps: kubernetes-client)" >&2; exit 1; }
done
[ -n "${PLUE:-}" ] && [ -x "$PLUE" ] || { echo "deploy: PLUE must name the plue binary" >&2; exit 1; }
# kustomize warns on stderr about the fields kept for kubectl 1.20 (bases,
# patchesStrategicMerge); the checks read only its stdout
node --test deploy.test.mjs
