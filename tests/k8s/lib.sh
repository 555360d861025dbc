# lib.sh — the Kubernetes API double (double.mjs) from bash, for the
# integration scripts and benches that need a cluster. Source it (after
# tests/integration/lib.sh when used there: the double then lives in
# $T_DIR/k8s and is stopped by k8s_double_stop, which the script's cleanup
# should call):
#
#   source "$(dirname "$0")/../k8s/lib.sh"
#   k8s_double_start --plue "$PLUE" --namespace plue-runners \
#       --restricted plue-runners
#       # sets K8S_URL K8S_PORT K8S_CA K8S_TOKEN K8S_KUBECONFIG K8S_DIR
#       # K8S_PID; --port and --dir are given here (again: a restart on the
#       # same port and directory, after k8s_double_stop)
#   k8s_api POST /api/v1/namespaces/plue-runners/secrets '{"apiVersion":…}'
#       # K8S_STATUS (HTTP status) and K8S_BODY
#   k8s_ctl POST /_double/evict/plue-runners/NAME    # K8S_BODY
#   k8s_json .items.0.metadata.name                  # a field of K8S_BODY
#   k8s_pods 'plue.dev/pool=standby'                 # names, one a line
#   k8s_double_stop
#
# Every function returns non-zero (and says why on stderr) when the double
# cannot be reached; none of them exits the script.

K8S_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K8S_PID=""
K8S_PORT=0
K8S_DIR=""

# The npm packages the double needs, installed when missing (pinned in
# package-lock.json).
k8s_npm_ready() {
	[ -d "$K8S_LIB_DIR/node_modules/kubernetes-models" ] && return 0
	(cd "$K8S_LIB_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || {
		echo "k8s: npm ci failed in $K8S_LIB_DIR" >&2
		return 1
	}
}

# k8s_double_start [double options...]
k8s_double_start() {
	k8s_npm_ready || return 1
	if [ -z "$K8S_DIR" ]; then
		K8S_DIR=${T_DIR:+$T_DIR/k8s}
		K8S_DIR=${K8S_DIR:-$(mktemp -d /tmp/plue-k8s.XXXXXX)}
	fi
	mkdir -p "$K8S_DIR"
	rm -f "$K8S_DIR/double.out"
	node "$K8S_LIB_DIR/double.mjs" --port "$K8S_PORT" --dir "$K8S_DIR" "$@" \
		>"$K8S_DIR/double.out" 2>>"$K8S_DIR/double.log" &
	K8S_PID=$!
	local _
	for _ in $(seq 1 300); do
		[ -s "$K8S_DIR/double.out" ] && break
		kill -0 "$K8S_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$K8S_DIR/double.out" ]; then
		echo "k8s: the double did not start:" >&2
		tail -5 "$K8S_DIR/double.log" >&2
		return 1
	fi
	K8S_BODY=$(head -1 "$K8S_DIR/double.out")
	K8S_URL=$(k8s_json .url)
	K8S_PORT=$(k8s_json .port)
	K8S_CA=$(k8s_json .ca)
	K8S_TOKEN=$(k8s_json .token)
	K8S_KUBECONFIG=$(k8s_json .kubeconfig)
}

k8s_double_stop() {
	[ -n "$K8S_PID" ] || return 0
	kill -TERM "$K8S_PID" 2>/dev/null
	local _
	for _ in $(seq 1 100); do kill -0 "$K8S_PID" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$K8S_PID" 2>/dev/null
	wait "$K8S_PID" 2>/dev/null
	K8S_PID=""
}

# k8s_api METHOD PATH [JSON]: the REST API with the token
k8s_api() {
	local out
	out=$(curl -sS --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" \
		-H 'Content-Type: application/json' -X "$1" ${3:+--data-binary "$3"} \
		-w '\n%{http_code}' "$K8S_URL$2") || return 1
	K8S_STATUS=${out##*$'\n'}
	K8S_BODY=${out%$'\n'*}
}

# k8s_ctl METHOD /_double/PATH [JSON]: the control endpoints (no token)
k8s_ctl() {
	K8S_BODY=$(curl -sS --fail-with-body --cacert "$K8S_CA" -X "$1" ${3:+--data-binary "$3"} \
		"$K8S_URL$2") || {
		echo "k8s: $1 $2: $K8S_BODY" >&2
		return 1
	}
}

# k8s_json FIELD_PATH: a field of K8S_BODY (.a.0.b), objects as JSON
k8s_json() {
	node -e 'let v=JSON.parse(require("fs").readFileSync(0,"utf8"));for(const k of process.argv[1].split(".").filter(Boolean)){v=v==null?undefined:v[/^\d+$/.test(k)?+k:k]};process.stdout.write(v===undefined?"":typeof v==="object"?JSON.stringify(v):String(v))' "$1" <<<"$K8S_BODY"
}

# k8s_pods [SELECTOR] [NAMESPACE]: the names of the pods, one a line
k8s_pods() {
	local sel=${1:-} ns=${2:-plue-runners}
	k8s_api GET "/api/v1/namespaces/$ns/pods${sel:+?labelSelector=$(node -p 'encodeURIComponent(process.argv[1])' "$sel")}" || return 1
	node -e 'for(const p of JSON.parse(require("fs").readFileSync(0,"utf8")).items)console.log(p.metadata.name)' <<<"$K8S_BODY"
}
