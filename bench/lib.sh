# lib.sh — what the benchmark scripts share, sourced by each of them:
# messages, a temporary directory stopped and removed on exit, the cached
# fixture repositories, `plue serve` with a user, and the peer (nginx with
# fcgiwrap in front of git http-backend and cgit, from bench/nginx/nginx.conf).
#
# A script sets BENCH_NAME (the prefix of its messages), sources this file,
# calls bench_init, and then uses the rest. The process ids of what it
# starts live in PLUE_PID, NGINX_PID and FCGI_PID; a script that starts
# more defines stop_extra to stop it. Not a script of its own: it defines
# functions and runs nothing when sourced but the lines below.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PLUE_PID="" NGINX_PID="" FCGI_PID=""
PLUE_ENV=() # VAR=VALUE for `plue serve` and `plue admin`, set by the script
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# say WORDS: a message on stderr, with the script's prefix.
say() { echo "${BENCH_NAME:-bench}: $*" >&2; }

# die WORDS: say it and exit 1 (the EXIT trap stops everything).
die() { say "$*"; exit 1; }

# require_tools TOOL...: dies naming the first tool that is not installed.
require_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "'$tool' is missing (make bench installs it)"
	done
}

# stop_pid PID [SIGNAL]: signal it (TERM by default) and wait up to 10 s,
# then KILL. An empty PID, or one already gone, is not an error.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}

# free_port: prints a TCP port free on 127.0.0.1 at the moment.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stop_all: stops what the script started: its extras (stop_extra, if it
# defines one), the peer, then plue.
stop_all() {
	if declare -F stop_extra >/dev/null; then stop_extra; fi
	peer_stop
	stop_pid "$PLUE_PID" TERM
	PLUE_PID=""
}

# bench_cleanup: the EXIT trap: stop_all, then remove WORK (kept, and its
# path said, with KEEP_TMP=1).
bench_cleanup() {
	stop_all
	[ -n "${WORK:-}" ] || return 0
	if [ "${KEEP_TMP:-}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}

# bench_init NAME: WORK, a new directory /tmp/NAME.XXXXXX readable by all
# (the peers may run as nobody), and the traps that clean up on exit,
# Ctrl-C included.
bench_init() {
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$WORK"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

# bench_git_env: git as the clients in the figures run it: no system or
# user configuration (a global one of their own in WORK), no prompts,
# protocol v2.
bench_git_env() {
	export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_CONFIG_GLOBAL="$WORK/gitconfig"
	git config --global protocol.version 2
}

# ---------------------------------------------------------------- fixtures

# gen_repo NAME SCRIPT REPACK-FLAGS: $OUT/NAME.git from the generator's
# fast-import stream, rebuilt only when the generator changes (its hash is
# kept in bench-stamp), with HEAD on main.
gen_repo() {
	local name=$1 script=$2 flags=$3 dir="$OUT/$1.git" stamp
	stamp=$(sha256sum <"$script" | cut -c1-16)
	if [ -f "$dir/bench-stamp" ] && [ "$(cat "$dir/bench-stamp")" = "$stamp" ]; then
		return 0
	fi
	say "generating $dir (once; cached)"
	mkdir -p "$OUT"
	local tmp="$OUT/.$name.$$"
	rm -rf "$tmp"
	git init -q --bare "$tmp"
	python3 "$script" | git -C "$tmp" fast-import --quiet
	git -C "$tmp" repack $flags
	git -C "$tmp" symbolic-ref HEAD refs/heads/main
	echo "$stamp" >"$tmp/bench-stamp"
	rm -rf "$dir"
	mv -T "$tmp" "$dir" 2>/dev/null || true # a run that raced us there wins
	rm -rf "$tmp"
}

# fixture_big: $OUT/big.git, the 110k-object repository of bench/gen-big.py
# (generated once), and BIG_SHA, its main, and BIG_OBJECTS, its object count.
fixture_big() {
	gen_repo big "$BENCH_DIR/gen-big.py" "-adfq"
	BIG_SHA=$(git -C "$OUT/big.git" rev-parse refs/heads/main)
	BIG_OBJECTS=$(git -C "$OUT/big.git" count-objects -v | sed -n 's/^in-pack: //p')
}

# ---------------------------------------------------------------- plue

# plue_start [ARGS...]: `plue serve --port 0 ARGS...` in the background
# with PLUE_ENV, its output in WORK/serve.out and serve.log; waits until it
# listens (dies if it exits first) and sets PLUE_PID, PLUE_PORT and BASE.
plue_start() {
	local i
	env "${PLUE_ENV[@]}" "$PLUE" serve --port 0 "$@" >"$WORK/serve.out" 2>"$WORK/serve.log" &
	PLUE_PID=$!
	PLUE_PORT=""
	for i in $(seq 1 600); do
		PLUE_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/serve.out" 2>/dev/null | head -1)
		[ -n "$PLUE_PORT" ] && break
		kill -0 "$PLUE_PID" 2>/dev/null || die "plue serve exited during start: $(cat "$WORK/serve.log")"
		sleep 0.1
	done
	[ -n "$PLUE_PORT" ] || die "plue serve did not start: $(cat "$WORK/serve.log")"
	BASE="http://127.0.0.1:$PLUE_PORT"
}

# plue_user NAME SCOPES: `plue admin create-user NAME --scopes SCOPES`;
# sets PLUE_USER to NAME and TOKEN to its token, or dies.
plue_user() {
	PLUE_USER=$1
	TOKEN=$(env "${PLUE_ENV[@]}" "$PLUE" admin create-user "$1" --scopes "$2" 2>>"$WORK/admin.log" | tail -1)
	[ -n "$TOKEN" ] || die "cannot create user '$1': $(cat "$WORK/admin.log")"
}

# plue_repo NAME: creates PLUE_USER/NAME through the API, its JSON left in
# WORK/create.json; dies unless it answers 201.
plue_repo() {
	local st
	st=$(curl -s -o "$WORK/create.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data "{\"name\":\"$1\"}" "$BASE/api/repos")
	[ "$st" = 201 ] || die "creating repository '$PLUE_USER/$1': status $st: $(cat "$WORK/create.json")"
}

# plue_push SRC NAME REFSPEC...: pushes REFSPEC of the repository SRC into
# PLUE_USER/NAME over smart HTTP; on failure says why and returns 1.
plue_push() {
	local src=$1 name=$2
	shift 2
	say "pushing $name into plue"
	git -C "$src" push -q "http://$PLUE_USER:$TOKEN@127.0.0.1:$PLUE_PORT/$PLUE_USER/$name.git" "$@" \
		>"$WORK/push-$name.log" 2>&1 && return 0
	say "push of '$name' into plue failed: $(tail -3 "$WORK/push-$name.log" | tr '\n' ' ')"
	return 1
}

# ---------------------------------------------------------------- the peer

# Everything the peer touches is owned by an unprivileged user when we are
# root, and it runs as that user: AS is the prefix of its commands.
AS=()
if [ "$(id -u)" -eq 0 ]; then
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi

# give_away PATH...: hands PATH to that user (nothing when not root).
give_away() { [ ${#AS[@]} -eq 0 ] || chown -R 65534:65534 "$@"; }

# The CGI programs inherit fcgiwrap's environment: the one plue gives its
# git children.
PEER_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent GIT_CONFIG_NOSYSTEM=1 LC_ALL=C)

# peer_dirs: the peer's directories under WORK: git/ (the repositories it
# serves, GIT_PROJECT_ROOT), www/ (static files), nginx/, run/ (the
# fcgiwrap socket), and clones/ for the clients.
peer_dirs() { mkdir -p "$WORK/git" "$WORK/www" "$WORK/nginx/tmp" "$WORK/run" "$WORK/clones"; }

# nginx_temp_paths: the temporary file paths of an http block, under the
# nginx/tmp/ peer_dirs makes (for an nginx.conf a bench writes itself)
nginx_temp_paths() {
	local t
	for t in client_body fastcgi proxy scgi uwsgi; do
		printf '\t%s_temp_path %s/nginx/tmp/%s;\n' "$t" "$WORK" "${t#client_}"
	done
}

# peer_timed_backend: prints the path of a wrapper of git http-backend
# that runs it under GNU time, which appends "USER SYSTEM" seconds of it
# and the upload-pack and pack-objects it waited for to WORK/run/peer-cpu
# (fcgiwrap does not account for the CGI programs it runs; the wrapper's
# own cost is not counted).
peer_timed_backend() {
	printf '#!/bin/sh\nexec /usr/bin/time -a -o %s -f "%%U %%S" %s\n' "$WORK/run/peer-cpu" "$GIT_HTTP_BACKEND" \
		>"$WORK/run/http-backend"
	chmod 755 "$WORK/run/http-backend"
	: >"$WORK/run/peer-cpu"
	echo "$WORK/run/http-backend"
}

# peer_start CHILDREN BACKEND PROBE: nginx on a free port (PEER is its
# URL) and fcgiwrap with CHILDREN children, BACKEND as git http-backend
# and CGIT_CGI (default none) as cgit; waits until GET PEER/PROBE answers
# 200 (dies if nginx exits first). Call peer_dirs and fill git/ and www/
# first.
peer_start() {
	local children=$1 backend=$2 probe=$3 i
	NGINX_PORT=$(free_port)
	sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@CGIT_CGI@|${CGIT_CGI:-/nonexistent}|g" \
	    -e "s|@CGIT_DATA@|${CGIT_DATA:-/nonexistent}|g" -e "s|@GIT_HTTP_BACKEND@|$backend|g" \
	    "$BENCH_DIR/nginx/nginx.conf" >"$WORK/nginx/nginx.conf"
	give_away "$WORK/git" "$WORK/www" "$WORK/nginx" "$WORK/run"
	chmod 755 "$WORK/nginx"
	# fcgiwrap leads its own process group so that its preforked children
	# stop with it; cgit and git http-backend are forked per request.
	setsid "${AS[@]}" "${PEER_ENV[@]}" fcgiwrap -c "$children" -s "unix:$WORK/run/fcgiwrap.sock" \
		>"$WORK/fcgiwrap.log" 2>&1 &
	FCGI_PID=$!
	"${AS[@]}" "${PEER_ENV[@]}" nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" \
		>"$WORK/nginx.out" 2>&1 &
	NGINX_PID=$!
	PEER="http://127.0.0.1:$NGINX_PORT"
	for i in $(seq 1 100); do
		[ -S "$WORK/run/fcgiwrap.sock" ] && curl -sf -o /dev/null "$PEER/$probe" && break
		kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$WORK/nginx.out" "$WORK/nginx/error.log")"
		sleep 0.1
	done
	[ -S "$WORK/run/fcgiwrap.sock" ] || die "fcgiwrap did not start: $(cat "$WORK/fcgiwrap.log")"
	curl -sf -o /dev/null "$PEER/$probe" || die "the peer does not answer $PEER/$probe: $(cat "$WORK/nginx/error.log")"
}

# peer_stop: stops nginx, then fcgiwrap's whole process group.
peer_stop() {
	stop_pid "$NGINX_PID" QUIT
	if [ -n "$FCGI_PID" ]; then
		kill -TERM -- "-$FCGI_PID" 2>/dev/null || true
		stop_pid "$FCGI_PID" TERM
	fi
	NGINX_PID="" FCGI_PID=""
}

# ---------------------------------------------------------------- measuring

# cpu_ms plue|peer: CPU used so far by the side's server processes, ms.
# plue: itself and every child it has reaped (upload-pack, which reaps the
# hook, which reaps pack-objects). The peer: nginx's and fcgiwrap's own
# time, and what GNU time recorded for each http-backend (peer_timed_backend).
cpu_ms() {
	if [ "$1" = plue ]; then
		awk -v t="$TICK_US" '{ print int(($14 + $15 + $16 + $17) * t / 1000) }' "/proc/$PLUE_PID/stat"
	else
		local own cgi
		own=$({ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v n="$NGINX_PID" -v g="$FCGI_PID" '
			{ pid = $1; sub(/^.*\) /, "") }
			pid == n || $2 == n || $3 == g { t += $12 + $13 }
			END { print t + 0 }')
		cgi=$(awk '{ t += $1 + $2 } END { print int(t * 1000) }' "$WORK/run/peer-cpu")
		echo $((own * TICK_US / 1000 + cgi))
	fi
}

# settle: until no git process of either side is left to be reaped (10 s
# at most), so that its CPU time has reached the counters of cpu_ms.
settle() {
	local i
	for i in $(seq 1 200); do
		if ! pgrep -P "$PLUE_PID" '^git' >/dev/null 2>&1 && ! pgrep -g "$FCGI_PID" '^git' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
}

# median: the median of the numbers on stdin, one a line.
# json FIELD: a top-level field of the JSON on stdin
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# call METHOD PATH TOKEN [BODY]: a JSON request to plue ($BASE)
call() {
	curl -sf -X "$1" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
		${4:+--data "$4"} "$BASE$2"
}

# bench_claim OWNER/REPO FILE: registers a runner of the bench's own with
# $SECRET, dispatches workflow FILE as $TOKEN and claims its workload, so
# the bench can post events as that runner: sets RID, RTOK (the runner),
# WID, TT (the task token) and SEQ (the claim's first sequence number)
bench_claim() {
	local reg claim=""
	reg=$(curl -sf -H "Authorization: Bearer $SECRET" -H 'Content-Type: application/json' \
		--data '{"host":"bench","pid":1,"sandbox":"none"}' "$BASE/internal/runners/register") ||
		die "cannot register a runner"
	RID=$(json id <<<"$reg")
	RTOK=$(json token <<<"$reg")
	call POST "/api/$1/workflows/$2/dispatch" "$TOKEN" '{}' >/dev/null || die "dispatch failed"
	for _ in $(seq 1 100); do
		claim=$(call POST "/internal/runners/$RID/claim" "$RTOK") && [ -n "$claim" ] &&
			python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get("workload") else 1)' "$claim" && break
		claim=""
		sleep 0.1
	done
	[ -n "$claim" ] || die "no workload to claim"
	WID=$(json workload <<<"$claim")
	TT=$(json task_token <<<"$claim")
	SEQ=$(json seq_start <<<"$claim")
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
