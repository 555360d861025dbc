#!/usr/bin/env bash
# 16-maintenance: repository housekeeping (git/maintain.h). Pushes start it
# once the repository is quiet (the debounce); it packs loose objects,
# writes bitmaps, a multi-pack index and the commit-graph; every ref and
# object stays reachable (git fsck --strict, and clones before and after
# match); pushes and clones in flight while it runs all succeed; an
# unreachable object younger than the grace period is kept and an older one
# pruned; a server killed with SIGKILL in the middle of a repack leaves a
# repository that checks and clones, and the next run succeeds. The last
# result is shown to site administrators only; `plue admin repo-maintain`
# runs it now.
. "$(dirname "$0")/lib.sh"
export PLUE_MAINTAIN_DEBOUNCE=1
start_server --warm-pool 0
new_user root admin >/dev/null
ROOT=$(new_token root repo:read,repo:write,user,admin)
ALICE=$(new_user alice)
BOB=$(new_user bob)
api POST /api/repos "$ALICE" '{"name":"busy"}'
expect_status 201 "create busy"
BUSY_ID=$(json .id)
api POST /api/repos "$ALICE" '{"name":"secret","private":true}'
expect_status 201 "create secret"
REPO="$PLUE_DATA_DIR/repos/$BUSY_ID.git"
URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/busy.git"

# maintenance_json: the repository's state as root sees it
maintenance() { api GET "/api/repos/alice/${1:-busy}/maintenance" "$ROOT"; }
# wait_runs N: until at least N runs have finished (at most a minute)
wait_runs() {
	local i
	for i in $(seq 1 600); do
		maintenance
		if [ "$(json .runs)" -ge "$1" ] 2>/dev/null && [ "$(json .last_run.finished_at)" != null ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "maintenance did not run $1 time(s): ${BODY_OUT:0:300}"
	return 1
}
# fingerprint DIR: every ref and every object reachable from them, as one hash
fingerprint() {
	{ git -C "$1" for-each-ref --format='%(objectname) %(refname)'
	  git -C "$1" rev-list --objects --all | sort; } | sha1sum | cut -d' ' -f1
}
# clone_print: a fresh clone's fingerprint (refs as the remote's branches)
clone_print() {
	local d
	d=$(mktemp -d "$T_DIR/clone.XXXXXX")
	git clone -q --mirror "$URL" "$d/r" 2>>"$T_DIR/git.log" || { echo clone-failed; return; }
	fingerprint "$d/r"
}
# quiesce: until no push waits for housekeeping and no run is going on,
# so git fsck reads a repository nobody repacks (they may well run together;
# the check wants a quiet moment)
quiesce() {
	local i
	for i in $(seq 1 600); do
		maintenance
		[ "$(json .pending_pushes)" = 0 ] && [ "$(json .last_run.finished_at)" != null ] && return 0
		sleep 0.1
	done
	fail "housekeeping did not settle: ${BODY_OUT:0:300}"
}
check_fsck() {
	quiesce
	if git -C "$REPO" fsck --strict --no-progress >"$T_DIR/fsck.out" 2>&1; then pass
	else fail "$1: git fsck --strict: $(head -5 "$T_DIR/fsck.out")"; fi
}

# ---- a push starts it, after the debounce ----
W="$T_DIR/work"
git init -q "$W"
for i in $(seq 1 12); do
	echo "line $i" >"$W/file$((i % 4)).txt"
	git -C "$W" add -A && git -C "$W" commit -qm "commit $i"
	git -C "$W" push -q "$URL" HEAD:main 2>>"$T_DIR/git.log"
done
BEFORE=$(clone_print)
wait_runs 1
expect_json .last_run.trigger push "the run was started by the pushes"
expect_json .last_run.status ok "the push-started run succeeded"
check "a first run is a full repack" grep -q full_repack <<<"$(json .last_run.tasks)"
expect_json .last_run.after.loose_objects 0 "no loose objects are left"
expect_json .last_run.after.bitmap true "a reachability bitmap is written"
expect_json .last_run.after.multi_pack_index true "a multi-pack index is written"
expect_json .last_run.after.commit_graph true "the commit-graph is written"
expect_json .pending_pushes 0 "the pushes were served"
check "pushes leave packs, not loose objects" \
	test "$(json .last_run.before.loose_objects)" = 0 -a "$(json .last_run.before.packs)" -gt 1
check_fsck "after the first run"
check "a clone after it matches the clone before" [ "$(clone_print)" = "$BEFORE" ]

# ---- who may see it ----
api GET /api/repos/alice/busy/maintenance "$ALICE"
expect_error 403 admin_required "shown to site administrators only" "the owner is not a site admin"
api GET /api/repos/alice/busy/maintenance
expect_error 403 admin_required "shown to site administrators only" "anonymous"
api GET /api/repos/alice/secret/maintenance "$BOB"
expect_error 404 not_found "repository 'alice/secret' not found" "a private repository stays hidden"
api GET /api/repos/alice/nope/maintenance "$ROOT"
expect_error 404 not_found "repository 'alice/nope' not found" "a missing repository"
RO_ADMIN=$(new_token root repo:read)
api GET /api/repos/alice/busy/maintenance "$RO_ADMIN"
expect_error 403 admin_required "shown to site administrators only" "a token without the admin scope"
maintenance secret
expect_status 200 "root sees a repository nothing was pushed to"
expect_json .last_run null "no run yet"

# ---- plue admin repo-maintain ----
echo "one more" >>"$W/file1.txt"
git -C "$W" commit -qam "one more" && git -C "$W" push -q "$URL" HEAD:main 2>>"$T_DIR/git.log"
OUT=$("$PLUE" admin repo-maintain alice/busy 2>"$T_DIR/admin.err")
check "repo-maintain exits 0" [ $? -eq 0 ]
check "a push's new pack gets a geometric repack: $OUT" grep -q geometric_repack <<<"$OUT"
check "repo-maintain packs them: $OUT" grep -q '"after":{"loose_objects":0,' <<<"$OUT"
maintenance
expect_json .last_run.trigger admin "the API shows the admin's run"
OUT=$("$PLUE" admin repo-maintain alice/busy --full 2>/dev/null)
check "--full forces a full repack: $OUT" grep -q full_repack <<<"$OUT"
check "a full repack leaves one pack: $OUT" grep -q '"after":{"loose_objects":0,"packs":1,' <<<"$OUT"
"$PLUE" admin repo-maintain alice/nope >/dev/null 2>"$T_DIR/admin.err"
check "repo-maintain of a missing repository fails" [ $? -eq 1 ]
check "repo-maintain says the repository is missing" grep -q "error: repository 'alice/nope' not found" "$T_DIR/admin.err"
"$PLUE" admin repo-maintain busy >/dev/null 2>"$T_DIR/admin.err"
check "repo-maintain without an owner fails" [ $? -eq 1 ]
check "repo-maintain says what it wants" grep -q "error: 'busy' is not OWNER/REPO" "$T_DIR/admin.err"

# ---- pushes and clones while it runs ----
git clone -q "$URL" "$T_DIR/w2" 2>>"$T_DIR/git.log"
pusher() { # DIR BRANCH: 15 pushes of one commit each
	local i
	for i in $(seq 1 15); do
		echo "$2 $i" >"$1/$2.txt"
		git -C "$1" add -A && git -C "$1" commit -qm "$2 $i" || return 1
		git -C "$1" push -q "$URL" "HEAD:$2" 2>>"$T_DIR/git.log" || return 1
	done
}
cloner() { # 8 clones, each checked
	local i
	for i in $(seq 1 8); do
		rm -rf "$T_DIR/cc"
		git clone -q "$URL" "$T_DIR/cc" 2>>"$T_DIR/git.log" || return 1
		git -C "$T_DIR/cc" fsck --no-progress 2>>"$T_DIR/git.log" >/dev/null || return 1
	done
}
pusher "$W" topic1 & P1=$!
pusher "$T_DIR/w2" topic2 & P2=$!
cloner & C1=$!
MAINT_OK=0
for i in 1 2 3 4; do
	[ $((i % 2)) = 0 ] && full=--full || full=
	"$PLUE" admin repo-maintain alice/busy $full >/dev/null 2>>"$T_DIR/admin.err" && MAINT_OK=$((MAINT_OK + 1))
done
wait $P1; check "pushes during maintenance succeed (1)" [ $? -eq 0 ]
wait $P2; check "pushes during maintenance succeed (2)" [ $? -eq 0 ]
wait $C1; check "clones during maintenance succeed" [ $? -eq 0 ]
check "every run during the traffic succeeded" [ $MAINT_OK -eq 4 ]
"$PLUE" admin repo-maintain alice/busy --full >/dev/null 2>>"$T_DIR/admin.err"
check_fsck "after maintenance under traffic"
A=$(clone_print)
check "a clone matches the server's refs and objects" [ "$(fingerprint "$REPO")" = "$A" ]
check "every push landed (1)" [ "$(git -C "$REPO" rev-parse topic1)" = "$(git -C "$W" rev-parse HEAD)" ]
check "every push landed (2)" [ "$(git -C "$REPO" rev-parse topic2)" = "$(git -C "$T_DIR/w2" rev-parse HEAD)" ]

# ---- the grace period ----
# a commit pushed, then unreferenced: unreachable, but young
git -C "$W" checkout -q -b doomed
echo doomed >"$W/doomed.txt"
git -C "$W" add -A && git -C "$W" commit -qm doomed
DOOMED=$(git -C "$W" rev-parse HEAD)
git -C "$W" push -q "$URL" doomed 2>>"$T_DIR/git.log"
git -C "$W" push -q "$URL" :doomed 2>>"$T_DIR/git.log"
# an unreachable object written two days ago
OLD=$(echo "left over $RANDOM" | git -C "$REPO" hash-object -w --stdin)
touch -d '2 days ago' "$REPO/objects/${OLD:0:2}/${OLD:2}"
PLUE_MAINTAIN_GRACE=3600 "$PLUE" admin repo-maintain alice/busy --full >"$T_DIR/grace.json" 2>>"$T_DIR/admin.err"
check "the pruning run succeeds" [ $? -eq 0 ]
check "a young unreachable commit is kept" [ "$(git -C "$REPO" cat-file -t "$DOOMED" 2>/dev/null)" = commit ]
check "it is kept in a cruft pack: $(cat "$T_DIR/grace.json")" grep -q '"after":{[^}]*"cruft_packs":1,' "$T_DIR/grace.json"
if git -C "$REPO" cat-file -e "$OLD" 2>/dev/null; then
	fail "an unreachable object older than the grace period is pruned"
else pass; fi
check_fsck "after pruning"

# ---- SIGKILL in the middle of a repack ----
# a repository big enough that a full repack takes a moment: 2000 commits,
# 58000 objects, pushed once
api POST /api/repos "$ALICE" '{"name":"big"}'
expect_status 201 "create big"
BIG_ID=$(json .id)
BIG="$PLUE_DATA_DIR/repos/$BIG_ID.git"
BIG_URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/big.git"
git init -q --bare "$T_DIR/bigsrc"
python3 - <<'EOF' | git -C "$T_DIR/bigsrc" fast-import --quiet
import sys
w = sys.stdout.write
for c in range(2000):
    w("commit refs/heads/main\ncommitter T <t@e> %d +0000\n" % (1600000000 + c))
    m = "commit %d\n" % c
    w("data %d\n%s" % (len(m), m))
    for f in range(20):
        d = ("file %d rev %d %d\n" % (f, c, (c * 7919 + f * 104729) % 1000003)) * 4
        w("M 100644 inline d%d/f%d.txt\ndata %d\n%s" % (f % 7, (c * 20 + f) % 3000, len(d), d))
EOF
git -C "$T_DIR/bigsrc" push -q "$BIG_URL" main 2>>"$T_DIR/git.log"
check "push the big repository" [ $? -eq 0 ]
# restart with a scheduler that does a full repack on every push, then push
# once and kill the server as soon as its git repack is running
stop_server
PLUE_MAINTAIN_DEBOUNCE=0 PLUE_MAINTAIN_FULL_INTERVAL=0 start_server --warm-pool 0
BIG_URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/big.git"
maintenance big
RUNS0=$(json .runs)
KILLED=""
for attempt in 1 2 3 4 5; do
	git -C "$T_DIR/bigsrc" commit-tree -p main -m "attempt $attempt" "main^{tree}" >"$T_DIR/c"
	git -C "$T_DIR/bigsrc" update-ref refs/heads/main "$(cat "$T_DIR/c")"
	git -C "$T_DIR/bigsrc" push -q "$BIG_URL" main 2>>"$T_DIR/git.log"
	for i in $(seq 1 1000); do
		# the server's git repack, once its pack-objects is writing
		REPACK=$(ps -o pid=,args= --ppid "$SERVER_PID" | awk '/ repack /{print $1; exit}')
		if [ -n "$REPACK" ] && ps -o args= --ppid "$REPACK" | grep -q pack-objects; then
			KILLED="$REPACK $(ps -o pid= --ppid "$REPACK")"
			kill -9 "$SERVER_PID"
			break
		fi
		# the run finished before we saw it: push again
		if [ $((i % 25)) = 0 ]; then
			maintenance big
			[ "$(json .last_run.status)" = ok ] && [ "$(json .runs)" -gt "$RUNS0" ] && break
		fi
		sleep 0.01
	done
	[ -n "$KILLED" ] && break
	RUNS0=$(json .runs)
done
check "the server was killed while git pack-objects ran" [ -n "$KILLED" ]
[ -n "$KILLED" ] || kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
# its git commands die with it (or finish on their own); wait for them
for i in $(seq 1 300); do
	alive=0
	for p in $KILLED; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 0 ] && break
	sleep 0.1
done
check "no git command outlives the server for long" [ $alive = 0 ]
if git -C "$BIG" fsck --strict --no-progress >"$T_DIR/fsck.out" 2>&1; then pass
else fail "fsck after SIGKILL: $(head -5 "$T_DIR/fsck.out")"; fi
# no scheduler now: what the API shows is what the kill left
PLUE_MAINTAIN_JOBS=0 start_server --warm-pool 0
BIG_URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/big.git"
maintenance big
expect_json .last_run.status running_or_interrupted "the API shows the run that died"
URL=$BIG_URL
check "a clone after the kill matches the repository" [ "$(clone_print)" = "$(fingerprint "$BIG")" ]
check "the last push is there" [ "$(git -C "$BIG" rev-parse main)" = "$(git -C "$T_DIR/bigsrc" rev-parse main)" ]
"$PLUE" admin repo-maintain alice/big --full >"$T_DIR/after-kill.json" 2>>"$T_DIR/admin.err"
RC=$?
check "the next run succeeds: $(cat "$T_DIR/after-kill.json")" [ $RC -eq 0 ]
check "the killed repack's temporary files are gone" [ -z "$(ls -a "$BIG/objects/pack" | grep '^\.tmp-')" ]
maintenance big
expect_json .last_run.status ok "the API shows the good run"
if git -C "$BIG" fsck --strict --no-progress >"$T_DIR/fsck.out" 2>&1; then pass
else fail "fsck after the next run: $(head -5 "$T_DIR/fsck.out")"; fi
check "a clone after the next run matches" [ "$(clone_print)" = "$(fingerprint "$BIG")" ]

finish
