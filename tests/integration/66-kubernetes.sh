#!/usr/bin/env bash
# 66-kubernetes: --runner-mode kubernetes end to end, through the real
# Kubernetes client against the API double (tests/k8s/double.mjs), which
# validates every object against the official schemas and runs each
# container of a pod as a local process (its own bubblewrap and PID
# namespace, the pod's emptyDirs at their mount paths, its uid): the pool
# keeper's pods run the real `plue runner` and `plue execd`.
#   - cold start with an empty pool: a pod made for the waiting workload;
#   - a warm pool of 2: a push runs a workflow (pod → runner registered
#     under the pod's name → steps in the exec container → pod deleted and
#     replaced → pool back to 2);
#   - what a step can find of the runner's credentials: nothing (the same
#     search run in the runner's container finds them, so it can fail);
#   - a pod evicted mid-run: retried once, and a second eviction fails the
#     job with the reason; cancel reaches the pod's step;
#   - the watch forced to 410 Gone: the keeper relists and goes on;
#   - no pod the keeper made was refused by the schemas (no 422) or by
#     Pod Security "restricted", which the runners' namespace enforces;
#   - two servers on one database: one keeper acts, the other takes over.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agents-lib.sh"
command -v bwrap >/dev/null || { echo "66-kubernetes: bubblewrap is missing"; exit 1; }
K8S_DIR=$(cd "$(dirname "$0")/../k8s" && pwd)
if [ ! -d "$K8S_DIR/node_modules/kubernetes-models" ]; then
	(cd "$K8S_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || {
		echo "66-kubernetes: npm install failed"; exit 1; }
fi
NS=plue-runners
SECRET="reg-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# ---- the API double ----
mkdir -p "$T_DIR/k8s"
# a sanitized build (make test SAN=1) reserves terabytes of address space:
# the pods' memory limits, which the double applies as RLIMIT_AS, go
NOLIMITS=()
ldd "$PLUE" 2>/dev/null | grep -q libasan && NOLIMITS=(--no-limits)
# the runners' namespace enforces Pod Security "restricted", as deployed
# (an image whose runner exits at once: a crash loop, below)
setsid node "$K8S_DIR/double.mjs" --port 0 --dir "$T_DIR/k8s" --plue "$PLUE" "${NOLIMITS[@]}" \
	--image registry.example/crash:1=/bin/false \
	--restricted "$NS" \
	>"$T_DIR/double.out" 2>"$T_DIR/double.log" &
SERVER_GROUPS+=("$!")
for _ in $(seq 1 100); do [ -s "$T_DIR/double.out" ] && break; sleep 0.1; done
K_URL=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).url)' "$T_DIR/double.out")
K_CA="$T_DIR/k8s/ca.crt"
K_TOK=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).token)' "$T_DIR/double.out")
check "the double is up" test -n "$K_URL"
# k METHOD PATH [BODY]: the Kubernetes API as a client; c: the double's control
k() {
	local body=${3:-}
	curl -sS --cacert "$K_CA" -H "Authorization: Bearer $K_TOK" -X "$1" \
		${body:+-H 'Content-Type: application/json' --data-binary "$body"} "$K_URL$2"
}
c() { curl -sS --cacert "$K_CA" -X "$1" ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$K_URL$2"; }
# pods [SELECTOR]: names of the runner pods alive (not being deleted)
pods() {
	k GET "/api/v1/namespaces/$NS/pods?labelSelector=app.kubernetes.io/name=plue-runner${1:+,$1}" |
		node -e 'const l=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(l.items.filter(p=>!p.metadata.deletionTimestamp&&!["Succeeded","Failed"].includes(p.status&&p.status.phase)).map(p=>p.metadata.name).sort().join(" "))'
}
npods() { local p; p=$(pods "${1:-}"); set -- $p; echo $#; }
# pods_are N [SELECTOR]: until N such pods are alive (60 s)
pods_are() {
	local i
	for i in $(seq 1 600); do [ "$(npods "${2:-}")" = "$1" ] && return 0; sleep 0.1; done
	echo "# pods: $(pods "${2:-}")"
	return 1
}
# pod_gone NAME: until the pod is no longer alive (30 s)
pod_gone() {
	local i
	for i in $(seq 1 300); do grep -qw -- "$1" <<<"$(pods)" || return 0; sleep 0.1; done
	return 1
}
# pod_urls: the server URL every alive runner pod was given, sorted, unique
pod_urls() {
	k GET "/api/v1/namespaces/$NS/pods?labelSelector=app.kubernetes.io/name=plue-runner" |
		node -e 'const l=JSON.parse(require("fs").readFileSync(0,"utf8"));const u=new Set();for(const p of l.items){if(p.metadata.deletionTimestamp)continue;for(const e of p.spec.containers[0].env)if(e.name==="PLUE_SERVER_URL")u.add(e.value)}process.stdout.write([...u].sort().join(" "))'
}
# registered NAME...: until a live runner is registered under each pod name
registered() {
	local n
	for n in "$@"; do sql_is "SELECT count(*) FROM runners WHERE host = '$n' AND status <> 'dead'" 1 600 || return 1; done
}
# the registration secret, as the deployment keeps it
k POST "/api/v1/namespaces/$NS/secrets" "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"plue-runner\"},\"stringData\":{\"registration-secret\":\"$SECRET\"}}" >"$T_DIR/secret.json"
check "the runner Secret exists" grep -q '"plue-runner"' "$T_DIR/secret.json"

# ---- the server in kubernetes mode ----
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export PLUE_RUNNER_MODE=kubernetes PLUE_RUNNER_SECRET="$SECRET"
export PLUE_K8S_KUBECONFIG="$T_DIR/k8s/kubeconfig" PLUE_K8S_NAMESPACE=$NS
export PLUE_K8S_RUNNER_IMAGE=registry.example/plue-runner:test
export PLUE_K8S_RUNNER_URL="http://127.0.0.1:$PORT"
export PLUE_K8S_RUNNER_MEMORY=2Gi PLUE_K8S_RUNNER_CPU=1 PLUE_K8S_RUNNER_DEADLINE=600

# the model provider's double, for an agent session on a pod (below)
LLM_KEY="sk-ant-k8s-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
start_double D anthropic-double.mjs
DA="http://127.0.0.1:$D_PORT"
export PLUE_LLM_API_KEY=$LLM_KEY PLUE_LLM_BASE_URL=$DA

# bad settings are refused before anything starts
out=$(PLUE_K8S_RUNNER_MEMORY="2 GB" "$PLUE" serve --port 0 2>&1)
check "a bad quantity is refused ($out)" grep -q "k8s-runner-memory: '2 GB' is not a Kubernetes quantity" <<<"$out"
out=$(PLUE_K8S_RUNNER_IMAGE= "$PLUE" serve --port 0 2>&1)
check "a missing image is refused" grep -q "k8s-runner-image" <<<"$out"
out=$(PLUE_RUNNER_MODE=kubernetes-ish "$PLUE" serve --port 0 2>&1)
check "an unknown runner mode is refused" grep -q "'kubernetes-ish' is not local or kubernetes" <<<"$out"
if [ "$(id -u)" = 0 ]; then
	out=$(timeout 10 "$PLUE" execd --socket "$T_DIR/execd.sock" 2>&1)
	check "execd refuses to run steps as root" grep -q "execd refuses to run commands as root" <<<"$out"
fi

export PLUE_WARM_POOL=0 PLUE_METRICS_TOKEN=metrics-k8s
start_server --port "$PORT"
ALICE=$(new_user alice)
api POST /api/repos "$ALICE" '{"name":"k"}'
expect_status 201 "create repo"


# dispatch FILE: workflow FILE of alice/k started by hand; prints the run id
dispatch() { dispatch_in alice/k "$1"; }

SRC="$T_DIR/src"
git init -q "$SRC"
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/ci.yaml" <<'EOF'
on: [push, workflow_dispatch]
jobs:
  build:
    steps:
      - name: Where
        run: |
          echo "step uid $(id -u) in $PWD"
          test -f README && echo "checked out: $(cat README)"
          # which processes this step can see: execd's, its own, none of the runner's
          for p in /proc/[0-9]*; do tr '\0' ' ' <"$p/cmdline" 2>/dev/null; echo; done |
            grep -v '^$' | sed 's/^/proc: /'
          echo "touched" > made-by-step
EOF
# the search a step makes for credentials: the environment, every
# process's environ and cmdline it can read, every file of /workspace and
# /run/plue; base64 between markers so the log stores it as it is
cat >"$SRC/search.sh" <<'EOF'
#!/bin/sh
{
  env
  for p in /proc/[0-9]*; do cat "$p/environ" "$p/cmdline" 2>/dev/null; echo; done
  find /workspace /run/plue -type f 2>/dev/null | while read -r f; do cat "$f" 2>/dev/null; done
  find /workspace /run/plue -type f -name '*.pack' 2>/dev/null | while read -r f; do git unpack-objects -n <"$f" >/dev/null 2>&1; done
  git -C /workspace cat-file --batch-all-objects --batch 2>/dev/null
} | gzip -c | base64 -w 76 | sed 's/^/B64 /'
echo "B64-END"
EOF
chmod +x "$SRC/search.sh"
cat >"$SRC/.plue/workflows/search.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  search:
    steps:
      - run: ./search.sh
EOF
cat >"$SRC/.plue/workflows/evict.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  work:
    steps:
      - name: Work
        run: |
          echo "attempt $PLUE_RUN_ATTEMPT begins"
          if [ "$PLUE_RUN_ATTEMPT" = 1 ]; then sleep 300; fi
          echo "attempt $PLUE_RUN_ATTEMPT done"
EOF
cat >"$SRC/.plue/workflows/stuck.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  work:
    steps:
      - name: Work
        run: |
          echo "stuck attempt $PLUE_RUN_ATTEMPT begins"
          sleep 300
          echo "never printed"
EOF
echo "hello from k8s" >"$SRC/README"
(cd "$SRC" && git add . && git commit -qm "workflows")

# ---- cold start: no standby pod, a pod made for the waiting workload ----
check "no pod with an empty pool" test "$(npods)" = 0
check "push" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/k.git" main
settle
WID=$(sql "SELECT max(id) FROM workloads")
check "a cold pod is made for workload $WID" pods_are 1 "plue.dev/pool=cold,plue.dev/workload=$WID"
# its name as the keeper logged it (the pod itself may have run and gone by
# the time a listing is made)
COLD=$(sed -n "s/.*pool keeper: created cold pod \([^ ]*\) for workload $WID\$/\1/p" "$T_DIR/serve.log" | head -1)
RUN=$(sql "SELECT r.id FROM workflow_runs r JOIN workflow_jobs j ON j.run_id = r.id JOIN workloads w ON w.job_id = j.id WHERE w.id = $WID")
wait_run "$RUN"
expect_json .status success "the push's run succeeded through a cold pod"
api GET "/api/runs/$RUN/logs" "$ALICE"
check "the step ran as the pod's user in /workspace" grep -qF "step uid 1000 in /workspace" <<<"$BODY_OUT"
check "the runner checked the commit out there" grep -qF "checked out: hello from k8s" <<<"$BODY_OUT"
check "the step sees execd's process" grep -q "^proc: .*plue execd --socket" <<<"$BODY_OUT"
check "the step does not see the runner's" bash -c '! grep -q "^proc: .*plue runner" <<<"$1"' _ "$BODY_OUT"
check "the runner registered under the pod's name (${COLD:-none logged})" test "$(sql "SELECT count(*) FROM runners WHERE host = '$COLD'")" = 1
check "the cold pod is deleted after its workload" pods_are 0
check "the keeper said why it made it" grep -q "creating a cold pod for workload $WID" "$T_DIR/serve.log"
check "no standby pod was made" test "$(sql "SELECT count(*) FROM runners")" = 1
curl -s -H "Authorization: Bearer metrics-k8s" "$BASE/metrics" >"$T_DIR/metrics.txt"
check "the cold start is counted" grep -qx "plue_k8s_cold_starts_total 1" "$T_DIR/metrics.txt"
check "so is the cold pod's creation" grep -qx 'plue_k8s_pods_created_total{pool="cold"} 1' "$T_DIR/metrics.txt"

# ---- a warm pool of 2 ----
stop_server
export PLUE_WARM_POOL=2
start_server --port "$PORT"
check "2 standby pods" pods_are 2 "plue.dev/pool=standby"
WARM=$(pods "plue.dev/pool=standby")
check "both runners registered under their pods' names" registered $WARM
# the pods the keeper makes against what the deploy manifests demand of them
# (tests/deploy/checks.mjs: labels the NetworkPolicies select, the quota's
# limits, the volumes, the secret in the runner container only, ...)
POD1=${WARM%% *}
k GET "/api/v1/namespaces/$NS/pods/$POD1" >"$T_DIR/pod.json"
check "a standby pod meets what the deploy manifests demand of runner pods" \
	node --input-type=module -e '
import { runnerPodProblems } from "'"$(cd "$(dirname "$0")/../deploy" && pwd)"'/checks.mjs";
import { readFileSync } from "node:fs";
const p = runnerPodProblems(JSON.parse(readFileSync(process.argv[1], "utf8")));
for (const x of p) console.log("# " + x);
process.exit(p.length ? 1 : 0);' "$T_DIR/pod.json"
RUN=$(dispatch ci.yaml)
wait_run "$RUN"
expect_json .status success "a workflow on a standby pod"
BUSY_POD=$(sql "SELECT r.host FROM runners r JOIN workloads w ON w.runner_id = r.id JOIN workflow_jobs j ON j.id = w.job_id WHERE j.run_id = $RUN")
check "it ran on a standby pod ($BUSY_POD)" grep -qw -- "$BUSY_POD" <<<"$WARM"
check "that pod is gone" pod_gone "$BUSY_POD"
check "the pool is back to 2" pods_are 2 "plue.dev/pool=standby"
check "with a new pod" bash -c '! grep -qw -- "$1" <<<"$2"' _ "$BUSY_POD" "$(pods plue.dev/pool=standby)"
check "its runner is dead" test "$(sql "SELECT status FROM runners WHERE host = '$BUSY_POD'")" = dead

# ---- what a step can find of the runner's credentials ----
# decode LOGFILE: the search's output, unpacked
decode() { sed -n 's/^B64 //p' "$1" | base64 -d | gunzip -c; }
RUN=$(dispatch search.yaml)
wait_run "$RUN"
expect_json .status success "the search ran"
api GET "/api/runs/$RUN/logs" "$ALICE"
printf '%s\n' "$BODY_OUT" >"$T_DIR/search.log"
decode "$T_DIR/search.log" >"$T_DIR/search.exec"
check "the search's output came back whole" grep -q "^B64-END" "$T_DIR/search.log"
check "it read the workspace (the repository's files)" grep -qF "hello from k8s" "$T_DIR/search.exec"
check "it read process environments" grep -q "HOME=/tmp" "$T_DIR/search.exec"
check "no registration secret in the exec container" bash -c '! grep -qF -- "$1" "$2"' _ "$SECRET" "$T_DIR/search.exec"
check "no runner token" bash -c '! grep -q "plue_runner_" "$1"' _ "$T_DIR/search.exec"
check "no task token" bash -c '! grep -q "plue_task_" "$1"' _ "$T_DIR/search.exec"
# the same search in a runner container: it finds the secret there (the
# search can fail), which is what the separation keeps from the steps
POD=$(pods "plue.dev/pool=standby" | cut -d' ' -f1)
BPID=$(c GET "/_double/pods/$NS/$POD" | node -e 'const p=JSON.parse(require("fs").readFileSync(0,"utf8"));const r=p.processes&&p.processes.runner;process.stdout.write(String(r?r.pid:""))')
# descendants PID: every process below PID
descendants() { local p; for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do echo "$p"; descendants "$p"; done; }
RPID=
for p in $(descendants "${BPID:-0}"); do
	tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "plue runner" && RPID=$p
done
check "the runner container's process is known ($RPID)" test -n "$RPID"
if [ -n "$RPID" ]; then
	nsenter -t "$RPID" -a -S 1000 -G 1000 sh -s <"$SRC/search.sh" >"$T_DIR/search-runner.log" 2>&1 || true
	decode "$T_DIR/search-runner.log" >"$T_DIR/search.runner" 2>/dev/null
	check "run in the runner's container, the search finds the secret" grep -qF -- "$SECRET" "$T_DIR/search.runner"
fi

# ---- an agent session on a pod: its commands in the exec container ----
AS=$(new_session '{"title":"on a pod","tools":["read_file","run_command"]}' "$ALICE" alice/k)
script "$DA" '[
 {"content":[{"type":"tool_use","id":"k1","name":"run_command","input":{"command":"cat README; echo uid=$(id -u) cwd=$(pwd); env | grep -c PLUE_LLM || true"}}]},
 {"content":[{"type":"text","text":"done on a pod"}]}]'
api POST "/api/sessions/$AS/messages" "$ALICE" '{"content":"look"}'
expect_status 202 "a message to a session"
wait_idle "$AS"
api GET "/api/sessions/$AS/messages" "$ALICE"
# tool_result OUTPUT-REGEX: whether the last tool result matches
tool_result() {
	node -e 'const m=JSON.parse(require("fs").readFileSync(0,"utf8")).messages;const p=m.flatMap(x=>x.parts).filter(x=>x.type==="tool_result").pop();
	if(!p||!new RegExp(process.argv[1]).test(p.output)){console.log("# "+JSON.stringify(p));process.exit(1)}' "$1" <<<"$BODY_OUT"
}
check "the agent's command ran in the pod's workspace, as its user" tool_result 'hello from k8s[^]*uid=1000 cwd=/workspace'
check "with no model setting in its environment" tool_result 'cwd=/workspace\s+0\b'
check "the turn ended with the model's text" grep -q "done on a pod" <<<"$BODY_OUT"
check "a runner pod served it" test "$(sql "SELECT count(*) FROM runners r JOIN workloads w ON w.runner_id = r.id WHERE w.session_id = $AS AND r.host LIKE 'plue-runner-%'")" = 1
check "no pod carries the model's key" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$LLM_KEY" "$(k GET "/api/v1/namespaces/$NS/pods")"
# abort during a long command (a session of its own: wait_event looks at
# every turn's events): it stops on the pod
AS=$(new_session '{"title":"abort on a pod","tools":["run_command"]}' "$ALICE" alice/k)
script "$DA" '[{"content":[{"type":"tool_use","id":"k2","name":"run_command","input":{"command":"sleep 300"}}]}]'
api POST "/api/sessions/$AS/messages" "$ALICE" '{"content":"wait"}'
wait_event "$AS" tool_start
api POST "/api/sessions/$AS/abort" "$ALICE"
expect_status 202 "abort during a command on a pod"
wait_idle "$AS"
api GET "/api/sessions/$AS/messages" "$ALICE"
check "the command was cancelled, not waited for" node -e '
 const m=JSON.parse(require("fs").readFileSync(0,"utf8")).messages;const p=m.flatMap(x=>x.parts).filter(x=>x.type==="tool_result").pop();
 process.exit(p&&p.is_error&&/cancel/i.test(p.output)&&p.duration_ms<20000?0:1)' <<<"$BODY_OUT"
check "the turn says aborted" grep -q 'aborted done$' <<<"$(events "$AS")"
check "the pool is back to 2" pods_are 2 "plue.dev/pool=standby"

# ---- a pod evicted mid-run: retried once ----
RUN=$(dispatch evict.yaml)
wait_log "$RUN" "attempt 1 begins"
POD=$(sql "SELECT host FROM runners WHERE status = 'busy' ORDER BY id DESC LIMIT 1")
check "the busy pod is known ($POD)" test -n "$POD"
c POST "/_double/evict/$NS/$POD" >/dev/null
wait_run "$RUN"
expect_json .status success "the run succeeded after the eviction"
check "as attempt 2" test "$(jobfield work attempt)" = 2
curl -s -N --max-time 20 -H "Authorization: Bearer $ALICE" "$BASE/api/runs/$RUN/stream" >"$T_DIR/evict.sse"
check "the stream says the pod was evicted and why it was retried" grep -q "pod '$POD' was evicted.*retrying as attempt 2 of 2" "$T_DIR/evict.sse"
check "the keeper noticed at once (not the heartbeat)" bash -c '! grep -q "stopped responding" "$1"' _ "$T_DIR/evict.sse"
check "the pool is back to 2" pods_are 2 "plue.dev/pool=standby"

# a second eviction fails the job with the reason
RUN=$(dispatch stuck.yaml)
wait_log "$RUN" "stuck attempt 1 begins"
POD=$(sql "SELECT host FROM runners WHERE status = 'busy' ORDER BY id DESC LIMIT 1")
c POST "/_double/evict/$NS/$POD" >/dev/null
wait_log "$RUN" "stuck attempt 2 begins"
POD=$(sql "SELECT host FROM runners WHERE status = 'busy' ORDER BY id DESC LIMIT 1")
c POST "/_double/evict/$NS/$POD" >/dev/null
wait_run "$RUN"
expect_json .status failure "two evictions fail the run"
check "the reason says so" grep -q "pod '$POD' was evicted.*during attempt 2 of 2; giving up" <<<"$(sql "SELECT reason FROM workloads ORDER BY id DESC LIMIT 1")"

# ---- cancel reaches the pod's step ----
check "the pool is back to 2" pods_are 2 "plue.dev/pool=standby"
RUN=$(dispatch stuck.yaml)
wait_log "$RUN" "stuck attempt 1 begins"
api POST "/api/runs/$RUN/cancel" "$ALICE"
expect_status 202 "cancel accepted"
wait_run "$RUN"
expect_json .status cancelled "the run was cancelled"
check "the step was cancelled" test "$(jobfield work steps.1.status)" = cancelled
api GET "/api/runs/$RUN/logs" "$ALICE"
check "the step's process was killed" bash -c '! grep -qF "never printed" <<<"$1"' _ "$BODY_OUT"

# ---- 410 Gone: the keeper relists and goes on ----
check "the pool is back to 2" pods_are 2 "plue.dev/pool=standby"
# lists: how many lists (not watches) of the runner pods the double heard
lists() { c GET /_double/requests | node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")).requests;process.stdout.write(String(r.filter(x=>x.method==="GET"&&x.path==="/api/v1/namespaces/'$NS'/pods"&&!/watch=/.test(JSON.stringify(x.query||""))).length))'; }
lists_above() {
	local i
	for i in $(seq 1 300); do [ "$(lists)" -gt "$1" ] && return 0; sleep 0.1; done
	return 1
}
L0=$(lists)
c POST /_double/gone >/dev/null
c POST /_double/cut >/dev/null
check "the keeper lists again after 410 ($L0 lists before)" lists_above "$L0"
POD=$(pods "plue.dev/pool=standby" | cut -d' ' -f1)
k DELETE "/api/v1/namespaces/$NS/pods/$POD" >/dev/null
check "the pool is back to 2 after the relist" pods_are 2 "plue.dev/pool=standby"
check "without the deleted pod" bash -c '! grep -qw -- "$1" <<<"$2"' _ "$POD" "$(pods plue.dev/pool=standby)"

# ---- a crash loop: pods that fail before their runner registers ----
# (a wrong image, say) are replaced after a growing delay, not at once
stop_server
for p in $(pods); do k DELETE "/api/v1/namespaces/$NS/pods/$p" >/dev/null; done
check "no pod left of the good image" pods_are 0
PLUE_K8S_RUNNER_IMAGE=registry.example/crash:1 start_server --port "$PORT"
for _ in $(seq 1 600); do
	grep -q "before its runner registered (4 in a row); no new pod for 4000 ms" "$T_DIR/serve.log" && break
	sleep 0.1
done
check "the keeper holds back after pods crash (4 in a row: 4 s)" \
	grep -q "before its runner registered (4 in a row); no new pod for 4000 ms" "$T_DIR/serve.log"
c GET /_double/requests >"$T_DIR/requests-crash.json"
check "so few pods were made meanwhile" node -e '
const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).requests;
const all=r.filter(x=>x.method==="POST"&&/\/pods$/.test(x.path)).length;
console.log("# pods created:", all);
process.exit(all<200?0:1)' "$T_DIR/requests-crash.json"
stop_server
# the pool as it was, for what follows
start_server --port "$PORT"
check "the pool recovers with a good image" pods_are 2 "plue.dev/pool=standby"

# ---- every pod the keeper made passed the schemas ----
c GET /_double/requests >"$T_DIR/requests.json"
check "pods were created" node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).requests;process.exit(r.filter(x=>x.method==="POST"&&/\/pods$/.test(x.path)&&x.status===201).length>=6?0:1)' "$T_DIR/requests.json"
check "no pod was refused by Pod Security (403)" node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).requests;const bad=r.filter(x=>x.status===403);if(bad.length)console.log(bad);process.exit(bad.length?1:0)' "$T_DIR/requests.json"
check "no request was refused as invalid (422)" node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).requests;const bad=r.filter(x=>x.status===422);if(bad.length)console.log(bad);process.exit(bad.length?1:0)' "$T_DIR/requests.json"

# ---- two servers on one database: one keeper ----
# The first server keeps the database (its embedded cluster) and goes on
# in local mode without runners; B and C, in kubernetes mode, share it.
check "the first server kept the pool" grep -q "this server keeps the kubernetes pool" "$T_DIR/serve.log"
stop_server
PLUE_RUNNER_MODE=local PLUE_WARM_POOL=0 start_server --port "$PORT"
DB_URL="host=$PLUE_DATA_DIR/pg dbname=plue user=plue"
# replica NAME: a kubernetes-mode server on the shared database; sets
# NAME_PID and NAME_PORT
replica() {
	local port
	port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
	mkdir -p "$T_DIR/var-$1"
	PLUE_DATA_DIR="$T_DIR/var-$1" PLUE_DATABASE_URL="$DB_URL" \
		PLUE_K8S_RUNNER_URL="http://127.0.0.1:$port" \
		setsid "$PLUE" serve --port "$port" >"$T_DIR/serve-$1.out" 2>"$T_DIR/serve-$1.log" &
	SERVER_GROUPS+=("$!")
	eval "$1_PID=$! $1_PORT=$port"
}
# made_by PORT: until an alive pod points at the server on PORT (30 s)
made_by() {
	local i
	for i in $(seq 1 300); do grep -qw "http://127.0.0.1:$1" <<<"$(pod_urls)" && return 0; sleep 0.1; done
	echo "# pods point at: $(pod_urls)"
	return 1
}
# logged FILE TEXT: until FILE has TEXT (30 s)
logged() {
	local i
	for i in $(seq 1 300); do grep -qs -- "$2" "$1" && return 0; sleep 0.1; done
	return 1
}
replica B
check "server B keeps the pool" logged "$T_DIR/serve-B.log" "this server keeps the kubernetes pool"
replica C
check "server C stands by" logged "$T_DIR/serve-C.log" "another server keeps the kubernetes pool"
POD=$(pods "plue.dev/pool=standby" | cut -d' ' -f1)
k DELETE "/api/v1/namespaces/$NS/pods/$POD" >/dev/null
check "a deleted pod goes" pod_gone "$POD"
check "B made the replacement" made_by "$B_PORT"
check "the pool is 2 with two keepers' servers up" pods_are 2 "plue.dev/pool=standby"
check "C made no pod" bash -c '! grep -qw "$1" <<<"$2"' _ "http://127.0.0.1:$C_PORT" "$(pod_urls)"
kill -TERM "$B_PID"
check "C takes over when B goes" logged "$T_DIR/serve-C.log" "this server keeps the kubernetes pool"
check "the pool stays at 2 (adopted, not doubled)" pods_are 2 "plue.dev/pool=standby"
POD=$(pods "plue.dev/pool=standby" | cut -d' ' -f1)
k DELETE "/api/v1/namespaces/$NS/pods/$POD" >/dev/null
check "the deleted pod goes" pod_gone "$POD"
check "C made the replacement" made_by "$C_PORT"
check "the pool is 2 again" pods_are 2 "plue.dev/pool=standby"
# a replica stopped while its pods' runners poll it: it answers them and
# exits cleanly (stopping the HTTP daemon with a connection suspended
# would abort the process)
kill -TERM "$C_PID"
wait "$C_PID"
rc=$?
check "C stops cleanly while its pods poll it (exit $rc)" test "$rc" = 0
check "and says so" grep -q "stopped" "$T_DIR/serve-C.log"
# the pods' runners and execds, for finish's sanitizer check
cat "$T_DIR"/k8s/pods/*/*/*.log >"$T_DIR/pods.log" 2>/dev/null
check "the pods' containers logged" test -s "$T_DIR/pods.log"
finish
