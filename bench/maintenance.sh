#!/usr/bin/env bash
# maintenance.sh — what repository housekeeping (git/maintain.h) buys, in
# the same run as its peer, git http-backend under nginx and fcgiwrap:
#
#   1. A repository grown by 2,000 small pushes (one commit each, pushed
#      with `git push file://` straight into the bare repository: the same
#      on-disk result as over HTTP — one small pack per push, as plue's
#      receive-pack keeps every push (receive.unpackLimit=1, git/store.c) —
#      at a pace that builds the fixture in well under two minutes;
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
BENCH_NAME=bench/maintenance
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
OUT=bench/out
RUNS=${BENCH_CLONES:-3}
GIT_HTTP_BACKEND=${GIT_HTTP_BACKEND:-$(git --exec-path)/git-http-backend}
require_tools git nginx fcgiwrap curl python3 "$GIT_HTTP_BACKEND"

bench_init plue-bench-maintenance
bench_git_env
git config --global user.name bench
git config --global user.email bench@example.com

# ---- fixtures ----
STAMP=pushes-v3-packs
if [ "$(cat "$OUT/pushed2000.git/bench-stamp" 2>/dev/null)" != "$STAMP" ]; then
	say "growing $OUT/pushed2000.git by 2000 pushes (once; cached)"
	mkdir -p "$OUT"
	tmp="$OUT/.pushed.$$"
	rm -rf "$tmp" "$WORK/src"
	git init -q --bare -b main "$tmp"
	# as plue's receive-pack: a pack per push, no automatic gc
	git -C "$tmp" config receive.unpackLimit 1
	git -C "$tmp" config receive.autogc false
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
fixture_big
P_SHA=$(git -C "$OUT/pushed2000.git" rev-parse refs/heads/main)
P_STATE=$(git -C "$OUT/pushed2000.git" count-objects -v | awk '/^count:/{l=$2} /^packs:/{p=$2} END{print l " loose objects, " p " packs"}')

# ---- the peer: git http-backend under nginx and fcgiwrap, serving a copy
# as the pushes left it and a copy after `git gc --aggressive`
peer_dirs
cp -a "$OUT/pushed2000.git" "$WORK/git/asis.git"
cp -a "$OUT/pushed2000.git" "$WORK/git/gc.git"
t0=$EPOCHREALTIME
git -C "$WORK/git/gc.git" gc -q --aggressive --prune=now
GC_S=$(python3 -c "print('%.1f' % ($EPOCHREALTIME - $t0))")
# git http-backend under GNU time, for its CPU (cpu_ms)
peer_start 2 "$(peer_timed_backend)" "git/asis.git/info/refs?service=git-upload-pack"
PEER="$PEER/git"

# ---- plue ----
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off
	  PLUE_MAINTAIN_JOBS=0 PLUE_PACK_CACHE=false)
plue_start
plue_user alice repo:read,repo:write
create() { # create NAME: prints the repository's id
	plue_repo "$1"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/create.json"
}
# alice/pushed: the fixture's objects and refs as they are on disk
PID_=$(create pushed)
R="$WORK/plue/repos/$PID_.git"
rm -rf "$R/objects" "$R/refs"
cp -a "$OUT/pushed2000.git/objects" "$OUT/pushed2000.git/refs" "$R/"
[ -f "$OUT/pushed2000.git/packed-refs" ] && cp -a "$OUT/pushed2000.git/packed-refs" "$R/"
# alice/big: pushed (one pack as index-pack leaves it, no bitmap)
plue_repo big
plue_push "$OUT/big.git" big main || exit 1
PLUE_URL="$BASE/alice"
maintain() { # maintain REPO: plue admin repo-maintain --full; prints seconds
	local t0=$EPOCHREALTIME
	env "${PLUE_ENV[@]}" "$PLUE" admin repo-maintain "alice/$1" --full >"$WORK/maintain-$1.json" \
		2>>"$WORK/admin.log" || die "repo-maintain alice/$1 failed: $(cat "$WORK/maintain-$1.json")"
	python3 -c "print('%.2f' % ($EPOCHREALTIME - $t0))"
}

# ---- measuring (cpu_ms, settle and median are in lib.sh) ----
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
git clone -q --bare "$OUT/big.git" "$WORK/bigsrc"
NEW=$(git -C "$WORK/bigsrc" commit-tree -p main -m "one more" "main^{tree}")
git -C "$WORK/bigsrc" update-ref refs/heads/main "$NEW"
git -C "$WORK/bigsrc" push -q "http://alice:$TOKEN@127.0.0.1:$PLUE_PORT/alice/big.git" main 2>>"$WORK/push.log"
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
