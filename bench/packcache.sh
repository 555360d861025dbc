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
BENCH_NAME=bench/packcache
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
OUT=bench/out
PARALLEL=${BENCH_PARALLEL:-8}
ROUNDS=${BENCH_ROUNDS:-3}
GIT_HTTP_BACKEND=${GIT_HTTP_BACKEND:-$(git --exec-path)/git-http-backend}
require_tools git nginx fcgiwrap curl python3 "$GIT_HTTP_BACKEND"

bench_init plue-bench-packcache
bench_git_env

# the fixture: made by bench/run.sh; generated here when run alone
fixture_big

# ---- the peer: git http-backend under nginx and fcgiwrap (as bench/run.sh),
# with as many fcgiwrap children as clones at once
peer_dirs
git clone -q --bare --no-local "$OUT/big.git" "$WORK/git/big.git" # packed the way a push leaves it
# git http-backend under GNU time, for its CPU (cpu_ms)
peer_start "$PARALLEL" "$(peer_timed_backend)" "git/big.git/info/refs?service=git-upload-pack"
PEER_URL="$PEER/git/big.git"

# ---- plue, as shipped (pack cache on), without housekeeping so that both
# sides serve the same received pack
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off PLUE_MAINTAIN_JOBS=0)
plue_start
plue_user alice repo:read,repo:write
plue_repo big
plue_push "$OUT/big.git" big main || exit 1
PLUE_URL="$BASE/alice/big.git"

# ---- measuring (cpu_ms, settle and median are in lib.sh)

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
