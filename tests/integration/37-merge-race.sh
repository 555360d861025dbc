#!/usr/bin/env bash
# 37-merge-race: merges racing each other and racing pushes into the same
# base branch. Every merge either lands or fails cleanly with 409
# (base_moved); every push either lands or is refused by git; whatever a
# client was told landed is in the base branch of a fresh clone — never a
# lost commit — and the branches table agrees with the repository.
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
PSQL=(psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue")

api POST /api/repos "$ALICE" '{"name":"race"}'
expect_status 201 "create race"
api PUT /api/repos/alice/race/collaborators/bob "$ALICE" '{"role":"write"}'
URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/race.git"
SRC="$T_DIR/src"
git init -q "$SRC"
cd "$SRC"
echo base >base.txt && git add . && git commit -qm base && git push -q "$URL" main

remote_main() { git ls-remote "$URL" refs/heads/main | cut -f1; }
# in_main SHA: the commit is in the server's main (checked on a fresh fetch)
in_main() {
	git fetch -q "$URL" main && git merge-base --is-ancestor "$1" FETCH_HEAD
}

# merge_bg N TOKEN METHOD: starts a merge in the background; its status
# and body land in $T_DIR/m-N.status and $T_DIR/m-N.body.
merge_bg() {
	curl -s -o "$T_DIR/m-$1.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary "{\"method\":\"$3\"}" \
		"$BASE/api/alice/race/pulls/$1/merge" >"$T_DIR/m-$1.status" &
}
mjson() { node -e 'let v=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));for(const k of process.argv[2].split(".").filter(Boolean))v=v==null?undefined:v[k];process.stdout.write(String(v))' "$T_DIR/m-$1.body" "$2"; }

# ---- concurrent merges of different pull requests into main ----
round=0
for method in merge squash rebase merge; do
	round=$((round + 1))
	git fetch -q "$URL" main && git checkout -q -B main FETCH_HEAD
	nums=()
	for k in 1 2 3 4; do
		b="r$round-$k"
		git checkout -q -b "$b" main
		echo "$b" >"$b.txt" && git add . && git commit -qm "$b"
		git push -q "$URL" "$b"
		api POST /api/alice/race/pulls "$ALICE" "{\"title\":\"$b\",\"head\":\"$b\",\"base\":\"main\"}"
		nums+=("$(json .number)")
	done
	pids=()
	for i in "${!nums[@]}"; do
		tok=$ALICE; [ $((i % 2)) = 1 ] && tok=$BOB
		merge_bg "${nums[$i]}" "$tok" "$method"
		pids+=($!)
	done
	wait "${pids[@]}"
	landed=0
	for k in 1 2 3 4; do
		n=${nums[$((k - 1))]}
		st=$(cat "$T_DIR/m-$n.status")
		b="r$round-$k"
		if [ "$st" = 200 ]; then
			landed=$((landed + 1))
			check "$method round $round: #$n merge sha in main" in_main "$(mjson "$n" .sha)"
			git fetch -q "$URL" main
			check "$method round $round: #$n change in main" test -n "$(git ls-tree FETCH_HEAD "$b.txt")"
		else
			check "$method round $round: #$n failed cleanly ($st $(cat "$T_DIR/m-$n.body"))" test "$st/$(mjson "$n" .error.code)" = 409/base_moved
			api GET "/api/alice/race/pulls/$n"
			expect_json .merged false "$method round $round: #$n not marked merged"
		fi
	done
	# merges take turns per repository: all four land
	check "$method round $round: all merges landed ($landed)" test "$landed" = 4
	check "$method round $round: branches table agrees" test "$(sql "select commit_sha from branches where name = 'main'")" = "$(remote_main)"
done
git fetch -q "$URL" main
check "sixteen changes in main" test "$(git ls-tree --name-only FETCH_HEAD | grep -c '^r[0-9]-')" = 16

# ---- a push racing a merge ----
for i in $(seq 1 8); do
	git fetch -q "$URL" main && git checkout -q -B main FETCH_HEAD
	git checkout -q -b "p$i" main && echo "p$i" >"p$i.txt" && git add . && git commit -qm "p$i"
	git push -q "$URL" "p$i"
	api POST /api/alice/race/pulls "$ALICE" "{\"title\":\"p$i\",\"head\":\"p$i\",\"base\":\"main\"}"
	n=$(json .number)
	git checkout -q main && echo "direct $i" >"direct$i.txt" && git add . && git commit -qm "direct $i"
	pushed=$(git rev-parse HEAD)
	# launch order alternates, so either side may get there first
	if [ $((i % 2)) = 0 ]; then
		merge_bg "$n" "$BOB" merge
		mpid=$!
		git push -q "$URL" main 2>/dev/null
		push_rc=$?
	else
		git push -q "$URL" main 2>/dev/null &
		ppid=$!
		merge_bg "$n" "$BOB" merge
		mpid=$!
		wait "$ppid"
		push_rc=$?
	fi
	wait "$mpid"
	st=$(cat "$T_DIR/m-$n.status")
	if [ "$push_rc" = 0 ]; then
		check "race $i: the push that git reported is in main" in_main "$pushed"
	fi
	if [ "$st" = 200 ]; then
		check "race $i: the merge that the API reported is in main" in_main "$(mjson "$n" .sha)"
	else
		check "race $i: merge failed cleanly ($st $(cat "$T_DIR/m-$n.body"))" test "$st/$(mjson "$n" .error.code)" = 409/base_moved
		check "race $i: message says to try again" grep -q "branch 'main' moved, try again" "$T_DIR/m-$n.body"
	fi
	check "race $i: one of them landed" test "$push_rc" = 0 -o "$st" = 200
	if [ "$st" != 200 ]; then
		# trying again merges onto the new base
		api POST "/api/alice/race/pulls/$n/merge" "$BOB" '{}'
		expect_status 200 "race $i: retry lands"
	fi
	check "race $i: branches table agrees" test "$(sql "select commit_sha from branches where name = 'main'")" = "$(remote_main)"
done

# ---- a merge landing while a big push is on its way ----
# the push started from the old tip, so git refuses its ref update once the
# merge moved main; the push loses, nothing is lost
RID=$(sql "select id from repositories where name = 'race'")
git fetch -q "$URL" main && git checkout -q -B main FETCH_HEAD
git checkout -q -b mid main && echo mid >mid.txt && git add . && git commit -qm mid
git push -q "$URL" mid
api POST /api/alice/race/pulls "$ALICE" '{"title":"mid","head":"mid","base":"main"}'
n=$(json .number)
git checkout -q main && head -c 30000000 /dev/urandom >big.bin && git add . && git commit -qm "big push"
pushed=$(git rev-parse HEAD)
git push -q "$URL" main 2>"$T_DIR/bigpush.err" &
ppid=$!
# await receive-pack's quarantine: the pack is arriving
for _ in $(seq 1 600); do
	compgen -G "$PLUE_DATA_DIR/repos/$RID.git/objects/tmp_objdir-incoming-*" >/dev/null && break
	kill -0 "$ppid" 2>/dev/null || break
	sleep 0.05
done
api POST "/api/alice/race/pulls/$n/merge" "$BOB" '{}'
merge_status=$STATUS
merge_sha=$(json .sha)
wait "$ppid"
push_rc=$?
if [ "$merge_status" = 200 ]; then
	check "big push: the merge is in main" in_main "$merge_sha"
fi
if [ "$push_rc" = 0 ]; then
	check "big push: the push is in main" in_main "$pushed"
else
	check "big push: git says why the push lost ($(tr '\n' ' ' <"$T_DIR/bigpush.err"))" grep -Eq "remote rejected|failed to update|fetch first|non-fast-forward" "$T_DIR/bigpush.err"
fi
check "big push: one of them landed" test "$push_rc" = 0 -o "$merge_status" = 200
check "big push: branches table agrees" test "$(sql "select commit_sha from branches where name = 'main'")" = "$(remote_main)"

# ---- a push holding the ref lock when the merge wants to move main ----
# (receive-pack holds refs/heads/main.lock while it updates main; the merge's
# compare-and-swap takes the same lock, so it refuses rather than wait or
# overwrite)
git fetch -q "$URL" main && git checkout -q -B main FETCH_HEAD
git checkout -q -b locked main && echo l >locked.txt && git add . && git commit -qm locked
git push -q "$URL" locked
api POST /api/alice/race/pulls "$ALICE" '{"title":"locked","head":"locked","base":"main"}'
n=$(json .number)
before=$(remote_main)
events_before=$(sql "select count(*) from events")
touch "$PLUE_DATA_DIR/repos/$RID.git/refs/heads/main.lock"
api POST "/api/alice/race/pulls/$n/merge" "$BOB" '{}'
expect_error 409 base_moved "branch 'main' moved, try again" "merge while a push holds the ref"
rm -f "$PLUE_DATA_DIR/repos/$RID.git/refs/heads/main.lock"
check "main untouched" test "$(remote_main)" = "$before"
check "no events written" test "$(sql "select count(*) from events")" = "$events_before"
api GET "/api/alice/race/pulls/$n"
expect_json .merged false "not marked merged"
expect_json .state open "still open"
api POST "/api/alice/race/pulls/$n/merge" "$BOB" '{}'
expect_status 200 "merges once the ref is free"

git clone -q "http://127.0.0.1:$PORT/alice/race.git" "$T_DIR/fresh"
check "fresh clone passes fsck" git -C "$T_DIR/fresh" fsck --strict --no-progress
check "every pull request is merged" test "$(sql "select count(*) from pull_requests where not merged")" = 0
for i in $(seq 1 8); do
	check "p$i in the fresh clone" test -f "$T_DIR/fresh/p$i.txt"
done
check "server log has no errors" test "$(grep -c ' error ' "$T_DIR/serve.log")" = 0
finish
