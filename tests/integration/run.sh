#!/usr/bin/env bash
# Runs every tests/integration/NN-*.sh against the real binary ($PLUE) and
# prints the total as "N passed, N failed". ONLY=pattern runs a subset.
set -u
cd "$(dirname "$0")"
total_pass=0 total_fail=0 failed_scripts=()
for t in [0-9][0-9]-*.sh; do
	[ -n "${ONLY:-}" ] && [[ "$t" != *${ONLY}* ]] && continue
	if [ -z "${ONLY:-}" ] && reason=$(grep -E "^$t[[:space:]]" QUARANTINE 2>/dev/null); then
		echo "== $t SKIPPED (quarantined): ${reason#"$t"}"
		continue
	fi
	echo "== $t"
	out=$(bash "$t" 2>&1); rc=$?
	echo "$out" | grep -v '^ok ' | tail -40
	line=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
	p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	[ -z "$line" ] && { p=0; f=1; }
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	[ $rc -ne 0 ] && failed_scripts+=("$t")
done
echo
[ ${#failed_scripts[@]} -gt 0 ] && echo "failing scripts: ${failed_scripts[*]}"
echo "integration: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
