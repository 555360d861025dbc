#!/usr/bin/env bash
# 52-triggers: every scripted-mode event starts the workflows that listen
# to it and no others — push with branch, tag and path filters, pull
# requests, issues, comments (contains), mentions, workflow_dispatch with
# typed inputs (and every refusal), concurrency groups with
# cancel-in-progress, and cron schedules (a minute fires once).
. "$(dirname "$0")/lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=2
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
new_user botty >/dev/null
api POST /api/repos "$ALICE" '{"name":"trig"}'
expect_status 201 "create repo"
URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/trig.git"

# runs FILE [EVENT]: how many runs a workflow file has (of an event type)
runs() {
	settle
	sql "SELECT count(*) FROM workflow_runs w JOIN repositories r ON r.id = w.repo_id WHERE r.name = 'trig' AND w.workflow_path = '.plue/workflows/$1' AND ('${2:-}' = '' OR w.event_type = '${2:-}')"
}
latest() { sql "SELECT max(w.id) FROM workflow_runs w WHERE w.workflow_path = '.plue/workflows/$1'"; }

SRC="$T_DIR/src"
git init -q "$SRC"
W="$SRC/.plue/workflows"
mkdir -p "$W" "$SRC/src" "$SRC/docs"
echo a >"$SRC/src/a.c"
echo readme >"$SRC/docs/readme.md"
cat >"$W/branches.yaml" <<'EOF'
on:
  push:
    branches: [main, "release/**"]
jobs:
  j:
    steps:
      - run: echo "branch ${{ event.ref }}"
EOF
cat >"$W/tags.yaml" <<'EOF'
on:
  push:
    tags: ["v*"]
jobs:
  j:
    steps:
      - run: echo "tag ${{ event.ref }}"
EOF
cat >"$W/paths.yaml" <<'EOF'
on:
  push:
    branches: [main]
    paths: ["src/**"]
jobs:
  j:
    steps:
      - run: echo "source changed"
EOF
cat >"$W/dispatch.yaml" <<'EOF'
on:
  workflow_dispatch:
    inputs:
      target: {type: choice, options: [staging, prod], default: staging}
      dry: {type: boolean, default: false}
      count: {type: number, required: true}
jobs:
  j:
    steps:
      - run: echo "target=${{ inputs.target }} dry=${{ inputs.dry }} count=${{ inputs.count }} by=${{ event.actor }}"
EOF
cat >"$W/pr.yaml" <<'EOF'
on:
  pull_request:
    types: [opened]
    branches: [main]
jobs:
  j:
    steps:
      - run: echo "pull request ${{ event.number }} from ${{ event.head_ref }}"
EOF
cat >"$W/issue.yaml" <<'EOF'
on: issue.opened
jobs:
  j:
    steps:
      - run: echo "issue opened ${{ event.issue.number }}"
EOF
cat >"$W/comment.yaml" <<'EOF'
on:
  issue_comment:
    contains: "/deploy"
jobs:
  j:
    steps:
      - run: echo "deploy asked"
EOF
cat >"$W/mention.yaml" <<'EOF'
on:
  mention:
    user: botty
jobs:
  j:
    steps:
      - run: echo "botty was mentioned"
EOF
cat >"$W/conc.yaml" <<'EOF'
on: workflow_dispatch
concurrency:
  group: deploy-${{ event.ref }}
  cancel-in-progress: true
jobs:
  j:
    steps:
      - run: echo "deploying"; sleep 60
EOF
cat >"$W/sched.yaml" <<'EOF'
on:
  schedule:
    - cron: "* * * * *"
jobs:
  j:
    steps:
      - run: echo "scheduled"
EOF
(cd "$SRC" && git add . && git commit -qm "workflows")
check "push main" git -C "$SRC" push -q "$URL" main
check "push main: branches ran" test "$(runs branches.yaml push)" = 1
check "push main (new branch): paths ran" test "$(runs paths.yaml push)" = 1
check "push main: tags did not run" test "$(runs tags.yaml)" = 0
for f in dispatch pr issue comment mention conc sched; do
	check "push main: $f.yaml did not run" test "$(runs $f.yaml push)" = 0
done

# path filters: a change outside src/ does not run paths.yaml
(cd "$SRC" && echo more >>docs/readme.md && git commit -qam docs && git push -q "$URL" main)
check "docs change: branches ran again" test "$(runs branches.yaml)" = 2
check "docs change: paths did not run" test "$(runs paths.yaml)" = 1
(cd "$SRC" && echo more >>src/a.c && git commit -qam src && git push -q "$URL" main)
check "src change: paths ran" test "$(runs paths.yaml)" = 2
# branch filters
(cd "$SRC" && git checkout -qb feature && echo f >f.txt && git add f.txt && git commit -qm f && git push -q "$URL" feature && git checkout -q main)
check "feature branch: branches did not run" test "$(runs branches.yaml)" = 3
(cd "$SRC" && git push -q "$URL" main:refs/heads/release/1.0)
check "release/1.0: branches ran" test "$(runs branches.yaml)" = 4
# tag filters
(cd "$SRC" && git tag v1.0 && git tag other && git push -q "$URL" v1.0 other)
check "tag v1.0 ran tags.yaml once" test "$(runs tags.yaml)" = 1
check "tags do not run branch workflows" test "$(runs branches.yaml)" = 4
R=$(latest tags.yaml)
wait_run "$R"
api GET "/api/runs/$R/logs" "$ALICE"
check "tag run saw its ref" grep -qF "tag refs/tags/v1.0" <<<"$BODY_OUT"
R=$(latest branches.yaml)
wait_run "$R"
api GET "/api/runs/$R/logs" "$ALICE"
check "branch run saw its ref" grep -qF "branch refs/heads/release/1.0" <<<"$BODY_OUT"

# ---- workflow_dispatch ----
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"ref":"main","inputs":{"target":"prod","dry":"true","count":3}}'
expect_status 202 "dispatch accepted"
expect_json .inputs '{"target":"prod","dry":true,"count":3}' "inputs typed"
check "dispatch ran" test "$(runs dispatch.yaml workflow_dispatch)" = 1
R=$(latest dispatch.yaml)
wait_run "$R"
expect_json .status success "dispatch run succeeded"
api GET "/api/runs/$R/logs" "$ALICE"
check "inputs reached the step" grep -qF "target=prod dry=true count=3 by=alice" <<<"$BODY_OUT"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"inputs":{"count":"7"}}'
expect_json .inputs '{"target":"staging","dry":false,"count":7}' "defaults filled, numeric string converted"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"inputs":{"target":"moon","count":1}}'
expect_error 400 invalid_input "input 'target' must be one of: staging, prod" "dispatch: bad choice"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"inputs":{"count":"many"}}'
expect_error 400 invalid_input "count" "dispatch: not a number"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"inputs":{"dry":"maybe","count":1}}'
expect_error 400 invalid_input "dry" "dispatch: not a boolean"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"inputs":{}}'
expect_error 400 invalid_input "count" "dispatch: missing required input"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"inputs":{"count":1,"extra":1}}'
expect_error 400 invalid_input "extra" "dispatch: unknown input"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"inputs":[]}'
expect_error 400 invalid_field "field 'inputs' must be an object" "dispatch: inputs not an object"
api POST /api/alice/trig/workflows/nope.yaml/dispatch "$ALICE" '{}'
expect_error 404 workflow_not_found "workflow 'nope.yaml' not found on branch 'main'" "dispatch: unknown file"
api POST /api/alice/trig/workflows/branches.yaml/dispatch "$ALICE" '{}'
expect_error 400 not_dispatchable "has no workflow_dispatch trigger" "dispatch: no trigger"
api POST /api/alice/trig/workflows/README.md/dispatch "$ALICE" '{}'
expect_error 400 invalid_workflow "is not a workflow file name" "dispatch: not a workflow name"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$ALICE" '{"ref":"nobranch","inputs":{"count":1}}'
expect_error 404 ref_not_found "branch 'nobranch' not found" "dispatch: unknown branch"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "" '{"inputs":{"count":1}}'
expect_error 401 unauthorized "" "dispatch: anonymous"
api POST /api/alice/trig/workflows/dispatch.yaml/dispatch "$BOB" '{"inputs":{"count":1}}'
expect_error 403 forbidden "write access" "dispatch: no write access"
settle

# ---- issues, comments, mentions, pull requests ----
api POST /api/alice/trig/issues "$ALICE" '{"title":"broken","body":"it broke"}'
expect_status 201 "open an issue"
NUM=$(json .number)
check "issue.opened ran issue.yaml" test "$(runs issue.yaml issue.opened)" = 1
R=$(latest issue.yaml)
wait_run "$R"
api GET "/api/runs/$R/logs" "$ALICE"
check "the issue's number reached the step" grep -qF "issue opened $NUM" <<<"$BODY_OUT"
api POST "/api/alice/trig/issues/$NUM/comments" "$ALICE" '{"body":"just a comment"}'
expect_status 201 "comment"
check "a comment without /deploy runs nothing" test "$(runs comment.yaml)" = 0
api POST "/api/alice/trig/issues/$NUM/comments" "$ALICE" '{"body":"please /DEPLOY this"}'
expect_status 201 "comment with /deploy"
check "issue_comment contains (any case) ran" test "$(runs comment.yaml issue.comment)" = 1
check "an issue comment is no mention" test "$(runs mention.yaml)" = 0
api POST "/api/alice/trig/issues/$NUM/comments" "$ALICE" '{"body":"@botty have a look"}'
expect_status 201 "comment mentioning botty"
check "mention of botty ran mention.yaml" test "$(runs mention.yaml mention)" = 1
check "issue.yaml ran only for the opening" test "$(runs issue.yaml)" = 1
(cd "$SRC" && git checkout -qb topic && echo t >t.txt && git add t.txt && git commit -qm topic && git push -q "$URL" topic && git checkout -q main)
api POST /api/alice/trig/pulls "$ALICE" '{"title":"topic","head":"topic","base":"main"}'
expect_status 201 "open a pull request"
PR=$(json .number)
check "pull_request opened ran pr.yaml" test "$(runs pr.yaml pull_request)" = 1
R=$(latest pr.yaml)
wait_run "$R"
api GET "/api/runs/$R/logs" "$ALICE"
check "the pull request reached the step" grep -qF "pull request $PR from topic" <<<"$BODY_OUT"
(cd "$SRC" && git checkout -q topic && echo u >>t.txt && git commit -qam more && git push -q "$URL" topic && git checkout -q main)
check "a synchronize is not in pr.yaml's types" test "$(runs pr.yaml)" = 1

# ---- concurrency: cancel-in-progress ----
api POST /api/alice/trig/workflows/conc.yaml/dispatch "$ALICE" '{}'
expect_status 202 "first deploy"
settle
FIRST=$(latest conc.yaml)
api POST /api/alice/trig/workflows/conc.yaml/dispatch "$ALICE" '{}'
expect_status 202 "second deploy"
settle
SECOND=$(latest conc.yaml)
wait_run "$FIRST"
expect_json .status cancelled "the older run of the group was cancelled"
got=$(json .conclusion)
check "it says by which run ($got)" grep -q "cancelled by run #[0-9]* in concurrency group 'deploy-refs/heads/main'" <<<"$got"
api GET "/api/runs/$SECOND" "$ALICE"
check "the newer run goes on" test "$(json .status)" != cancelled
expect_json .concurrency_group "deploy-refs/heads/main" "group evaluated"
api POST "/api/runs/$SECOND/cancel" "$ALICE"
wait_run "$SECOND"

# ---- schedule: the minute comes, fires once ----
for i in $(seq 1 150); do [ "$(runs sched.yaml schedule)" -ge 1 ] && break; sleep 0.5; done
check "the cron schedule fired" test "$(runs sched.yaml schedule)" -ge 1
check "no minute fired twice" test -z "$(sql "SELECT payload->>'scheduled_at' FROM events WHERE type = 'schedule' GROUP BY 1 HAVING count(*) > 1")"
R=$(latest sched.yaml)
wait_run "$R"
expect_json .status success "scheduled run succeeded"
expect_json .ref refs/heads/main "scheduled runs are on the default branch"

finish
