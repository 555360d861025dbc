#!/usr/bin/env bash
# 31-issue-concurrency: 20 clients open 200 issues at once in one
# repository (while two of them also race in a second repository); every
# issue gets a number, the numbers are exactly 1..200, each once, and each
# issue has its one issue.opened event. Milestone numbers likewise.
. "$(dirname "$0")/lib.sh"
start_server
PSQL=(psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue")

ALICE=$(new_user alice)
BOB=$(new_user bob)
api POST /api/repos "$ALICE" '{"name":"busy"}'
expect_status 201 "create repo"
api POST /api/repos "$ALICE" '{"name":"other"}'
expect_status 201 "create second repo"

CLIENTS=20
PER=10
mkdir -p "$T_DIR/out"
client() { # client N: opens PER issues, one number (or an error) per line
	local n=$1 tok=$ALICE i
	[ $((n % 2)) -eq 1 ] && tok=$BOB
	for i in $(seq 1 $PER); do
		curl -s -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
			--data-binary "{\"title\":\"client $n issue $i\",\"body\":\"@alice from $n\"}" \
			"$BASE/api/alice/busy/issues" |
			node -e 'const v=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(v.number??("error "+JSON.stringify(v)))'
	done >"$T_DIR/out/$n"
}
other() { # a few issues in the second repository at the same time
	local i
	for i in $(seq 1 5); do
		curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $BOB" \
			-H 'Content-Type: application/json' --data-binary '{"title":"elsewhere"}' \
			"$BASE/api/alice/other/issues"
	done >"$T_DIR/out/other-$1"
}
milestones() { # milestones race too: each client creates one
	curl -s -X POST -H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' \
		--data-binary "{\"title\":\"m$1\"}" "$BASE/api/alice/busy/milestones" |
		node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).number)' >"$T_DIR/out/m$1"
}

pids=()
for n in $(seq 1 $CLIENTS); do client "$n" & pids+=($!); done
other 1 & pids+=($!)
other 2 & pids+=($!)
for n in $(seq 1 10); do milestones "$n" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done

total=$((CLIENTS * PER))
errors=$(cat "$T_DIR"/out/[0-9]* | grep -c '^error' || true)
check "no request failed ($(cat "$T_DIR"/out/[0-9]* | grep '^error' | head -3))" test "$errors" = 0
got=$(cat "$T_DIR"/out/[0-9]* | grep -v '^error' | sort -n | tr '\n' ' ')
want=$(seq 1 $total | tr '\n' ' ')
check "numbers are exactly 1..$total, each once" test "$got" = "$want"
check "$total rows" test "$(sql "select count(*) from issues i join repositories r on r.id = i.repo_id where r.name = 'busy'")" = "$total"
check "no duplicate numbers in the database" test "$(sql "select count(distinct number) from issues i join repositories r on r.id = i.repo_id where r.name = 'busy'")" = "$total"
check "the counter matches" test "$(sql "select last_issue from repo_counters c join repositories r on r.id = c.repo_id where r.name = 'busy'")" = "$total"
check "one issue.opened event per issue" test "$(sql "select count(distinct payload->'issue'->>'number') from events e join repositories r on r.id = e.repo_id where r.name = 'busy' and e.type = 'issue.opened'")" = "$total"
check "mentions from bob's issues only (alice mentioning herself records nothing)" test "$(sql "select count(*) from mentions")" = $((total / 2))
check "the other repository counts on its own" test "$(sql "select string_agg(number::text, ',' order by number) from issues i join repositories r on r.id = i.repo_id where r.name = 'other'")" = "1,2,3,4,5,6,7,8,9,10"
check "all of its requests succeeded" test "$(cat "$T_DIR"/out/other-* | sort -u)" = 201
check "milestone numbers 1..10" test "$(cat "$T_DIR"/out/m* | sort -n | tr '\n' ' ')" = "$(seq 1 10 | tr '\n' ' ')"

# the list walks all of them once with a cursor
seen=0; cursor=""; dups=0
declare -A have
while :; do
	api GET "/api/alice/busy/issues?limit=100${cursor:+&cursor=$cursor}"
	for n in $(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).map(i=>i.number).join(" "))' <<<"$BODY_OUT"); do
		[ -n "${have[$n]:-}" ] && dups=$((dups + 1))
		have[$n]=1
		seen=$((seen + 1))
	done
	cursor=$(header X-Next-Cursor)
	[ -z "$cursor" ] && break
done
check "paginated list sees $total issues ($seen)" test "$seen" = "$total"
check "without duplicates" test "$dups" = 0

finish
