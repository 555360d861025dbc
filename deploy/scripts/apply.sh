#!/usr/bin/env bash
# apply.sh ENV TAG — renders deploy/k8s/overlays/ENV, points both images at
# TAG (the overlays name the tag "deploy-tag"), applies it to the cluster
# the current kubectl context names, and waits for the server rollout.
# Run by .plue/workflows/deploy.yaml after `gcloud container clusters
# get-credentials`; an operator can run it by hand the same way.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: apply.sh staging|production TAG" >&2; exit 2; }
env=$1 tag=$2
case "$env" in staging | production) ;; *) echo "apply.sh: unknown environment '$env'" >&2; exit 2 ;; esac
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || { echo "apply.sh: invalid image tag '$tag'" >&2; exit 2; }
cd "$(dirname "$0")/../k8s"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
kubectl kustomize "overlays/$env" | sed "s/:deploy-tag\$/:$tag/" >"$out"
if grep -q 'deploy-tag' "$out"; then
	echo "apply.sh: an image still names the tag 'deploy-tag'" >&2
	exit 1
fi
# the Secrets are made by hand (docs/deploy.md); refuse to roll out without them
for s in plue/plue-database plue/plue-runner plue-runners/plue-runner; do
	kubectl -n "${s%/*}" get secret "${s#*/}" >/dev/null ||
		{ echo "apply.sh: missing Secret '${s#*/}' in namespace '${s%/*}'" >&2; exit 1; }
done
kubectl apply -f "$out"
kubectl -n plue rollout status deployment/plue-server --timeout=10m
