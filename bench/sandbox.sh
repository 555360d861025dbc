#!/usr/bin/env bash
# sandbox.sh — what the sandbox costs a step, measured with the sandbox
# driver (tests/sandbox/sbx.c, built next to the plue binary):
#
#   start overhead   `true` as a step: unsandboxed (fork+exec), a warm gVisor
#                    sandbox (its exec daemon, execd, forks and executes it), a fresh
#                    gVisor sandbox per step (runsc run, the agent's start,
#                    the step), bubblewrap, and PLUE_SANDBOX=none (the API
#                    path without isolation)
#   cpu-bound        a bash arithmetic loop, and sha256sum of generated data
#   file-heavy       create, stat and delete 5000 small files in the workspace
#
# One line per figure: the median (and best) wall time of the step and its
# ratio to the same command unsandboxed (1.00 = free). gVisor needs root;
# without it only bubblewrap is measured.
#
# Usage: PLUE=path/to/plue bash bench/sandbox.sh
# Knobs: SANDBOX_BENCH_RUNS (repeats of the start figures, default 20),
#        SANDBOX_BENCH_WORK_RUNS (repeats of the work figures, default 3),
#        SBX=path/to/sbx (default: next to $PLUE, built if missing).
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
RUNS=${SANDBOX_BENCH_RUNS:-20}
WORK_RUNS=${SANDBOX_BENCH_WORK_RUNS:-3}
BUILD_DIR=$(dirname "$PLUE")
SBX=${SBX:-$BUILD_DIR/sbx}
if [ ! -x "$SBX" ]; then
	make -s BUILD="$BUILD_DIR" "$SBX" >/dev/null
fi

kinds=(bwrap)
if [ "$(id -u)" = 0 ] && command -v runsc >/dev/null; then
	kinds=(gvisor bwrap)
fi

# field NAME LINE: the value of NAME=... in a summary line
field() { sed -n "s/.*[ ]$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# timing ARGS...: runs sbx and prints "p50 min" of the runs
timing() {
	local out line
	out=$("$SBX" --quiet "$@")
	line=$(grep '^timing' <<<"$out" || true)
	if [ -z "$line" ]; then # a single run
		line=$(grep '^result' <<<"$out" | tail -1)
		echo "$(field ms "$line") $(field ms "$line")"
	else
		echo "$(field p50_ms "$line") $(field min_ms "$line")"
	fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.01; printf "%.2f", a / b }'; }

figure() { # LABEL P50 MIN BASE_P50
	printf '  %-34s p50 %8.1f ms  best %8.1f ms  ratio %6s\n' "$1" "$2" "$3" "$(ratio "$2" "$4")"
}

echo "sandbox: per-step cost (load average $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores)"

read -r native_p50 native_min < <(timing --native --repeat "$RUNS" -- true)
figure "start: unsandboxed fork+exec" "$native_p50" "$native_min" "$native_p50"
read -r p50 min < <(timing --kind none --repeat "$RUNS" -- true)
figure "start: none (API, no isolation)" "$p50" "$min" "$native_p50"
for k in "${kinds[@]}"; do
	if [ "$k" = gvisor ]; then
		read -r p50 min < <(timing --kind gvisor --repeat "$RUNS" -- true)
		figure "start: gvisor warm (execd)" "$p50" "$min" "$native_p50"
		read -r p50 min < <(timing --kind gvisor --fresh --repeat "$((RUNS / 4 + 1))" -- true)
		figure "start: gvisor fresh (runsc run)" "$p50" "$min" "$native_p50"
	else
		read -r p50 min < <(timing --kind bwrap --repeat "$RUNS" -- true)
		figure "start: bwrap" "$p50" "$min" "$native_p50"
	fi
done

CPU='i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'
SHA='head -c 100000000 /dev/zero | sha256sum >/dev/null'
FILES='mkdir d && for i in $(seq 5000); do echo x > d/f$i; done && find d -type f -printf "%s\n" | wc -l >/dev/null && rm -r d'

# median of the numbers on stdin, and the smallest
med_min() { sort -n | awk '{ v[NR] = $1 } END { printf "%s %s\n", v[int((NR + 1) / 2)], v[1] }'; }

# one_run KIND SCRIPT: wall time of the step in ms (a warm sandbox for the
# sandboxed kinds: its creation is not counted)
one_run() {
	local line
	if [ "$1" = native ]; then
		line=$("$SBX" --quiet --native -- bash -c "$2" | grep '^result')
	else
		line=$("$SBX" --quiet --kind "$1" -- bash -c "$2" 2>/dev/null | grep '^result')
	fi
	field ms "$line"
}

work() { # LABEL SCRIPT: the kinds take turns, so that a change of the
	# machine's load falls on all of them alike
	local label=$1 script=$2 k r base_p50 base_min p50 min
	declare -A times=()
	for r in $(seq "$WORK_RUNS"); do
		for k in native "${kinds[@]}"; do
			times[$k]+="$(one_run "$k" "$script") "
		done
	done
	read -r base_p50 base_min < <(tr ' ' '\n' <<<"${times[native]}" | grep . | med_min)
	figure "$label: unsandboxed" "$base_p50" "$base_min" "$base_p50"
	for k in "${kinds[@]}"; do
		read -r p50 min < <(tr ' ' '\n' <<<"${times[$k]}" | grep . | med_min)
		figure "$label: $k" "$p50" "$min" "$base_p50"
	done
}

work "cpu: bash loop 100k" "$CPU"
work "cpu: sha256sum 100 MB" "$SHA"
work "files: 5k create/stat/delete" "$FILES"
