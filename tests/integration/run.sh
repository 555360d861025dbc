#!/usr/bin/env bash
# Runs every tests/integration/NN-*.sh against the real binary ($PLUE) and
# prints the total as "N passed, N failed". ONLY=pattern runs a subset.
# Scripts are independent (each starts its own server and PostgreSQL in its
# own directory), so JOBS of them (default 3) run at once; each script's
# output is printed whole when it ends, failures and its tally line.
set -u
cd "$(dirname "$0")"
JOBS=${JOBS:-3}
OUT=$(mktemp -d "/tmp/plue-integration.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
# the sandbox the tests use: gVisor, which `make test` installs, unless the
# caller names another; "auto" would fall back to bubblewrap silently and
# leave the gVisor path untested
export PLUE_SANDBOX=${PLUE_SANDBOX:-gvisor}

scripts=()
for t in [0-9][0-9]-*.sh; do
	[ -n "${ONLY:-}" ] && [[ "$t" != *${ONLY}* ]] && continue
	if [ -z "${ONLY:-}" ] && reason=$(grep -E "^$t[[:space:]]" QUARANTINE 2>/dev/null); then
		echo "== $t SKIPPED (quarantined): ${reason#"$t"}"
		continue
	fi
	scripts+=("$t")
done

# run_one SCRIPT: runs it, leaving its output and exit code in $OUT
run_one() {
	local start=$SECONDS
	bash "$1" >"$OUT/$1.out" 2>&1
	echo $? >"$OUT/$1.rc"
	echo $((SECONDS - start)) >"$OUT/$1.secs"
}

total_pass=0 total_fail=0 failed_scripts=()
# report SCRIPT: prints a finished script's result and adds up its tally
report() {
	local t=$1 out rc line p f
	out=$(cat "$OUT/$t.out"); rc=$(cat "$OUT/$t.rc")
	echo "== $t ($(cat "$OUT/$t.secs") s)"
	echo "$out" | grep -v '^ok ' | tail -40
	line=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
	p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	[ -z "$line" ] && { p=0; f=1; }
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	[ "$rc" -ne 0 ] && failed_scripts+=("$t")
}

declare -A pids=()
next=0
while [ $next -lt ${#scripts[@]} ] || [ ${#pids[@]} -gt 0 ]; do
	while [ $next -lt ${#scripts[@]} ] && [ ${#pids[@]} -lt "$JOBS" ]; do
		t=${scripts[$next]}
		run_one "$t" &
		pids[$t]=$!
		next=$((next + 1))
	done
	wait -n 2>/dev/null
	for t in "${!pids[@]}"; do
		if [ -e "$OUT/$t.secs" ]; then
			wait "${pids[$t]}" 2>/dev/null
			unset "pids[$t]"
			report "$t"
		fi
	done
done
echo
[ ${#failed_scripts[@]} -gt 0 ] && echo "failing scripts: ${failed_scripts[*]}"
echo "integration: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
