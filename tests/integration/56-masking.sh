#!/usr/bin/env bash
# 56-masking: secret values never leave a runner, nor reach what the server
# stores, in any form Plue prints them. With the real runner and sandbox: a
# multi-line (PEM-like) secret printed whole and line by line, toJSON() of
# the secrets (a value with a quote and a backslash), a working-directory
# made from a secret, fromJSON() of a secret that is not JSON in an env
# value and in an if:. For each, no part of a value shows in the stored
# log, GET /api/runs/:id (job conclusions, step reasons), the SSE stream,
# the commit statuses, the database or the server's log, and *** shows
# where a value was. Then the server on its own: a runner spoken by hand
# sends the values unmasked in every field it can, and the server masks
# every string before it stores it.
. "$(dirname "$0")/lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=1
export PLUE_RUNNER_SECRET="mask-secret-$RANDOM$RANDOM"
start_server
ALICE=$(new_user alice)
api POST /api/repos "$ALICE" '{"name":"mask"}'
expect_status 201 "create repo"

KEY=$'-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7maskLine1xyz\nq9Ylq2xZ0Xk4dF8pQ3vHnT1sYbW6cJmE5rA0uLgK2iNfVhOwDzMaskLine2abc\nZm9vYmFy\n-----END PRIVATE KEY-----\n'
Q='qs"QUOTED\secret789'
W='plain-dir-secret-456'
NJ='notjson-secret-321'
# what must show nowhere: a piece of each line of each value (no piece
# needs JSON escaping, so one search covers the raw and the escaped forms).
# "notjson" is what jansson's own message quoted of NJ
LEAKS=("PRIVATE KEY" maskLine1xyz MaskLine2abc Zm9vYmFy QUOTED secret789 plain-dir-secret notjson)
# no_leak WHAT FILE: no piece of a secret is in FILE
no_leak() {
	local f
	for f in "${LEAKS[@]}"; do
		if grep -qF -- "$f" "$2"; then
			fail "$1 shows '$f': $(grep -F -- "$f" "$2" | head -3)"
			return
		fi
	done
	pass
}
# has WHAT FILE TEXT: FILE holds TEXT
has() { check "$1" grep -qF -- "$3" "$2"; }
set_secret() {
	api PUT "/api/alice/mask/secrets/$1" "$ALICE" "$(V="$2" node -e 'process.stdout.write(JSON.stringify({value: process.env.V}))')"
	expect_status 201 "set secret $1"
}
set_secret KEY "$KEY"
set_secret Q "$Q"
set_secret W "$W"
set_secret NJ "$NJ"

SRC="$T_DIR/src"
git init -q "$SRC"
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/m.yaml" <<'EOF'
on: push
jobs:
  logs:
    steps:
      - name: Multi-line
        env:
          KEY: ${{ secrets.KEY }}
        run: |
          printf '%s\n' "$KEY"
          printf '%s\n' "$KEY" | while IFS= read -r l; do echo "line: $l"; done
          echo "second alone: $(printf '%s\n' "$KEY" | sed -n 2p)"
          echo "inline: ${{ secrets.KEY }}"
      - name: JSON
        env:
          ALL: ${{ toJSON(secrets) }}
          Q: ${{ secrets.Q }}
          KEY: ${{ secrets.KEY }}
          QJ: ${{ toJSON(secrets.Q) }}
        run: |
          echo "$ALL"
          echo "q=$Q"
          echo "qjson=$QJ"
          echo "compact=${{ secrets }}"
  cwd:
    steps:
      - name: Bad dir
        working-directory: ${{ format('/{0}', secrets.W) }}
        run: echo never
  fromjson:
    steps:
      - name: Parse
        env:
          V: ${{ fromJSON(secrets.NJ) }}
        run: echo never
  cond:
    steps:
      - name: Cond
        if: ${{ fromJSON(secrets.NJ) }}
        run: echo never
EOF
cat >"$SRC/.plue/workflows/hand.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  hand:
    steps:
      - name: Hand
        env:
          A: ${{ secrets.KEY }}
          B: ${{ secrets.Q }}
          C: ${{ secrets.W }}
        run: echo hand
EOF
(cd "$SRC" && git add . && git commit -qm m && git push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/mask.git" main)
SHA=$(git -C "$SRC" rev-parse HEAD)
for i in $(seq 1 100); do api GET /api/alice/mask/runs "$ALICE"; [ "$(json .length)" = 1 ] && break; sleep 0.1; done
RUN=$(json .0.id)
for i in $(seq 1 900); do
	api GET "/api/runs/$RUN" "$ALICE"
	case "$(json .status)" in success | failure | cancelled) break ;; esac
	sleep 0.1
done
expect_json .status failure "the run failed (three jobs cannot run)"

# ---- GET /api/runs/:id: job conclusions and step reasons ----
printf '%s' "$BODY_OUT" >"$T_DIR/run.json"
no_leak "GET /api/runs/:id" "$T_DIR/run.json"
# job KEY: the job's conclusion and its first step's reason
job() { node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const j=r.jobs.find(x=>x.key===process.argv[2]);process.stdout.write(process.argv[3]==="c"?String(j.conclusion):String(j.steps[1].reason))' "$T_DIR/run.json" "$1" "$2"; }
check "the logs job succeeded" test "$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(r.jobs.find(x=>x.key==="logs").status)' "$T_DIR/run.json")" = success
WD_MSG="working-directory is not a relative path inside the workspace (its value comes from an expression and is not shown)"
check "a working-directory from a secret: the step's reason names no value ($(job cwd r))" test "$(job cwd r)" = "$WD_MSG"
check "a working-directory from a secret: the job's conclusion says which step ($(job cwd c))" test "$(job cwd c)" = "step 'Bad dir': $WD_MSG"
FJ_MSG="expression 'fromJSON(secrets.NJ)': fromJSON() input is not valid JSON (at offset 7)"
check "fromJSON of a secret in env: the reason quotes none of it ($(job fromjson r))" test "$(job fromjson r)" = "$FJ_MSG"
check "fromJSON of a secret in env: the job's conclusion ($(job fromjson c))" test "$(job fromjson c)" = "step 'Parse': $FJ_MSG"
check "fromJSON of a secret in if: the reason quotes none of it ($(job cond r))" test "$(job cond r)" = "$FJ_MSG"
check "fromJSON of a secret in if: the job's conclusion ($(job cond c))" test "$(job cond c)" = "step 'Cond': $FJ_MSG"

# ---- the stored log ----
api GET "/api/runs/$RUN/logs" "$ALICE"
expect_status 200 "logs"
printf '%s\n' "$BODY_OUT" >"$T_DIR/log.txt"
no_leak "the stored log" "$T_DIR/log.txt"
# 5 lines printed whole, and the 4 lines after the first of the inline echo
check "the whole value: one *** per line" test "$(grep -cxF '***' "$T_DIR/log.txt")" = 9
check "line by line: each line masked" test "$(grep -cxF 'line: ***' "$T_DIR/log.txt")" = 5
has "a line of the value on its own" "$T_DIR/log.txt" "second alone: ***"
has "the value interpolated into the script" "$T_DIR/log.txt" "inline: ***"
has "toJSON(secrets): the multi-line value escaped" "$T_DIR/log.txt" '"KEY": "***"'
has "toJSON(secrets): quote and backslash escaped" "$T_DIR/log.txt" '"Q": "***"'
has "the raw value with a quote and a backslash" "$T_DIR/log.txt" "q=***"
has "toJSON of one value" "$T_DIR/log.txt" 'qjson="***"'
has "the secrets as compact JSON" "$T_DIR/log.txt" '"Q":"***"'
has "the working-directory error in the log" "$T_DIR/log.txt" "$WD_MSG"
has "the fromJSON error in the log" "$T_DIR/log.txt" "$FJ_MSG"

# ---- the SSE stream, read until done ----
curl -s -N --max-time 30 -H "Authorization: Bearer $ALICE" "$BASE/api/runs/$RUN/stream" >"$T_DIR/s.sse"
check "the stream ends with done" grep -q '^event: done' "$T_DIR/s.sse"
no_leak "the SSE stream" "$T_DIR/s.sse"
has "the stream carries the masked lines" "$T_DIR/s.sse" '"line": "line: ***"'
has "the stream carries the masked JSON" "$T_DIR/s.sse" '"line": "  \"Q\": \"***\"'
has "the stream's job_end names no value" "$T_DIR/s.sse" "step 'Bad dir': $WD_MSG"

# ---- commit statuses, the database, the server's log ----
api GET "/api/alice/mask/statuses/$SHA" "$ALICE"
expect_status 200 "statuses"
printf '%s' "$BODY_OUT" >"$T_DIR/statuses.json"
no_leak "the commit statuses" "$T_DIR/statuses.json"
dump_db() {
	{
		sql "SELECT type, payload::text FROM workload_events"
		sql "SELECT coalesce(reason, ''), spec::text FROM workloads"
		sql "SELECT coalesce(conclusion, ''), steps::text FROM workflow_jobs"
		sql "SELECT coalesce(conclusion, '') FROM workflow_runs"
		sql "SELECT coalesce(description, '') FROM commit_statuses"
	} >"$1"
}
dump_db "$T_DIR/db.txt"
check "the database holds the events" grep -q step_end "$T_DIR/db.txt"
no_leak "the database" "$T_DIR/db.txt"
no_leak "the server's log" "$T_DIR/serve.log"

# ---- the server masks on its own: a runner that does not ----
stop_server
export PLUE_WARM_POOL=0
start_server
api POST /api/alice/mask/workflows/hand.yaml/dispatch "$ALICE" '{}'
expect_status 202 "dispatch hand.yaml"
for i in $(seq 1 100); do [ "$(sql "SELECT count(*) FROM workloads WHERE status = 'waiting'")" = 1 ] && break; sleep 0.1; done
api POST /internal/runners/register "$PLUE_RUNNER_SECRET" '{"host":"by-hand","pid":1,"sandbox":"none"}'
expect_status 201 "register a runner by hand"
RID=$(json .id)
RTOK=$(json .token)
api POST "/internal/runners/$RID/claim" "$RTOK"
expect_status 200 "claim"
WID=$(json .workload)
TT=$(json .task_token)
RUN2=$(sql "SELECT j.run_id FROM workloads w JOIN workflow_jobs j ON j.id = w.job_id WHERE w.id = $WID")
check "the claim holds the secrets" test "$(json .secrets.W)" = "$W"
printf '%s' "$BODY_OUT" >"$T_DIR/claim.json"
# every field a runner can fill, with the values as they are
BATCH=$(node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).secrets;
const second = s.KEY.split("\n")[1];
const ev = [
	{ type: "step_start", payload: { step: 1, name: "deploy " + s.Q } },
	{ type: "log", payload: { step: 1, stream: "stdout", line: "raw " + second + " end" } },
	{ type: "log", payload: { step: 1, stream: "stdout", line: JSON.stringify(s, null, 2) } },
	{ type: "step_end", payload: { step: 1, status: "failure", exit_code: 1, reason: "bad " + s.W,
				       extra: { nested: [s.Q, 1, { deeper: second }] } } },
	{ type: "job_end", payload: { status: "failure", reason: JSON.stringify(s.Q) } },
	{ type: "error", payload: { message: "lost " + s.KEY } },
].map((e, i) => ({ seq: i + 1, ...e }));
process.stdout.write(JSON.stringify({ events: ev }));' "$T_DIR/claim.json")
api POST "/internal/tasks/$WID/events" "$TT" "$BATCH"
expect_status 200 "post unmasked events"
COMPLETE=$(node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).secrets;
process.stdout.write(JSON.stringify({ result: "error", exit_code: 1,
	reason: "failed: " + s.W + " " + s.KEY.split("\n")[2] }));' "$T_DIR/claim.json")
api POST "/internal/tasks/$WID/complete" "$TT" "$COMPLETE"
expect_status 200 "complete with an unmasked reason"
for i in $(seq 1 100); do
	api GET "/api/runs/$RUN2" "$ALICE"
	case "$(json .status)" in success | failure | cancelled) break ;; esac
	sleep 0.1
done
expect_json .status failure "the hand-run failed"
printf '%s' "$BODY_OUT" >"$T_DIR/run2.json"
no_leak "GET /api/runs/:id of the hand-run" "$T_DIR/run2.json"
expect_json .jobs.0.conclusion "failed: *** ***" "the completion's reason is masked"
expect_json .jobs.0.steps.1.reason "bad ***" "a step's reason is masked"
api GET "/api/runs/$RUN2/logs" "$ALICE"
printf '%s\n' "$BODY_OUT" >"$T_DIR/log2.txt"
no_leak "the hand-run's log" "$T_DIR/log2.txt"
has "a step name is masked" "$T_DIR/log2.txt" "-- deploy ***"
has "a line of a multi-line value is masked" "$T_DIR/log2.txt" "raw *** end"
has "JSON of the values is masked" "$T_DIR/log2.txt" '"Q": "***"'
curl -s -N --max-time 30 -H "Authorization: Bearer $ALICE" "$BASE/api/runs/$RUN2/stream" >"$T_DIR/s2.sse"
check "the hand-run's stream ends with done" grep -q '^event: done' "$T_DIR/s2.sse"
no_leak "the hand-run's SSE stream" "$T_DIR/s2.sse"
has "nested strings are masked" "$T_DIR/s2.sse" '"nested": ["***", 1, {"deeper": "***"}]'
has "a job_end reason is masked" "$T_DIR/s2.sse" '"reason": "\"***\""'
has "an error message is masked" "$T_DIR/s2.sse" '"message": "lost ***"'
api GET "/api/alice/mask/statuses/$SHA" "$ALICE"
printf '%s' "$BODY_OUT" >"$T_DIR/statuses2.json"
no_leak "the commit statuses after the hand-run" "$T_DIR/statuses2.json"
has "the error status carries the masked reason" "$T_DIR/statuses2.json" "failed: *** ***"
dump_db "$T_DIR/db2.txt"
no_leak "the database after the hand-run" "$T_DIR/db2.txt"
no_leak "the server's log after the hand-run" "$T_DIR/serve.log"

finish
