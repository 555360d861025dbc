#!/usr/bin/env bash
# 65-agents-more: what 63-agents leaves out, with the real server, runner,
# sandbox and PostgreSQL and the model doubles (tests/llm/). A server
# restart mid-turn, while a tool runs and while tokens stream, with an
# external runner that outlives the server: nothing doubled or lost in the
# stored events and messages, and an SSE client that reconnects with
# Last-Event-ID gets every event once. The OpenAI-compatible provider. A
# repository's LLM_API_KEY and LLM_BASE_URL secrets; no key anywhere. An
# agent of a reader of private repository A cannot reach private
# repository B (forge tools, the sandbox's network, its task token), the
# key is in no command's environment or file nor in the runners', and
# write_file refuses ../, absolute paths and a committed symlink out.
# The session API's paging, archived filter, delete while a turn runs,
# PATCH errors, and a workflow's session seen by a reader.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agents-lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=0
export PLUE_RUNNER_SECRET="agents-more-$RANDOM$RANDOM"
rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
KEY="sk-ant-test-$(rnd)"
KEY2="sk-ant-repo-$(rnd)"

start_double A anthropic-double.mjs
start_double K anthropic-double.mjs
start_double O openai-double.mjs
DA="http://127.0.0.1:$A_PORT"
DK="http://127.0.0.1:$K_PORT"
DO="http://127.0.0.1:$O_PORT"

# js EXPR: evaluates EXPR with `r` the JSON on stdin, prints it
js() { node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));const v=eval(process.argv[1]);process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v))' "$1"; }

# serve [args]: (re)starts the server on the same port with the Anthropic
# double and the key (as flags: the environment the runners are started
# from holds no key)
serve() {
	start_server ${PORT:+--port "$PORT"} --llm-base-url "$DA" --llm-api-key "$KEY" "$@"
}
restart() {
	stop_server
	serve "$@"
}
serve
ALICE=$(new_user alice)
BOB=$(new_user bob)
CAROL=$(new_user carol)
api POST /api/repos "$ALICE" '{"name":"app"}'
expect_status 201 "create repo"
SRC="$T_DIR/src"
git init -q "$SRC"
printf 'Hello from the README.\n' >"$SRC/README.md"
git -C "$SRC" add -A && git -C "$SRC" commit -qm init
check "push app" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/app.git" main

# no_tokens SESSION: its event types without token and log events
no_tokens() { events "$1" | tr ' ' '\n' | grep -v '^log$\|^token$' | tr '\n' ' '; }
# seqs_contiguous SESSION: the stream's sequence numbers are 1..N, each once
seqs_contiguous() {
	test "$(sql "SELECT count(*) = max(e.stream_seq) AND count(DISTINCT e.stream_seq) = count(*)
	     AND min(e.stream_seq) = 1 FROM workload_events e JOIN agent_sessions s
	     ON s.stream_id = e.stream_id WHERE s.id = $1")" = t
}
# sse_bg SESSION FILE [LAST]: follows the session's stream into FILE in the
# background (it ends when the server stops); sets SSE_PID
sse_bg() {
	local h=()
	[ -n "${3:-}" ] && h=(-H "Last-Event-ID: $3")
	curl -s -N --max-time 120 -H "Authorization: Bearer $ALICE" "${h[@]}" \
		"$BASE/api/sessions/$1/stream" >"$2" 2>/dev/null &
	SSE_PID=$!
}
sse_ids() { grep '^id: ' "$@" | cut -d' ' -f2; }
# sse_resumed SESSION FILE: the ids of FILE (a stream cut by the restart)
# followed by those a client reconnecting with the last of them gets are
# 1..N of the stored stream, each once
sse_resumed() {
	local last n
	last=$(sse_ids "$2" | tail -1)
	curl -s -N --max-time 3 -H "Authorization: Bearer $ALICE" -H "Last-Event-ID: ${last:-0}" \
		"$BASE/api/sessions/$1/stream" >"$2.2" 2>/dev/null
	n=$(sql "SELECT max(e.stream_seq) FROM workload_events e JOIN agent_sessions s ON s.stream_id = e.stream_id WHERE s.id = $1")
	test "$(cat <(sse_ids "$2") <(sse_ids "$2.2") | tr '\n' ' ')" = "$(seq 1 "$n" | tr '\n' ' ')"
}

# ---- a reader's task token reaches nothing beyond its repository ----
# (taken by hand, as a runner would claim it, before any runner runs)
api POST /api/repos "$ALICE" '{"name":"a-priv","private":true}'
api POST /api/repos "$ALICE" '{"name":"b-priv","private":true}'
api PUT /api/repos/alice/a-priv/collaborators/carol "$ALICE" '{"role":"read"}'
expect_status 200 "carol reads private repository A"
mkdir -p "$T_DIR/outside"
PA="$T_DIR/pa" PB="$T_DIR/pb"
git init -q "$PA" && git init -q "$PB"
printf 'A readme\n' >"$PA/README.md"
ln -s "$T_DIR/outside" "$PA/link"
printf 'SECRET-OF-B-%s\n' "$(rnd)" >"$PB/secret.txt"
BSECRET=$(cat "$PB/secret.txt")
git -C "$PA" add -A && git -C "$PA" commit -qm a
git -C "$PB" add -A && git -C "$PB" commit -qm b
check "push A" git -C "$PA" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/a-priv.git" main
check "push B" git -C "$PB" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/b-priv.git" main
api POST /api/alice/b-priv/issues "$ALICE" "{\"title\":\"B issue\",\"body\":\"$BSECRET\"}"
expect_status 201 "an issue in B"
ST=$(new_session '{"title":"token"}' "$CAROL" alice/a-priv)
api POST "/api/sessions/$ST/messages" "$CAROL" '{"content":"hello"}'
expect_status 202 "carol sends in A"
api POST /internal/runners/register "$PLUE_RUNNER_SECRET" '{"host":"by-hand"}'
RID=$(json .id) RTOK=$(json .token)
api POST "/internal/runners/$RID/claim" "$RTOK"
TT=$(json .task_token) TW=$(json .workload)
check "the agent's workload was claimed by hand" test "$(json .type)$(json .spec.session)" = "agent$ST"
api GET /api/repos/alice/a-priv "$TT"
expect_status 200 "the task token reads A"
api GET /api/repos/alice/b-priv "$TT"
expect_status 404 "the task token does not see B"
api GET /api/alice/b-priv/issues/1 "$TT"
expect_status 404 "nor B's issues"
check "git with the task token cannot clone B" bash -c '! git clone -q "http://x:$1@127.0.0.1:$2/alice/b-priv.git" "$3" 2>/dev/null' _ "$TT" "$PORT" "$T_DIR/bclone"
check "git with the task token clones A" git clone -q "http://x:$TT@127.0.0.1:$PORT/alice/a-priv.git" "$T_DIR/aclone"
api POST "/internal/tasks/$TW/complete" "$TT" '{"result":"success","exit_code":0}'
expect_status 200 "the hand-run turn ends"

# ---- an external runner that outlives the server ----
setsid env PLUE_SERVER_URL="$BASE" "$PLUE" runner --standby >"$T_DIR/runner.out" 2>>"$T_DIR/runner.log" &
RUNNER_PID=$!
SERVER_GROUPS+=("$RUNNER_PID")

# ---- restart while a tool runs ----
SR=$(new_session '{"title":"restart during a tool","tools":["run_command"]}')
script "$DA" '[{"content":[{"type":"tool_use","id":"r1","name":"run_command","input":{"command":"sleep 3; echo slept-well"}}]},
 {"content":[{"type":"text","text":"After the restart."}]}]'
sse_bg "$SR" "$T_DIR/sse-a"
api POST "/api/sessions/$SR/messages" "$ALICE" '{"content":"sleep a little"}'
expect_status 202 "send: a tool that sleeps"
wait_event "$SR" tool_start
restart
wait "$SSE_PID" 2>/dev/null
wait_idle "$SR"
api GET "/api/sessions/$SR/messages" "$ALICE"
check "one assistant message per model call (2)" test "$(js 'r.messages.filter(m=>m.role==="assistant").length' <<<"$BODY_OUT")" = 2
check "the tool's one result is stored" test "$(js 'r.messages.flatMap(m=>m.parts).filter(p=>p.type==="tool_result").map(p=>p.tool_use_id+":"+/slept-well/.test(p.output)+":"+p.is_error).join()' <<<"$BODY_OUT")" = "r1:true:false"
expect_json .messages.2.parts.0.text "After the restart." "the next model call went on"
expect_json .messages.2.status complete "and completed"
check "the turn ended success" test "$(sql "SELECT result FROM workloads WHERE session_id = $SR")" = success
# (the user's message, then the two model calls; a log line of the checkout)
check "each event once" test "$(no_tokens "$SR")" = "message_start message_end message_start message_end tool_start tool_end message_start message_end done "
check "the stream's seqs are contiguous" seqs_contiguous "$SR"
check "a reconnecting SSE client gets every event once" sse_resumed "$SR" "$T_DIR/sse-a"
check "the model heard of the tool's result" test "$(requests "$DA" | js 'r.length+":"+/slept-well/.test(JSON.stringify(r[1].body.messages))')" = "2:true"

# ---- restart while tokens stream: the turn is asked again ----
LONG=$(printf 'word%.0s ' $(seq 1 200))
SS=$(new_session '{"title":"restart during tokens"}')
script "$DA" "[{\"content\":[{\"type\":\"text\",\"text\":\"$LONG\"}],\"delay_ms\":40},
 {\"content\":[{\"type\":\"text\",\"text\":\"Said again in full.\"}]}]"
sse_bg "$SS" "$T_DIR/sse-b"
api POST "/api/sessions/$SS/messages" "$ALICE" '{"content":"talk"}'
expect_status 202 "send: a long reply"
wait_event "$SS" token
sleep 0.3
restart
wait "$SSE_PID" 2>/dev/null
wait_idle "$SS"
api GET "/api/sessions/$SS/messages" "$ALICE"
check "one user and one assistant message" test "$(js 'r.messages.map(m=>m.role).join()' <<<"$BODY_OUT")" = "user,assistant"
expect_json .messages.1.parts.0.text "Said again in full." "the message started over holds the new reply only"
check "the message has one part" test "$(js 'r.messages[1].parts.length' <<<"$BODY_OUT")" = 1
expect_json .messages.1.status complete "it completed"
check "the turn ended success" test "$(sql "SELECT result FROM workloads WHERE session_id = $SS")" = success
check "the second message_start says restart" test "$(sql "SELECT string_agg(coalesce(e.payload->>'restart', 'no'), ' ' ORDER BY e.stream_seq) FROM workload_events e JOIN agent_sessions s ON s.stream_id = e.stream_id WHERE s.id = $SS AND e.type = 'message_start'")" = "no no true"
# (the user's message; the assistant's, started over; one end, one done)
check "each event once" test "$(no_tokens "$SS")" = "message_start message_end message_start message_start message_end done "
check "both message_starts name the same message" test "$(sql "SELECT count(DISTINCT e.payload->>'message_id') FROM workload_events e JOIN agent_sessions s ON s.stream_id = e.stream_id WHERE s.id = $SS AND e.type = 'message_start' AND e.payload->>'role' = 'assistant'")" = 1
check "the stream's seqs are contiguous" seqs_contiguous "$SS"
check "a reconnecting SSE client gets every event once" sse_resumed "$SS" "$T_DIR/sse-b"
check "the first model stream was cut, the second asked" test "$(requests "$DA" | js 'r.length+":"+r[0].closed_early')" = "2:true"

# ---- the OpenAI-compatible provider ----
restart --llm-provider openai --llm-base-url "$DO/v1"
SO=$(new_session '{"title":"openai","tools":["read_file"]}')
script "$DO" '[{"content":[{"type":"text","text":"Reading."},{"type":"tool_use","id":"call_1","name":"read_file","input":{"path":"README.md"}}]},
 {"content":[{"type":"text","text":"It greets."}]}]'
api POST "/api/sessions/$SO/messages" "$ALICE" '{"content":"what does the README say?"}'
expect_status 202 "send through the OpenAI-compatible provider"
wait_idle "$SO"
api GET "/api/sessions/$SO/messages" "$ALICE"
expect_json .messages.1.parts.0.text "Reading." "its text"
expect_json .messages.1.parts.1.name read_file "its tool call"
check "the tool read the file" grep -q 'Hello from the README' <<<"$(json .messages.1.parts.2.output)"
expect_json .messages.2.parts.0.text "It greets." "the answer"
check "the turn ended success" test "$(sql "SELECT result FROM workloads WHERE session_id = $SO")" = success
check "the provider got the tool's result as a tool message" test "$(requests "$DO" | js 'r.length+":"+r[1].path+":"+r[1].body.messages.some(m=>m.role==="tool"&&m.tool_call_id==="call_1"&&/Hello from the README/.test(JSON.stringify(m.content)))')" = "2:/v1/chat/completions:true"
check "with the server's key" test "$(requests "$DO" | js 'r[0].headers.authorization')" = "Bearer $KEY"

# ---- a repository's own key and provider URL ----
restart
api POST /api/repos "$ALICE" '{"name":"keyed"}'
check "push keyed" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/keyed.git" main
api PUT /api/alice/keyed/secrets/LLM_API_KEY "$ALICE" "{\"value\":\"$KEY2\"}"
check "the repository's LLM_API_KEY is set" test "${STATUS:0:1}" = 2
api PUT /api/alice/keyed/secrets/LLM_BASE_URL "$ALICE" "{\"value\":\"$DK\"}"
SK=$(new_session '{"title":"keyed"}' "" alice/keyed)
script "$DA" '[]'
script "$DK" '[{"content":[{"type":"text","text":"From the repository'"'"'s provider."}]}]'
api POST "/api/sessions/$SK/messages" "$ALICE" '{"content":"hi"}'
wait_idle "$SK"
api GET "/api/sessions/$SK/messages" "$ALICE"
expect_json .messages.1.parts.0.text "From the repository's provider." "the repository's provider answered"
check "with the repository's key" test "$(requests "$DK" | js 'r.length+":"+r[0].headers["x-api-key"]')" = "1:$KEY2"
check "the server's provider was not asked" test "$(requests "$DA" | js 'r.length')" = 0
check "the repository's key is in no event" test "$(sql "SELECT count(*) FROM workload_events WHERE payload::text LIKE '%$KEY2%'")" = 0
stop_server
start_server --port "$PORT" --llm-base-url "$DA"
SN=$(new_session '{"title":"no key"}')
api POST "/api/sessions/$SN/messages" "$ALICE" '{"content":"hi"}'
wait_idle "$SN"
check "no key: the turn ends with an error event naming both" grep -q 'PLUE_LLM_API_KEY.*LLM_API_KEY' <<<"$(sql "SELECT e.payload FROM workload_events e JOIN agent_sessions s ON s.stream_id = e.stream_id WHERE s.id = $SN AND e.type = 'error'")"
check "and the workload's reason" grep -q 'PLUE_LLM_API_KEY' <<<"$(sql "SELECT reason FROM workloads WHERE session_id = $SN")"
check "no provider was asked" test "$(requests "$DA" | js 'r.length')" = 0
restart

# ---- a reader's agent cannot reach another private repository ----
SC=$(new_session '{"title":"probe","tools":["run_command","write_file","read_file","pr_diff","comment_on_issue"]}' "$CAROL" alice/a-priv)
script "$DA" "[
 {\"content\":[{\"type\":\"tool_use\",\"id\":\"n1\",\"name\":\"run_command\",\"input\":{\"command\":\"git clone http://127.0.0.1:$PORT/alice/b-priv.git /tmp/b 2>&1; echo clone-rc=\$?; cat /tmp/b/secret.txt\"}}]},
 {\"content\":[{\"type\":\"tool_use\",\"id\":\"n2\",\"name\":\"run_command\",\"input\":{\"command\":\"env; cat /proc/self/environ; grep -r KEY / 2>/dev/null | head\"}}]},
 {\"content\":[{\"type\":\"tool_use\",\"id\":\"w1\",\"name\":\"write_file\",\"input\":{\"path\":\"../x\",\"content\":\"escaped\"}}]},
 {\"content\":[{\"type\":\"tool_use\",\"id\":\"w2\",\"name\":\"write_file\",\"input\":{\"path\":\"/etc/x\",\"content\":\"escaped\"}}]},
 {\"content\":[{\"type\":\"tool_use\",\"id\":\"w3\",\"name\":\"write_file\",\"input\":{\"path\":\"link/x\",\"content\":\"escaped\"}}]},
 {\"content\":[{\"type\":\"tool_use\",\"id\":\"f1\",\"name\":\"pr_diff\",\"input\":{\"number\":1,\"repository\":\"alice/b-priv\",\"owner\":\"alice\",\"repo\":\"b-priv\"}}]},
 {\"content\":[{\"type\":\"tool_use\",\"id\":\"f2\",\"name\":\"comment_on_issue\",\"input\":{\"number\":1,\"body\":\"from carol's agent\",\"repository\":\"alice/b-priv\",\"repo\":\"b-priv\"}}]},
 {\"content\":[{\"type\":\"tool_use\",\"id\":\"u1\",\"name\":\"create_branch\",\"input\":{\"name\":\"sneaky\"}}]},
 {\"content\":[{\"type\":\"text\",\"text\":\"Done probing.\"}]}
]"
api POST "/api/sessions/$SC/messages" "$CAROL" '{"content":"probe"}'
expect_status 202 "carol's agent starts in A"
wait_idle "$SC" "$CAROL"
api GET "/api/sessions/$SC/messages" "$CAROL"
# result ID: the output of tool call ID
result() { js "r.messages.flatMap(m=>m.parts).find(p=>p.type===\"tool_result\"&&p.tool_use_id===\"$1\")" <<<"$BODY_OUT"; }
check "the sandbox cannot clone B over the network" bash -c 'grep -q "clone-rc=[1-9]" <<<"$1" && ! grep -q "$2" <<<"$1"' _ "$(result n1)" "$BSECRET"
check "the key is not in the command's environment or files" bash -c '! grep -qF "$1" <<<"$2" && grep -q "PATH=" <<<"$2"' _ "$KEY" "$(result n2)"
for w in w1 w2 w3; do
	check "write_file $w is refused" grep -q '"is_error":true' <<<"$(result $w)"
done
check "nothing was written out of the workspace" bash -c '[ ! -e "$1/outside/x" ] && [ ! -e /etc/x ]' _ "$T_DIR"
check "pr_diff did not reach B" bash -c 'grep -q "\"is_error\":true" <<<"$1" && ! grep -q "$2" <<<"$1"' _ "$(result f1)" "$BSECRET"
check "a tool the session does not offer is refused by the runner" grep -q 'not offered' <<<"$(result u1)"
api GET /api/alice/b-priv/issues/1/comments "$ALICE"
check "B's issue got no comment" test "$(js 'r.length' <<<"$BODY_OUT")" = 0
api GET /api/alice/a-priv/issues/1 "$ALICE"
check "nor was one made in A as carol, a reader" test "$STATUS" = 404
check "the turn still ended" test "$(sql "SELECT result FROM workloads WHERE session_id = $SC")" = success
check "the key is in no runner's environment" bash -c 'for p in $(pgrep -f "[p]lue runner"); do ! grep -qaF "$1" /proc/$p/environ || exit 1; done' _ "$KEY"
check "the runner's environment has its server's address (the check reads it)" grep -qa PLUE_SERVER_URL "/proc/$RUNNER_PID/environ"

# ---- the session API: paging, archived, PATCH errors, messages paging ----
IDS=()
for i in 1 2 3 4 5; do IDS+=("$(new_session "{\"title\":\"page $i\"}" "$BOB")"); done
api GET "/api/alice/app/sessions?limit=2" "$BOB"
check "the first page is the two newest" test "$(js 'r.sessions.map(s=>s.id).join()' <<<"$BODY_OUT")" = "${IDS[4]},${IDS[3]}"
NEXT=$(json .next_cursor)
api GET "/api/alice/app/sessions?limit=2&before=$NEXT" "$BOB"
check "before pages on" test "$(js 'r.sessions.map(s=>s.id).join()' <<<"$BODY_OUT")" = "${IDS[2]},${IDS[1]}"
api GET "/api/alice/app/sessions?limit=2&before=$(json .next_cursor)" "$BOB"
check "the last page" test "$(js 'r.sessions.map(s=>s.id).join()' <<<"$BODY_OUT")" = "${IDS[0]}"
expect_json .next_cursor null "no cursor after the last page"
api GET "/api/alice/app/sessions?limit=0" "$BOB"
expect_error 400 invalid_limit "limit" "limit 0"
api GET "/api/alice/app/sessions?before=x" "$BOB"
expect_error 400 invalid_cursor "before" "a bad cursor"
api GET "/api/alice/app/sessions?archived=maybe" "$BOB"
expect_error 400 invalid_query "archived" "a bad archived filter"
api PATCH "/api/sessions/${IDS[0]}" "$BOB" '{"archived":true}'
expect_json .archived true "archive"
api GET /api/alice/app/sessions "$BOB"
check "archived sessions leave the list" bash -c '! grep -q "\"id\":$1[,}]" <<<"$2"' _ "${IDS[0]}" "$BODY_OUT"
api GET "/api/alice/app/sessions?archived=true" "$BOB"
check "archived=true lists them" test "$(js 'r.sessions.map(s=>s.id).join()' <<<"$BODY_OUT")" = "${IDS[0]}"
api POST "/api/sessions/${IDS[0]}/messages" "$BOB" '{"content":"hi"}'
expect_error 409 session_archived "archived" "an archived session takes no message"
api PATCH "/api/sessions/${IDS[1]}" "$BOB" '{"title":""}'
expect_error 400 invalid_title "title" "PATCH with an empty title"
api PATCH "/api/sessions/${IDS[1]}" "$BOB" '{"archived":"yes"}'
expect_status 400 "PATCH with archived not a boolean"
api PATCH "/api/sessions/${IDS[1]}" "$BOB" 'not json'
expect_status 400 "PATCH with a body that is not JSON"
api PATCH "/api/sessions/${IDS[1]}" "$ALICE" '{"title":"mine now"}'
expect_error 404 not_found "not found" "PATCH of another's session"
api PATCH /api/sessions/999999 "$BOB" '{"title":"x"}'
expect_error 404 not_found "session 999999 not found" "PATCH of no session"
api PATCH "/api/sessions/${IDS[1]}" "" '{"title":"x"}'
expect_status 401 "PATCH anonymously"

# messages paging
SM=$(new_session '{"title":"pages"}')
script "$DA" '[{"content":[{"type":"text","text":"one"}]},{"content":[{"type":"text","text":"two"}]}]'
api POST "/api/sessions/$SM/messages" "$ALICE" '{"content":"first"}'
wait_idle "$SM"
api POST "/api/sessions/$SM/messages" "$ALICE" '{"content":"second"}'
wait_idle "$SM"
api GET "/api/sessions/$SM/messages?limit=3" "$ALICE"
check "the first page of messages" test "$(js 'r.messages.map(m=>m.role).join()' <<<"$BODY_OUT")" = "user,assistant,user"
MN=$(json .next_cursor)
api GET "/api/sessions/$SM/messages?after=$MN" "$ALICE"
check "after pages on" test "$(js 'r.messages.map(m=>m.parts[0].text).join()' <<<"$BODY_OUT")" = "two"
expect_json .next_cursor null "to the end"
api GET "/api/sessions/$SM/messages?after=-1" "$ALICE"
expect_error 400 invalid_cursor "after" "a bad after"
api GET "/api/sessions/$SM/messages?limit=201" "$ALICE"
expect_error 400 invalid_limit "limit" "a limit too high"

# delete while a turn runs
SD=$(new_session '{"title":"deleted","tools":["run_command"]}')
script "$DA" "[{\"content\":[{\"type\":\"tool_use\",\"id\":\"d1\",\"name\":\"run_command\",\"input\":{\"command\":\"sleep 300\"}}]}]"
api POST "/api/sessions/$SD/messages" "$ALICE" '{"content":"sleep"}'
wait_event "$SD" tool_start
SBS=$(session_sandboxes "$SD")
check "the command runs in a sandbox whose processes are seen" sandbox_procs $SBS
DSTREAM=$(sql "SELECT stream_id FROM agent_sessions WHERE id = $SD")
DW=$(sql "SELECT id FROM workloads WHERE session_id = $SD")
api DELETE "/api/sessions/$SD" "$ALICE"
expect_status 204 "delete while a turn runs"
api GET "/api/sessions/$SD" "$ALICE"
expect_error 404 not_found "session $SD not found" "404 after"
api GET "/api/sessions/$SD/messages" "$ALICE"
expect_status 404 "its messages are gone"
check "its events are gone" test "$(sql "SELECT count(*) FROM workload_events WHERE stream_id = $DSTREAM")" = 0
check "its turn's workload went with it" test "$(sql "SELECT count(*) FROM workloads WHERE id = $DW")" = 0
# (a workload that is gone counts as cancelled: the runner's watch answers)
check "the runner gives the turn up within seconds" bash -c 'for _ in $(seq 1 50); do grep -q "workload $1 cancelled" "$2" && exit 0; sleep 0.1; done; exit 1' _ "$DW" "$T_DIR/runner.log"
check "its sandbox is destroyed, no process of it left" sandbox_gone $SBS

# a workflow's session: readable by a reader, not writable
api PUT /api/repos/alice/app/collaborators/carol "$ALICE" '{"role":"read"}'
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/ask.yaml" <<'EOF'
name: Ask
on: workflow_dispatch
mode: agent
agent:
  model: claude-sonnet-4-20250514
  prompt: Say hello.
  tools: [read_file]
EOF
git -C "$SRC" add -A && git -C "$SRC" commit -qm "an agent workflow"
check "push the workflow" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/app.git" main
settle
script "$DA" '[{"content":[{"type":"text","text":"Hello from the workflow."}]}]'
api POST /api/alice/app/workflows/ask.yaml/dispatch "$ALICE" '{}'
expect_status 202 "dispatch the agent workflow"
settle
check "the run made a session" sql_is "SELECT count(*) FROM agent_sessions WHERE run_id IS NOT NULL" 1 200
SW=$(sql "SELECT id FROM agent_sessions WHERE run_id IS NOT NULL")
RUN=$(sql "SELECT run_id FROM agent_sessions WHERE id = $SW")
wait_run "$RUN"
api GET "/api/sessions/$SW" "$CAROL"
expect_status 200 "a reader reads the workflow's session"
expect_json .run_id "$RUN" "it names its run"
api GET "/api/sessions/$SW/messages" "$CAROL"
check "and its messages" grep -q 'Hello from the workflow.' <<<"$BODY_OUT"
api POST "/api/sessions/$SW/messages" "$CAROL" '{"content":"more"}'
expect_status 403 "a reader cannot send into it"
api PATCH "/api/sessions/$SW" "$CAROL" '{"title":"mine"}'
expect_status 403 "nor rename it"
api DELETE "/api/sessions/$SW" "$CAROL"
expect_status 403 "nor delete it"
api GET "/api/sessions/$SW" "$BOB"
expect_status 200 "a public repository's workflow session is public as its run"

kill "$RUNNER_PID" 2>/dev/null
stop_all
check "the key is in no log" bash -c '! grep -rqF "$1" "$2"/*.log "$2"/*.out' _ "$KEY" "$T_DIR"
finish
