#!/usr/bin/env bash
# 64-agent-tools: an agent's forge tools (POST /internal/tasks/:id/tools/:name)
# and what an agent's task token may do. There is no runner here: the agent
# workloads are rows made by hand, each with a task token we choose. Every
# forge tool acts as the workload's actor and its effect shows in the public
# API; every refusal (not an agent, a tool not offered or not the server's,
# a bad token, a bad body, a reader's agent, another repository's number)
# has its answer; pushes with the token reach only unprotected plue/
# branches, never main, tags or a protected branch, and a reader's agent
# pushes nothing; the token does not read another private repository.
. "$(dirname "$0")/lib.sh"
export PLUE_WARM_POOL=0
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
api POST /api/repos "$ALICE" '{"name":"agents","private":true}'
expect_status 201 "create agents"
api POST /api/repos "$ALICE" '{"name":"other","private":true}'
expect_status 201 "create other"
api PUT /api/repos/alice/agents/collaborators/bob "$ALICE" '{"role":"read"}'
expect_status 200 "bob reads agents"
api PUT /api/repos/alice/other/collaborators/bob "$ALICE" '{"role":"read"}'
expect_status 200 "bob reads other"

SRC="$T_DIR/src"
git init -q -b main "$SRC"
printf 'one\ntwo\nthree\n' >"$SRC/hello.txt"
(cd "$SRC" && git add . && git -c user.name=a -c user.email=a@x commit -qm "hello")
check "push agents" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/agents.git" main
check "push other" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/other.git" main

# other has issues #1..#3 and pull request #4
for i in 1 2 3; do
	api POST /api/alice/other/issues "$ALICE" "{\"title\":\"other $i\"}"
done
git -C "$SRC" checkout -q -b side
echo side >"$SRC/side.txt"
(cd "$SRC" && git add . && git -c user.name=a -c user.email=a@x commit -qm "side")
check "push other side" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/other.git" side
api POST /api/alice/other/pulls "$ALICE" '{"title":"other pr","head":"side"}'
expect_json .number 4 "other's pull request is #4"
git -C "$SRC" checkout -q main

AGENTS_ID=$(sql "SELECT r.id FROM repositories r WHERE r.name = 'agents'")
ALICE_ID=$(sql "SELECT id FROM users WHERE username = 'alice'")
BOB_ID=$(sql "SELECT id FROM users WHERE username = 'bob'")

FORGE_TOOLS='"pr_diff","pr_comment","pr_review","create_pr","create_issue","comment_on_issue"'
# agent_workload TOKEN ACTOR TOOLS [TYPE]: a running workload of repository
# agents with that task token (ACTOR: a user id or NULL); prints its id
agent_workload() {
	local hash stream session type=${4:-agent}
	hash=$(printf %s "$1" | sha256sum | cut -d' ' -f1)
	stream=$(sql "INSERT INTO streams (repo_id) VALUES ($AGENTS_ID) RETURNING id")
	session=$(sql "INSERT INTO agent_sessions (repo_id, creator_id, title, model, stream_id)
		VALUES ($AGENTS_ID, $2, 'tools', 'test-model', $stream) RETURNING id")
	sql "INSERT INTO workloads (type, repo_id, stream_id, status, may_write, spec,
		task_token_hash, session_id, actor_id)
		VALUES ('$type', $AGENTS_ID, $stream, 'running', true,
		'{\"session\": $session, \"agent\": {\"tools\": [$3], \"max_turns\": 5}}',
		'$hash', $session, $2) RETURNING id"
}
TOK="plue_task_alice_$RANDOM$RANDOM"
W=$(agent_workload "$TOK" "$ALICE_ID" "\"read_file\",$FORGE_TOOLS")
BTOK="plue_task_bob_$RANDOM$RANDOM"
WB=$(agent_workload "$BTOK" "$BOB_ID" '"comment_on_issue","pr_comment"')
WTOK="plue_task_flow_$RANDOM$RANDOM"
WW=$(agent_workload "$WTOK" "$ALICE_ID" "$FORGE_TOOLS" workflow)
NTOK="plue_task_gone_$RANDOM$RANDOM"
WN=$(agent_workload "$NTOK" NULL "$FORGE_TOOLS")
check "the workloads exist" test -n "$W" -a -n "$WB" -a -n "$WW" -a -n "$WN"

# tool ID TOKEN NAME INPUT-JSON: one tool call
tool() { api POST "/internal/tasks/$1/tools/$3" "$2" "{\"input\":$4}"; }
# expect_output IS_ERROR SUBSTRING DESCRIPTION: a 200 tool answer
expect_output() {
	local out
	out=$(json .output)
	if [ "$STATUS" = 200 ] && [ "$(json .is_error)" = "$1" ] && [[ "$out" == *"$2"* ]]; then
		pass
	else
		fail "$3: got $STATUS is_error=$(json .is_error) '${out:0:300}', want is_error=$1 '*$2*'"
	fi
}

# ---- refusals of the call itself ----
tool "$W" "plue_task_nope" create_issue '{"title":"x"}'
expect_error 401 invalid_token "invalid or expired task token" "a bad token"
tool "$WB" "$TOK" create_issue '{"title":"x"}'
expect_error 401 invalid_token "invalid or expired task token" "another workload's token"
tool "$WW" "$WTOK" create_issue '{"title":"x"}'
expect_error 403 not_an_agent "is not an agent" "a workflow's workload has no tools"
tool "$W" "$TOK" read_file '{"path":"hello.txt"}'
expect_error 403 tool_not_offered "tool 'read_file' is not a forge tool" "a workspace tool is the runner's"
tool "$W" "$TOK" nope '{}'
expect_error 403 tool_not_offered "tool 'nope'" "an unknown tool"
tool "$WB" "$BTOK" create_issue '{"title":"x"}'
expect_error 403 tool_not_offered "tool 'create_issue' is not a forge tool offered" "a tool the agent was not given"
api POST "/internal/tasks/$W/tools/create_issue" "$TOK" '{}'
expect_error 400 invalid_input "'input'" "a body without input"
tool "$W" "$TOK" create_issue '[1]'
expect_error 400 invalid_input "'input'" "an input that is not an object"
tool "$WN" "$NTOK" create_issue '{"title":"x"}'
expect_error 403 no_actor "no longer has an account" "an agent whose person is gone"

# ---- the tools, as alice ----
tool "$W" "$TOK" create_issue '{}'
expect_output true "input field 'title' is required" "a missing field is the model's to fix"
tool "$W" "$TOK" create_issue '{"title":"Found by the agent","body":"details"}'
expect_output false "opened issue #1: /alice/agents/issues/1" "create_issue"
api GET /api/alice/agents/issues/1 "$ALICE"
expect_json .title "Found by the agent" "the issue is there"
expect_json .author alice "written as the agent's person"
tool "$W" "$TOK" comment_on_issue '{"number":1,"body":"a note from the agent"}'
expect_output false "commented on #1" "comment_on_issue"
api GET /api/alice/agents/issues/1/comments "$ALICE"
expect_json .0.body "a note from the agent" "the comment is there"
expect_json .0.author alice "commented as alice"
tool "$W" "$TOK" comment_on_issue '{"number":99,"body":"x"}'
expect_output true "issue 'alice/agents#99' not found" "a comment on no issue"

# a branch pushed with the task token, then its pull request
git -C "$SRC" checkout -q -b plue/x
printf 'one\nTWO\nthree\n' >"$SRC/hello.txt"
echo new >"$SRC/new.txt"
(cd "$SRC" && git add . && git -c user.name=a -c user.email=a@x commit -qm "agent change")
AGENT_URL="http://x:$TOK@127.0.0.1:$PORT/alice/agents.git"
check "the agent pushes refs/heads/plue/x" git -C "$SRC" push -q "$AGENT_URL" plue/x
tool "$W" "$TOK" create_pr '{"title":"Agent change","body":"made by the agent","head":"plue/x"}'
expect_output false "opened pull request #2: /alice/agents/pull/2" "create_pr"
api GET /api/alice/agents/pulls/2 "$ALICE"
expect_json .head.ref plue/x "the pull request's head"
expect_json .base.ref main "its base is the default branch"
expect_json .author alice "opened as alice"
tool "$W" "$TOK" create_pr '{"title":"again","head":"plue/x"}'
expect_output true "an open pull request for 'plue/x' into 'main' already exists: #2" "the same pair again is refused"
tool "$W" "$TOK" create_pr '{"title":"bad","head":"a..b"}'
expect_output true "is not a valid branch name" "a bad branch name"

tool "$W" "$TOK" pr_diff '{"number":2}'
expect_output false "changed files (2):" "pr_diff lists the files"
expect_output false "hello.txt (modified)" "pr_diff names a modified file"
expect_output false "new.txt (added)" "pr_diff names an added file"
expect_output false "+TWO" "pr_diff holds the patch"
# a diff larger than the cap is cut at a line's end, with a note
git -C "$SRC" checkout -q -b plue/big main
seq 1 20000 | sed 's/^/line number /' >"$SRC/big.txt"
(cd "$SRC" && git add . && git -c user.name=a -c user.email=a@x commit -qm "big")
check "the agent pushes plue/big" git -C "$SRC" push -q "$AGENT_URL" plue/big
tool "$W" "$TOK" create_pr '{"title":"Big","head":"refs/heads/plue/big"}'
expect_output false "opened pull request #3" "create_pr with a full ref name"
tool "$W" "$TOK" pr_diff '{"number":3}'
expect_output false "big.txt (added)" "a big diff still lists its files"
expect_output false "[diff truncated:" "a big diff is cut with a note"
check "the big answer stays under 50 KiB" test "$(json .output | wc -c)" -lt 51200
check "it is cut at a line's end" grep -q '^+line number [0-9]*$' <<<"$(json .output | grep -B2 '^\[diff truncated' | head -1)"
git -C "$SRC" checkout -q plue/x
tool "$W" "$TOK" pr_diff '{"number":1}'
expect_output true "pull request 'alice/agents#1' not found" "an issue is not a pull request"
tool "$W" "$TOK" pr_diff '{"number":4}'
expect_output true "pull request 'alice/agents#4' not found" "another repository's pull request number"
tool "$W" "$TOK" pr_diff '{"number":"two"}'
expect_output true "'number' must be a positive integer" "a number that is not one"

tool "$W" "$TOK" pr_comment '{"number":2,"body":"looks fine to me"}'
expect_output false "commented on pull request #2" "pr_comment"
api GET /api/alice/agents/issues/2/comments "$ALICE"
expect_json .0.body "looks fine to me" "the pull request's comment is there"

tool "$W" "$TOK" pr_review '{"number":2,"event":"comment","body":"two notes","comments":[{"path":"hello.txt","line":2,"body":"why upper case?"},{"path":"new.txt","line":1,"body":"a new file"}]}'
expect_output false "commented on pull request #2 (review" "pr_review with inline comments"
expect_output false "2 inline comments" "pr_review counts them"
api GET /api/alice/agents/pulls/2/reviews "$ALICE"
expect_json .0.state COMMENTED "the review is in the reviews API"
expect_json .0.body "two notes" "its body"
expect_json .0.author alice "reviewed as alice"
api GET /api/alice/agents/pulls/2/comments "$ALICE"
expect_json .0.path hello.txt "the inline comment's path"
expect_json .0.line 2 "the inline comment's line"
expect_json .0.body "why upper case?" "the inline comment's body"
expect_json .1.path new.txt "the second inline comment"
tool "$W" "$TOK" pr_review '{"number":2,"event":"comment","body":"x","comments":[{"path":"hello.txt","line":40,"body":"nowhere"}]}'
expect_output true "comments[0]" "an inline comment on no line of the diff"
tool "$W" "$TOK" pr_review '{"number":2,"event":"approve","body":"ok"}'
expect_output true "you cannot approve your own pull request" "alice's agent cannot approve alice's pull request"
tool "$W" "$TOK" pr_review '{"number":2,"event":"merge"}'
expect_output true "event 'merge' is not one of comment, approve, request_changes" "an unknown verdict"
api GET /api/alice/agents/pulls/2/reviews "$ALICE"
expect_json .length 1 "refused reviews wrote nothing"

# ---- a reader's agent: what bob may, no more ----
api PATCH /api/repos/alice/agents "$ALICE" '{"issues_open_to_readers":false}'
expect_status 200 "agents closes issues to readers"
tool "$WB" "$BTOK" comment_on_issue '{"number":1,"body":"from bob'"'"'s agent"}'
expect_output true "only writers may open issues, comment or react in repository 'alice/agents'" "a reader's agent cannot comment where the reader cannot"
api GET /api/alice/agents/issues/1/comments "$ALICE"
expect_json .length 1 "nothing was posted"
api PATCH /api/repos/alice/agents "$ALICE" '{"issues_open_to_readers":true}'
tool "$WB" "$BTOK" comment_on_issue '{"number":1,"body":"bob here"}'
expect_output false "commented on #1" "once readers may, bob's agent may"
api GET /api/alice/agents/issues/1/comments "$ALICE"
expect_json .1.author bob "commented as bob"

# ---- pushes with the task token ----
git -C "$SRC" checkout -q main
echo more >>"$SRC/hello.txt"
(cd "$SRC" && git -c user.name=a -c user.email=a@x commit -qam "to main")
MAIN_BEFORE=$(git ls-remote "http://alice:$ALICE@127.0.0.1:$PORT/alice/agents.git" refs/heads/main | cut -f1)
OUT=$(git -C "$SRC" push "$AGENT_URL" main 2>&1)
check "the agent cannot push main" test $? -ne 0
check "main's refusal says why" grep -q "an agent may only push to branches under 'plue/' (refusing 'refs/heads/main')" <<<"$OUT"
check "main did not move" test "$(git ls-remote "http://alice:$ALICE@127.0.0.1:$PORT/alice/agents.git" refs/heads/main | cut -f1)" = "$MAIN_BEFORE"
git -C "$SRC" tag v1
OUT=$(git -C "$SRC" push "$AGENT_URL" v1 2>&1)
check "the agent cannot push a tag" test $? -ne 0
check "the tag's refusal says why" grep -q "refusing 'refs/tags/v1'" <<<"$OUT"
OUT=$(git -C "$SRC" push "$AGENT_URL" HEAD:refs/heads/plue/y refs/tags/v1 2>&1)
check "a push with one refused ref is refused whole" test $? -ne 0
check "plue/y was not made" test -z "$(git ls-remote "http://alice:$ALICE@127.0.0.1:$PORT/alice/agents.git" refs/heads/plue/y)"
OUT=$(git -C "$SRC" push "$AGENT_URL" :refs/heads/plue/x 2>&1)
check "the agent cannot delete its branch" test $? -ne 0
check "the deletion's refusal says why" grep -q "an agent may not delete branches" <<<"$OUT"
api PUT /api/alice/agents/protections/plue/locked "$ALICE" '{"no_force_push":true}'
expect_status 201 "protect plue/locked"
OUT=$(git -C "$SRC" push "$AGENT_URL" HEAD:refs/heads/plue/locked 2>&1)
check "the agent cannot push a protected plue/ branch" test $? -ne 0
check "the protection's refusal says why" grep -q "branch 'plue/locked' is protected (rule 'plue/locked'): an agent never pushes to it" <<<"$OUT"
check "alice herself may still make plue/locked" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/agents.git" HEAD:refs/heads/plue/locked
git -C "$SRC" checkout -q plue/x
echo again >>"$SRC/new.txt"
(cd "$SRC" && git -c user.name=a -c user.email=a@x commit -qam "agent again")
check "the agent updates plue/x" git -C "$SRC" push -q "$AGENT_URL" plue/x
BOB_URL="http://x:$BTOK@127.0.0.1:$PORT/alice/agents.git"
OUT=$(git -C "$SRC" push "$BOB_URL" HEAD:refs/heads/plue/bob 2>&1)
check "a reader's agent cannot push, even to plue/" test $? -ne 0
check "the reader's refusal says why" grep -q "this agent acts for a user without write access to repository 'alice/agents'" <<<"$OUT"
check "a reader's agent still fetches" git ls-remote --exit-code -q "$BOB_URL" refs/heads/main >/dev/null

# ---- reads: its own repository only ----
check "the agent clones its repository" git clone -q "$AGENT_URL" "$T_DIR/mine"
OUT=$(git clone -q "http://x:$TOK@127.0.0.1:$PORT/alice/other.git" "$T_DIR/theirs" 2>&1)
check "the agent cannot clone another private repository" test $? -ne 0
check "nothing was cloned" test ! -d "$T_DIR/theirs/.git"
api GET /api/repos/alice/other "$TOK"
expect_error 404 not_found "repository 'alice/other' not found" "nor read it through the API"

# ---- once the workload is done, the token is dead ----
sql "UPDATE workloads SET status = 'done', task_token_hash = NULL WHERE id = $W" >/dev/null
tool "$W" "$TOK" create_issue '{"title":"late"}'
expect_error 401 invalid_token "invalid or expired task token" "a finished workload's token"
OUT=$(git -C "$SRC" push "$AGENT_URL" HEAD:refs/heads/plue/late 2>&1)
check "a finished workload's token pushes nothing" test $? -ne 0

finish
