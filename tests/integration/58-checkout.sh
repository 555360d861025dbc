#!/usr/bin/env bash
# 58-checkout: the checkout of a workload's commit, and the runner's
# checkout cache behind it (docs/runs.md, docs/git.md "Checkout for
# workloads") and its bound. One runner runs every job, so each checkout after the first
# comes from its cache: the workspace holds exactly the commit (contents,
# modes, symlinks, deletions), git works in it (log, status clean, diff,
# index stat data that is the job's own), a job that wrecks its workspace
# (files, modes, rm -rf, objects overwritten, .git replaced) does not reach
# the next job, a private repository's cache is invisible to a workload of
# another repository, and a runner killed with -9 leaves no mount behind.
# The whole story runs twice: on the fast path (a root runner mounts each
# workspace as an overlay over its cached tree of the repository) and on
# the fallback a runner without it takes (PLUE_CHECKOUT_OVERLAY=off: the
# cached tree is built and moved in). Last, the cache's bound
# (PLUE_RUNNER_CACHE_MB) below what two repositories take: the entry in use
# stays, the least recently used one is evicted, and its next job is right.
. "$(dirname "$0")/lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=1
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)

# newest_run OWNER/REPO TOKEN COUNT: waits for the COUNT-th run of the
# repository, prints its id
newest_run() {
	local i id
	for i in $(seq 1 300); do
		api GET "/api/$1/runs" "$2"
		id=$(node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));if(r.length>=+process.argv[1])process.stdout.write(String(Math.max(...r.map(x=>x.id))))' "$3" <<<"$BODY_OUT")
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}

# run_log ID TOKEN: waits for the run, checks it succeeded, prints its log
run_log() {
	wait_run "$1" "$2" || return 1
	local st
	st=$(json .status)
	[ "$st" = success ] || fail "run $1 did not succeed ($st): ${BODY_OUT:0:400}"
	api GET "/api/runs/$1/logs" "$2"
	echo "$BODY_OUT"
}

# how PASS: checks that the checkout line of LOG says the fast path was (or
# was not) taken, as PASS expects
how() {
	if [ "$OVER" = yes ]; then
		check "$1: under an overlay" grep -qF "(from the runner's cached tree) under an overlay" <<<"$LOG"
	else
		check "$1: not under an overlay" bash -c '! grep -qF "under an overlay" <<<"$1"' _ "$LOG"
	fi
}

# cached WHAT SHA CONTENT: checks that LOG's checkout of SHA came from the
# runner's cached tree (the way how expects) and that the workspace holds
# SHA with CONTENT, its status clean
cached() {
	check "$1: from the runner's cached tree" grep -qF "at ${2:0:12} (from the runner's cached tree)" <<<"$LOG"
	how "$1"
	check "$1: content" grep -qxF "content [$3] [bee]" <<<"$LOG"
	check "$1: head is the commit" grep -qxF "head $2" <<<"$LOG"
	check "$1: git status is clean" grep -qxF "status []" <<<"$LOG"
}

# scenario PASS: the story, with repositories of its own; PASS is overlay
# (the fast path, asserted where the runner is root) or fallback
scenario() {
	P=$1
	OVER=no
	[ "$P" = overlay ] && [ "$(id -u)" = 0 ] && OVER=yes
	api POST /api/repos "$ALICE" "{\"name\":\"co-$P\"}"
	expect_status 201 "$P: create repo"
	api POST /api/repos "$BOB" "{\"name\":\"vault-$P\",\"private\":true}"
	expect_status 201 "$P: create private repo"

	# ---- bob's private repository runs first: its cache is the runner's ----
	V="$T_DIR/vault-$P"
	git init -q -b main "$V"
	mkdir -p "$V/.plue/workflows"
	echo "the vault words are bob-private-words" >"$V/secret.txt"
	printf 'on: push\njobs:\n  a:\n    steps:\n      - run: cat secret.txt\n' >"$V/.plue/workflows/v.yml"
	(cd "$V" && git add . && git -c user.name=b -c user.email=b@example.com commit -qm vault)
	BOB_SHA=$(git -C "$V" rev-parse HEAD)
	check "$P: push the private repository" git -C "$V" push -q "http://bob:$BOB@127.0.0.1:$PORT/bob/vault-$P.git" main
	VRUN=$(newest_run "bob/vault-$P" "$BOB" 1)
	LOG=$(run_log "$VRUN" "$BOB")
	check "$P: private run: sees its own file" grep -qF "the vault words are bob-private-words" <<<"$LOG"

	# ---- alice's repository: one workflow that describes its workspace ----
	SRC="$T_DIR/src-$P"
	git init -q -b main "$SRC"
	mkdir -p "$SRC/.plue/workflows" "$SRC/dir"
	cat >"$SRC/.plue/workflows/co.yml" <<'EOF'
on: push
jobs:
  look:
    steps:
      - name: Describe
        run: |
          owner=$(git ls-files --debug dir/b.txt | sed -n 's/.*uid: *\([0-9]*\).*/\1/p')
          [ "$owner" = "$(id -u)" ] && echo "the index's stat data is the job's"
          echo "content [$(cat a.txt)] [$(cat dir/b.txt)]"
          echo "head $(git log -1 --format=%H)"
          echo "status [$(git status --porcelain | tr '\n' ' ')]"
          echo "diff [$(git diff HEAD --stat)]"
          test -x tool.sh && echo "tool.sh is executable"
          test -x a.txt || echo "a.txt is not executable"
          echo "link -> $(readlink link)"
          test -e gone.txt && echo "gone.txt present" || echo "gone.txt absent"
          echo "tracked $(git ls-files | wc -l)"
          echo "untracked [$(git ls-files --others | tr '\n' ' ')]"
          echo "blob [$(git cat-file -p HEAD:a.txt)]"
          if git cat-file -e "$(cat other.txt 2>/dev/null || echo 0000000000000000000000000000000000000000)" 2>/dev/null; then
            echo "another repository's commit is readable"
          else
            echo "another repository's commit is absent"
          fi
          if grep -rqs "bob-private-$(echo words)" /workspace /tmp; then echo "another repository's file is readable"; else echo "no other repository's file"; fi
          echo "runner directories [$(find / -xdev -maxdepth 4 -name 'runner-*' 2>/dev/null | tr '\n' ' ')]"
      - name: Wreck
        run: |
          if [ -f poison ]; then
            echo poisoned >a.txt
            echo poisoned >dir/b.txt
            echo untracked >junk.txt
            chmod 000 tool.sh
            chmod 777 a.txt
            rm -f link
            chmod -R u+w .git/objects
            find .git/objects -type f -exec sh -c 'echo garbage >"$1"' _ {} \;
            mv .git .git-wrecked
            mkdir .git
            echo "ref: refs/heads/wrecked" >.git/HEAD
            rm -rf dir
            echo "workspace wrecked"
          fi
EOF
	echo one >"$SRC/a.txt"
	echo bee >"$SRC/dir/b.txt"
	printf '#!/bin/sh\necho tool\n' >"$SRC/tool.sh"
	chmod 755 "$SRC/tool.sh"
	ln -s dir/b.txt "$SRC/link"
	echo "to be deleted" >"$SRC/gone.txt"
	commit() { (cd "$SRC" && git add -A . && git -c user.name=a -c user.email=a@example.com commit -qm "$1"); }
	push() { git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/co-$P.git" main; }
	commit one
	SHA1=$(git -C "$SRC" rev-parse HEAD)
	check "$P: push 1" push
	R1=$(newest_run "alice/co-$P" "$ALICE" 1)
	LOG=$(run_log "$R1" "$ALICE")
	check "$P: run 1: the runner had no tree of this repository" bash -c '! grep -qF "cached tree" <<<"$1"' _ "$LOG"
	check "$P: run 1: content" grep -qxF "content [one] [bee]" <<<"$LOG"
	check "$P: run 1: head is the commit" grep -qxF "head $SHA1" <<<"$LOG"
	check "$P: run 1: git status is clean" grep -qxF "status []" <<<"$LOG"
	check "$P: run 1: git diff is empty" grep -qxF "diff []" <<<"$LOG"
	check "$P: run 1: the executable bit" grep -qxF "tool.sh is executable" <<<"$LOG"
	check "$P: run 1: a plain file is not executable" grep -qxF "a.txt is not executable" <<<"$LOG"
	check "$P: run 1: the symlink" grep -qxF "link -> dir/b.txt" <<<"$LOG"
	check "$P: run 1: gone.txt is there yet" grep -qxF "gone.txt present" <<<"$LOG"
	check "$P: run 1: nothing of the private repository" grep -qxF "no other repository's file" <<<"$LOG"
	check "$P: run 1: no runner directory in the sandbox" grep -qxF "runner directories []" <<<"$LOG"

	# ---- commit 2: edits, a deletion, an addition; the job wrecks everything ----
	echo two >"$SRC/a.txt"
	rm "$SRC/gone.txt"
	echo new >"$SRC/dir/new.txt"
	touch "$SRC/poison"
	echo "$BOB_SHA" >"$SRC/other.txt"
	commit two
	SHA2=$(git -C "$SRC" rev-parse HEAD)
	check "$P: push 2" push
	R2=$(newest_run "alice/co-$P" "$ALICE" 2)
	LOG=$(run_log "$R2" "$ALICE")
	cached "$P: run 2" "$SHA2" two
	check "$P: run 2: git diff is empty" grep -qxF "diff []" <<<"$LOG"
	check "$P: run 2: the deleted file is gone" grep -qxF "gone.txt absent" <<<"$LOG"
	check "$P: run 2: every tracked file" grep -qxF "tracked 8" <<<"$LOG"
	check "$P: run 2: nothing untracked" grep -qxF "untracked []" <<<"$LOG"
	check "$P: run 2: its objects are readable" grep -qxF "blob [two]" <<<"$LOG"
	check "$P: run 2: the index's stat data is the job's" grep -qxF "the index's stat data is the job's" <<<"$LOG"
	check "$P: run 2: the private repository's commit is absent" grep -qxF "another repository's commit is absent" <<<"$LOG"
	check "$P: run 2: nothing of the private repository" grep -qxF "no other repository's file" <<<"$LOG"
	check "$P: run 2: the job wrecked its workspace" grep -qxF "workspace wrecked" <<<"$LOG"

	# ---- commit 3: what run 2 wrecked does not reach run 3 ----
	rm "$SRC/poison"
	echo three >"$SRC/a.txt"
	commit three
	SHA3=$(git -C "$SRC" rev-parse HEAD)
	check "$P: push 3" push
	R3=$(newest_run "alice/co-$P" "$ALICE" 3)
	LOG=$(run_log "$R3" "$ALICE")
	cached "$P: run 3 (not what run 2 wrote)" "$SHA3" three
	check "$P: run 3: nothing untracked" grep -qxF "untracked []" <<<"$LOG"
	check "$P: run 3: every tracked file" grep -qxF "tracked 7" <<<"$LOG"
	check "$P: run 3: its objects are readable, not run 2's garbage" grep -qxF "blob [three]" <<<"$LOG"
	check "$P: run 3: the symlink" grep -qxF "link -> dir/b.txt" <<<"$LOG"
	check "$P: run 3: the executable bit, not run 2's chmod" grep -qxF "tool.sh is executable" <<<"$LOG"
	check "$P: run 3: a plain file, not run 2's chmod" grep -qxF "a.txt is not executable" <<<"$LOG"
	check "$P: run 3: the file deleted by commit 2 is still gone" grep -qxF "gone.txt absent" <<<"$LOG"
	check "$P: run 3: the index's stat data is the job's" grep -qxF "the index's stat data is the job's" <<<"$LOG"

	# ---- bob again, then alice: alice's tree, prepared before bob's run,
	# waited in the cache while bob's workload ran; alice's run takes it and
	# still sees only her commit ----
	echo "more words" >>"$V/secret.txt"
	(cd "$V" && git -c user.name=b -c user.email=b@example.com commit -qam more)
	check "$P: push the private repository again" git -C "$V" push -q "http://bob:$BOB@127.0.0.1:$PORT/bob/vault-$P.git" main
	VRUN=$(newest_run "bob/vault-$P" "$BOB" 2)
	LOG=$(run_log "$VRUN" "$BOB")
	check "$P: private run 2: from its own cached tree" grep -qF "(from the runner's cached tree)" <<<"$LOG"
	how "$P: private run 2"
	check "$P: private run 2: its new content" grep -qxF "more words" <<<"$LOG"
	echo four >"$SRC/a.txt"
	commit four
	SHA4=$(git -C "$SRC" rev-parse HEAD)
	check "$P: push 4" push
	R4=$(newest_run "alice/co-$P" "$ALICE" 4)
	LOG=$(run_log "$R4" "$ALICE")
	cached "$P: run 4" "$SHA4" four
	check "$P: run 4: the private repository's commit is absent" grep -qxF "another repository's commit is absent" <<<"$LOG"
	check "$P: run 4: nothing of the private repository" grep -qxF "no other repository's file" <<<"$LOG"

	# ---- the same commit again: the tree is that commit already ----
	check "$P: push the same commit to another branch" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/co-$P.git" main:again
	R5=$(newest_run "alice/co-$P" "$ALICE" 5)
	LOG=$(run_log "$R5" "$ALICE")
	cached "$P: run 5" "$SHA4" four
	check "$P: run 5: the index's stat data is the job's" grep -qxF "the index's stat data is the job's" <<<"$LOG"
}

scenario overlay

# ---- a runner killed with -9: its overlays die with its mount namespace
# and the next runner sweeps its directories ----
RDIR="$PLUE_DATA_DIR/runners"
RPID=$(ls "$RDIR" | sed -n 's/^runner-\([0-9]*\)-cache$/\1/p' | head -1)
check "the runner's workspace is mounted in its namespace only" bash -c \
	'[ "$(id -u)" != 0 ] || { grep -q "runner-$1-.* overlay " /proc/$1/mountinfo && ! grep -q "runner-$1-" /proc/self/mountinfo; }' _ "$RPID"
kill -9 "$RPID"
swept=no
for _ in $(seq 1 300); do
	left=$(ls "$RDIR" | grep -c "^runner-$RPID-")
	others=$(ls "$RDIR" | grep -c "^runner-.*-cache$")
	[ "$left" = 0 ] && [ "$others" -ge 1 ] && { swept=yes; break; }
	sleep 0.1
done
check "the next runner swept the killed runner's workspace, layers and cache" test "$swept" = yes
check "no mount of the killed runner is left on the host" bash -c '! grep -q "runner-$1-" /proc/self/mountinfo' _ "$RPID"

# ---- the fallback: a runner that cannot (or may not) mount overlays ----
stop_all
export PLUE_CHECKOUT_OVERLAY=off
start_server
scenario fallback

# ---- the cache's bound (PLUE_RUNNER_CACHE_MB): two repositories whose
# entries are each larger than the bound; the one in use stays (the next
# job of it still comes from its cached tree), the least recently used one
# goes when another repository runs, and its next job checks out anew,
# correctly ----
stop_all
unset PLUE_CHECKOUT_OVERLAY
export PLUE_RUNNER_CACHE_MB=2
start_server
OVER=no
[ "$(id -u)" = 0 ] && OVER=yes
# bound_repo NAME: a repository with a 1.5 MB incompressible file (its
# cache entry, packs and tree, is larger than the bound) and a workflow
# that prints what it checked out
bound_repo() {
	api POST /api/repos "$ALICE" "{\"name\":\"$1\"}"
	expect_status 201 "bound: create $1"
	local d="$T_DIR/$1"
	git init -q -b main "$d"
	mkdir -p "$d/.plue/workflows"
	head -c 1500000 /dev/urandom >"$d/big.bin"
	cat >"$d/.plue/workflows/b.yml" <<'EOF'
on: push
jobs:
  a:
    steps:
      - run: |
          echo "words [$(cat words.txt)]"
          echo "big $(sha1sum <big.bin | cut -c1-40)"
          echo "head $(git log -1 --format=%H)"
          echo "status [$(git status --porcelain | tr '\n' ' ')]"
EOF
}
# bound_push NAME WORDS N: commits WORDS into NAME's words.txt, pushes, waits
# for the N-th run and sets LOG and SHA
bound_push() {
	local d="$T_DIR/$1" id
	echo "$2" >"$d/words.txt"
	(cd "$d" && git add -A . && git -c user.name=a -c user.email=a@example.com commit -qm "$2")
	SHA=$(git -C "$d" rev-parse HEAD)
	check "bound: push $1 ($2)" git -C "$d" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/$1.git" main
	id=$(newest_run "alice/$1" "$ALICE" "$3")
	LOG=$(run_log "$id" "$ALICE")
}
# bound_ok NAME WHAT WORDS: LOG is a correct checkout of NAME at SHA
bound_ok() {
	check "$2: its words" grep -qxF "words [$3]" <<<"$LOG"
	check "$2: its big file" grep -qxF "big $(sha1sum <"$T_DIR/$1/big.bin" | cut -c1-40)" <<<"$LOG"
	check "$2: head is the commit" grep -qxF "head $SHA" <<<"$LOG"
	check "$2: git status is clean" grep -qxF "status []" <<<"$LOG"
}
bound_repo older
bound_repo newer
bound_push older one 1
bound_ok older "bound: older run 1" one
bound_push older two 2
bound_ok older "bound: older run 2" two
check "bound: older run 2: from its cached tree (over the bound, but in use)" \
	grep -qF "at ${SHA:0:12} (from the runner's cached tree)" <<<"$LOG"
how "bound: older run 2"
bound_push newer one 1
bound_ok newer "bound: newer run 1" one
CACHE=$(ls -d "$PLUE_DATA_DIR"/runners/runner-*-cache | head -1)
api GET /api/repos/alice/older "$ALICE"
OLDER_ID=$(json .id)
api GET /api/repos/alice/newer "$ALICE"
NEWER_ID=$(json .id)
# the runner trims between workloads: after newer's run, before its next claim
evicted=no
for _ in $(seq 1 300); do
	[ ! -e "$CACHE/repo-$OLDER_ID" ] && { evicted=yes; break; }
	sleep 0.1
done
check "bound: the least recently used entry (older) is evicted" test "$evicted" = yes
check "bound: the entry in use (newer) stays" test -s "$CACHE/repo-$NEWER_ID/base"
# (its line follows the entry's removal)
said=no
for _ in $(seq 1 100); do
	grep -qF "removed repository $OLDER_ID's entry" "$T_DIR/serve.log" && { said=yes; break; }
	sleep 0.1
done
check "bound: the runner says what it evicted" test "$said" = yes
bound_push older three 3
bound_ok older "bound: older run 3, after its eviction" three
check "bound: older run 3: checked out anew, not from the evicted cache" \
	bash -c '! grep -qF "(from the runner" <<<"$1"' _ "$LOG"
bound_push older four 4
bound_ok older "bound: older run 4" four
check "bound: older run 4: from its cached tree again" \
	grep -qF "at ${SHA:0:12} (from the runner's cached tree)" <<<"$LOG"

finish
