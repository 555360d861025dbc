#!/usr/bin/env bash
# 35-pulls: pull requests end to end with the real git client — branches
# pushed over smart HTTP, pull requests opened, their files (checked
# against `git diff --numstat`) and commits, reviews with inline comments
# and outdated marking after a push, merges with each method verified on a
# fresh clone, conflict refusals with paths, every user-facing error and
# the authorization of each role.
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
CAROL=$(new_user carol)
DAVE=$(new_user dave)
PSQL=(psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue")

api POST /api/repos "$ALICE" '{"name":"proj"}'
expect_status 201 "create proj"
api PUT /api/repos/alice/proj/collaborators/bob "$ALICE" '{"role":"write"}'
expect_status 200 "bob writes"
api PUT /api/repos/alice/proj/collaborators/carol "$ALICE" '{"role":"read"}'
expect_status 200 "carol reads"

URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/proj.git"
SRC="$T_DIR/src"
git init -q "$SRC"
cd "$SRC"
push() { git push -q "$URL" "$@"; }
seq 1 20 | sed 's/^/line /' >f.txt
printf 'shared\n' >conflict.txt
seq 1 50 | sed 's/^/rename me /' >old-name.txt
head -c 3000 /dev/urandom >bin.dat
git add . && git commit -qm "initial"
push main

# feat: a modification, a new file, a rename with a change, a binary change
git checkout -qb feat
sed -i 's/^line 5$/line five/' f.txt
git mv old-name.txt new-name.txt
sed -i 's/^rename me 50$/renamed 50/' new-name.txt
echo "new file" >new.txt
head -c 3000 /dev/urandom >bin.dat
git add . && git commit -qm "feat: five, rename, new, binary"
printf 'extra\n' >>f.txt
git commit -qam "feat: extra line"
push feat

# an issue first: pull requests share its numbers
api POST /api/alice/proj/issues "$ALICE" '{"title":"an issue"}'
expect_status 201 "issue #1"

# ---- opening ----
api POST /api/alice/proj/pulls "" '{"title":"x","head":"feat","base":"main"}'
expect_error 401 unauthorized "authentication required" "anonymous cannot open"
api POST /api/alice/proj/pulls "$ALICE" '{"title":"x","head":"main","base":"main"}'
expect_error 400 same_branch "head and base are the same branch 'main'" "head == base"
api POST /api/alice/proj/pulls "$ALICE" '{"title":"x","head":"nope","base":"main"}'
expect_error 400 unknown_branch "branch 'nope' does not exist in 'alice/proj'" "unknown head"
api POST /api/alice/proj/pulls "$ALICE" '{"title":"x","head":"feat","base":"nope"}'
expect_error 400 unknown_branch "branch 'nope' does not exist" "unknown base"
api POST /api/alice/proj/pulls "$ALICE" '{"title":"x","head":"a..b","base":"main"}'
expect_error 400 invalid_branch "head 'a..b' is not a valid branch name" "invalid branch name"
api POST /api/alice/proj/pulls "$ALICE" '{"head":"feat","base":"main"}'
expect_error 400 missing_field "field 'title' is required" "title required"
api POST /api/alice/proj/pulls "$ALICE" '{"title":"x","base":"main"}'
expect_error 400 missing_field "field 'head' is required" "head required"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
api POST /api/alice/proj/pulls "$ALICE" "{\"title\":\"x\",\"head\":\"feat\",\"body\":\"$big\"}"
expect_error 413 too_large "field 'body' is longer than 65536 characters" "huge body"
head -c 1200000 /dev/zero | tr '\0' 'a' | sed 's/^/{"title":"x","head":"feat","body":"/; s/$/"}/' >"$T_DIR/huge.json"
STATUS=$(curl -s -o "$T_DIR/body" -w '%{http_code}' -H "Authorization: Bearer $ALICE" \
	-H 'Content-Type: application/json' --data-binary @"$T_DIR/huge.json" "$BASE/api/alice/proj/pulls")
BODY_OUT=$(cat "$T_DIR/body")
expect_status 413 "body over the request cap"
check "nothing half-written by refusals" test "$(sql "select count(*) from pull_requests")" = 0

api POST /api/alice/proj/pulls "$ALICE" '{"title":"Feature work","head":"feat","base":"main","body":"please review @bob, see #1"}'
expect_status 201 "open pull request"
expect_json .number 2 "shares the issue numbers"
expect_json .pull_request true "marked as a pull request"
expect_json .head.ref feat "head ref"
expect_json .head.sha "$(git rev-parse feat)" "head sha"
expect_json .base.sha "$(git rev-parse main)" "base sha"
expect_json .mergeable clean "mergeable"
expect_json .ahead_by 2 "ahead by"
expect_json .behind_by 0 "behind by"
expect_json .changed_files 4 "changed files"
expect_json .statuses.state pending "no statuses yet"
check "Location header" test "$(header Location)" = "/api/alice/proj/pulls/2"
check "mention of bob recorded" test "$(sql "select count(*) from mentions m join users u on u.id = m.user_id where u.username = 'bob'")" = 1
check "opened event" test "$(sql "select payload->>'action' || ' ' || (payload->>'head_ref') || ' ' || (payload->>'base') from events where type = 'pull_request' order by id desc limit 1")" = "opened feat main"

api POST /api/alice/proj/pulls "$BOB" '{"title":"again","head":"feat","base":"main"}'
expect_error 409 pull_exists "an open pull request for 'feat' into 'main' already exists: #2" "duplicate open pull request"
git branch -f same main && push same
api POST /api/alice/proj/pulls "$ALICE" '{"title":"x","head":"same","base":"main"}'
expect_error 400 no_commits "'same' has no commits that 'main' does not have" "nothing to merge"

api GET /api/alice/proj/issues/2
expect_json .pull_request true "the issue view knows it is a pull request"
api GET /api/alice/proj/pulls/1
expect_error 404 not_found "pull request 'alice/proj#1' not found" "an issue is not a pull request"
api GET /api/alice/proj/pulls/999
expect_error 404 not_found "pull request 'alice/proj#999' not found" "unknown number"

# ---- files and commits, checked against git ----
api GET /api/alice/proj/pulls/2/files
expect_status 200 "files"
api_numstat=$(node -e 'for (const f of JSON.parse(require("fs").readFileSync(0,"utf8"))) console.log(f.binary ? "-\t-\t" + f.path : f.additions + "\t" + f.deletions + "\t" + (f.old_path ? f.old_path + " => " + f.path : f.path))' <<<"$BODY_OUT" | sort)
git_numstat=$(git diff --numstat -M main...feat | sed -E 's/\{?([^{ ]*) => ([^} ]*)\}?/\1 => \2/' | sort)
check "numstat matches git ($api_numstat)" test "$api_numstat" = "$git_numstat"
check "rename detected" test "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).filter(f=>f.status=="renamed").map(f=>f.old_path+">"+f.path).join())' <<<"$BODY_OUT")" = "old-name.txt>new-name.txt"
check "binary reported as binary" test "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).filter(f=>f.binary).map(f=>f.path+":"+f.patch).join())' <<<"$BODY_OUT")" = "bin.dat:null"
check "patch is the unified diff" grep -q '^-line 5$' <<<"$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).find(f=>f.path=="f.txt").patch)' <<<"$BODY_OUT")"
api GET /api/alice/proj/pulls/2/commits
expect_status 200 "commits"
check "commits oldest first, as git lists them" test "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).map(c=>c.sha).join("\n"))' <<<"$BODY_OUT")" = "$(git rev-list --reverse main..feat)"

# ---- listing ----
api GET "/api/alice/proj/pulls"
expect_json .length 1 "one open pull request"
expect_json .0.number 2 "listed"
api GET "/api/alice/proj/pulls?state=closed"
expect_json .length 0 "none closed"
api GET "/api/alice/proj/pulls?state=bogus"
expect_error 400 invalid_state "state 'bogus' is not one of open, closed, merged, all" "bad state filter"

# ---- editing, closing, reopening ----
api PATCH /api/alice/proj/pulls/2 "$CAROL" '{"title":"hijack"}'
expect_error 403 forbidden "write access to repository 'alice/proj' is required" "reader cannot edit another's pull request"
api PATCH /api/alice/proj/pulls/2 "$BOB" '{"title":"Feature work, renamed"}'
expect_status 200 "writer edits the title"
expect_json .title "Feature work, renamed" "title changed"
check "edited event" test "$(sql "select payload->>'action' from events where type = 'pull_request' order by id desc limit 1")" = edited
api PATCH /api/alice/proj/pulls/2 "$ALICE" '{"state":"merged"}'
expect_error 400 invalid_state "state 'merged' is not one of open, closed" "bad state"
api PATCH /api/alice/proj/pulls/2 "$ALICE" '{"state":"closed"}'
expect_json .state closed "closed"
expect_json .mergeable null "closed: no mergeability"
api POST /api/alice/proj/pulls/2/merge "$ALICE" '{}'
expect_error 409 pull_closed "pull request #2 is closed; reopen it to merge" "merging a closed pull request"
api PATCH /api/alice/proj/pulls/2 "$ALICE" '{"state":"open"}'
expect_json .state open "reopened"
check "closed and reopened events" test "$(sql "select string_agg(payload->>'action', ',' order by id) from events where type = 'pull_request'")" = "opened,edited,closed,reopened"

# ---- reviews and inline comments ----
api POST /api/alice/proj/pulls/2/reviews "$ALICE" '{"event":"APPROVE"}'
expect_error 403 own_pull_request "you cannot approve your own pull request" "author cannot approve"
api POST /api/alice/proj/pulls/2/reviews "$CAROL" '{"event":"APPROVE"}'
expect_error 403 forbidden "write access to repository 'alice/proj' is required to approve or request changes" "reader cannot approve"
api POST /api/alice/proj/pulls/2/reviews "$BOB" '{"event":"MAYBE"}'
expect_error 400 invalid_event "event 'MAYBE' is not one of APPROVE, REQUEST_CHANGES, COMMENT" "bad event"
api POST /api/alice/proj/pulls/2/reviews "$BOB" '{"event":"REQUEST_CHANGES"}'
expect_error 400 missing_field "field 'body' is required to request changes" "request changes needs a body"
api POST /api/alice/proj/pulls/2/reviews "$CAROL" '{"event":"COMMENT"}'
expect_error 400 missing_field "a comment review needs a body or inline comments" "empty comment review"
api POST /api/alice/proj/pulls/2/reviews "$CAROL" '{"body":"x","comments":[{"path":"f.txt","line":12,"body":"far from the change"}]}'
expect_error 400 invalid_comment "comments[0]: line 12 of 'f.txt' is not part of the diff on the right side" "line outside the diff"
api POST /api/alice/proj/pulls/2/reviews "$CAROL" '{"body":"x","comments":[{"path":"conflict.txt","line":1,"body":"unchanged file"}]}'
expect_error 400 invalid_comment "path 'conflict.txt' is not changed by this pull request" "file outside the diff"
api POST /api/alice/proj/pulls/2/reviews "$CAROL" '{"body":"x","comments":[{"path":"f.txt","line":5,"side":"UP","body":"b"}]}'
expect_error 400 invalid_comment "comments[0].side must be LEFT or RIGHT" "bad side"
api POST /api/alice/proj/pulls/2/reviews "$CAROL" '{"body":"x","comments":[{"path":"bin.dat","line":1,"body":"b"}]}'
expect_error 400 invalid_comment "'bin.dat' is a binary file" "binary file has no lines"
api POST /api/alice/proj/pulls/2/reviews "$CAROL" '{"body":"x","commit_id":"0000000000000000000000000000000000000000"}'
expect_error 409 head_moved "is not the head of pull request #2" "review of an old head"

# carol comments on line 5 (changed by the next push), line 7 (context that
# only moves) and on the left side's removed line 5
api POST /api/alice/proj/pulls/2/reviews "$CAROL" '{"event":"COMMENT","body":"some notes for @alice","comments":[{"path":"f.txt","line":5,"body":"why five?"},{"path":"f.txt","line":7,"side":"RIGHT","body":"context line"},{"path":"f.txt","line":5,"side":"LEFT","body":"the old five"}]}'
expect_status 201 "comment review with inline comments"
expect_json .state COMMENTED "state"
expect_json .inline_comments.length 3 "three inline comments"
expect_json .inline_comments.0.diff_hunk "$(printf '@@ -2,7 +2,7 @@ line 1\n line 2\n line 3\n line 4\n-line 5\n+line five')" "hunk kept up to the line"
api POST /api/alice/proj/pulls/2/reviews "$BOB" '{"event":"APPROVE","body":"LGTM"}'
expect_status 201 "writer approves"
expect_json .state APPROVED "approved"
expect_json .commit_sha "$(git rev-parse feat)" "approval names the head"
check "review event" test "$(sql "select payload->>'action' || ' ' || (payload->'review'->>'state') from events where type = 'pull_request.review' order by id desc limit 1")" = "submitted APPROVED"
api GET /api/alice/proj/pulls/2/reviews
expect_json .length 2 "two reviews"
expect_json .0.comments 3 "comment count"

# a push that rewrites line 5 and inserts lines above line 7's context
sed -i 's/^line five$/line FIVE/; s/^line 3$/line 3\ninserted a\ninserted b/' f.txt
git commit -qam "feat: rework five"
push feat
api GET /api/alice/proj/pulls/2/comments
expect_status 200 "inline comments"
expect_json .0.outdated true "comment on a rewritten line is outdated"
expect_json .0.original_line 5 "and keeps where it was written"
expect_json .1.outdated false "comment on a moved context line is not outdated"
expect_json .1.line 9 "it follows its line"
expect_json .1.original_line 7 "original line kept"
expect_json .1.commit_sha "$(git rev-parse feat)" "now anchored to the new head"
expect_json .2.outdated false "left side unchanged: base did not move"
check "synchronize event" test "$(sql "select payload->>'action' || ' ' || (payload->>'after') from events where type = 'pull_request' order by id desc limit 1")" = "synchronize $(git rev-parse feat)"
check "pull_request event urls" test "$(sql "select (payload->'pull_request'->>'url') || ' ' || (payload->'pull_request'->>'html_url') from events where type = 'pull_request' order by id desc limit 1")" = "$BASE/api/alice/proj/pulls/2 $BASE/alice/proj/pulls/2"
check "head sha recorded" test "$(sql "select head_sha from pull_requests")" = "$(git rev-parse feat)"
check "comments never deleted" test "$(sql "select count(*) from review_comments")" = 3

# ---- merge: a real merge commit ----
api POST /api/alice/proj/pulls/2/merge "$CAROL" '{}'
expect_error 403 forbidden "write access to repository 'alice/proj' is required" "reader cannot merge"
api POST /api/alice/proj/pulls/2/merge "" '{}'
expect_error 401 unauthorized "" "anonymous cannot merge"
api POST /api/alice/proj/pulls/2/merge "$BOB" '{"method":"octopus"}'
expect_error 400 invalid_method "method 'octopus' is not one of merge, squash, rebase" "bad method"
api POST /api/alice/proj/pulls/2/merge "$BOB" '{"sha":"0000000000000000000000000000000000000000"}'
expect_error 409 head_moved "the head of pull request #2 is now" "stale head sha"
api POST /api/alice/proj/pulls/2/merge "$BOB" "{\"method\":\"merge\",\"sha\":\"$(git rev-parse feat)\"}"
expect_status 200 "merge"
expect_json .merged true "merged"
MERGE_SHA=$(json .sha)
api POST /api/alice/proj/pulls/2/merge "$BOB" '{}'
expect_error 409 already_merged "pull request #2 is already merged" "merging twice"
api PATCH /api/alice/proj/pulls/2 "$ALICE" '{"state":"open"}'
expect_error 409 already_merged "pull request #2 is merged and cannot be reopened" "reopening a merged pull request"
api GET /api/alice/proj/pulls/2
expect_json .state closed "merged is closed"
expect_json .merged true "merged flag"
expect_json .merged_by bob "merged by"
expect_json .merge_method merge "method"
expect_json .merge_commit_sha "$MERGE_SHA" "merge commit"
expect_json .commits 3 "a merged pull request still shows its commits"
check "merge events" test "$(sql "select string_agg(type || ':' || coalesce(payload->>'action', payload->>'after'), ',' order by id) from events where id > (select max(id) - 2 from events)")" = "push:$MERGE_SHA,pull_request:merged"
check "branches table follows the merge" test "$(sql "select commit_sha from branches where name = 'main'")" = "$MERGE_SHA"
git clone -q "http://127.0.0.1:$PORT/alice/proj.git" "$T_DIR/c1"
check "fresh clone: main is the merge commit" test "$(git -C "$T_DIR/c1" rev-parse HEAD)" = "$MERGE_SHA"
check "merge commit has two parents" test "$(git -C "$T_DIR/c1" rev-list --parents -n1 HEAD | wc -w)" = 3
check "parents are old main and the head" test "$(git -C "$T_DIR/c1" rev-parse HEAD^1 HEAD^2 | tr '\n' ' ')" = "$(git rev-parse main feat | tr '\n' ' ')"
check "message names the pull request" grep -q "Merge pull request #2 from feat" <<<"$(git -C "$T_DIR/c1" log -1 --format=%B)"
check "graph shows the merge" grep -q '|\\' <<<"$(git -C "$T_DIR/c1" log --graph --oneline)"
check "fsck" git -C "$T_DIR/c1" fsck --strict --no-progress
git fetch -q "$URL" main && git checkout -q -B main FETCH_HEAD

# ---- squash ----
git checkout -qb sq main
for i in 1 2 3; do echo "squash $i" >>sq.txt; git add sq.txt; git commit -qm "sq $i"; done
push sq
api POST /api/alice/proj/pulls "$BOB" '{"title":"Squash me","head":"sq","base":"main"}'
expect_status 201 "squash pull request"
SQ=$(json .number)
api POST /api/alice/proj/pulls/$SQ/merge "$ALICE" '{"method":"squash"}'
expect_status 200 "squash merge"
SQ_SHA=$(json .sha)
git -C "$T_DIR/c1" pull -q --ff-only
check "squash: one parent" test "$(git -C "$T_DIR/c1" rev-list --parents -n1 HEAD | wc -w)" = 2
check "squash: parent is old main" test "$(git -C "$T_DIR/c1" rev-parse HEAD^)" = "$(git rev-parse main)"
check "squash: tree is the head's tree" test "$(git -C "$T_DIR/c1" rev-parse HEAD^{tree})" = "$(git rev-parse sq^{tree})"
check "squash: title names the pull request" test "$(git -C "$T_DIR/c1" log -1 --format=%s)" = "Squash me (#$SQ)"
check "squash: body lists the commits" test "$(git -C "$T_DIR/c1" log -1 --format=%b | grep -c '^\* sq ')" = 3
check "squash: authored by the pull request's author" test "$(git -C "$T_DIR/c1" log -1 --format=%an)" = bob
check "squash: committed by the merger" test "$(git -C "$T_DIR/c1" log -1 --format=%cn)" = alice
check "squash sha" test "$(git -C "$T_DIR/c1" rev-parse HEAD)" = "$SQ_SHA"
git fetch -q "$URL" main && git checkout -q -B main FETCH_HEAD

# ---- rebase (main moved meanwhile, so the commits are replayed) ----
git checkout -qb rb main
for i in 1 2 3; do echo "rebase $i" >"rb$i.txt"; git add .; git commit -qm "rb $i"; done
push rb
git checkout -q main && echo "main moves" >main-moves.txt && git add . && git commit -qm "main moves" && push main
api POST /api/alice/proj/pulls "$ALICE" '{"title":"Rebase me","head":"rb","base":"main"}'
RB=$(json .number)
expect_json .behind_by 1 "rb is behind main"
api POST /api/alice/proj/pulls/$RB/merge "$BOB" '{"method":"rebase"}'
expect_status 200 "rebase merge"
RB_SHA=$(json .sha)
git -C "$T_DIR/c1" pull -q --ff-only
check "rebase: tip is the replayed head" test "$(git -C "$T_DIR/c1" rev-parse HEAD)" = "$RB_SHA"
check "rebase: three new commits on main" test "$(git -C "$T_DIR/c1" rev-list --count "$(git rev-parse main)"..HEAD)" = 3
check "rebase: linear (no merge commits)" test "$(git -C "$T_DIR/c1" rev-list --min-parents=2 "$(git rev-parse main)"..HEAD | wc -l)" = 0
check "rebase: same messages in order" test "$(git -C "$T_DIR/c1" log --reverse --format=%s "$(git rev-parse main)"..HEAD | tr '\n' ,)" = "rb 1,rb 2,rb 3,"
check "rebase: authors kept" test "$(git -C "$T_DIR/c1" log --format=%an -3 | sort -u)" = "Test User"
check "rebase: committer is the merger" test "$(git -C "$T_DIR/c1" log --format=%cn -3 | sort -u)" = bob
check "rebase: new commits (rewritten)" test "$RB_SHA" != "$(git rev-parse rb)"
check "rebase: main's own commit kept" git -C "$T_DIR/c1" merge-base --is-ancestor "$(git rev-parse main)" HEAD
git fetch -q "$URL" main && git checkout -q -B main FETCH_HEAD

# ---- conflicts are refused with their paths ----
git checkout -qb clash main
echo "theirs" >conflict.txt && echo "x" >>sq.txt && git commit -qam "clash" && push clash
git checkout -q main && echo "ours" >conflict.txt && echo "y" >>sq.txt && git commit -qam "ours" && push main
api POST /api/alice/proj/pulls "$ALICE" '{"title":"Clash","head":"clash","base":"main"}'
CL=$(json .number)
expect_json .mergeable conflicts "conflicts detected"
expect_json .conflicts '["conflict.txt","sq.txt"]' "conflicting paths listed"
for m in merge squash rebase; do
	api POST /api/alice/proj/pulls/$CL/merge "$ALICE" "{\"method\":\"$m\"}"
	expect_error 409 merge_conflict "conflicts in 'conflict.txt', 'sq.txt'" "$m refused on conflict"
	expect_json .error.conflicts '["conflict.txt","sq.txt"]' "$m: paths in the error"
done
check "main untouched by refused merges" test "$(git ls-remote "$URL" refs/heads/main | cut -f1)" = "$(git rev-parse main)"
api GET /api/alice/proj/pulls/$CL
expect_json .merged false "still open"

# ---- a pull request whose commits include a merge cannot be rebased ----
git checkout -qb with-merge main && echo wm >wm.txt && git add . && git commit -qm wm
git checkout -qb side-of-merge main && echo so >so.txt && git add . && git commit -qm so
git checkout -q with-merge && git merge -q --no-edit side-of-merge && push with-merge
api POST /api/alice/proj/pulls "$ALICE" '{"title":"With a merge","head":"with-merge","base":"main"}'
WM=$(json .number)
api POST /api/alice/proj/pulls/$WM/merge "$ALICE" '{"method":"rebase"}'
expect_error 409 not_rebaseable "is a merge commit and cannot be rebased; use the merge or squash method" "rebase of a merge commit"
api POST /api/alice/proj/pulls/$WM/merge "$ALICE" '{"method":"squash"}'
expect_status 200 "squash works there"
api POST /api/alice/proj/pulls/$WM/reviews "$BOB" '{"event":"APPROVE"}'
expect_error 409 pull_closed "pull request #$WM is merged" "no verdicts on a merged pull request"
api POST /api/alice/proj/pulls/$WM/reviews "$BOB" '{"body":"nice one"}'
expect_status 201 "comments on a merged pull request are fine"
git fetch -q "$URL" main && git checkout -q -B main FETCH_HEAD

# ---- unrelated histories; a head branch that disappears ----
git checkout -q --orphan orphan && git rm -rfq . && echo o >o.txt && git add . && git commit -qm orphan && push orphan
api POST /api/alice/proj/pulls "$ALICE" '{"title":"x","head":"orphan","base":"main"}'
expect_error 400 unrelated_histories "'orphan' and 'main' have unrelated histories" "unrelated histories"
git checkout -q -B gone main && echo g >gone.txt && git add . && git commit -qm gone && push gone
api POST /api/alice/proj/pulls "$ALICE" '{"title":"Gone","head":"gone","base":"main"}'
GN=$(json .number)
push :gone
api GET /api/alice/proj/pulls/$GN
expect_json .head.exists false "deleted head branch shown as gone"
expect_json .head.sha "$(git rev-parse gone)" "with the last known sha"
expect_json .mergeable unknown "mergeability unknown"
api POST /api/alice/proj/pulls/$GN/merge "$ALICE" '{}'
expect_error 409 branch_missing "cannot merge: branch 'gone' no longer exists" "merge without a head branch"
api PATCH /api/alice/proj/pulls/$GN "$ALICE" '{"state":"closed"}'
api PATCH /api/alice/proj/pulls/$GN "$ALICE" '{"state":"open"}'
expect_error 409 branch_missing "cannot reopen pull request #$GN: branch 'gone' no longer exists" "reopen without a head branch"
git checkout -q main

# ---- a pull request merged by a push of its head into the base ----
git checkout -qb viapush main && echo p >viapush.txt && git add . && git commit -qm "via push" && push viapush
api POST /api/alice/proj/pulls "$ALICE" '{"title":"Via push","head":"viapush","base":"main"}'
VP=$(json .number)
git checkout -q main && git merge -q --ff-only viapush && push main
api GET /api/alice/proj/pulls/$VP
expect_json .merged true "pushing the head into the base merges the pull request"
expect_json .merge_method push "merge method push"
expect_json .state closed "and closes it"

# ---- a large change: 10k changed lines, binary files, renames ----
git checkout -qb big main
seq 1 10000 | sed 's/^/an old line of the big file, number /' >big.txt
git add big.txt && git commit -qm "big base" && push big:bigbase
seq 1 10000 | sed 's/^/a new line of the big file, number /' >big.txt
for i in 1 2 3; do head -c 20000 /dev/urandom >"blob$i.bin"; done
for i in 1 2 3 4 5; do seq 1 200 | sed "s/^/file $i line /" >"mv-src-$i.txt"; done
git add . && git commit -qm "big: binaries and sources" && push big:bigbase
git checkout -qb big2
for i in 1 2 3 4 5; do git mv "mv-src-$i.txt" "moved-$i.txt"; done
seq 1 10000 | sed 's/^/a newer line of the big file, number /' >big.txt
head -c 20000 /dev/urandom >blob1.bin
git rm -q blob2.bin
git add . && git commit -qm "big change" && push big2
api POST /api/alice/proj/pulls "$ALICE" '{"title":"Big","head":"big2","base":"bigbase"}'
BIG=$(json .number)
expect_json .changed_files 8 "big: changed files"
expect_json .additions 10000 "big: additions"
expect_json .deletions 10000 "big: deletions"
api GET /api/alice/proj/pulls/$BIG/files
expect_status 200 "big files"
api_numstat=$(node -e 'for (const f of JSON.parse(require("fs").readFileSync(0,"utf8"))) console.log(f.binary ? "-\t-\t" + (f.old_path && f.status != "renamed" ? f.old_path : f.path) : f.additions + "\t" + f.deletions + "\t" + (f.old_path ? f.old_path + " => " + f.path : f.path))' <<<"$BODY_OUT" | sort)
git_numstat=$(git diff --numstat -M big...big2 | sed -E 's/\{?([^{ ]*) => ([^} ]*)\}?/\1 => \2/' | sort)
check "big: numstat matches git" test "$api_numstat" = "$git_numstat"
[ "$api_numstat" = "$git_numstat" ] || diff <(echo "$api_numstat") <(echo "$git_numstat") | head
check "big: the 10k-line patch is cut at a line end and says so" test "$(node -e 'const f=JSON.parse(require("fs").readFileSync(0,"utf8")).find(f=>f.path=="big.txt"); console.log(f.truncated && f.patch.endsWith("\n") ? "cut" : f.patch.split("\n").length)' <<<"$BODY_OUT")" = cut
check "big: binaries reported as binary" test "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).filter(f=>f.binary).map(f=>f.status+":"+f.path).sort().join())' <<<"$BODY_OUT")" = "deleted:blob2.bin,modified:blob1.bin"

# ---- authorization: a private repository hides its pull requests ----
api POST /api/repos "$ALICE" '{"name":"secret","private":true}'
git checkout -q -b side main && echo s >side.txt && git add . && git commit -qm side
git push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/secret.git" main side
api POST /api/alice/secret/pulls "$ALICE" '{"title":"hidden","head":"side","base":"main"}'
expect_status 201 "private pull request"
api GET /api/alice/secret/pulls/1 "$DAVE"
expect_error 404 not_found "repository 'alice/secret' not found" "stranger sees nothing"
api GET /api/alice/secret/pulls "$DAVE"
expect_error 404 not_found "repository 'alice/secret' not found" "stranger cannot list"
api POST /api/alice/secret/pulls/1/reviews "$DAVE" '{"body":"hi"}'
expect_error 404 not_found "repository 'alice/secret' not found" "stranger cannot review"
api GET /api/alice/secret/pulls/1 "$ALICE"
expect_status 200 "owner sees it"
# on a public repository a signed-in stranger may open and comment, not merge
git checkout -q -b dave-branch main && echo d >dave.txt && git add . && git commit -qm dave && push dave-branch
api POST /api/alice/proj/pulls "$DAVE" '{"title":"From dave","head":"dave-branch","base":"main"}'
expect_status 201 "a reader opens a pull request"
DV=$(json .number)
api PATCH /api/alice/proj/pulls/$DV "$DAVE" '{"title":"From dave, edited"}'
expect_status 200 "the author edits it"
api POST /api/alice/proj/pulls/$DV/merge "$DAVE" '{}'
expect_error 403 forbidden "write access to repository 'alice/proj' is required" "the author cannot merge without write access"
RO=$(new_token carol repo:read)
api POST /api/alice/proj/pulls/$DV/reviews "$RO" '{"body":"hi"}'
expect_error 403 insufficient_scope "this token lacks the repo:write scope" "read-only token cannot review"

check "server log has no errors" test "$(grep -c ' error ' "$T_DIR/serve.log")" = 0
finish
