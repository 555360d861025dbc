#!/usr/bin/env bash
# k8s.sh — the Kubernetes runner mode (--runner-mode kubernetes) through the
# API double (tests/k8s/double.mjs), which runs each pod's containers as
# local processes in bubblewrap:
#
#   warm claim       workload created → its first log line stored, with an
#                    idle standby pod waiting (the runner's long-poll claim)
#   cold start       the same with an empty pool: the keeper creates a pod
#                    for the workload, its containers start, the runner
#                    registers and claims
#   double: create   what a pod create costs in the double itself (schema
#                    validation and bookkeeping), measured by a client: the
#                    part of the cold start a real API server replaces
#   keeper reaction  a pod's end (its Succeeded seen on a watch) → its
#                    replacement's creation (ADDED on the same watch)
#
# Times come from the database (workloads.created_at, the first log event's
# created_at) and from one watcher's clock; p50 and p99 of the runs.
#
# Usage: PLUE=path/to/plue bash bench/k8s.sh
# Knobs: K8S_BENCH_RUNS (runs per figure, default 10), KEEP_TMP=1.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=k8s
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
RUNS=${K8S_BENCH_RUNS:-10}
K8S_DIR=$PWD/tests/k8s
NS=plue-runners
require_tools node npm bwrap curl python3 psql git
if [ ! -d "$K8S_DIR/node_modules/kubernetes-models" ]; then
	(cd "$K8S_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm install failed"
fi

bench_init plue-k8s
DOUBLE_PID="" WATCH_PID=""
stop_extra() {
	stop_pid "$PLUE_PID" TERM
	PLUE_PID=""
	stop_pid "$WATCH_PID" TERM
	stop_pid "$DOUBLE_PID" TERM
	WATCH_PID="" DOUBLE_PID=""
}
bench_git_env

# ---- the double ----
mkdir -p "$WORK/k8s"
node "$K8S_DIR/double.mjs" --port 0 --dir "$WORK/k8s" --plue "$PLUE" >"$WORK/double.out" \
	2>"$WORK/double.log" &
DOUBLE_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/double.out" ] && break; sleep 0.1; done
[ -s "$WORK/double.out" ] || die "the double did not start: $(cat "$WORK/double.log")"
jf() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[process.argv[2]]))' "$@"; }
K_URL=$(jf "$WORK/double.out" url)
K_TOK=$(jf "$WORK/double.out" token)
K_CA="$WORK/k8s/ca.crt"
k() {
	curl -sS --cacert "$K_CA" -H "Authorization: Bearer $K_TOK" -X "$1" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$K_URL$2"
}
SECRET="bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
k POST "/api/v1/namespaces/$NS/secrets" "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"plue-runner\"},\"stringData\":{\"registration-secret\":\"$SECRET\"}}" >/dev/null

# idle PODS: the runner pods alive and not being deleted
alive() {
	k GET "/api/v1/namespaces/$NS/pods?labelSelector=app.kubernetes.io/name=plue-runner" |
		node -e 'const l=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(String(l.items.filter(p=>!p.metadata.deletionTimestamp&&!["Succeeded","Failed"].includes(p.status&&p.status.phase)).length))'
}

# ---- plue in kubernetes mode ----
PORT=$(free_port)
PLUE_ENV=(PLUE_DATA_DIR="$WORK/var" PLUE_PG_FSYNC=off PLUE_LOG_LEVEL=info
	PLUE_RUNNER_MODE=kubernetes PLUE_RUNNER_SECRET="$SECRET"
	PLUE_K8S_KUBECONFIG="$WORK/k8s/kubeconfig" PLUE_K8S_NAMESPACE=$NS
	PLUE_K8S_RUNNER_IMAGE=registry.example/plue-runner:bench
	PLUE_K8S_RUNNER_URL="http://127.0.0.1:$PORT" PLUE_K8S_RUNNER_MEMORY=2Gi)
sql() { psql -qtAX "host=$WORK/var/pg dbname=plue user=plue" -c "$1"; }
plue_start --port "$PORT"
plue_user bench repo:read,repo:write,user
plue_repo k
SRC="$WORK/src"
git init -q -b main "$SRC"
mkdir -p "$SRC/.plue/workflows"
printf 'on: workflow_dispatch\njobs:\n  one:\n    steps:\n      - run: echo first\n' \
	>"$SRC/.plue/workflows/one.yaml"
git -C "$SRC" add . && git -C "$SRC" -c user.name=b -c user.email=b@e commit -qm one
plue_push "$SRC" k main || die "push failed"

# one_run: dispatches one.yaml and waits for its workload to finish;
# prints ms from the workload's creation to its first log line
one_run() {
	local last wid i st
	last=$(sql "SELECT coalesce(max(id), 0) FROM workloads")
	curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		--data '{}' "$BASE/api/$PLUE_USER/k/workflows/one.yaml/dispatch" || die "dispatch failed"
	for i in $(seq 1 600); do
		wid=$(sql "SELECT min(id) FROM workloads WHERE id > $last")
		[ -n "$wid" ] && break
		sleep 0.05
	done
	[ -n "$wid" ] || die "no workload was created"
	for i in $(seq 1 1200); do
		st=$(sql "SELECT status FROM workloads WHERE id = $wid")
		[ "$st" = done ] && break
		sleep 0.05
	done
	[ "$st" = done ] || die "workload $wid did not finish"
	sql "SELECT round(extract(epoch FROM min(e.created_at) - w.created_at) * 1000, 1) FROM workloads w JOIN workload_events e ON e.workload_id = w.id AND e.type = 'log' WHERE w.id = $wid GROUP BY w.created_at"
}
# until N runner pods are alive and their runners registered and idle
pool_ready() {
	local i
	for i in $(seq 1 600); do
		[ "$(alive)" = "$1" ] &&
			[ "$(sql "SELECT count(*) FROM runners WHERE status = 'idle' AND NOT EXISTS (SELECT 1 FROM workloads w WHERE w.runner_id = runners.id)")" -ge "$1" ] && return 0
		sleep 0.1
	done
	die "the pool did not reach $1 idle pods"
}
# stats: p50 and p99 of the numbers on stdin
stats() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "no data"; exit } p50 = v[int((NR + 1) / 2)]; i99 = int(NR * 0.99 + 0.999); if (i99 < 1) i99 = 1; printf "p50 %8.1f ms  p99 %8.1f ms  (n=%d)", p50, v[i99], NR }'; }

# a watcher for the keeper's reaction: pod end → next pod created
node -e '
const https = require("https"), fs = require("fs");
const [url, tok, ca, ns, out] = process.argv.slice(1);
const ended = new Map(); let pending = [];
const req = https.get(url + "/api/v1/namespaces/" + ns + "/pods?watch=1&labelSelector=plue.dev/pool=standby",
  { ca: fs.readFileSync(ca), headers: { Authorization: "Bearer " + tok } }, (res) => {
  let buf = "";
  res.on("data", (d) => {
    buf += d; let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      const ev = JSON.parse(line), p = ev.object, t = performance.now();
      const name = p.metadata && p.metadata.name, phase = p.status && p.status.phase;
      if ((phase === "Succeeded" || phase === "Failed") && !ended.has(name)) { ended.set(name, t); pending.push(t); }
      if (ev.type === "ADDED" && pending.length) fs.appendFileSync(out, (t - pending.shift()).toFixed(1) + "\n");
    }
  });
});
' "$K_URL" "$K_TOK" "$K_CA" "$NS" "$WORK/reaction.txt" 2>"$WORK/watch.log" &
WATCH_PID=$!

say "warm: $RUNS runs with 2 standby pods"
: >"$WORK/warm.txt"
for i in $(seq 1 "$RUNS"); do
	pool_ready 2
	one_run >>"$WORK/warm.txt"
done
pool_ready 2
stop_pid "$WATCH_PID" TERM
WATCH_PID=""

say "cold: $RUNS runs with an empty pool"
stop_pid "$PLUE_PID" TERM
PLUE_PID=""
for p in $(k GET "/api/v1/namespaces/$NS/pods" | node -e 'const l=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(l.items.map(p=>p.metadata.name).join(" "))'); do
	k DELETE "/api/v1/namespaces/$NS/pods/$p?gracePeriodSeconds=0" >/dev/null
done
PLUE_ENV+=(PLUE_WARM_POOL=0)
plue_start --port "$PORT"
: >"$WORK/cold.txt"
for i in $(seq 1 "$RUNS"); do
	for _ in $(seq 1 300); do [ "$(alive)" = 0 ] && break; sleep 0.1; done
	one_run >>"$WORK/cold.txt"
done

say "double: $RUNS pod creates"
: >"$WORK/create.txt"
for i in $(seq 1 "$RUNS"); do
	body="{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bench-$i\"},\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"true\"]}]}}"
	curl -sS -o /dev/null -w '%{time_total}\n' --cacert "$K_CA" -H "Authorization: Bearer $K_TOK" \
		-H 'Content-Type: application/json' --data-binary "$body" \
		"$K_URL/api/v1/namespaces/bench/pods" | awk '{ printf "%.1f\n", $1 * 1000 }' >>"$WORK/create.txt"
	k DELETE "/api/v1/namespaces/bench/pods/bench-$i?gracePeriodSeconds=0" >/dev/null
done

echo "k8s: runner pods through the API double (load average $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores)"
printf '  %-44s %s\n' "warm claim: created → first log line" "$(stats <"$WORK/warm.txt")"
printf '  %-44s %s\n' "cold start: created → first log line" "$(stats <"$WORK/cold.txt")"
printf '  %-44s %s\n' "double's own cost of a pod create" "$(stats <"$WORK/create.txt")"
printf '  %-44s %s\n' "keeper: pod ended → replacement created" "$(stats <"$WORK/reaction.txt" 2>/dev/null || echo "no data")"
