#!/usr/bin/env bash
# maintenance.sh — what repository housekeeping (git/maintain.h) buys, in
# the same run as its peer, git http-backend under nginx and fcgiwrap:
#
#   1. A repository grown by 2,000 small pushes (one commit each, pushed
#      with `git push file://` straight into the bare repository: the same
#      on-disk result as over HTTP — loose objects, transfer.unpackLimit
#      100 — at a pace that builds the fixture in well under two minutes;
#      cached in bench/out/pushed2000.git). Full clone, wall time and the
#      server's CPU (itself and every process it ran), medians: plue as the
#      pushes left the repository and after `plue admin repo-maintain
#      --full`, against http-backend serving a copy as it stands and a copy
#      after `git gc --aggressive` (the best it could be).
#   2. An incremental fetch of one new commit from the 110k-object
#      benchmark repository (bench/out/big.git, as bench/run.sh makes it):
#      the fetch's wall time and plue's CPU for it, as pushed (no bitmap)
#      and after housekeeping (a multi-pack bitmap); and a full clone of
#      it, both ways, where the bitmap spares the walk of the history.
#
# plue runs with its pack cache off (PLUE_PACK_CACHE=false), so every
# clone and fetch builds its pack, and without the scheduler
# (PLUE_MAINTAIN_JOBS=0), so housekeeping runs only when asked.
#
# Usage: PLUE=path/to/plue bash bench/maintenance.sh
# Knobs: BENCH_CLONES (runs per figure, default 3), KEEP_TMP=1.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
cd "$(dirname "$0")/.."
OUT=bench/out
RUNS=${BENCH_CLONES:-3}
GIT_HTTP_BACKEND=${GIT_HTTP_BACKEND:-$(git --exec-path)/git-http-backend}
for tool in git nginx fcgiwrap curl python3 "$GIT_HTTP_BACKEND"; do
	command -v "$tool" >/dev/null || { echo "bench/maintenance: '$tool' is missing (make bench installs it)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/plue-bench-maintenance.XXXXXX)
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
	if [ "${KEEP_TMP:-}" = 1 ]; then echo "bench/maintenance: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "bench/maintenance: $*" >&2; }
die() { say "$*"; exit 1; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_CONFIG_GLOBAL="$WORK/gitconfig"
git config --global protocol.version 2
git config --global user.name bench
git config --global user.email bench@example.com

# ---- fixtures ----
STAMP=pushes-v1
if [ "$(cat "$OUT/pushed2000.git/bench-stamp" 2>/dev/null)" != "$STAMP" ]; then
	say "growing $OUT/pushed2000.git by 2000 pushes (once; cached)"
	mkdir -p "$OUT"
	tmp="$OUT/.pushed.$$"
	rm -rf "$tmp" "$WORK/src"
	git init -q --bare -b main "$tmp"
	git init -q -b main "$WORK/src"
	t0=$EPOCHREALTIME
	for i in $(seq 1 2000); do
		echo "change $i" >"$WORK/src/file$((i % 50)).txt"
		git -C "$WORK/src" add -A
		git -C "$WORK/src" commit -qm "push $i"
		git -C "$WORK/src" push -q "file://$PWD/$tmp" HEAD:main
	done
	say "2000 pushes took $(python3 -c "print('%.1f' % ($EPOCHREALTIME - $t0))") s"
	echo "$STAMP" >"$tmp/bench-stamp"
	rm -rf "$OUT/pushed2000.git"
	mv -T "$tmp" "$OUT/pushed2000.git"
fi
if [ ! -f "$OUT/big.git/bench-stamp" ]; then
	say "generating $OUT/big.git (once; cached)"
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
P_SHA=$(git -C "$OUT/pushed2000.git" rev-parse refs/heads/main)
P_STATE=$(git -C "$OUT/pushed2000.git" count-objects -v | awk '/^count:/{l=$2} /^packs:/{p=$2} END{print l " loose objects, " p " packs"}')

# ---- the peer: git http-backend under nginx and fcgiwrap, serving a copy
# as the pushes left it and a copy after `git gc --aggressive`
AS=()
[ "$(id -u)" -eq 0 ] && AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
mkdir -p "$WORK/git" "$WORK/www" "$WORK/nginx/tmp" "$WORK/run" "$WORK/clones"
cp -a "$OUT/pushed2000.git" "$WORK/git/asis.git"
cp -a "$OUT/pushed2000.git" "$WORK/git/gc.git"
t0=$EPOCHREALTIME
git -C "$WORK/git/gc.git" gc -q --aggressive --prune=now
GC_S=$(python3 -c "print('%.1f' % ($EPOCHREALTIME - $t0))")
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
setsid "${AS[@]}" "${PEER_ENV[@]}" fcgiwrap -c 2 -s "unix:$WORK/run/fcgiwrap.sock" \
	>"$WORK/fcgiwrap.log" 2>&1 &
FCGI_PID=$!
"${AS[@]}" "${PEER_ENV[@]}" nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" \
	>"$WORK/nginx.out" 2>&1 &
NGINX_PID=$!
PEER="http://127.0.0.1:$NGINX_PORT/git"
for _ in $(seq 1 100); do
	[ -S "$WORK/run/fcgiwrap.sock" ] && git ls-remote "$PEER/asis.git" >/dev/null 2>&1 && break
	kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$WORK/nginx.out" "$WORK/nginx/error.log")"
	sleep 0.1
done
git ls-remote "$PEER/asis.git" >/dev/null 2>&1 || die "git http-backend does not answer: $(cat "$WORK/nginx/error.log")"

# ---- plue ----
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off
	  PLUE_MAINTAIN_JOBS=0 PLUE_PACK_CACHE=false)
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
create() { # create NAME: prints the repository's id
	local st
	st=$(curl -s -o "$WORK/create.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data "{\"name\":\"$1\"}" "http://127.0.0.1:$PORT/api/repos")
	[ "$st" = 201 ] || die "creating alice/$1: status $st: $(cat "$WORK/create.json")"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/create.json"
}
# alice/pushed: the fixture's objects and refs as they are on disk
PID_=$(create pushed)
R="$WORK/plue/repos/$PID_.git"
rm -rf "$R/objects" "$R/refs"
cp -a "$OUT/pushed2000.git/objects" "$OUT/pushed2000.git/refs" "$R/"
[ -f "$OUT/pushed2000.git/packed-refs" ] && cp -a "$OUT/pushed2000.git/packed-refs" "$R/"
# alice/big: pushed (one pack as index-pack leaves it, no bitmap)
create big >/dev/null
say "pushing big into plue"
git -C "$OUT/big.git" push -q "http://alice:$TOKEN@127.0.0.1:$PORT/alice/big.git" main \
	>"$WORK/push.log" 2>&1 || die "push into plue failed: $(tail -3 "$WORK/push.log")"
PLUE_URL="http://127.0.0.1:$PORT/alice"
maintain() { # maintain REPO: plue admin repo-maintain --full; prints seconds
	local t0=$EPOCHREALTIME
	env "${PLUE_ENV[@]}" "$PLUE" admin repo-maintain "alice/$1" --full >"$WORK/maintain-$1.json" \
		2>>"$WORK/admin.log" || die "repo-maintain alice/$1 failed: $(cat "$WORK/maintain-$1.json")"
	python3 -c "print('%.2f' % ($EPOCHREALTIME - $t0))"
}

# ---- measuring (as bench/packcache.sh) ----
TICK_US=$((1000000 / $(getconf CLK_TCK)))
cpu_ms() { # cpu_ms plue|peer: CPU so far of the side's server and what it reaped
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
settle() {
	local i
	for i in $(seq 1 200); do
		if ! pgrep -P "$PLUE_PID" '^git' >/dev/null 2>&1 && ! pgrep -g "$FCGI_PID" '^git' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# clone SIDE URL SHA: RUNS full clones one after the other; prints the
# medians "WALL-SECONDS CPU-MS"
clone() {
	local side=$1 url=$2 sha=$3 i t0 t1 c0 c1 walls=() cpus=()
	for i in $(seq 1 "$RUNS"); do
		rm -rf "$WORK/clones/c"
		settle
		c0=$(cpu_ms "$side")
		t0=$EPOCHREALTIME
		git clone -q --bare "$url" "$WORK/clones/c" 2>"$WORK/clones/err" || { say "clone of $url failed: $(head -3 "$WORK/clones/err")"; echo "- -"; return; }
		t1=$EPOCHREALTIME
		settle
		c1=$(cpu_ms "$side")
		[ "$(git -C "$WORK/clones/c" rev-parse refs/heads/main)" = "$sha" ] || { say "clone of $url: wrong main"; echo "- -"; return; }
		walls+=("$(python3 -c "print('%.3f' % ($t1 - $t0))")")
		cpus+=($((c1 - c0)))
	done
	echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}
# fetch1: RUNS fetches of one new commit of alice/big by a client that
# has everything before it (a fresh copy each time); prints the medians
# "WALL-SECONDS CPU-MS" of plue
fetch1() {
	local i t0 t1 c0 c1 walls=() cpus=()
	for i in $(seq 1 "$RUNS"); do
		rm -rf "$WORK/clones/f"
		cp -a "$WORK/client.git" "$WORK/clones/f"
		settle
		c0=$(cpu_ms plue)
		t0=$EPOCHREALTIME
		git -C "$WORK/clones/f" fetch -q "$PLUE_URL/big.git" "+refs/heads/main:refs/heads/main" 2>"$WORK/clones/err" || { say "fetch failed: $(head -3 "$WORK/clones/err")"; echo "- -"; return; }
		t1=$EPOCHREALTIME
		settle
		c1=$(cpu_ms plue)
		walls+=("$(python3 -c "print('%.3f' % ($t1 - $t0))")")
		cpus+=($((c1 - c0)))
	done
	echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}
line() { # line LABEL PLUE-WALL PLUE-CPU PEER-WALL PEER-CPU PEER-NAME
	local rw=- rc=-
	# CPU is counted in clock ticks (10 ms): below a tick there is no ratio
	[ "$2" != - ] && [ "$4" != - ] && rw=$(python3 -c "print('%.2f' % ($2 / $4) if $4 > 0 else '-')")
	[ "$3" != - ] && [ "$5" != - ] && rc=$(python3 -c "print('%.2f' % ($3 / $5) if $5 > 0 else '-')")
	printf '%-34s plue %7s s %6s ms CPU | %-26s %7s s %6s ms CPU | ratio wall %5s CPU %5s\n' \
		"$1" "$2" "$3" "$6" "$4" "$5" "$rw" "$rc"
}

echo "plue bench maintenance: a repository grown by 2000 pushes ($P_STATE), full clones, medians of $RUNS"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows both sides)"
clone plue "$PLUE_URL/pushed.git" "$P_SHA" >/dev/null # warm-up
read -r pbw pbc <<<"$(clone plue "$PLUE_URL/pushed.git" "$P_SHA")"
read -r qaw qac <<<"$(clone peer "$PEER/asis.git" "$P_SHA")"
M_S=$(maintain pushed)
read -r paw pac <<<"$(clone plue "$PLUE_URL/pushed.git" "$P_SHA")"
read -r qgw qgc <<<"$(clone peer "$PEER/gc.git" "$P_SHA")"
line "clone, before housekeeping" "$pbw" "$pbc" "$qaw" "$qac" "http-backend, as pushed"
line "clone, after housekeeping" "$paw" "$pac" "$qgw" "$qgc" "http-backend, gc --aggressive"
line "plue after vs before" "$paw" "$pac" "$pbw" "$pbc" "plue before housekeeping"
echo "  housekeeping (repo-maintain --full) took $M_S s: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["tasks"], "before", d["before"]["loose_objects"], "loose", d["before"]["packs"], "packs; after", d["after"]["packs"], "packs, bitmap", d["after"]["bitmap"])' "$WORK/maintain-pushed.json"); git gc --aggressive took $GC_S s"

# ---- one new commit from the 110k-object repository ----
git clone -q --bare "$PLUE_URL/big.git" "$WORK/client.git"
BIG_OBJECTS=$(git -C "$OUT/big.git" count-objects -v | sed -n 's/^in-pack: //p')
git clone -q --bare "$OUT/big.git" "$WORK/bigsrc"
NEW=$(git -C "$WORK/bigsrc" commit-tree -p main -m "one more" "main^{tree}")
git -C "$WORK/bigsrc" update-ref refs/heads/main "$NEW"
git -C "$WORK/bigsrc" push -q "http://alice:$TOKEN@127.0.0.1:$PORT/alice/big.git" main 2>>"$WORK/push.log"
echo
echo "plue bench maintenance: fetch of one new commit from big ($BIG_OBJECTS objects), medians of $RUNS"
fetch1 >/dev/null # warm-up
read -r nw nc <<<"$(fetch1)"
read -r ncw ncc <<<"$(clone plue "$PLUE_URL/big.git" "$NEW")"
B_S=$(maintain big)
read -r bw bc <<<"$(fetch1)"
read -r bcw bcc <<<"$(clone plue "$PLUE_URL/big.git" "$NEW")"
line "fetch 1 commit, bitmap vs none" "$bw" "$bc" "$nw" "$nc" "plue, no bitmap (as pushed)"
line "full clone, bitmap vs none" "$bcw" "$bcc" "$ncw" "$ncc" "plue, no bitmap (as pushed)"
echo "  housekeeping of big took $B_S s"
