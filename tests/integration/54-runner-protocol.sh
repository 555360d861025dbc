#!/usr/bin/env bash
# 54-runner-protocol: the runner protocol (/internal/...) spoken by hand,
# the way a runner started elsewhere would, against a real server with no
# warm pool of its own. Registration, claims, every malformed event batch
# (status, code, message, and nothing stored), a retried batch stored once,
# completion refusals, and what a task token may do: fetch its own
# repository while its workload runs — not push, not read another
# repository, not act as a user, and nothing at all once the workload ends.
. "$(dirname "$0")/lib.sh"
export PLUE_WARM_POOL=0
export PLUE_RUNNER_SECRET="proto-secret-$RANDOM$RANDOM"
start_server
ALICE=$(new_user alice)
api POST /api/repos "$ALICE" '{"name":"proto","private":true}'
expect_status 201 "create proto"
api POST /api/repos "$ALICE" '{"name":"other","private":true}'
expect_status 201 "create other"
# run_is RUN STATUS: until the run has STATUS (5 s); leaves its JSON in BODY_OUT
run_is() {
	local i
	for i in $(seq 1 50); do
		api GET "/api/runs/$1" "$ALICE"
		[ "$(json .status)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

SRC="$T_DIR/src"
git init -q "$SRC"
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/hand.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  one:
    steps:
      - run: echo hello
EOF
(cd "$SRC" && git add . && git commit -qm "workflow")
check "push proto" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/proto.git" main
check "push other" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/other.git" main

# ---- registration ----
api POST /internal/runners/register "" '{}'
expect_error 401 invalid_secret "invalid runner registration secret" "register without a secret"
api POST /internal/runners/register "$PLUE_RUNNER_SECRET" '{"pid":"twelve"}'
expect_error 400 invalid_field "field 'pid' must be an integer" "register with a bad pid"
api POST /internal/runners/register "$PLUE_RUNNER_SECRET" '{"host":"by-hand","pid":1,"sandbox":"none"}'
expect_status 201 "register"
RID=$(json .id)
RTOK=$(json .token)
check "the runner got a token" test -n "$RTOK"
api POST /internal/runners/register "$PLUE_RUNNER_SECRET" '{"host":"second","pid":2}'
RID2=$(json .id)
RTOK2=$(json .token)

api POST "/internal/runners/$RID/heartbeat" "$RTOK2"
expect_error 401 invalid_token "invalid runner token" "heartbeat with another runner's token"
api POST "/internal/runners/x/heartbeat" "$RTOK"
expect_error 404 not_found "'x' is not a valid id" "heartbeat of a malformed runner id"
api POST "/internal/runners/$RID/heartbeat" "$RTOK"
expect_status 200 "heartbeat"

# ---- claim ----
# dispatch_one WHAT: starts hand.yaml and waits until its job is queued
dispatch_one() {
	api POST /api/alice/proto/workflows/hand.yaml/dispatch "$ALICE" '{}'
	expect_status 202 "$1"
	sql_is "SELECT count(*) FROM workloads WHERE status = 'waiting'" 1 100
}
dispatch_one "dispatch"
api POST "/internal/runners/$RID/claim" "$RTOK"
expect_status 200 "claim"
WID=$(json .workload)
TT=$(json .task_token)
SEQ=$(json .seq_start)
check "the claim holds a workload ($WID)" test "$WID" -gt 0
check "the claim holds a task token" test "${TT:0:10}" = plue_task_
check "numbering starts at 1" test "$SEQ" = 1
expect_json .spec.repo.full_name alice/proto "the claim names the repository"
check "the claim is marked in the database" test "$(sql "SELECT status || ':' || runner_id FROM workloads WHERE id = $WID")" = "claimed:$RID"

stored() { sql "SELECT count(*) FROM workload_events WHERE workload_id = $WID"; }
E="/internal/tasks/$WID/events"

# ---- malformed event batches: refused whole, nothing stored ----
api POST "$E" "$TT" '{"events":[]}'
expect_status 200 "an empty batch"
before=$(stored)
bad() { # BODY STATUS CODE MESSAGE WHAT
	api POST "$E" "$TT" "$1"
	expect_error "$2" "$3" "$4" "$5"
}
bad 'not json' 400 invalid_json "" "a body that is not JSON"
bad '[1,2]' 400 invalid_json "object" "a body that is not an object"
bad '{}' 400 invalid_events "field 'events' must be an array" "no events field"
bad '{"events":{"seq":1}}' 400 invalid_events "field 'events' must be an array" "events not an array"
bad '{"events":[{"type":"log","payload":{"line":"x"}}]}' 400 invalid_events "event 0: 'seq' must be a positive integer" "an event without seq"
bad '{"events":[{"seq":"1","type":"log"}]}' 400 invalid_events "event 0: 'seq' must be a positive integer" "a seq that is a string"
bad '{"events":[{"seq":0,"type":"log"}]}' 400 invalid_events "event 0: 'seq' must be a positive integer" "seq 0"
bad '{"events":[{"seq":1,"type":"log","payload":{"line":"ok"}},{"seq":-4,"type":"log"}]}' 400 invalid_events "event 1: 'seq' must be a positive integer" "a negative seq after a good event"
bad '{"events":[{"seq":1,"type":"exfiltrate"}]}' 400 invalid_events "event 0: unknown type 'exfiltrate'" "an unknown type"
bad '{"events":[{"seq":1}]}' 400 invalid_events "event 0: unknown type ''" "an event without a type"
bad '{"events":[{"seq":1,"type":"log","payload":"line"}]}' 400 invalid_events "event 0: 'payload' must be an object" "a payload that is not an object"
big=$(node -e 'const ev=[];for(let i=1;i<=2001;i++)ev.push({seq:i,type:"log",payload:{line:"l"+i}});process.stdout.write(JSON.stringify({events:ev}))')
bad "$big" 413 batch_too_large "a batch holds at most 2000 events" "2001 events in one batch"
check "no refused batch stored anything" test "$(stored)" = "$before"

# ---- a good batch, retried: stored once, in order ----
B1='{"events":[{"seq":1,"type":"step_start","payload":{"step":1,"name":"by hand"}},{"seq":2,"type":"log","payload":{"step":1,"stream":"stdout","line":"first"}},{"seq":3,"type":"log","payload":{"step":1,"stream":"stdout","line":"second"}}]}'
api POST "$E" "$TT" "$B1"
expect_status 200 "a batch of three"
expect_json .cancel false "the reply says not cancelled"
check "three events stored" test "$(stored)" = $((before + 3))
api POST "$E" "$TT" "$B1"
expect_status 200 "the same batch again (a retry)"
check "the retry stored nothing new" test "$(stored)" = $((before + 3))
api POST "$E" "$TT" '{"events":[{"seq":3,"type":"log","payload":{"step":1,"stream":"stdout","line":"second"}},{"seq":4,"type":"log","payload":{"step":1,"stream":"stdout","line":"third"}},{"seq":4,"type":"log","payload":{"step":1,"stream":"stdout","line":"third"}}]}'
expect_status 200 "a batch overlapping the last one, with a number twice"
check "only the new event was stored" test "$(stored)" = $((before + 4))
check "the workload is running" test "$(sql "SELECT status FROM workloads WHERE id = $WID")" = running
RUN=$(sql "SELECT r.id FROM workflow_runs r JOIN workflow_jobs j ON j.run_id = r.id JOIN workloads w ON w.job_id = j.id WHERE w.id = $WID")
api GET "/api/runs/$RUN/logs" "$ALICE"
check "the log has each line once, in order" test "$(grep -E '^(first|second|third)$' <<<"$BODY_OUT" | tr '\n' ' ')" = "first second third "

# ---- what the task token may do while the workload runs ----
check "the task token fetches its repository" git clone -q "http://x:$TT@127.0.0.1:$PORT/alice/proto.git" "$T_DIR/c1"
api GET /api/repos/alice/proto "$TT"
expect_status 200 "the task token reads its repository through the API"
git -C "$SRC" commit -q --allow-empty -m "not allowed"
check "the task token cannot push (read-only workload)" bash -c '! git -C "$1" push -q "http://x:$2@127.0.0.1:$3/alice/proto.git" main 2>/dev/null' _ "$SRC" "$TT" "$PORT"
check "the task token cannot fetch another repository" bash -c '! git clone -q "http://x:$1@127.0.0.1:$2/alice/other.git" "$3" 2>/dev/null' _ "$TT" "$PORT" "$T_DIR/c2"
api GET /api/repos/alice/other "$TT"
expect_error 404 not_found "repository 'alice/other' not found" "the task token cannot see another repository"
for path in /api/user/tokens /api/user/keys /api/user/mentions; do
	api GET "$path" "$TT"
	expect_error 401 unauthorized "authentication required" "the task token is not a user: $path"
done
api POST /api/repos "$TT" '{"name":"made-by-a-task"}'
expect_error 401 unauthorized "authentication required" "the task token cannot create a repository"
api POST /api/alice/proto/issues "$TT" '{"title":"from a step"}'
expect_error 401 unauthorized "authentication required" "the task token cannot open an issue"
api POST "$E" "$RTOK" '{"events":[]}'
expect_error 401 invalid_token "invalid or expired task token" "events with the runner's token instead of the task's"
api POST "/internal/tasks/$((WID + 1000))/events" "$TT" '{"events":[]}'
expect_error 401 invalid_token "invalid or expired task token" "events for another workload with this token"

# ---- completion ----
C="/internal/tasks/$WID/complete"
api POST "$C" "$TT" '{"result":"fine"}'
expect_error 400 invalid_result "result must be one of success, failure, cancelled, error" "an unknown result"
api POST "$C" "$TT" '{"exit_code":0}'
expect_error 400 invalid_result "result must be one of" "no result"
api POST "$C" "$TT" '{"result":"success","exit_code":"0"}'
expect_error 400 invalid_field "field 'exit_code' must be an integer" "an exit code that is a string"
long=$(head -c 1001 /dev/zero | tr '\0' r)
api POST "$C" "$TT" "{\"result\":\"failure\",\"reason\":\"$long\"}"
expect_error 400 invalid_field "field 'reason' is longer than 1000 characters" "a reason too long"
check "refused completions left the workload running" test "$(sql "SELECT status FROM workloads WHERE id = $WID")" = running
api POST "$E" "$TT" '{"events":[{"seq":5,"type":"step_end","payload":{"step":1,"status":"success","exit_code":0,"duration_ms":5}},{"seq":6,"type":"job_end","payload":{"status":"success"}}]}'
expect_status 200 "the last events"
api POST "$C" "$TT" '{"result":"success","exit_code":0}'
expect_status 200 "complete"
check "the workload succeeded" test "$(sql "SELECT status || ':' || result FROM workloads WHERE id = $WID")" = done:success

# ---- after the end the task token is worth nothing ----
api POST "$C" "$TT" '{"result":"success","exit_code":0}'
expect_error 401 invalid_token "invalid or expired task token" "complete twice"
api POST "$E" "$TT" '{"events":[{"seq":7,"type":"log","payload":{"line":"late"}}]}'
expect_error 401 invalid_token "invalid or expired task token" "events after the end"
check "nothing was stored after the end" test "$(sql "SELECT count(*) FROM workload_events WHERE workload_id = $WID AND seq = 7")" = 0
check "the ended task token cannot fetch" bash -c '! git clone -q "http://x:$1@127.0.0.1:$2/alice/proto.git" "$3" 2>/dev/null' _ "$TT" "$PORT" "$T_DIR/c3"
api GET /api/repos/alice/proto "$TT"
expect_error 401 invalid_token "invalid or expired token" "the ended task token on the API"
run_is "$RUN" success
expect_json .status success "the run finished with the hand-made result"

# ---- runners that go silent: attempt 2, then failure with the reason ----
# (real waiting: the reaper allows RUNNER_DEAD_S = 30 s of silence)
dispatch_one "dispatch a job for silent runners"
# claim_as NAME: registers a runner and claims; sets SID STOK SW STT SATT
claim_as() {
	api POST /internal/runners/register "$PLUE_RUNNER_SECRET" "{\"host\":\"$1\"}"
	SID=$(json .id) STOK=$(json .token)
	api POST "/internal/runners/$SID/claim" "$STOK"
	SW=$(json .workload) STT=$(json .task_token) SATT=$(json .attempt)
}
claim_as silent-1
check "the first silent runner has attempt 1" test "$SATT" = 1
W1=$SW T1=$STT R1=$SID K1=$STOK
api POST "/internal/tasks/$W1/events" "$T1" '{"events":[{"seq":1,"type":"log","payload":{"step":1,"stream":"stdout","line":"from attempt 1"}}]}'
expect_status 200 "attempt 1 says something, then goes silent"
check "after 30 s of silence the workload waits for attempt 2" sql_is "SELECT status || ':' || attempt FROM workloads WHERE id = $W1" waiting:2 600
api POST "/internal/runners/$R1/heartbeat" "$K1"
expect_error 409 runner_dead "runner $R1 was declared dead; register again" "the silent runner comes back"
api POST "/internal/tasks/$W1/events" "$T1" '{"events":[{"seq":2,"type":"log","payload":{"line":"late words"}}]}'
expect_error 401 invalid_token "invalid or expired task token" "the silent runner's task token died with it"
claim_as silent-2
check "the second runner gets the same workload" test "$SW" = "$W1"
check "as attempt 2" test "$SATT" = 2
check "with a new task token" test "$STT" != "$T1"
api POST "/internal/tasks/$W1/events" "$STT" '{"events":[{"seq":2,"type":"log","payload":{"step":1,"stream":"stdout","line":"from attempt 2"}}]}'
expect_status 200 "attempt 2 starts (a claim never started costs no attempt), then goes silent"
sql_is "SELECT status FROM workloads WHERE id = $W1" done 600
check "after a second silence the workload is given up" test "$(sql "SELECT status || ':' || result FROM workloads WHERE id = $W1")" = done:error
RUN2=$(sql "SELECT j.run_id FROM workflow_jobs j JOIN workloads w ON w.job_id = j.id WHERE w.id = $W1")
run_is "$RUN2" failure
expect_json .status failure "the run failed"
check "the job says why" bash -c 'grep -q "stopped responding (no heartbeat for 30 s) during attempt 2 of 2; giving up" <<<"$1"' _ "$BODY_OUT"
api GET "/api/runs/$RUN2/logs" "$ALICE"
check "the log keeps what attempt 1 said" grep -qF "from attempt 1" <<<"$BODY_OUT"
check "and not what came after its death" bash -c '! grep -qF "late words" <<<"$1"' _ "$BODY_OUT"

# ---- a runner the reaper declared dead is told so ----
sql "UPDATE runners SET status = 'dead' WHERE id = $RID2" >/dev/null
api POST "/internal/runners/$RID2/heartbeat" "$RTOK2"
expect_error 409 runner_dead "runner $RID2 was declared dead; register again" "heartbeat of a dead runner"
api POST "/internal/runners/$RID2/claim" "$RTOK2"
expect_error 409 runner_dead "was declared dead" "claim of a dead runner"

finish
