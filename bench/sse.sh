#!/usr/bin/env bash
# sse.sh — idle SSE subscribers: a real `plue serve` (max connections and
# per-IP limit raised), one workflow run fed by hand through the runner
# protocol, and SSE_COUNTS rounds of N subscribers to that run's
# /api/runs/:id/stream held by one small client (bench/sse-hold.c, one
# epoll loop, not N processes). Each round has a fresh server and prints
#
#   rss before / after   the server's RSS with 0 and N idle subscribers
#   per subscriber       (after - before) / N
#   fan-out              one new event posted (the runner's POST) → the
#                        first and the last of the N subscribers to see it
#
# and the peer of the same run: N connections held open on nginx (one
# worker) by the same client, each a long-lived response (a static file
# sent at 100 bytes/s), its RSS per connection, and plue's as a ratio of it.
#
# Usage: PLUE=path/to/plue bash bench/sse.sh
# Knobs: SSE_COUNTS (default "1000 10000"), SSE_CONN_MEMORY_KB (the
#        server's --conn-memory-kb, one round each, default "32 8"), SSE_BACKLOG (log lines the run
#        has printed before the subscribers connect, 200), KEEP_TMP=1.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=sse
. "$(dirname "$0")/lib.sh"
COUNTS=${SSE_COUNTS:-1000 10000}
KMS=${SSE_CONN_MEMORY_KB:-32 8} # --conn-memory-kb settings, each a round
BACKLOG=${SSE_BACKLOG:-200}
require_tools nginx curl git cc
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
MAXN=0
for n in $COUNTS; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
[ "$(ulimit -n)" -gt $((MAXN + 100)) ] || die "ulimit -n $(ulimit -n) is too low for $MAXN connections"

bench_init plue-sse-bench
SECRET="sse-bench-$RANDOM$RANDOM"
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off
	PLUE_RUNNER_SECRET="$SECRET" HOME="$WORK/home")
mkdir -p "$WORK/home"
HOLD_PID=""
stop_extra() { stop_pid "$HOLD_PID"; HOLD_PID=""; }
cc -O2 -o "$WORK/sse-hold" "$BENCH_DIR/sse-hold.c" || die "cannot build sse-hold"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# tree_rss_kb PID: PID's RSS plus its children's (nginx's master and worker)
tree_rss_kb() { local t=0 p; for p in $1 $(pgrep -P "$1"); do t=$((t + $(rss_kb "$p"))); done; echo "$t"; }
# json FIELD: a field of the JSON on stdin

# hold N PATH MARKER HEADER...: starts the client (HOLD_PID, its output in
# WORK/hold.out) and waits for its "ready" line; dies unless all N
# answered 200.
hold() {
	local n=$1 port=$2 path=$3 marker=$4 i
	shift 4
	: >"$WORK/hold.out"
	"$WORK/sse-hold" 127.0.0.1 "$port" "$path" "$n" "$marker" "$@" >"$WORK/hold.out" &
	HOLD_PID=$!
	for i in $(seq 1 1200); do
		grep -q '^ready' "$WORK/hold.out" && break
		kill -0 "$HOLD_PID" 2>/dev/null || die "the client exited: $(cat "$WORK/hold.out")"
		sleep 0.1
	done
	read -r _ ok failed < <(grep '^ready' "$WORK/hold.out") || die "the client is not ready after 120 s"
	[ "$failed" = 0 ] || die "$failed of $n subscribers were not answered 200"
}

# one workflow run fed by hand: a repository with a dispatchable workflow
SRC="$WORK/src"
git init -q -b main "$SRC"
mkdir -p "$SRC/.plue/workflows"
printf 'on: workflow_dispatch\njobs:\n  one:\n    steps:\n      - run: echo hello\n' >"$SRC/.plue/workflows/hand.yaml"
git -C "$SRC" add . && git -C "$SRC" -c user.name=b -c user.email=b@b commit -qm workflow

declare -A PER
for n in $COUNTS; do
for km in $KMS; do
	plue_start --max-connections $((n + 1000)) --per-ip-limit $((n + 1000)) --conn-memory-kb "$km"
	if [ -z "${TOKEN:-}" ]; then
		plue_user bench repo:read,repo:write,user
		plue_repo sse
		plue_push "$SRC" sse main || die "push failed"
	fi
	bench_claim bench/sse hand.yaml
	# the run so far: a step that printed BACKLOG lines, which every
	# subscriber replays when it connects
	python3 -c '
import json, sys
seq, n = int(sys.argv[1]), int(sys.argv[2])
ev = [{"seq": seq, "type": "step_start", "payload": {"step": 1, "name": "idle"}}]
ev += [{"seq": seq + i, "type": "log", "payload": {"step": 1, "stream": "stdout", "line": "line %d of the log so far" % i}} for i in range(1, n + 1)]
print(json.dumps({"events": ev}))' "$SEQ" "$BACKLOG" >"$WORK/backlog.json"
	call POST "/internal/tasks/$WID/events" "$TT" "@$WORK/backlog.json" >/dev/null || die "cannot post the backlog"
	SEQ=$((SEQ + BACKLOG))
	RUN=$(psql -qtAX "host=$WORK/plue/pg dbname=plue user=plue" -c \
		"SELECT j.run_id FROM workflow_jobs j JOIN workloads w ON w.job_id = j.id WHERE w.id = $WID")
	sleep 1
	before=$(rss_kb "$PLUE_PID")
	marker="fanout-$RANDOM$RANDOM"
	hold "$n" "$PLUE_PORT" "/api/runs/$RUN/stream" "$marker" "Authorization: Bearer $TOKEN"
	sleep 1
	after=$(rss_kb "$PLUE_PID")
	t0=$(date +%s%N)
	call POST "/internal/tasks/$WID/events" "$TT" \
		"{\"events\":[{\"seq\":$((SEQ + 1)),\"type\":\"log\",\"payload\":{\"step\":1,\"stream\":\"stdout\",\"line\":\"$marker\"}}]}" >/dev/null ||
		die "cannot post the event"
	for _ in $(seq 1 700); do grep -q '^fanout' "$WORK/hold.out" && break; sleep 0.1; done
	read -r _ got first last rest < <(grep '^fanout' "$WORK/hold.out") || die "no fan-out figure"
	[ "$got" = "$n" ] || die "only $got of $n subscribers received the event ${rest:-}"
	per=$(((after - before) * 1024 / n))
	[ -n "${PER[$n]:-}" ] || PER[$n]=$per # the ratio below: the first setting's
	awk -v n="$n" -v b="$before" -v a="$after" -v p="$per" -v t0="$t0" -v f="$first" -v l="$last" -v km="$km" 'BEGIN {
		t = t0 / 1e6
		printf "plue  %6d subscribers  conn memory %3d KiB  rss %7.1f -> %7.1f MB   %6.1f KB each   fan-out first %7.1f ms  last %7.1f ms\n",
			n, km, b / 1024, a / 1024, p / 1024, f - t, l - t }'
	stop_extra
	stop_pid "$PLUE_PID"
	PLUE_PID=""
done
done

# the peer: nginx, one worker, the same client holding slow responses
peer_dirs
head -c 1048576 /dev/zero >"$WORK/www/slow.bin"
NGINX_PORT=$(free_port)
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/run/nginx.pid;
daemon off;
worker_rlimit_nofile 65536;
events { worker_connections $((MAXN + 1000)); }
http {
	access_log off;
	sendfile on; # no output buffers: the file is sent from the page cache
$(nginx_temp_paths)
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $WORK/www;
		location = /slow.bin { limit_rate 100; }
	}
}
EOF
give_away "$WORK/www" "$WORK/nginx" "$WORK/run"
chmod 755 "$WORK/nginx"
for n in $COUNTS; do
	"${AS[@]}" nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.out" 2>&1 &
	NGINX_PID=$!
	for _ in $(seq 1 100); do
		curl -sf -o /dev/null -r 0-0 --max-time 2 "http://127.0.0.1:$NGINX_PORT/slow.bin" && break
		kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$WORK/nginx.out" "$WORK/nginx/error.log")"
		sleep 0.1
	done
	sleep 1
	before=$(tree_rss_kb "$NGINX_PID")
	hold "$n" "$NGINX_PORT" /slow.bin -
	sleep 1
	after=$(tree_rss_kb "$NGINX_PID")
	per=$(((after - before) * 1024 / n))
	awk -v n="$n" -v b="$before" -v a="$after" -v p="$per" -v q="${PER[$n]}" 'BEGIN {
		printf "nginx %6d connections  rss %7.1f -> %7.1f MB   %6.1f KB each   plue/nginx per connection %.1fx\n",
			n, b / 1024, a / 1024, p / 1024, (p > 0 ? q / p : 0) }'
	stop_extra
	stop_pid "$NGINX_PID" TERM # QUIT would wait for the slow responses
	NGINX_PID=""
	rm -f "$WORK/run/nginx.pid"
done
echo "sse: one run's stream with $BACKLOG log lines replayed to each subscriber, $(nproc) cores, subscribers held by bench/sse-hold.c"
