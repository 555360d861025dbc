#!/usr/bin/env bash
# 22-authz-gaps: authorization rules that close gaps between what a role
# may do and what it could do. Approvals by whoever pushed a pull
# request's commits do not count, and an approver demoted before the merge
# no longer counts; a workflow's task token writes only what its job's
# permissions grant (never dispatch, settings, collaborators, secrets); an
# author who is only a reader cannot edit, close or reopen a pull request
# once the repository closes issues to readers; a token cannot mint a
# token that outlives it; only writers list collaborators; sign-in
# attempts are counted before the password check, per address and account,
# so parallel guesses get at most the limit of checks and the account
# stays open from other addresses.
. "$(dirname "$0")/lib.sh"
export PLUE_WARM_POOL=0
export PLUE_RUNNER_SECRET="gaps-secret-$RANDOM$RANDOM"
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
CAROL=$(new_user carol)
DAVE=$(new_user dave)
ERIN=$(new_user erin)
OLLY=$(new_user olly)
uid() { sql "SELECT id FROM users WHERE username = '$1'"; }

# ---- approvals: pushers do not count, demoted approvers do not count ----
api POST /api/repos "$ALICE" '{"name":"gate"}'
expect_status 201 "create gate"
for u in bob dave erin; do
	api PUT "/api/repos/alice/gate/collaborators/$u" "$ALICE" '{"role":"write"}'
	expect_status 200 "$u writes to gate"
done
api PUT /api/repos/alice/gate/collaborators/carol "$ALICE" '{"role":"read"}'
expect_status 200 "carol reads gate"
url() { echo "http://$1:$2@127.0.0.1:$PORT/alice/gate.git"; }
SRC="$T_DIR/gate"
git init -q "$SRC"
cd "$SRC"
echo one >a.txt && git add . && git commit -qm one
check "alice pushes main" git push -q "$(url alice "$ALICE")" main
api PUT /api/alice/gate/protections/main "$ALICE" '{"required_approvals":1}'
expect_status 201 "main needs one approval"

check "a branch at an existing commit records no pusher" git push -q "$(url erin "$ERIN")" main:copy
check "erin pushed no new commit" test "$(sql "SELECT count(*) FROM push_commits WHERE pusher_id = $(uid erin)")" = 0
git checkout -qb feat && echo feat >f.txt && git add . && git commit -qm feat
echo more >>f.txt && git commit -qam "feat 2"
check "bob pushes feat" git push -q "$(url bob "$BOB")" feat
check "bob is the pusher of both new commits" test "$(sql "SELECT count(*) FROM push_commits WHERE pusher_id = $(uid bob)")" = 2
api POST /api/alice/gate/pulls "$CAROL" '{"title":"Feature","head":"feat","base":"main"}'
expect_status 201 "carol (a reader) opens a pull request for bob's branch"
N=$(json .number)
api POST "/api/alice/gate/pulls/$N/reviews" "$BOB" '{"event":"APPROVE"}'
expect_status 201 "bob may approve (he is not the author)"
api POST "/api/alice/gate/pulls/$N/merge" "$BOB" '{}'
expect_error 409 protected_branch "requires 1 approving review of the latest commit, it has 0 (not counted: 'bob' pushed commits of this pull request)" "the pusher's approval does not count"
api POST "/api/alice/gate/pulls/$N/reviews" "$ERIN" '{"event":"APPROVE"}'
expect_status 201 "erin approves"
api PUT /api/repos/alice/gate/collaborators/erin "$ALICE" '{"role":"read"}'
expect_status 200 "erin is demoted to read"
api POST "/api/alice/gate/pulls/$N/merge" "$BOB" '{}'
expect_error 409 protected_branch "it has 0 (not counted: 'bob' pushed commits of this pull request; 'erin' no longer has write access)" "a demoted approver does not count"
api POST "/api/alice/gate/pulls/$N/reviews" "$DAVE" '{"event":"REQUEST_CHANGES","body":"wait"}'
api PUT /api/repos/alice/gate/collaborators/dave "$ALICE" '{"role":"read"}'
api POST "/api/alice/gate/pulls/$N/merge" "$BOB" '{}'
expect_error 409 protected_branch "it has 0" "a demoted reviewer's request for changes no longer blocks"
api PUT /api/repos/alice/gate/collaborators/dave "$ALICE" '{"role":"write"}'
api POST "/api/alice/gate/pulls/$N/merge" "$BOB" '{}'
expect_error 409 protected_branch "'dave' requested changes" "restored, dave's request for changes blocks again"
api POST "/api/alice/gate/pulls/$N/reviews" "$DAVE" '{"event":"APPROVE"}'
expect_status 201 "dave (another writer) approves"
api POST "/api/alice/gate/pulls/$N/merge" "$BOB" '{}'
expect_status 200 "merged with dave's approval"

# a squash into another branch does not launder who pushed the commits
git checkout -q main && git pull -q "$(url alice "$ALICE")" main
check "alice pushes staging" git push -q "$(url alice "$ALICE")" main:staging
git checkout -qb b2 && echo b2 >b2.txt && git add . && git commit -qm b2
check "bob pushes b2" git push -q "$(url bob "$BOB")" b2
api POST /api/alice/gate/pulls "$CAROL" '{"title":"To staging","head":"b2","base":"staging"}'
S=$(json .number)
api POST "/api/alice/gate/pulls/$S/merge" "$DAVE" '{"method":"squash"}'
expect_status 200 "dave squashes b2 into staging (unprotected)"
api POST /api/alice/gate/pulls "$CAROL" '{"title":"Staging","head":"staging","base":"main"}'
M=$(json .number)
api POST "/api/alice/gate/pulls/$M/reviews" "$BOB" '{"event":"APPROVE"}'
expect_status 201 "bob approves staging"
api POST "/api/alice/gate/pulls/$M/merge" "$ALICE" '{}'
expect_error 409 protected_branch "not counted: 'bob' pushed commits of this pull request" "bob's squashed commits are still his"
api POST "/api/alice/gate/pulls/$M/reviews" "$DAVE" '{"event":"APPROVE"}'
api POST "/api/alice/gate/pulls/$M/merge" "$ALICE" '{}'
expect_error 409 protected_branch "not counted: 'bob' pushed commits of this pull request; 'dave' pushed commits of this pull request" "nor may the one who squashed approve"
api POST "/api/alice/gate/pulls/$M/reviews" "$ERIN" '{"event":"APPROVE"}'
expect_error 403 forbidden "write access to repository 'alice/gate' is required to approve or request changes" "erin, a reader now, cannot approve"
api POST "/api/alice/gate/pulls/$M/reviews" "$ALICE" '{"event":"APPROVE"}'
api POST "/api/alice/gate/pulls/$M/merge" "$ALICE" '{}'
expect_status 200 "alice pushed none of its commits (staging only named existing ones): her approval counts"
cd "$T_DIR"

# ---- task tokens: git, and what the job's permissions grant ----
api POST /api/repos "$ALICE" '{"name":"ci"}'
expect_status 201 "create ci"
CI="$T_DIR/ci"
git init -q "$CI"
mkdir -p "$CI/.plue/workflows"
wf() { # wf NAME PERMISSIONS-YAML
	printf 'on: workflow_dispatch\n%sjobs:\n  one:\n    steps:\n      - run: "true"\n' "$2" \
		>"$CI/.plue/workflows/$1.yaml"
}
wf ro ""
wf st $'permissions:\n  statuses: write\n'
wf is $'permissions:\n  issues: write\n'
wf all $'permissions: write-all\n'
(cd "$CI" && git add . && git commit -qm workflows)
check "push ci" git -C "$CI" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/ci.git" main
(cd "$CI" && git checkout -qb topic && echo t >t.txt && git add . && git commit -qm topic)
check "push topic" git -C "$CI" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/ci.git" topic
SHA=$(git -C "$CI" rev-parse main)
api POST /api/alice/ci/pulls "$ALICE" '{"title":"Topic","head":"topic","base":"main"}'
expect_status 201 "a pull request for tasks to merge"
PN=$(json .number)

api POST /internal/runners/register "$PLUE_RUNNER_SECRET" '{"host":"by-hand","pid":1,"sandbox":"none"}'
expect_status 201 "register a runner"
RID=$(json .id)
RTOK=$(json .token)
# task FILE: dispatches FILE, claims its workload; sets WID and TT
task() {
	api POST "/api/alice/ci/workflows/$1.yaml/dispatch" "$ALICE" '{}'
	expect_status 202 "dispatch $1"
	sql_is "SELECT count(*) FROM workloads WHERE status = 'waiting'" 1 100 ||
		fail "the job of $1 was not queued"
	api POST "/internal/runners/$RID/claim" "$RTOK"
	expect_status 200 "claim $1"
	WID=$(json .workload)
	TT=$(json .task_token)
}
done_task() {
	api POST "/internal/tasks/$WID/complete" "$TT" '{"result":"success","exit_code":0}'
	expect_status 200 "complete the task"
}

task ro
api GET /api/alice/ci/issues "$TT"
expect_status 200 "a read-only task reads its repository"
api POST "/api/alice/ci/statuses/$SHA" "$TT" '{"state":"success","context":"forged"}'
expect_error 403 insufficient_scope "this task token lacks the statuses: write permission" "no status without statuses: write"
api POST /api/alice/ci/labels "$TT" '{"name":"forged"}'
expect_error 403 insufficient_scope "this task token lacks the issues: write permission" "no label without issues: write"
api POST /api/alice/ci/milestones "$TT" '{"title":"forged"}'
expect_error 403 insufficient_scope "this task token lacks the issues: write permission" "no milestone without issues: write"
api POST "/api/alice/ci/pulls/$PN/merge" "$TT" '{}'
expect_error 403 insufficient_scope "this task token lacks the contents: write permission" "no merge without contents and pull_requests: write"
check "no push without contents: write" bash -c '! git -C "$1" push -q "http://x:$2@127.0.0.1:$3/alice/ci.git" topic:ro-push 2>/dev/null' _ "$CI" "$TT" "$PORT"
check "nothing was forged" test "$(sql "SELECT count(*) FROM commit_statuses WHERE context = 'forged'")" = 0
done_task

task st
api POST "/api/alice/ci/statuses/$SHA" "$TT" '{"state":"success","context":"ci/task"}'
expect_status 201 "statuses: write sets a status"
expect_json .creator null "a task's status has no user as creator"
api POST /api/alice/ci/labels "$TT" '{"name":"nope"}'
expect_error 403 insufficient_scope "this task token lacks the issues: write permission" "statuses: write is not issues: write"
done_task

task is
api POST /api/alice/ci/labels "$TT" '{"name":"triaged"}'
expect_status 201 "issues: write creates a label"
api PATCH /api/alice/ci/labels/triaged "$TT" '{"color":"00ff00"}'
expect_status 200 "issues: write edits a label"
api POST /api/alice/ci/milestones "$TT" '{"title":"v1"}'
expect_status 201 "issues: write creates a milestone"
api POST "/api/alice/ci/statuses/$SHA" "$TT" '{"state":"failure","context":"ci/task"}'
expect_error 403 insufficient_scope "this task token lacks the statuses: write permission" "issues: write is not statuses: write"
api POST /api/alice/ci/pulls/$PN/merge "$TT" '{}'
expect_error 403 insufficient_scope "lacks the contents: write permission" "issues: write does not merge"
done_task

task all
api POST /api/alice/ci/workflows/ro.yaml/dispatch "$TT" '{}'
expect_error 403 forbidden "a task token may only push and write what its job's permissions grant in repository 'alice/ci'" "a task never dispatches workflows"
api GET /api/repos/alice/ci/collaborators "$TT"
expect_error 403 forbidden "a task token may only push and write" "a task does not list collaborators"
api PUT /api/repos/alice/ci/collaborators/olly "$TT" '{"role":"write"}'
expect_error 403 forbidden "a task token may only push and write" "a task does not add collaborators"
api GET /api/alice/ci/secrets "$TT"
expect_error 403 forbidden "a task token may only push and write" "a task does not list secrets"
api PUT /api/alice/ci/protections/main "$TT" '{}'
expect_error 403 forbidden "a task token may only push and write" "a task does not protect branches"
api PATCH /api/repos/alice/ci "$TT" '{"description":"forged"}'
expect_error 403 forbidden "a task token may only push and write" "a task does not change settings"
api POST /api/user/tokens "$TT" '{"name":"x","scopes":["user"]}'
expect_error 401 unauthorized "authentication required" "a task does not mint tokens"
api POST /api/alice/gate/labels "$TT" '{"name":"elsewhere"}'
expect_error 403 forbidden "a task token may only push and write what its job's permissions grant in repository 'alice/gate'" "a task writes to its own repository only"
check "write-all pushes" git -C "$CI" push -q "http://x:$TT@127.0.0.1:$PORT/alice/ci.git" topic:task-push
api POST "/api/alice/ci/pulls/$PN/merge" "$TT" '{}'
expect_status 200 "contents and pull_requests: write merge"
check "one dispatch only: the task's was refused" test "$(sql "SELECT count(*) FROM workflow_runs")" = 4
done_task

# ---- a reader who wrote a pull request, once issues close to readers ----
api POST /api/repos "$ALICE" '{"name":"pub"}'
expect_status 201 "create pub"
P="$T_DIR/pub"
git init -q "$P"
(cd "$P" && echo x >x && git add . && git commit -qm x && git checkout -qb side && echo y >y && git add . && git commit -qm y)
check "push pub" git -C "$P" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/pub.git" main side
api POST /api/alice/pub/pulls "$OLLY" '{"title":"By olly","head":"side","base":"main"}'
expect_status 201 "olly (no role: a reader of a public repository) opens a pull request"
ON=$(json .number)
api PATCH "/api/alice/pub/pulls/$ON" "$OLLY" '{"title":"By olly, edited"}'
expect_status 200 "the author edits while readers take part"
api PATCH /api/repos/alice/pub "$ALICE" '{"issues_open_to_readers":false}'
expect_json .issues_open_to_readers false "pub closes issues to readers"
api PATCH "/api/alice/pub/pulls/$ON" "$OLLY" '{"title":"again"}'
expect_error 403 issues_restricted "only writers may open issues, comment or react in repository 'alice/pub'" "the author no longer edits"
api PATCH "/api/alice/pub/pulls/$ON" "$OLLY" '{"state":"closed"}'
expect_error 403 issues_restricted "only writers may" "the author no longer closes"
api GET "/api/alice/pub/pulls/$ON"
expect_json .title "By olly, edited" "title unchanged"
expect_json .state open "still open"
api PATCH "/api/alice/pub/pulls/$ON" "$ALICE" '{"state":"closed"}'
expect_status 200 "the owner closes it"
api PATCH "/api/alice/pub/pulls/$ON" "$OLLY" '{"state":"open"}'
expect_error 403 issues_restricted "only writers may" "the author no longer reopens"
check "no event for the refused changes" test "$(sql "SELECT count(*) FROM events WHERE type = 'pull_request' AND payload->>'action' IN ('reopened', 'edited') AND actor_id = $(uid olly)")" = 1
api PATCH "/api/alice/pub/pulls/$ON" "$BOB" '{"state":"open"}'
expect_error 403 forbidden "write access to repository 'alice/pub' is required to edit a pull request of someone else" "someone else is refused as before"

# ---- minting: a token's token expires no later than it ----
api POST /api/user/tokens "$ALICE" '{"name":"short","scopes":["user","repo:read"],"expires_at":"2099-01-01"}'
expect_status 201 "a token with an expiry"
SHORT=$(json .token)
api POST /api/user/tokens "$SHORT" '{"name":"child","scopes":["repo:read"]}'
expect_status 201 "a child without an expiry"
expect_json .expires_at 2099-01-01T00:00:00Z "takes its parent's expiry"
api POST /api/user/tokens "$SHORT" '{"name":"later","scopes":["repo:read"],"expires_at":"2099-01-01T00:00:01Z"}'
expect_error 400 invalid_field "expires_at '2099-01-01T00:00:01Z' is later than this token's own expiry '2099-01-01T00:00:00Z'" "a child may not outlive its parent"
api POST /api/user/tokens "$SHORT" '{"name":"sooner","scopes":["user"],"expires_at":"2098-06-01"}'
expect_status 201 "an earlier expiry is kept"
expect_json .expires_at 2098-06-01T00:00:00Z "the child's own expiry"
GRAND=$(json .token)
api POST /api/user/tokens "$GRAND" '{"name":"grandchild","scopes":["user"]}'
expect_json .expires_at 2098-06-01T00:00:00Z "down the chain"
api POST /api/user/tokens "$ALICE" '{"name":"forever","scopes":["repo:read"]}'
expect_json .expires_at null "a parent without expiry: no cap"
CJ="$T_DIR/mia.jar"
curl -s -o "$T_DIR/body" -w '%{http_code}' -c "$CJ" -H 'Content-Type: application/json' \
	-d '{"username":"mia","password":"mia long password"}' "$BASE/api/auth/register" >"$T_DIR/st"
check "mia registers" test "$(cat "$T_DIR/st")" = 201
MIA_CSRF=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).csrf_token)' <"$T_DIR/body")
STATUS=$(curl -s -o "$T_DIR/body" -w '%{http_code}' -b "$CJ" -H "X-CSRF-Token: $MIA_CSRF" \
	-H 'Content-Type: application/json' -d '{"name":"cli","scopes":["repo:read"]}' "$BASE/api/user/tokens")
BODY_OUT=$(cat "$T_DIR/body")
expect_status 201 "a session mints a token"
expect_json .expires_at null "a session's token has no cap"

# ---- collaborators: listed to writers only ----
api GET /api/repos/alice/pub/collaborators
expect_error 401 unauthorized "sign in to list the collaborators of repository 'alice/pub'" "anonymous"
api GET /api/repos/alice/pub/collaborators "$OLLY"
expect_error 403 forbidden "push access to repository 'alice/pub' is required to list its collaborators" "a reader of a public repository"
api GET /api/repos/alice/gate/collaborators "$CAROL"
expect_error 403 forbidden "push access to repository 'alice/gate' is required to list its collaborators" "a read collaborator"
api GET /api/repos/alice/gate/collaborators "$BOB"
expect_status 200 "a writer lists"
expect_json .length 4 "every collaborator"
BOB_RO=$(new_token bob repo:read)
api GET /api/repos/alice/gate/collaborators "$BOB_RO"
expect_status 200 "a writer's repo:read token lists (listing is a read)"
api GET /api/repos/alice/gate/collaborators "$ALICE"
expect_status 200 "the owner lists"
api POST /api/repos "$ALICE" '{"name":"hidden","private":true}'
api GET /api/repos/alice/hidden/collaborators "$OLLY"
expect_error 404 not_found "repository 'alice/hidden' not found" "a private repository stays hidden"

# ---- sign-in: counted before the check, per address and account ----
register() {
	curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-d "{\"username\":\"$1\",\"password\":\"$2\"}" "$BASE/api/auth/register"
}
check "victim registers" test "$(register victim 'the right password')" = 201
check "bystander registers" test "$(register bystander 'another password')" = 201
# login FROM USER PASSWORD: sets STATUS, BODY_OUT, HEADERS_OUT
login() {
	STATUS=$(curl -s --interface "$1" -o "$T_DIR/body" -D "$T_DIR/headers" -w '%{http_code}' \
		-H 'Content-Type: application/json' -d "{\"username\":\"$2\",\"password\":\"$3\"}" \
		"$BASE/api/auth/login")
	BODY_OUT=$(cat "$T_DIR/body")
	HEADERS_OUT=$(tr -d '\r' <"$T_DIR/headers")
}
mkdir -p "$T_DIR/par"
pids=()
for i in $(seq 1 30); do
	curl -s -o "$T_DIR/par/$i.body" -w '%{http_code}\n' -H 'Content-Type: application/json' \
		-d "{\"username\":\"victim\",\"password\":\"guess $i\"}" \
		"$BASE/api/auth/login" >"$T_DIR/par/$i.status" &
	pids+=($!)
done
wait "${pids[@]}"
checked=$(cat "$T_DIR"/par/*.status | grep -c '^401$')
limited=$(cat "$T_DIR"/par/*.status | grep -c '^429$')
check "30 parallel guesses: 10 password checks ($checked)" test "$checked" = 10
check "30 parallel guesses: 20 refused before the check ($limited)" test "$limited" = 20
check "the checked ones were wrong passwords" test "$(grep -l invalid_credentials "$T_DIR"/par/*.body | wc -l)" = 10
check "the refused ones were rate limited" test "$(grep -l rate_limited "$T_DIR"/par/*.body | wc -l)" = 20
login 127.0.0.1 victim 'the right password'
expect_error 429 rate_limited "too many failed sign-ins for this account from this address" "the guessing address waits, right password or not"
ra=$(header Retry-After)
check "with Retry-After ($ra)" bash -c "[[ '$ra' =~ ^[0-9]+$ ]] && [ '$ra' -ge 1 ] && [ '$ra' -le 900 ]"
login 127.0.0.2 victim 'the right password'
expect_status 200 "the account is not locked: its owner signs in from another address"
expect_json .user.username victim "signed in as victim"
login 127.0.0.1 bystander 'another password'
expect_status 200 "another account signs in from the guessing address"
check "no counter per account alone" test "$(sql "SELECT count(*) FROM rate_limits WHERE key NOT LIKE '%127.0.0.%'")" = 0

finish
