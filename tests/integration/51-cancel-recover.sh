#!/usr/bin/env bash
# 51-cancel-recover: stopping and surviving. Cancel stops a running step
# (its sandboxed process is killed) and cancels what waited for it; a
# runner killed with SIGKILL mid-step is noticed and its job retried as
# attempt 2 on another runner; a restart of the server mid-run loses
# nothing (the busy runner finishes and delivers its events to the new
# server); a server that stays away longer than a runner waits for it
# makes the runner give its workload up (step killed, sandbox destroyed,
# process gone), and the server retries it when it is back. Real server,
# warm pool and sandbox throughout.
. "$(dirname "$0")/lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=2
start_server
ALICE=$(new_user alice)
api POST /api/repos "$ALICE" '{"name":"ops"}'
expect_status 201 "create repo"

# wait_gone PID SECONDS: until the process has exited
wait_gone() {
	local i
	for i in $(seq 1 $(($2 * 10))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

# dispatch FILE: workflow FILE of alice/ops started by hand; prints the run id
dispatch() { dispatch_in alice/ops "$1"; }

SRC="$T_DIR/src"
git init -q "$SRC"
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/slow.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  long:
    steps:
      - name: Sleep
        run: |
          echo "sleeping now"
          sleep 120
          echo "never printed"
      - name: Later
        run: echo "later must not run"
  after:
    needs: [long]
    steps:
      - run: echo "after must not run"
EOF
cat >"$SRC/.plue/workflows/retry.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  work:
    steps:
      - name: Work
        run: |
          echo "work begins"
          sleep 6
          echo "work finished"
EOF
cat >"$SRC/.plue/workflows/restart.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  ticks:
    steps:
      - name: Tick
        run: for i in $(seq 1 12); do echo "tick-$i"; sleep 0.5; done
EOF
cat >"$SRC/.plue/workflows/away.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  away:
    steps:
      - name: Work
        run: |
          echo "attempt $PLUE_RUN_ATTEMPT begins"
          if [ "$PLUE_RUN_ATTEMPT" = 1 ]; then sleep 300; fi
          echo "attempt $PLUE_RUN_ATTEMPT done"
EOF
(cd "$SRC" && git add . && git commit -qm "workflows")
check "push" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/ops.git" main

# ---- cancel ----
RUN=$(dispatch slow.yaml)
check "slow run started" test -n "$RUN"
wait_log "$RUN" "sleeping now"
api POST "/api/runs/$RUN/cancel" "$ALICE"
expect_status 202 "cancel accepted"
expect_json .status cancelling "cancel answer"
wait_run "$RUN"
expect_json .status cancelled "run cancelled"
expect_json .conclusion "cancelled by alice" "run says who cancelled it"
check "long job cancelled" test "$(jobfield long status)" = cancelled
check "the sleeping step was cancelled" test "$(jobfield long steps.1.status)" = cancelled
check "the next step did not run" test "$(jobfield long steps.2.status)" != success
check "the dependent job was cancelled" test "$(jobfield after status)" = cancelled
api GET "/api/runs/$RUN/logs" "$ALICE"
check "the step's process was killed" bash -c '! grep -qF "never printed" <<<"$1"' _ "$BODY_OUT"
check "later steps did not run" bash -c '! grep -qF "must not run" <<<"$1"' _ "$BODY_OUT"
curl -s -N --max-time 20 -H "Authorization: Bearer $ALICE" "$BASE/api/runs/$RUN/stream" >"$T_DIR/cancel.sse"
check "stream has the runner's aborted event" grep -q '^event: aborted' "$T_DIR/cancel.sse"
check "stream ends with done: cancelled" bash -c 'tail -3 "$1" | grep -q "\"status\": \"cancelled\""' _ "$T_DIR/cancel.sse"
api POST "/api/runs/$RUN/cancel" "$ALICE"
expect_error 409 run_finished "has already finished" "cancel twice"

# ---- a runner killed mid-step: attempt 2 elsewhere ----
RUN=$(dispatch retry.yaml)
check "retry run started" test -n "$RUN"
wait_log "$RUN" "work begins"
PID=$(sql "SELECT pid FROM runners WHERE status = 'busy' ORDER BY id DESC LIMIT 1")
check "the busy runner is known ($PID)" test -n "$PID"
SBS=$(sandboxes_of "$PID")
check "the busy runner has a sandbox" test -n "$SBS"
check "and a workspace" bash -c 'compgen -G "$1" >/dev/null' _ "$PLUE_DATA_DIR/runners/runner-$PID-*"
kill -9 "$PID"
wait_run "$RUN"
expect_json .status success "the run succeeded after the retry"
check "the job ran as attempt 2" test "$(jobfield work attempt)" = 2
api GET "/api/runs/$RUN/logs" "$ALICE"
check "attempt 2 finished the work" grep -qF "work finished" <<<"$BODY_OUT"
curl -s -N --max-time 20 -H "Authorization: Bearer $ALICE" "$BASE/api/runs/$RUN/stream" >"$T_DIR/retry.sse"
check "the stream says why it was retried" grep -q 'stopped responding.*retrying as attempt 2 of 2' "$T_DIR/retry.sse"
check "the dead runner is marked dead" test "$(sql "SELECT status FROM runners WHERE pid = $PID")" = dead
check "its sandbox was removed by the runner that took its place" bash -c 'for d in $1; do [ ! -e "$d" ] || exit 1; done' _ "$SBS"
check "and its workspace" bash -c '! compgen -G "$1" >/dev/null' _ "$PLUE_DATA_DIR/runners/runner-$PID-*"

# ---- a restart of the server mid-run ----
RUN=$(dispatch restart.yaml)
check "restart run started" test -n "$RUN"
wait_log "$RUN" "tick-2"
stop_server
start_server --port "$PORT"
wait_run "$RUN"
expect_json .status success "the run finished across the restart"
api GET "/api/runs/$RUN/logs" "$ALICE"
got=$(grep -c '^tick-' <<<"$BODY_OUT")
check "every tick stored once across the restart ($got)" test "$got" = 12
check "ticks in order" test "$(grep '^tick-' <<<"$BODY_OUT" | tr '\n' ' ')" = "$(seq 1 12 | sed 's/^/tick-/' | tr '\n' ' ')"
api GET "/api/runs/$RUN" "$ALICE"
check "one attempt was enough" test "$(jobfield ticks attempt)" = 1

# ---- a server that stays away: the runner gives up, the server retries ----
RUN=$(dispatch away.yaml)
check "away run started" test -n "$RUN"
wait_log "$RUN" "attempt 1 begins"
PID=$(sql "SELECT pid FROM runners WHERE status = 'busy' ORDER BY id DESC LIMIT 1")
SBS=$(sandboxes_of "$PID")
check "the busy runner ($PID) has a sandbox" test -n "$SBS"
stop_server
check "the runner is still at work right after its server stopped" kill -0 "$PID"
t0=$(date +%s)
check "the runner gives up and exits when its server stays away" wait_gone "$PID" 90
echo "# the runner stopped $(($(date +%s) - t0)) s after its server"
check "its workspace was removed" bash -c '! compgen -G "$1" >/dev/null' _ "$PLUE_DATA_DIR/runners/runner-$PID-*"
check "its sandbox was destroyed" bash -c 'for d in $1; do [ ! -e "$d" ] || exit 1; done' _ "$SBS"
# (the pattern's brackets keep pgrep from finding this check's own command line)
SB_ID=$(basename "$(echo "$SBS" | head -1)")
check "its sandbox's processes are gone" bash -c '! pgrep -f -- "$1"' _ "[${SB_ID:0:1}]${SB_ID:1}"
check "the runner said why it stopped" grep -q "has not answered for 30 s; giving up" "$T_DIR/serve.log"
start_server --port "$PORT"
wait_run "$RUN"
expect_json .status success "the abandoned run finished after the server came back"
check "the job ran again as attempt 2" test "$(jobfield away attempt)" = 2
api GET "/api/runs/$RUN/logs" "$ALICE"
check "attempt 2 did the work" grep -qF "attempt 2 done" <<<"$BODY_OUT"
check "attempt 1 never finished" bash -c '! grep -qF "attempt 1 done" <<<"$1"' _ "$BODY_OUT"

# ---- runner protocol refusals ----
api POST /internal/runners/register "wrong-secret" '{}'
expect_error 401 invalid_secret "invalid runner registration secret" "register with a bad secret"
api POST /internal/runners/1/claim "plue_runner_nope"
expect_error 401 invalid_token "invalid runner token" "claim with a bad token"
api POST /internal/tasks/1/events "plue_task_nope" '{"events":[]}'
expect_error 401 invalid_token "invalid or expired task token" "events with a bad task token"
api POST /internal/tasks/1/complete "plue_task_nope" '{"result":"success"}'
expect_error 401 invalid_token "invalid or expired task token" "complete with a bad task token"

finish
