#!/usr/bin/env bash
# 55-untrusted: runs started by someone without write access (an outsider's
# comment or pull request on a public repository) get no secrets and a
# read-only task token; a run whose jobs refer to secrets waits until a
# writer approves it (every refusal of the approval tested), then runs with
# its secrets; an outsider's pull request runs the base branch's workflows;
# and ${{ }} values reach a step's script as variables, never as code: the
# comment `"; echo "$TOKEN" | rev; echo "` prints itself, and no secret
# appears in any log, stream or API answer, plain, reversed or in base64.
#
# Part one has no warm pool: a runner registered by hand claims the
# workloads, so the test holds their task tokens and sees their claims.
# Part two restarts the server with a real runner and sandbox.
. "$(dirname "$0")/lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=0
export PLUE_RUNNER_SECRET="untrusted-secret-$RANDOM$RANDOM"
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
CAROL=$(new_user carol)
MALLORY=$(new_user mallory)
BOB_READ=$(new_token bob repo:read)
api POST /api/repos "$ALICE" '{"name":"pub"}'
expect_status 201 "create a public repository"
api POST /api/repos "$ALICE" '{"name":"other"}'
expect_status 201 "create another"
api PUT /api/repos/alice/pub/collaborators/bob "$ALICE" '{"role":"write"}'
expect_status 200 "bob writes"
api PUT /api/repos/alice/pub/collaborators/carol "$ALICE" '{"role":"read"}'
expect_status 200 "carol reads"
VALUE="tok-7f3a9c-sekrit"
api PUT /api/alice/pub/secrets/TOKEN "$ALICE" "{\"value\":\"$VALUE\"}"
expect_status 201 "set the secret"
# the forms a step could turn the secret into
REV=$(printf '%s' "$VALUE" | rev)
B64=$(printf '%s' "$VALUE" | base64)
B64NL=$(printf '%s\n' "$VALUE" | base64)
URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/pub.git"

latest() { settle; sql "SELECT coalesce(max(id), 0) FROM workflow_runs WHERE workflow_path = '.plue/workflows/$1'"; }
runs_of() { settle; sql "SELECT count(*) FROM workflow_runs WHERE workflow_path = '.plue/workflows/$1'"; }
workloads_of() { sql "SELECT count(*) FROM workloads w JOIN workflow_jobs j ON j.id = w.job_id WHERE j.run_id = $1"; }
# no_secret WHAT TEXT: none of the forms of the secret is in TEXT
no_secret() {
	local f
	for f in "$VALUE" "$REV" "$B64" "$B64NL"; do
		if grep -qF -- "$f" <<<"$2"; then
			fail "$1: holds the secret (as '$f')"
			return
		fi
	done
	pass
}
comment() { # comment TOKEN BODY: comments on issue 1
	api POST /api/alice/pub/issues/1/comments "$1" "$(node -e 'process.stdout.write(JSON.stringify({body:process.argv[1]}))' "$2")"
	expect_status 201 "comment '${2:0:30}'"
}

SRC="$T_DIR/src"
git init -q "$SRC"
W="$SRC/.plue/workflows"
mkdir -p "$W"
cat >"$W/sec.yaml" <<'EOF'
on:
  issue.comment:
    contains: "/sec"
jobs:
  j:
    env:
      TOKEN: ${{ secrets.TOKEN }}
    steps:
      - name: Echo
        run: |
          echo "comment: ${{ event.comment.body }}"
          echo "secret length ${#TOKEN}"
          echo "inline ${{ secrets.TOKEN }} end"
EOF
cat >"$W/lit.yaml" <<'EOF'
on:
  issue.comment:
    contains: "/lit"
jobs:
  j:
    steps:
      - name: Literal
        run: |
          echo "double: ${{ event.comment.body }}"
          echo 'single: ${{ event.comment.body }}'
          echo "title: ${{ event.issue.title }}"
EOF
cat >"$W/write.yaml" <<'EOF'
on:
  issue.comment:
    contains: "/push"
permissions:
  contents: write
  issues: write
jobs:
  j:
    steps:
      - run: echo push
EOF
cat >"$W/conc.yaml" <<'EOF'
on:
  issue.comment:
    contains: "/conc"
concurrency:
  group: conc
  cancel-in-progress: true
jobs:
  j:
    steps:
      - run: echo "${{ secrets.TOKEN }}"
EOF
cat >"$W/pr.yaml" <<'EOF'
on: pull_request
jobs:
  j:
    steps:
      - name: Base
        run: echo "base workflow for ${{ event.pull_request.title }}"
EOF
(cd "$SRC" && git add . && git commit -qm workflows)
check "push main" git -C "$SRC" push -q "$URL" main
# a branch of the repository whose workflows print the secret
(cd "$SRC" && git checkout -qb evil)
cat >"$W/pr.yaml" <<'EOF'
on: pull_request
jobs:
  j:
    steps:
      - name: Head
        env:
          T: ${{ secrets.TOKEN }}
        run: echo "head workflow"; echo "$T" | rev; echo "$T" | base64
EOF
cat >"$W/extra.yaml" <<'EOF'
on: pull_request
jobs:
  j:
    steps:
      - run: echo "extra workflow of the head branch"
EOF
(cd "$SRC" && echo change >change.txt && git add . && git commit -qm "print the secret" && git checkout -q main)
check "push the branch" git -C "$SRC" push -q "$URL" evil
EVIL_SHA=$(git -C "$SRC" rev-parse evil)
api POST /api/alice/pub/issues "$MALLORY" '{"title":"help $(id)","body":"please"}'
expect_status 201 "the outsider opens an issue"

# ---- an untrusted run without secrets: at once, read-only ----
api POST /internal/runners/register "$PLUE_RUNNER_SECRET" '{"host":"by-hand","pid":1,"sandbox":"none"}'
expect_status 201 "register a runner by hand"
RID=$(json .id)
RTOK=$(json .token)
claim() { # claim WHAT: sets WID TT, leaves the claim in BODY_OUT
	local i
	for i in $(seq 1 100); do
		api POST "/internal/runners/$RID/claim" "$RTOK"
		[ "$(json .workload)" != null ] && break
	done
	expect_status 200 "claim: $1"
	WID=$(json .workload)
	TT=$(json .task_token)
}
complete() { api POST "/internal/tasks/$1/complete" "$2" '{"result":"success","exit_code":0}'; expect_status 200 "complete $1"; }

comment "$MALLORY" "/push please"
U1=$(latest write.yaml)
api GET "/api/runs/$U1" "$ALICE"
expect_json .trusted false "an outsider's run is untrusted"
expect_json .actor mallory "the run names its actor"
expect_json .approved_by null "not approved"
check "it runs without approval (no secrets)" test "$(json .status)" = queued
check "its workload may not push" test "$(sql "SELECT may_write FROM workloads w JOIN workflow_jobs j ON j.id = w.job_id WHERE j.run_id = $U1")" = f
check "its permissions are at most read" test "$(sql "SELECT w.spec->'permissions'->>'contents' || ',' || (w.spec->'permissions'->>'issues') FROM workloads w JOIN workflow_jobs j ON j.id = w.job_id WHERE j.run_id = $U1")" = "read,read"
api POST "/api/alice/pub/runs/$U1/approve" "$BOB"
expect_error 409 approval_not_needed "run $U1 refers to no secrets and runs without approval" "approve a run that needs none"
claim "the outsider's run"
expect_json .secrets '{}' "the claim holds no secret"
git -C "$SRC" commit -q --allow-empty -m "from a task"
check "its task token cannot push" bash -c '! git -C "$1" push -q "http://x:$2@127.0.0.1:$3/alice/pub.git" main:refs/heads/untrusted-push 2>/dev/null' _ "$SRC" "$TT" "$PORT"
check "nothing was pushed" test "$(sql "SELECT count(*) FROM branches WHERE name = 'untrusted-push'")" = 0
api POST /api/alice/pub/labels "$TT" '{"name":"x","color":"ff0000"}'
expect_status 403 "its task token cannot write issues"
complete "$WID" "$TT"
wait_run "$U1"
api POST "/api/alice/pub/runs/$U1/approve" "$BOB"
expect_error 409 run_finished "run $U1 has already finished (success)" "approve a finished run"

# the same workflow for a writer: the token pushes (what the outsider's could not)
comment "$BOB" "/push too"
T1=$(latest write.yaml)
api GET "/api/runs/$T1" "$ALICE"
expect_json .trusted true "a writer's run is trusted"
claim "the writer's run"
check "a trusted run's task token pushes" git -C "$SRC" push -q "http://x:$TT@127.0.0.1:$PORT/alice/pub.git" main:refs/heads/trusted-push
api POST "/api/alice/pub/runs/$T1/approve" "$TT"
expect_error 403 forbidden "task token" "a task token approves"
api POST "/api/alice/pub/runs/$T1/approve" "$BOB"
expect_error 409 run_trusted "run $T1 was started by someone with write access and needs no approval" "approve a trusted run"
complete "$WID" "$TT"
wait_run "$T1"

# ---- the claim is the last gate ----
# A writer's runs, queued with their write permission and their secrets,
# then turned untrusted and unapproved before a runner claims them (what
# the dispatcher would never queue): the claim gives them neither.
gate_claim() { # gate_claim WORKFLOW COMMENT: queues the writer's run, turns it untrusted, claims it
	comment "$BOB" "$2"
	G=$(latest "$1")
	check "the writer's run of $1 is queued at once" test "$(workloads_of "$G")" = 1
	sql "UPDATE workflow_runs SET trusted = false, approved_at = NULL WHERE id = $G" >/dev/null
	claim "$1 turned untrusted"
}
gate_claim write.yaml "/push gate"
check "the claim takes away the write" test "$(sql "SELECT w.may_write || ',' || (w.spec->'permissions'->>'contents') FROM workloads w JOIN workflow_jobs j ON j.id = w.job_id WHERE j.run_id = $G")" = "false,read"
complete "$WID" "$TT"
wait_run "$G"
gate_claim sec.yaml "/sec gate"
expect_json .secrets '{}' "the claim gives it no secret"
complete "$WID" "$TT"
wait_run "$G"

# ---- an untrusted run with secrets waits for a writer ----
comment "$MALLORY" "/sec now"
S1=$(latest sec.yaml)
api GET "/api/runs/$S1" "$ALICE"
expect_json .status waiting "an outsider's run with secrets waits"
expect_json .trusted false "untrusted"
expect_json .jobs.0.status pending "its job waits"
check "no workload exists before the approval" test "$(workloads_of "$S1")" = 0
api POST "/api/alice/pub/runs/$S1/approve" "$MALLORY"
expect_error 403 forbidden "write access to repository 'alice/pub' is required" "the outsider approves"
api POST "/api/alice/pub/runs/$S1/approve" "$CAROL"
expect_error 403 forbidden "write access to repository 'alice/pub' is required" "a reader approves"
api POST "/api/alice/pub/runs/$S1/approve" ""
expect_error 401 unauthorized "" "approve anonymously"
api POST "/api/alice/pub/runs/$S1/approve" "$BOB_READ"
expect_error 403 insufficient_scope "repo:write" "approve with a read-only token"
api POST "/api/alice/other/runs/$S1/approve" "$ALICE"
expect_error 404 not_found "run $S1 not found in 'alice/other'" "approve through another repository"
api POST "/api/alice/pub/runs/999999/approve" "$BOB"
expect_error 404 not_found "run 999999 not found in 'alice/pub'" "approve an unknown run"
api POST "/api/alice/pub/runs/x/approve" "$BOB"
expect_error 404 not_found "run 'x' not found" "approve a malformed run id"
api GET "/api/runs/$S1" "$ALICE"
expect_json .status waiting "refusals left it waiting"
api POST "/api/alice/pub/runs/$S1/approve" "$BOB"
expect_status 200 "a writer approves"
expect_json .approved_by bob "the approval names the writer"
check "and when ($(json .approved_at))" test "$(json .approved_at)" != null
check "the run is released ($(json .status))" test "$(json .status)" = queued
api POST "/api/alice/pub/runs/$S1/approve" "$ALICE"
expect_error 409 already_approved "run $S1 was already approved by bob" "approve twice"
claim "the approved run"
expect_json .secrets.TOKEN "$VALUE" "the approved run's claim holds its secret"
complete "$WID" "$TT"
wait_run "$S1"
api POST "/api/alice/pub/runs/$S1/approve" "$BOB"
expect_error 409 already_approved "already approved by bob" "approve an approved run that finished"

comment "$MALLORY" "/sec again"
S2=$(latest sec.yaml)
api POST "/api/runs/$S2/cancel" "$ALICE"
expect_status 202 "cancel a waiting run"
wait_run "$S2"
expect_json .status cancelled "the waiting run is cancelled"
api POST "/api/alice/pub/runs/$S2/approve" "$BOB"
expect_error 409 run_finished "run $S2 has already finished (cancelled)" "approve a cancelled run"
check "a cancelled waiting run never had a workload" test "$(workloads_of "$S2")" = 0

# cancel-in-progress: a waiting run cancels its group only once approved
comment "$BOB" "/conc first"
C1=$(latest conc.yaml)
comment "$MALLORY" "/conc second"
C2=$(latest conc.yaml)
api GET "/api/runs/$C2" "$ALICE"
expect_json .status waiting "the outsider's run of the group waits"
api GET "/api/runs/$C1" "$ALICE"
expect_json .status queued "a waiting run cancels nothing"
api POST "/api/alice/pub/runs/$C2/approve" "$BOB"
expect_status 200 "approve the waiting run of the group"
wait_run "$C1"
expect_json .status cancelled "once approved, it cancels the older run of its group"
api POST "/api/runs/$C2/cancel" "$ALICE"
wait_run "$C2"

# ---- part two: a real runner and sandbox ----
stop_server
export PLUE_WARM_POOL=1
start_server

# the attack: the comment closes the quote and prints the secret reversed
ATTACK='/sec "; echo "$TOKEN" | rev; echo "'
comment "$MALLORY" "$ATTACK"
S3=$(latest sec.yaml)
api GET "/api/runs/$S3" "$ALICE"
expect_json .status waiting "the attack waits for approval"
check "no workload was created for it" test "$(workloads_of "$S3")" = 0
api GET "/api/runs/$S3/logs" "$ALICE"
check "it printed nothing" test "$BODY_OUT" = "== j =="
# a writer approves without reading it: the secret still cannot leak
api POST "/api/alice/pub/runs/$S3/approve" "$BOB"
expect_status 200 "approve the attack's run"
wait_run "$S3"
expect_json .status success "the approved run succeeded"
api GET "/api/runs/$S3/logs" "$ALICE"
LOG=$BODY_OUT
check "the comment is printed as it is" grep -qxF "comment: $ATTACK" <<<"$LOG"
check "the approved step saw the secret" grep -qxF "secret length ${#VALUE}" <<<"$LOG"
check "the secret is masked" grep -qxF "inline *** end" <<<"$LOG"
no_secret "the approved run's log" "$LOG"

# the same comment by a writer runs at once, with the secret: still only text
comment "$BOB" "$ATTACK"
T3=$(latest sec.yaml)
wait_run "$T3"
expect_json .status success "the writer's run succeeded"
expect_json .trusted true "the writer's run is trusted"
api GET "/api/runs/$T3/logs" "$ALICE"
LOG=$BODY_OUT
check "a writer's comment is text too" grep -qxF "comment: $ATTACK" <<<"$LOG"
check "the trusted step saw the secret" grep -qxF "secret length ${#VALUE}" <<<"$LOG"
no_secret "the trusted run's log" "$LOG"

# command substitutions in the comment stay text
LIT='/lit $(id) `id` ${HOME} '"'"'; id; '"'"
comment "$MALLORY" "$LIT"
L1=$(latest lit.yaml)
wait_run "$L1"
expect_json .status success "the outsider's run without secrets succeeded"
expect_json .trusted false "it is untrusted"
expect_json .approved_by null "without approval"
api GET "/api/runs/$L1/logs" "$ALICE"
LOG=$BODY_OUT
check "inside double quotes: the value, verbatim" grep -qxF "double: $LIT" <<<"$LOG"
check "inside single quotes: not expanded" grep -qxF 'single: ${PLUE_EXPR_2}' <<<"$LOG"
check "the issue title too" grep -qxF 'title: help $(id)' <<<"$LOG"
check "no command ran" bash -c '! grep -q "uid=" <<<"$1"' _ "$LOG"

# an outsider's pull request from a branch whose workflows print the secret
api POST /api/alice/pub/pulls "$MALLORY" "$(node -e 'process.stdout.write(JSON.stringify({title:process.argv[1],head:"evil",base:"main"}))' "$ATTACK")"
expect_status 201 "the outsider opens a pull request from the branch"
P1=$(latest pr.yaml)
wait_run "$P1"
expect_json .status success "the pull request's run succeeded"
expect_json .trusted false "it is untrusted"
expect_json .sha "$EVIL_SHA" "it is for the head commit"
expect_json .jobs.0.steps.1.name Base "the base branch's workflow ran"
check "the head branch's extra workflow did not run" test "$(runs_of extra.yaml)" = 0
api GET "/api/runs/$P1/logs" "$ALICE"
LOG=$BODY_OUT
check "the head commit was checked out" grep -qF "checked out refs/heads/evil at ${EVIL_SHA:0:12}" <<<"$LOG"
check "the title is printed as it is" grep -qxF "base workflow for $ATTACK" <<<"$LOG"
check "the head's workflow did not run" bash -c '! grep -q "head workflow" <<<"$1"' _ "$LOG"

# nothing anywhere holds the secret
ALL=""
for R in $(sql "SELECT id FROM workflow_runs ORDER BY id"); do
	api GET "/api/runs/$R/logs" "$ALICE"
	ALL+=$BODY_OUT
	api GET "/api/runs/$R" "$ALICE"
	ALL+=$BODY_OUT
	ALL+=$(curl -s -N --max-time 5 -H "Authorization: Bearer $ALICE" "$BASE/api/runs/$R/stream")
done
api GET /api/alice/pub/runs "$ALICE"
ALL+=$BODY_OUT
no_secret "every log, stream and run" "$ALL"
check "the streams were read" grep -q "event: done" <<<"$ALL"
STORED=$(sql "SELECT payload::text FROM workload_events")$(sql "SELECT spec::text FROM workloads")$(sql "SELECT context::text FROM workflow_runs")
no_secret "what the database stores" "$STORED"

finish
