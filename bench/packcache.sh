#!/usr/bin/env bash
# packcache.sh — eight concurrent identical full clones of the benchmark
# repository (bench/out/big.git, made by bench/run.sh from
# bench/gen-big.py): plue's smart HTTP with its pack cache (git/
# packcache.h) against git http-backend under nginx and fcgiwrap, serving
# a bare copy of the same repository, in the same run. Each round starts
# with plue's cache empty (the first clone generates the pack, the seven
# others stream it as it is written), and the sides alternate which goes
# first. Printed per side, medians over the rounds: the wall time until
# all eight clones are done, and the server's CPU per clone (user +
# system of the server and every process it ran: upload-pack, the
# hook, pack-objects; for the peer nginx, fcgiwrap, http-backend,
# upload-pack, pack-objects). Targets: CPU per clone <= 0.3x
# http-backend's, wall time <= 1.0x. A last line gives plue with the pack
# already cached.
#
# Usage: PLUE=path/to/plue bash bench/packcache.sh
# Knobs: BENCH_PARALLEL (clones at once, default 8), BENCH_ROUNDS (per
#        side, default 3), KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
cd "$(dirname "$0")/.."
OUT=bench/out
PARALLEL=${BENCH_PARALLEL:-8}
ROUNDS=${BENCH_ROUNDS:-3}
GIT_HTTP_BACKEND=${GIT_HTTP_BACKEND:-$(git --exec-path)/git-http-backend}
for tool in git nginx fcgiwrap curl python3 "$GIT_HTTP_BACKEND"; do
	command -v "$tool" >/dev/null || { echo "bench/packcache: '$tool' is missing (make bench installs it)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/plue-bench-packcache.XXXXXX)
chmod 755 "$WORK"
PLUE_PID="" NGINX_PID="" FCGI_PID=""
stop_pid() { # stop_pid PID SIGNAL
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill "-$2" "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$NGINX_PID" QUIT
	if [ -n "$FCGI_PID" ]; then
		kill -TERM -- "-$FCGI_PID" 2>/dev/null || true
		stop_pid "$FCGI_PID" TERM
	fi
	stop_pid "$PLUE_PID" TERM
	if [ "${KEEP_TMP:-}" = 1 ]; then echo "bench/packcache: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "bench/packcache: $*" >&2; }
die() { say "$*"; exit 1; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_CONFIG_GLOBAL="$WORK/gitconfig"
git config --global protocol.version 2

# the fixture: made by bench/run.sh; generated here when run alone
if [ ! -f "$OUT/big.git/bench-stamp" ]; then
	say "generating $OUT/big.git (once; cached)"
	mkdir -p "$OUT"
	tmp="$OUT/.big.$$"
	rm -rf "$tmp"
	git init -q --bare "$tmp"
	python3 bench/gen-big.py | git -C "$tmp" fast-import --quiet
	git -C "$tmp" repack -adfq
	git -C "$tmp" symbolic-ref HEAD refs/heads/main
	sha256sum <bench/gen-big.py | cut -c1-16 >"$tmp/bench-stamp"
	rm -rf "$OUT/big.git"
	mv -T "$tmp" "$OUT/big.git"
fi
BIG_SHA=$(git -C "$OUT/big.git" rev-parse refs/heads/main)
BIG_OBJECTS=$(git -C "$OUT/big.git" count-objects -v | sed -n 's/^in-pack: //p')

# ---- the peer: git http-backend under nginx and fcgiwrap (as bench/run.sh),
# with as many fcgiwrap children as clones at once
AS=()
[ "$(id -u)" -eq 0 ] && AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
mkdir -p "$WORK/git" "$WORK/www" "$WORK/nginx/tmp" "$WORK/run" "$WORK/clones"
git clone -q --bare --no-local "$OUT/big.git" "$WORK/git/big.git" # packed the way a push leaves it
# fcgiwrap does not account for the CGI programs it runs; each http-backend
# runs under GNU time, which records its CPU and that of the upload-pack
# and pack-objects it waited for (the wrapper's own cost is not counted)
printf '#!/bin/sh\nexec /usr/bin/time -a -o %s -f "%%U %%S" %s\n' "$WORK/run/peer-cpu" "$GIT_HTTP_BACKEND" \
	>"$WORK/run/http-backend"
chmod 755 "$WORK/run/http-backend"
: >"$WORK/run/peer-cpu"
NGINX_PORT=$(free_port)
sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@CGIT_CGI@|/nonexistent|g" \
    -e "s|@CGIT_DATA@|/nonexistent|g" -e "s|@GIT_HTTP_BACKEND@|$WORK/run/http-backend|g" \
    bench/nginx/nginx.conf >"$WORK/nginx/nginx.conf"
[ ${#AS[@]} -eq 0 ] || chown -R 65534:65534 "$WORK/git" "$WORK/www" "$WORK/nginx" "$WORK/run"
PEER_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent GIT_CONFIG_NOSYSTEM=1 LC_ALL=C)
setsid "${AS[@]}" "${PEER_ENV[@]}" fcgiwrap -c "$PARALLEL" -s "unix:$WORK/run/fcgiwrap.sock" \
	>"$WORK/fcgiwrap.log" 2>&1 &
FCGI_PID=$!
"${AS[@]}" "${PEER_ENV[@]}" nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" \
	>"$WORK/nginx.out" 2>&1 &
NGINX_PID=$!
PEER_URL="http://127.0.0.1:$NGINX_PORT/git/big.git"
for _ in $(seq 1 100); do
	[ -S "$WORK/run/fcgiwrap.sock" ] && git ls-remote "$PEER_URL" >/dev/null 2>&1 && break
	kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$WORK/nginx.out" "$WORK/nginx/error.log")"
	sleep 0.1
done
git ls-remote "$PEER_URL" >/dev/null 2>&1 || die "git http-backend does not answer: $(cat "$WORK/nginx/error.log")"

# ---- plue, as shipped (pack cache on), without housekeeping so that both
# sides serve the same received pack
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off PLUE_MAINTAIN_JOBS=0)
env "${PLUE_ENV[@]}" "$PLUE" serve --port 0 >"$WORK/serve.out" 2>"$WORK/serve.log" &
PLUE_PID=$!
PORT=""
for _ in $(seq 1 300); do
	PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/serve.out" 2>/dev/null | head -1)
	[ -n "$PORT" ] && break
	kill -0 "$PLUE_PID" 2>/dev/null || die "plue serve exited during start: $(cat "$WORK/serve.log")"
	sleep 0.1
done
[ -n "$PORT" ] || die "plue serve did not start"
TOKEN=$(env "${PLUE_ENV[@]}" "$PLUE" admin create-user alice --scopes repo:read,repo:write \
	2>>"$WORK/admin.log" | tail -1)
[ -n "$TOKEN" ] || die "cannot create user 'alice': $(cat "$WORK/admin.log")"
st=$(curl -s -o "$WORK/create.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' --data '{"name":"big"}' "http://127.0.0.1:$PORT/api/repos")
[ "$st" = 201 ] || die "creating alice/big: status $st: $(cat "$WORK/create.json")"
say "pushing big into plue"
git -C "$OUT/big.git" push -q "http://alice:$TOKEN@127.0.0.1:$PORT/alice/big.git" main \
	>"$WORK/push.log" 2>&1 || die "push into plue failed: $(tail -3 "$WORK/push.log")"
PLUE_URL="http://127.0.0.1:$PORT/alice/big.git"

# ---- measuring
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# cpu_ms plue|peer: CPU used so far by the side's server processes, ms.
# plue: itself and every child it has reaped (upload-pack, which reaps the
# hook, which reaps pack-objects). The peer: nginx's and fcgiwrap's own
# time, and what GNU time recorded for each http-backend.
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
# settle: until no git process of either side is left to be reaped, so
# that its CPU time has reached the counters above
settle() {
	local i
	for i in $(seq 1 200); do
		if ! pgrep -P "$PLUE_PID" '^git' >/dev/null 2>&1 && ! pgrep -g "$FCGI_PID" '^git' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
}

# round URL: PARALLEL clones at once; prints "WALL-SECONDS CPU-MS-PER-CLONE"
round() {
	local side=$1 url=$2 i t0 t1 c0 c1 pids=() bad=0
	rm -rf "$WORK/clones"/*
	settle
	c0=$(cpu_ms "$side")
	t0=$EPOCHREALTIME
	for i in $(seq 1 "$PARALLEL"); do
		git clone -q --bare "$url" "$WORK/clones/c$i" 2>"$WORK/clones/c$i.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || bad=1; done
	t1=$EPOCHREALTIME
	settle
	c1=$(cpu_ms "$side")
	for i in $(seq 1 "$PARALLEL"); do
		[ "$(git -C "$WORK/clones/c$i" rev-parse refs/heads/main 2>/dev/null)" = "$BIG_SHA" ] || bad=1
	done
	[ "$bad" = 0 ] || { say "$side: a clone failed: $(cat "$WORK/clones"/*.err | head -3)"; echo "- -"; return; }
	python3 -c "print('%.3f %d' % ($t1 - $t0, ($c1 - $c0) / $PARALLEL))"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "plue bench packcache: $PARALLEL concurrent clones of big ($BIG_OBJECTS objects), $ROUNDS rounds per side, alternating; plue's cache emptied before each round"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows both sides)"
round plue "$PLUE_URL" >/dev/null # warm-up, both sides
round peer "$PEER_URL" >/dev/null
p_wall=() p_cpu=() q_wall=() q_cpu=()
for i in $(seq 1 "$ROUNDS"); do
	for side in $( [ $((i % 2)) = 1 ] && echo "plue peer" || echo "peer plue"); do
		if [ "$side" = plue ]; then
			rm -rf "$WORK/plue/packcache"
			read -r w c <<<"$(round plue "$PLUE_URL")"
			[ "$w" = - ] || { p_wall+=("$w"); p_cpu+=("$c"); }
		else
			read -r w c <<<"$(round peer "$PEER_URL")"
			[ "$w" = - ] || { q_wall+=("$w"); q_cpu+=("$c"); }
		fi
	done
done
read -r warm_w warm_c <<<"$(round plue "$PLUE_URL")" # the pack is in the cache now

line() { # line LABEL A B UNIT TARGET
	local ratio=- verdict=n/a
	if [ "$2" != - ] && [ "$3" != - ]; then
		ratio=$(python3 -c "print('%.2f' % ($2 / max($3, 1e-9)))")
		verdict=$(python3 -c "print('met' if $ratio <= $5 else 'MISSED')")
	fi
	printf '%-22s plue %8s %-3s http-backend %8s %-3s ratio %5s (target <= %s %s)\n' \
		"$1" "$2" "$4" "$3" "$4" "$ratio" "$5" "$verdict"
}
pw=- pc=- qw=- qc=-
[ ${#p_wall[@]} -eq "$ROUNDS" ] && pw=$(printf '%s\n' "${p_wall[@]}" | median) && pc=$(printf '%s\n' "${p_cpu[@]}" | median)
[ ${#q_wall[@]} -eq "$ROUNDS" ] && qw=$(printf '%s\n' "${q_wall[@]}" | median) && qc=$(printf '%s\n' "${q_cpu[@]}" | median)
line "$PARALLEL clones, CPU/clone" "$pc" "$qc" ms 0.3
line "$PARALLEL clones, wall" "$pw" "$qw" s 1.0
echo "  rounds: plue wall ${p_wall[*]:-none} s, cpu ${p_cpu[*]:-none} ms; http-backend wall ${q_wall[*]:-none} s, cpu ${q_cpu[*]:-none} ms"
echo "  plue with the pack already cached: wall $warm_w s, CPU $warm_c ms per clone"
