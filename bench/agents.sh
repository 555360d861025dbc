#!/usr/bin/env bash
# agents.sh — the agents' performance, each figure beside a peer measured in
# the same run. The model provider is bench/llm-stamp.mjs, an Anthropic
# Messages server whose replies follow the conversation's last user text.
#
#   tokens   from the provider writing a text delta to an SSE client
#            receiving it, p50/p99, with 1, 100 and 1,000 sessions streaming
#            at once. Each delta carries the provider's wall clock
#            ("~t=NANOSECONDS"); bench/token-watch.c (one epoll loop) holds
#            every session's /api/sessions/:id/stream and takes its own
#            clock on receipt. The server is real; the runners are not: 1,000
#            sandboxes do not fit on a small machine, so a client does what
#            their loop does up to the model call — it registers a runner
#            per session (/internal/runners/register), claims the session's
#            agent workload (/claim) and asks for the turn's reply with the
#            task token (POST /internal/tasks/:id/model, from a second
#            token-watch) — which is the path a token takes in production:
#            provider → the server's model call → the session's events →
#            its SSE watchers. Peer: the same client POSTing the same
#            request to the provider through nginx as a plain proxy
#            (proxy_buffering off), the same counts, deltas and pace.
#   abort    from POST /api/sessions/:id/abort to the `aborted` event on
#            the session's stream, and to the `tool_end` of the sandboxed
#            command (run_command of a long sleep; the runner sends it once
#            the command is killed and reaped), over AGENTS_ABORTS aborts
#            through the real warm pool and sandbox. Peer: POST
#            /api/runs/:id/cancel of a scripted workflow whose step sleeps,
#            to its step_end: the same pool, sandbox, cancel flag and
#            kill, without the agent — which is what the figure is about
#            (`kill` of a `runsc exec` would skip the server, the runner
#            and the notifier that an abort has to cross).
#   step     from the provider's last delta of a reply that calls a tool to
#            the request that brings the tool's result back (the provider
#            times both), for read_file and run_command `echo`, over
#            AGENTS_STEPS steps each in one turn. Peer: `cat FILE` and
#            `/bin/echo` by fork/exec on the host, unsandboxed.
#
# Each count of the tokens part, and the abort and step parts together, have
# a fresh server on a data directory of its own. No figure is asserted:
# they are printed.
#
# Usage: PLUE=path/to/plue bash bench/agents.sh
# Knobs: AGENTS_ONLY (subset of "tokens abort step"), AGENTS_COUNTS
#        (sessions streaming at once, default "1 100 1000"), AGENTS_DELTAS
#        (deltas per reply, 40), AGENTS_DELAY_MS (between deltas, 50),
#        AGENTS_ABORTS (50), AGENTS_STEPS (30), PLUE_SANDBOX (auto),
#        KEEP_TMP=1.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=agents
. "$(dirname "$0")/lib.sh"
ONLY=${AGENTS_ONLY:-tokens abort step}
COUNTS=${AGENTS_COUNTS:-1 100 1000}
DELTAS=${AGENTS_DELTAS:-40}
DELAY=${AGENTS_DELAY_MS:-50}
ABORTS=${AGENTS_ABORTS:-50}
STEPS=${AGENTS_STEPS:-30}
require_tools node nginx curl git cc python3 psql
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
MAXN=0
for n in $COUNTS; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
[ "$(ulimit -n)" -gt $((4 * MAXN + 100)) ] || die "ulimit -n $(ulimit -n) is too low for $MAXN sessions"

bench_init plue-agents
SECRET="agents-bench-$RANDOM$RANDOM"
KEY="sk-ant-bench-$RANDOM$RANDOM"
mkdir -p "$WORK/home"
DOUBLE_PID="" WATCH_PID="" ASK_PID=""
stop_extra() {
	stop_pid "$WATCH_PID"
	stop_pid "$ASK_PID"
	stop_pid "$DOUBLE_PID"
	WATCH_PID="" ASK_PID="" DOUBLE_PID=""
}
cc -O2 -o "$WORK/token-watch" "$BENCH_DIR/token-watch.c" || die "cannot build token-watch"

# the provider
node "$BENCH_DIR/llm-stamp.mjs" >"$WORK/double.out" 2>"$WORK/double.log" &
DOUBLE_PID=$!
for _ in $(seq 1 100); do grep -q '^listening on' "$WORK/double.out" && break; sleep 0.1; done
DPORT=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$WORK/double.out")
[ -n "$DPORT" ] || die "the provider did not start: $(cat "$WORK/double.log")"

PLUE_ENV=(PLUE_LOG_LEVEL=warn PLUE_PG_FSYNC=off HOME="$WORK/home"
	PLUE_RUNNER_SECRET="$SECRET" PLUE_LLM_BASE_URL="http://127.0.0.1:$DPORT" PLUE_LLM_API_KEY="$KEY"
	PLUE_AGENT_CONCURRENCY=$((MAXN + 100)) PLUE_SANDBOX="${PLUE_SANDBOX:-auto}")

# a repository with a README, for every part
SRC="$WORK/src"
git init -q -b main "$SRC"
printf 'Hello from the README.\n' >"$SRC/README.md"
mkdir -p "$SRC/.plue/workflows"
printf 'on: workflow_dispatch\njobs:\n  j:\n    steps:\n      - run: echo started; exec sleep 300\n' \
	>"$SRC/.plue/workflows/sleep.yaml"
git -C "$SRC" add -A
git -C "$SRC" -c user.name=b -c user.email=b@example.com commit -qm init
# fresh_data NAME: the next server starts on a data directory of its own,
# WORK/NAME (turns left running by a measurement do not count against the
# next one)
fresh_data() {
	DATA="$WORK/$1"
	PLUE_ENV+=(PLUE_DATA_DIR="$DATA")
	SETUP_DONE=0
}
setup_forge() { # once per data directory
	[ "$SETUP_DONE" = 1 ] && return 0
	plue_user bench repo:read,repo:write,user
	plue_repo agents
	plue_push "$SRC" agents main || die "push failed"
	SETUP_DONE=1
}
sql() { psql -qtAX "host=$DATA/pg dbname=plue user=plue" -c "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b <= 0) print "-"; else printf "%.2f", a / b }'; }

echo "agents bench: $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- tokens

# watch_start PORT REQUESTS EXPECT: runs token-watch in the background (WATCH_PID,
# its output in WORK/watch.out) and waits for its "ready" line.
watch_start() {
	: >"$WORK/watch.out"
	"$WORK/token-watch" 127.0.0.1 "$1" "$2" "$3" 120 >"$WORK/watch.out" 2>"$WORK/watch.err" &
	WATCH_PID=$!
	for _ in $(seq 1 1200); do
		grep -q '^ready' "$WORK/watch.out" && return 0
		kill -0 "$WATCH_PID" 2>/dev/null || die "token-watch exited: $(cat "$WORK/watch.out" "$WORK/watch.err")"
		sleep 0.05
	done
	die "token-watch is not ready after 60 s"
}
# watch_done: waits for the watcher's "done" line; sets WATCHED to
# "GOT WANTED P50 P99 MAX".
watch_done() {
	wait "$WATCH_PID" || true
	WATCH_PID=""
	local line
	line=$(grep '^done' "$WORK/watch.out") || die "no figures from token-watch: $(cat "$WORK/watch.out" "$WORK/watch.err")"
	WATCHED=${line#done }
}

if [[ " $ONLY " == *" tokens "* ]]; then
	declare -A P50 P99 GOT
	PLUE_ENV+=(PLUE_WARM_POOL=0) # the pool stays empty: the client is the runners
	for n in $COUNTS; do
		fresh_data "plue-$n"
		plue_start --max-connections $((3 * n + 1000)) --per-ip-limit $((3 * n + 1000))
		setup_forge
		# n sessions, each sent "stream", each turn claimed by a runner of
		# its own; the watchers' and the model calls' request lines
		python3 - "$PLUE_PORT" "$TOKEN" "$SECRET" "$n" "$DELTAS" "$DELAY" "$WORK/sse.req" "$WORK/ask.req" <<'EOF' ||
import http.client, json, sys
port, token, secret, n, k, d, sse_f, ask_f = sys.argv[1:]
c = http.client.HTTPConnection("127.0.0.1", int(port))
def call(method, path, auth, body=None):
    c.request(method, path, body=None if body is None else json.dumps(body),
              headers={"Authorization": "Bearer " + auth, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data) if data else None
sessions = []
for i in range(int(n)):
    s = call("POST", "/api/bench/agents/sessions", token, {"title": "s%d" % i})["id"]
    call("POST", "/api/sessions/%d/messages" % s, token, {"content": "stream %s %s" % (k, d)})
    sessions.append(s)
asks = []
for s in sessions:
    reg = call("POST", "/internal/runners/register", secret, {"host": "bench", "pid": 1, "sandbox": "none"})
    cl = call("POST", "/internal/runners/%d/claim" % reg["id"], reg["token"])
    if not cl or not cl.get("workload"):
        sys.exit("nothing to claim for session %d" % s)
    asks.append("POST\t/internal/tasks/%d/model\tAuthorization: Bearer %s\t%s" % (
        cl["workload"], cl["task_token"], json.dumps({"turn": 1, "tool_results": []})))
with open(sse_f, "w") as f:
    for s in sessions:
        f.write("GET\t/api/sessions/%d/stream\tAuthorization: Bearer %s\t-\n" % (s, token))
with open(ask_f, "w") as f:
    f.write("\n".join(asks) + "\n")
EOF
			die "setting up $n sessions failed"
		watch_start "$PLUE_PORT" "$WORK/sse.req" "$DELTAS"
		read -r _ ok failed < <(grep '^ready' "$WORK/watch.out")
		[ "$failed" = 0 ] || die "$failed of $n session streams were not answered 200"
		"$WORK/token-watch" 127.0.0.1 "$PLUE_PORT" "$WORK/ask.req" 0 180 >"$WORK/ask.out" 2>&1 &
		ASK_PID=$!
		watch_done
		read -r got wanted p50 p99 max <<<"$WATCHED"
		stop_pid "$ASK_PID"
		ASK_PID=""
		[ "$got" = "$wanted" ] || say "plue, $n sessions: $got of $wanted tokens arrived"
		P50[$n]=$p50 P99[$n]=$p99 GOT[$n]=$got
		printf 'plue   %5d sessions  tokens %6s of %6s  p50 %8s ms  p99 %8s ms  max %8s ms\n' \
			"$n" "$got" "$wanted" "$p50" "$p99" "$max"
		stop_pid "$PLUE_PID"
		PLUE_PID=""
	done

	# the peer: nginx relays the provider's stream, as it is, to the same client
	peer_dirs
	NGINX_PORT=$(free_port)
	cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/run/nginx.pid;
daemon off;
worker_rlimit_nofile 65536;
events { worker_connections $((2 * MAXN + 1000)); }
http {
	access_log off;
$(nginx_temp_paths)
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / {
			proxy_pass http://127.0.0.1:$DPORT;
			proxy_http_version 1.1;
			proxy_buffering off;
			proxy_read_timeout 300s;
		}
	}
}
EOF
	give_away "$WORK/nginx" "$WORK/run"
	chmod 755 "$WORK/nginx"
	"${AS[@]}" nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.out" 2>&1 &
	NGINX_PID=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/_bench/steps" && break
		kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$WORK/nginx.out" "$WORK/nginx/error.log")"
		sleep 0.1
	done
	body=$(printf '{"model":"m","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"stream %s %s"}]}' "$DELTAS" "$DELAY")
	for n in $COUNTS; do
		for _ in $(seq 1 "$n"); do printf 'POST\t/v1/messages\tx-api-key: %s\t%s\n' "$KEY" "$body"; done >"$WORK/peer.req"
		watch_start "$NGINX_PORT" "$WORK/peer.req" "$DELTAS"
		watch_done
		read -r got wanted p50 p99 max <<<"$WATCHED"
		[ "$got" = "$wanted" ] || say "nginx, $n streams: $got of $wanted tokens arrived"
		printf 'nginx  %5d streams   tokens %6s of %6s  p50 %8s ms  p99 %8s ms  max %8s ms   plue/nginx p50 %s p99 %s\n' \
			"$n" "$got" "$wanted" "$p50" "$p99" "$max" "$(ratio "${P50[$n]}" "$p50")" "$(ratio "${P99[$n]}" "$p99")"
	done
	peer_stop
	echo "tokens: $DELTAS deltas per reply, $DELAY ms apart; provider → SSE client, wall clock of one machine"
fi

# ---------------------------------------------------------------- abort and step

# The real warm pool and sandbox from here on.
if [[ " $ONLY " == *" abort "* ]] || [[ " $ONLY " == *" step "* ]]; then
	PLUE_ENV+=(PLUE_WARM_POOL=2)
	fresh_data plue-pool
	plue_start
	setup_forge
	for _ in $(seq 1 600); do
		[ "$(sql "SELECT count(*) FROM runners WHERE status = 'idle'")" -ge 2 ] && break
		sleep 0.1
	done
fi

# drive.py MODE ...: the timed client of the abort and step parts (SSE read
# line by line, its clock taken as each line arrives).
cat >"$WORK/drive.py" <<'EOF'
import http.client, json, socket, sys, time

port, token = int(sys.argv[2]), sys.argv[3]
def call(method, path, body=None, auth=token):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request(method, path, body=None if body is None else json.dumps(body),
              headers={"Authorization": "Bearer " + auth, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        sys.exit("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data) if data else None

class Stream:
    """An SSE stream: next() is (type, data, time it arrived)."""
    def __init__(self, path, last=0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Last-Event-ID: %d\r\nAccept: text/event-stream\r\n\r\n" % (path, token, last)).encode())
        self.f = self.s.makefile("rb")
        while self.f.readline() not in (b"\r\n", b"\n", b""):
            pass
        self.last = last
    def next(self):
        typ, data = None, ""
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("the stream ended")
            t = time.monotonic()
            line = line.decode().rstrip("\r\n")
            if line.startswith("event: "): typ = line[7:]
            elif line.startswith("data: "): data += line[6:]
            elif line.startswith("id: "): self.last = int(line[4:])
            elif line == "" and typ: return typ, data, t
    def until(self, *types):
        while True:
            ev = self.next()
            if ev[0] in types:
                return ev
    def close(self):
        self.s.close()

def pcts(v):
    v = sorted(v)
    return "%.1f %.1f" % (v[int(0.5 * (len(v) - 1) + 0.5)], v[int(0.99 * (len(v) - 1) + 0.5)])

mode = sys.argv[1]
if mode == "abort":
    n = int(sys.argv[4])
    s = call("POST", "/api/bench/agents/sessions", {"title": "abort", "tools": ["run_command"]})["id"]
    to_aborted, to_end, last = [], [], 0
    for i in range(n):
        st = Stream("/api/sessions/%d/stream" % s, last)
        call("POST", "/api/sessions/%d/messages" % s, {"content": "sleep agents-bench-%d" % i})
        st.until("tool_start")
        time.sleep(0.3)  # the command is running
        t0 = time.monotonic()
        call("POST", "/api/sessions/%d/abort" % s)
        seen = {}
        while len(seen) < 2:
            typ, _, t = st.until("aborted", "tool_end", "done")
            if typ == "done":
                break
            seen.setdefault(typ, t)
        if len(seen) < 2:
            sys.exit("abort %d: the turn ended without %s" % (i, {"aborted", "tool_end"} - set(seen)))
        st.until("done")
        last = st.last
        st.close()
        to_aborted.append((seen["aborted"] - t0) * 1e3)
        to_end.append((seen["tool_end"] - t0) * 1e3)
    print("aborted", pcts(to_aborted))
    print("killed", pcts(to_end))
elif mode == "cancel":
    n = int(sys.argv[4])
    times, last_run = [], None
    for i in range(n):
        call("POST", "/api/bench/agents/workflows/sleep.yaml/dispatch", {})
        run = None
        for _ in range(600):
            ids = [r["id"] for r in call("GET", "/api/bench/agents/runs")]
            if ids and max(ids) != last_run:
                run = max(ids)
                break
            time.sleep(0.05)
        if run is None:
            sys.exit("the dispatched run did not appear")
        last_run = run
        st = Stream("/api/runs/%d/stream" % run)
        while True:
            typ, data, _ = st.until("log")
            if "started" in data:
                break
        time.sleep(0.3)
        t0 = time.monotonic()
        call("POST", "/api/runs/%d/cancel" % run)
        while True:
            typ, data, t = st.until("step_end")
            if json.loads(data).get("step", 0) >= 1:
                break
        st.close()
        times.append((t - t0) * 1e3)
        for _ in range(600):
            if call("GET", "/api/runs/%d" % run)["status"] in ("cancelled", "failure", "success"):
                break
            time.sleep(0.05)
    print("cancelled", pcts(times))
elif mode == "step":
    tool, n = sys.argv[4], int(sys.argv[5])
    s = call("POST", "/api/bench/agents/sessions",
             {"title": "step", "tools": [tool], "max_turns": min(200, n + 5)})["id"]
    st = Stream("/api/sessions/%d/stream" % s)
    call("POST", "/api/sessions/%d/messages" % s, {"content": "step %s %d" % (tool, n)})
    st.until("done")
    st.close()
    msgs = call("GET", "/api/sessions/%d/messages?limit=200" % s)["messages"]
    bad = [p for m in msgs for p in m["parts"] if p["type"] == "tool_result" and p["is_error"]]
    if bad:
        sys.exit("%s failed: %s" % (tool, bad[0]["output"][:300]))
EOF

if [[ " $ONLY " == *" abort "* ]]; then
	python3 "$WORK/drive.py" abort "$PLUE_PORT" "$TOKEN" "$ABORTS" >"$WORK/abort.out" || die "the abort part failed"
	python3 "$WORK/drive.py" cancel "$PLUE_PORT" "$TOKEN" "$ABORTS" >"$WORK/cancel.out" || die "the run-cancel part failed"
	read -r _ a50 a99 < <(grep '^aborted' "$WORK/abort.out")
	read -r _ k50 k99 < <(grep '^killed' "$WORK/abort.out")
	read -r _ c50 c99 < <(grep '^cancelled' "$WORK/cancel.out")
	printf 'abort -> aborted event    p50 %7s ms  p99 %7s ms\n' "$a50" "$a99"
	printf 'abort -> command killed   p50 %7s ms  p99 %7s ms   run cancel -> step killed p50 %7s ms  p99 %7s ms   ratio p50 %s p99 %s\n' \
		"$k50" "$k99" "$c50" "$c99" "$(ratio "$k50" "$c50")" "$(ratio "$k99" "$c99")"
	echo "abort: $ABORTS aborts of a run_command sleeping in the sandbox ($(sql "SELECT string_agg(DISTINCT sandbox, ',') FROM workloads WHERE sandbox IS NOT NULL")), each 0.3 s after its tool_start; peer: $ABORTS cancels of a workflow step sleeping, 0.3 s after its first log line"
fi

if [[ " $ONLY " == *" step "* ]]; then
	for tool in read_file run_command; do
		curl -sf -X POST "http://127.0.0.1:$DPORT/_bench/reset" >/dev/null
		python3 "$WORK/drive.py" step "$PLUE_PORT" "$TOKEN" "$tool" "$STEPS" || die "the $tool steps failed"
		read -r s50 s99 < <(curl -sf "http://127.0.0.1:$DPORT/_bench/steps" | python3 -c '
import json, sys
v = sorted(json.load(sys.stdin)[sys.argv[1]])
print("%.2f %.2f" % (v[int(0.5 * (len(v) - 1) + 0.5)], v[int(0.99 * (len(v) - 1) + 0.5)]) if v else "- -")' "$tool")
		# the peer: the same command by fork/exec on the host
		if [ "$tool" = read_file ]; then cmd=(cat "$SRC/README.md") label="cat README.md"; else cmd=(/bin/echo step) label="echo step"; fi
		cmd[0]=$(command -v "${cmd[0]}")
		read -r h50 h99 < <(for _ in $(seq 1 "$STEPS"); do
			t0=$EPOCHREALTIME
			"${cmd[@]}" >/dev/null
			t1=$EPOCHREALTIME
			echo "$t0 $t1"
		done | awk '{ print ($2 - $1) * 1000 }' | sort -n | awk '{ v[NR] = $1 } END {
			printf "%.2f %.2f\n", v[int(0.5 * (NR - 1) + 0.5) + 1], v[int(0.99 * (NR - 1) + 0.5) + 1] }')
		printf 'step %-12s p50 %8s ms  p99 %8s ms   host fork/exec %-22s p50 %6s ms  p99 %6s ms   ratio p50 %s p99 %s\n' \
			"$tool" "$s50" "$s99" "$label" "$h50" "$h99" "$(ratio "$s50" "$h50")" "$(ratio "$s99" "$h99")"
	done
	echo "step: $STEPS tool calls each in one turn, from the provider's last delta to the request with the result"
fi
