#!/usr/bin/env bash
# 36-protection: protected branches and commit statuses. Rules are set
# through the API by admins; pushes are checked by the pre-receive hook
# (the refusal is what git prints: "remote: error: ..." and "[remote
# rejected]"); merges through the API need the required approvals on the
# current head and passing statuses.
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
CAROL=$(new_user carol)
PSQL=(psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue")

api POST /api/repos "$ALICE" '{"name":"proj"}'
expect_status 201 "create proj"
api PUT /api/repos/alice/proj/collaborators/bob "$ALICE" '{"role":"write"}'
api PUT /api/repos/alice/proj/collaborators/carol "$ALICE" '{"role":"read"}'
check "hook installed" test -x "$PLUE_DATA_DIR/hooks/pre-receive"

URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/proj.git"
SRC="$T_DIR/src"
git init -q "$SRC"
cd "$SRC"
push() { git push -q "$URL" "$@"; }
echo one >a.txt && git add . && git commit -qm one && push main
git checkout -qb release/1.0 && echo r >r.txt && git add . && git commit -qm rel && push release/1.0
git checkout -q main

# ---- the rules API ----
api PUT /api/alice/proj/protections/main "$BOB" '{}'
expect_error 403 forbidden "admin access to repository 'alice/proj' is required" "writers cannot set rules"
api GET /api/alice/proj/protections "$BOB"
expect_error 403 forbidden "admin access" "writers cannot read rules"
api PUT /api/alice/proj/protections/main "$ALICE" '{"required_approvals":"two"}'
expect_error 400 invalid_field "field 'required_approvals' must be a number from 0 to 20" "bad approvals"
api PUT /api/alice/proj/protections/main "$ALICE" '{"required_status_contexts":[1]}'
expect_error 400 invalid_field "required_status_contexts[0] must be a string" "bad contexts"
api PUT /api/alice/proj/protections/main "$ALICE" '{"no_force_push":"yes"}'
expect_error 400 invalid_field "field 'no_force_push' must be true or false" "bad flag"
api PUT /api/alice/proj/protections/refs%2Fheads%2Fmain "$ALICE" '{}'
expect_error 400 invalid_pattern "is not a branch pattern" "full ref names are not patterns"
api PUT /api/alice/proj/protections "$ALICE" '{}'
expect_error 400 invalid_pattern "a branch pattern is required" "pattern required"
api GET /api/alice/proj/protections/nothing "$ALICE"
expect_error 404 not_found "protection rule 'nothing' not found" "unknown rule"
api DELETE /api/alice/proj/protections/nothing "$ALICE"
expect_error 404 not_found "protection rule 'nothing' not found" "deleting an unknown rule"
api PUT /api/alice/proj/protections/main "$ALICE" '{}'
expect_status 201 "protect main (defaults)"
expect_json .no_force_push true "default: no force push"
expect_json .no_deletion true "default: no deletion"
expect_json .required_approvals 0 "default: no approvals"
api PUT "/api/alice/proj/protections/release/*" "$ALICE" '{"no_force_push":true,"no_deletion":false}'
expect_status 201 "protect release/*"
api GET /api/alice/proj/protections "$ALICE"
expect_json .length 2 "two rules"
expect_json .1.pattern "release/*" "glob pattern kept"

# ---- pushes: the hook refuses what the rules forbid ----
echo two >>a.txt && git commit -qam two
check "fast-forward push allowed (hook reads the quarantined objects)" push main
REMOTE_MAIN=$(git rev-parse main)
git commit -q --amend -m "two, rewritten"
out=$(git push -f "$URL" main 2>&1)
check "force push refused ($out)" grep -q "remote: error: branch 'main' is protected (rule 'main'): force pushes are not allowed" <<<"$out"
check "git reports the hook's refusal" grep -q "\[remote rejected\] main -> main (pre-receive hook declined)" <<<"$out"
check "main unchanged after refused force push" test "$(git ls-remote "$URL" refs/heads/main | cut -f1)" = "$REMOTE_MAIN"
check "branches table unchanged" test "$(sql "select commit_sha from branches where name = 'main'")" = "$REMOTE_MAIN"
out=$(git push "$URL" :main 2>&1)
check "deletion refused" grep -q "remote: error: branch 'main' is protected (rule 'main'): it cannot be deleted" <<<"$out"
git checkout -q release/1.0 && git commit -q --amend -m "rel, rewritten"
out=$(git push -f "$URL" release/1.0 2>&1)
check "glob rule refuses force push" grep -q "branch 'release/1.0' is protected (rule 'release/\*'): force pushes are not allowed" <<<"$out"
check "glob rule allows deletion" push :release/1.0
check "a new branch matching a rule may be created" push HEAD:release/2.0
git checkout -q main && git reset -q --hard "$(git ls-remote "$URL" refs/heads/main | cut -f1)"
check "force push to an unprotected branch still works" bash -c "git checkout -q -b free && echo f >f.txt && git add . && git commit -qm f && git push -q '$URL' free && git commit -q --amend -m g && git push -q -f '$URL' free && git checkout -q main"
# one push of several branches: each is held to its own rules
git checkout -q free && git commit -q --amend -m h && git checkout -q main && git commit -q --amend -m "two, rewritten again"
out=$(git push -f "$URL" free main 2>&1)
check "a push of two branches is refused for the protected one ($out)" grep -q "remote: error: branch 'main' is protected (rule 'main'): force pushes are not allowed" <<<"$out"
check "and only for it" test "$(grep -c "is protected" <<<"$out")" = 1
check "the whole push is refused" test "$(git ls-remote "$URL" refs/heads/free | cut -f1)" != "$(git rev-parse free)"
git reset -q --hard "$(git ls-remote "$URL" refs/heads/main | cut -f1)"
api DELETE "/api/alice/proj/protections/release/*" "$ALICE"
expect_status 204 "delete a rule"
check "rule gone" test "$(sql "select count(*) from protected_branches")" = 1

# ---- commit statuses ----
HEAD_SHA=$(git rev-parse main)
api POST /api/alice/proj/statuses/$HEAD_SHA "$CAROL" '{"state":"success"}'
expect_error 403 forbidden "write access to repository 'alice/proj' is required" "readers cannot set statuses"
api POST /api/alice/proj/statuses/$HEAD_SHA "$BOB" '{"state":"great"}'
expect_error 400 invalid_state "state 'great' is not one of pending, success, failure, error" "bad state"
api POST /api/alice/proj/statuses/$HEAD_SHA "$BOB" '{"state":"success","target_url":"javascript:alert(1)"}'
expect_error 400 invalid_url "is not an http or https URL" "bad target url"
api POST /api/alice/proj/statuses/nothex "$BOB" '{"state":"success"}'
expect_error 400 invalid_sha "'nothex' is not a commit sha" "bad sha"
api POST /api/alice/proj/statuses/0123456789012345678901234567890123456789 "$BOB" '{"state":"success"}'
expect_error 404 not_found "commit '0123456789012345678901234567890123456789' not found in 'alice/proj'" "unknown commit"
api POST /api/alice/proj/statuses/$HEAD_SHA "$BOB" '{"state":"pending","context":"ci/test","description":"running","target_url":"https://ci.example/1"}'
expect_status 201 "pending status"
expect_json .creator bob "creator"
api POST /api/alice/proj/statuses/$HEAD_SHA "$BOB" '{"state":"success","context":"ci/lint"}'
expect_status 201 "lint passes"
api GET /api/alice/proj/commits/$HEAD_SHA/status
expect_json .state pending "combined: pending wins over success"
expect_json .total_count 2 "two contexts"
api POST /api/alice/proj/statuses/$HEAD_SHA "$BOB" '{"state":"failure","context":"ci/test"}'
api GET /api/alice/proj/commits/$HEAD_SHA/status
expect_json .state failure "combined: failure wins"
expect_json .statuses.1.state failure "newest status per context"
api GET /api/alice/proj/statuses/$HEAD_SHA
expect_json .length 3 "history of statuses, newest first"
expect_json .0.state failure "newest first"
check "status event" test "$(sql "select payload->>'context' || ' ' || (payload->>'state') from events where type = 'status' order by id desc limit 1")" = "ci/test failure"

# ---- merges through the API: approvals and statuses ----
api PUT /api/alice/proj/protections/main "$ALICE" '{"required_approvals":1,"required_status_contexts":["ci/test"]}'
expect_status 200 "require an approval and ci/test"
echo direct >>a.txt && git commit -qam direct
out=$(git push "$URL" main 2>&1)
check "direct push refused" grep -q "remote: error: branch 'main' is protected (rule 'main'): changes must be merged through a pull request" <<<"$out"
git reset -q --hard HEAD^
git checkout -qb topic && echo t >t.txt && git add . && git commit -qm topic && push topic
api POST /api/alice/proj/pulls "$ALICE" '{"title":"Topic","head":"topic","base":"main"}'
expect_status 201 "open pull request"
N=$(json .number)
api POST /api/alice/proj/pulls/$N/merge "$ALICE" '{}'
expect_error 409 protected_branch "branch protection 'main' requires 1 approving review of the latest commit, it has 0" "needs an approval"
api POST /api/alice/proj/pulls/$N/reviews "$BOB" '{"event":"REQUEST_CHANGES","body":"not yet"}'
api POST /api/alice/proj/pulls/$N/merge "$ALICE" '{}'
expect_error 409 protected_branch "'bob' requested changes" "requested changes block"
api POST /api/alice/proj/pulls/$N/reviews "$BOB" '{"event":"APPROVE"}'
expect_status 201 "bob approves"
# a new push makes that approval stale
echo t2 >>t.txt && git commit -qam topic2 && push topic
api POST /api/alice/proj/pulls/$N/merge "$ALICE" '{}'
expect_error 409 protected_branch "requires 1 approving review of the latest commit, it has 0" "approval of an older head does not count"
api POST /api/alice/proj/pulls/$N/reviews "$BOB" '{"event":"APPROVE"}'
api POST /api/alice/proj/pulls/$N/merge "$ALICE" '{}'
expect_error 409 protected_branch "requires status 'ci/test' to succeed, it is missing" "status missing"
TOPIC=$(git rev-parse topic)
api POST /api/alice/proj/statuses/$TOPIC "$BOB" '{"state":"pending","context":"ci/test"}'
api POST /api/alice/proj/pulls/$N/merge "$ALICE" '{}'
expect_error 409 protected_branch "requires status 'ci/test' to succeed, it is pending" "status pending"
api GET /api/alice/proj/pulls/$N
expect_json .statuses.state pending "the pull request shows the head's status"
api POST /api/alice/proj/statuses/$TOPIC "$BOB" '{"state":"success","context":"ci/test"}'
api PUT /api/alice/proj/protections/main "$ALICE" '{"required_approvals":1,"required_status_contexts":["ci/test"],"require_passing_statuses":true}'
api POST /api/alice/proj/statuses/$TOPIC "$BOB" '{"state":"error","context":"ci/other"}'
api POST /api/alice/proj/pulls/$N/merge "$ALICE" '{}'
expect_error 409 protected_branch "requires passing statuses, the head's are error" "every status must pass"
api POST /api/alice/proj/statuses/$TOPIC "$BOB" '{"state":"success","context":"ci/other"}'
api POST /api/alice/proj/pulls/$N/merge "$ALICE" '{}'
expect_status 200 "merge with approval and passing statuses"
check "protected main moved by the merge" test "$(git ls-remote "$URL" refs/heads/main | cut -f1)" = "$(json .sha)"

check "server log has no errors" test "$(grep -c ' error ' "$T_DIR/serve.log")" = 0
finish
