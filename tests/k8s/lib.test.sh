#!/usr/bin/env bash
# lib.test.sh — lib.sh's helpers against the double: start, the REST API
# with the token, the control endpoints, a pod run to its end, a restart on
# the same port. Prints "lib.sh: N passed, M failed"; exits 1 on a failure.
set -u
cd "$(dirname "$0")"
source ./lib.sh
T_DIR=$(mktemp -d /tmp/plue-k8s-lib.XXXXXX)
trap 'k8s_double_stop; rm -rf "$T_DIR"' EXIT
pass=0 failed=0
is() { if [ "$2" = "$3" ]; then pass=$((pass + 1)); else failed=$((failed + 1)); echo "FAIL: $1: got '$2', want '$3'"; fi; }

k8s_double_start --namespace plue-runners --plue /bin/echo || { echo "lib.sh: cannot start the double"; exit 1; }
is "kubeconfig written" "$(test -s "$K8S_KUBECONFIG" && echo yes)" yes
k8s_api POST /api/v1/namespaces/plue-runners/pods \
	'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","labels":{"plue.dev/pool":"standby"}},"spec":{"restartPolicy":"Never","containers":[{"name":"runner","image":"plue","args":["hello"]}]}}'
is "create" "$K8S_STATUS" 201
k8s_api POST /api/v1/namespaces/plue-runners/pods '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":[{"image":"x"}]}}'
is "invalid" "$K8S_STATUS" 422
is "invalid reason" "$(k8s_json .reason)" Invalid
is "pods by selector" "$(k8s_pods plue.dev/pool=standby)" a
is "no pods by another" "$(k8s_pods plue.dev/pool=cold)" ""
for _ in $(seq 1 100); do
	k8s_api GET /api/v1/namespaces/plue-runners/pods/a
	[ "$(k8s_json .status.phase)" = Succeeded ] && break
	sleep 0.05
done
is "ran" "$(k8s_json .status.phase)" Succeeded
k8s_api GET "/api/v1/namespaces/plue-runners/pods/a/log?container=runner"
is "log" "$(printf %s "$K8S_BODY")" hello
k8s_ctl GET /_double/pods/plue-runners/a
is "exit code" "$(k8s_json .processes.runner.exitCode)" 0
k8s_ctl GET /_double/requests
is "counts" "$(k8s_json '.counts.POST /api/v1/namespaces/plue-runners/pods')" 2
is "absent pod" "$(k8s_ctl POST /_double/evict/plue-runners/zz 2>/dev/null || echo refused)" refused
port=$K8S_PORT token=$K8S_TOKEN
k8s_double_stop
k8s_double_start --namespace plue-runners || { echo "lib.sh: cannot restart the double"; exit 1; }
is "same port" "$K8S_PORT" "$port"
is "same token" "$K8S_TOKEN" "$token"
k8s_api GET /api/v1/namespaces/plue-runners/pods/a
is "objects gone after a restart" "$K8S_STATUS" 404
echo "lib.sh: $pass passed, $failed failed"
[ "$failed" = 0 ]
