#!/usr/bin/env bash
# 67-replicas: two `plue serve` replicas on one PostgreSQL (the first's
# cluster, reached by the second through its Unix socket as an external
# database) and one data directory behave as one. The warm pool runs on A
# only, so every workload created through B is claimed across. Checked:
# an SSE subscriber on B receives, live, in order, with no gap and nothing
# twice, what the runner posts to A; a cancel through B stops a step whose
# runner talks to A; after a repository turns private (or is deleted)
# through one replica, the other answers 404 at once — its visibility
# hint and object cache do not outlive the change; pushes and merges
# through A and B at once lose no commit, and identical clones through both
# share the pack cache's volume; a sign-in cookie from A works on B and a
# registration limit counts both; each event is dispatched once, each
# webhook delivery is made once, each cron minute fires once and a pushed
# repository is maintained once; a runner that dies is retried once
# although both replicas reap; an agent's tokens, streamed through A's
# model proxy, reach a watcher on B whole, and an abort through B closes
# the model call on A; and a replica killed with SIGKILL mid-stream loses nothing for a
# client that resumes on the other with Last-Event-ID. The model provider
# is the protocol double of tests/llm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agents-lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=2
export PLUE_RUNNER_SECRET=replicas-test-secret
export PLUE_LLM_API_KEY=sk-ant-test-replicas
export PLUE_REGISTER_LIMIT=2
export PLUE_WEBHOOK_ALLOW_NETS=127.0.0.1/32
export PLUE_MAINTAIN_DEBOUNCE=1 PLUE_MAINTAIN_JOBS=2
start_double D anthropic-double.mjs
DA="http://127.0.0.1:$D_PORT"
export PLUE_LLM_BASE_URL=$DA
start_server
A=$BASE
APORT=$PORT
start_peer replica-b --warm-pool 0
B=$PEER_BASE
BPORT=$PEER_PORT
ALICE=$(new_user alice)
BOB=$(new_user bob)

# at BASE-URL: the next api calls go to that replica
at() { BASE=$1; }

# ---- a repository with workflows, created through B ----
at "$B"
api POST /api/repos "$ALICE" '{"name":"ci"}'
expect_status 201 "create repo through B"
# dispatch FILE: workflow FILE of alice/ci started by hand; prints the run id
dispatch() { dispatch_in alice/ci "$1"; }

SRC="$T_DIR/src"
git init -q "$SRC"
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/stream.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  count:
    steps:
      - name: Count
        run: sleep 1; for i in $(seq 1 300); do echo "line-$i"; if [ $((i % 20)) = 0 ]; then sleep 0.1; fi; done
  other:
    steps:
      - run: sleep 1; for i in $(seq 1 50); do echo "other-$i"; done; head -c 20000 /dev/zero | tr '\0' x; echo
EOF
cat >"$SRC/.plue/workflows/slow.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  long:
    steps:
      - name: Wait
        run: echo started; sleep 300; echo never
EOF
cat >"$SRC/.plue/workflows/tick.yaml" <<'EOF'
on:
  schedule:
    - cron: "* * * * *"
jobs:
  tick:
    steps:
      - run: echo tick
EOF
cat >"$SRC/.plue/workflows/push.yaml" <<'EOF'
on: push
jobs:
  build:
    steps:
      - run: echo "pushed $PLUE_SHA"
EOF
(cd "$SRC" && git add . && git commit -qm workflows && git push -q "http://alice:$ALICE@127.0.0.1:$BPORT/alice/ci.git" main)


# ---- the push through B ran on A's runners ----
for i in $(seq 1 200); do
	PUSHRUN=$(sql "SELECT id FROM workflow_runs WHERE workflow_path = '.plue/workflows/push.yaml'")
	[ -n "$PUSHRUN" ] && break
	sleep 0.1
done
check "push through B created a run" test -n "$PUSHRUN"
wait_run "$PUSHRUN"
expect_json .status success "push run through B succeeded on A's runners"

# ---- an SSE client on B; the runner posts to A ----
cat >"$T_DIR/sse.js" <<'EOF'
// Reads a run's SSE stream from the first base URL; when the connection
// ends before `done` it resumes on the next one (the last is kept) with
// Last-Event-ID. After `cut` log events it touches `marker` (the test
// then kills the replica). Prints every log line and a summary: whether
// the ids went up by exactly one each time (no gap, nothing twice).
const http = require("http");
const fs = require("fs");
const { sseEvents } = require(process.env.SSE_LIB);
const [bases, run, token, cut, marker] = process.argv.slice(2);
const urls = bases.split(",");
let last = null, lines = [], ids = [], reconnects = 0, done = false, logs = 0, k = 0;
function connect() {
	const headers = { Authorization: "Bearer " + token };
	if (last !== null) headers["Last-Event-ID"] = String(last);
	const base = urls[Math.min(k, urls.length - 1)];
	const req = http.get(`${base}/api/runs/${run}/stream`, { headers }, (res) => {
		if (res.statusCode !== 200) { console.log("STATUS " + res.statusCode); process.exit(1); }
		sseEvents(res, (id, ev, data) => {
			ids.push(id); last = id;
			if (ev === "log") { lines.push(JSON.parse(data).line); logs++; }
			if (ev === "done") done = true;
			if (marker && logs === +cut) fs.writeFileSync(marker, String(id));
		});
		res.on("end", () => { if (done) finish(); else again(); });
		res.on("error", again);
	});
	req.on("error", again);
}
let pending = false;
function again() {
	if (done || pending) return;
	pending = true; reconnects++; k++;
	setTimeout(() => { pending = false; connect(); }, 200);
}
function finish() {
	for (const l of lines) console.log("LINE " + l);
	const step = ids.every((v, i) => v === (i === 0 ? 1 : ids[i - 1] + 1));
	console.log(`SUMMARY step=${step} done=${done} reconnects=${reconnects > 0}`);
	process.exit(0);
}
setTimeout(() => { console.log("TIMEOUT"); finish(); }, 120000);
connect();
EOF
# stream_ok OUT NAME: the whole count log and the other job's, once each, in order
stream_ok() {
	check "$2: ids step by one from 1, done seen" grep -q "^SUMMARY step=true done=true" "$1"
	grep '^LINE line-' "$1" | sed 's/^LINE //' >"$T_DIR/got.txt"
	seq 1 300 | sed 's/^/line-/' >"$T_DIR/want.txt"
	check "$2: the count log is complete, in order, nothing doubled" cmp -s "$T_DIR/got.txt" "$T_DIR/want.txt"
	check "$2: the other job's 50 lines arrived once each" test "$(grep -c '^LINE other-' "$1")" = 50
	# events over NOTIFY's 8000 bytes (the runner cuts the line at 8 KiB):
	# ids travel, not events
	check "$2: a 20000-byte line arrived whole" test "$(grep '^LINE xxx' "$1" | tr -cd x | wc -c)" = 20000
}
at "$B"
RUN=$(dispatch stream.yaml)
check "stream run dispatched through B" test -n "$RUN"
node "$T_DIR/sse.js" "$B" "$RUN" "$ALICE" 0 "" >"$T_DIR/sse-b.out"
stream_ok "$T_DIR/sse-b.out" "live on B"
check "live on B: one connection was enough" grep -q "reconnects=false" "$T_DIR/sse-b.out"
check "the runner posted to A, not B" test "$(grep -c "/internal/tasks/" "$T_DIR/replica-b.log")" = 0
wait_run "$RUN"
expect_json .status success "stream run succeeded"

# ---- cancel through B of a step running on A's runner ----
at "$B"
SLOW=$(dispatch slow.yaml)
for i in $(seq 1 600); do
	api GET "/api/runs/$SLOW/logs" "$ALICE"
	grep -q started <<<"$BODY_OUT" && break
	sleep 0.1
done
check "slow step started" grep -q started <<<"$BODY_OUT"
# a watcher on B: the runner's events come through A, the cancel's own
# through B, into one stream
node "$T_DIR/sse.js" "$B" "$SLOW" "$ALICE" 0 "" >"$T_DIR/sse-cancel.out" &
CW=$!
api POST "/api/runs/$SLOW/cancel" "$ALICE"
expect_status 202 "cancel through B"
wait_run "$SLOW"
expect_json .status cancelled "run cancelled through B stopped on A's runner"
wait "$CW"
check "watcher on B of the cancelled run: ids step by one, done seen" grep -q "^SUMMARY step=true done=true reconnects=false" "$T_DIR/sse-cancel.out"
api GET "/api/runs/$SLOW/logs" "$ALICE"
check "the cancelled step never finished" test "$(grep -c never <<<"$BODY_OUT")" = 0

# ---- an agent session: tokens through A's model proxy, watched on B ----
cat >"$T_DIR/watch.js" <<'EOF'
// Watches a session's stream until the turn's `done`; prints whether the
// ids went up by one and the text of its tokens.
const http = require("http");
const { sseEvents } = require(process.env.SSE_LIB);
const [base, session, token] = process.argv.slice(2);
let ids = [], text = "";
http.get(`${base}/api/sessions/${session}/stream`, { headers: { Authorization: "Bearer " + token } }, (res) => {
	console.log("OPEN");
	sseEvents(res, (id, ev, data) => {
		ids.push(id);
		if (ev === "token") text += JSON.parse(data).text;
		if (ev === "done") {
			console.log(`STEP ${ids.every((v, i) => v === (i === 0 ? 1 : ids[i - 1] + 1))}`);
			console.log(`TEXT ${text}`);
			process.exit(0);
		}
	});
});
setTimeout(() => { console.log("TIMEOUT"); process.exit(1); }, 60000);
EOF
WORDS=$(printf 'w%d ' $(seq 1 60))
script "$DA" "[{\"content\":[{\"type\":\"text\",\"text\":\"$WORDS\"}],\"delay_ms\":10}]"
at "$B"
SES=$(new_session '{"title":"watched"}' "$ALICE" alice/ci)
node "$T_DIR/watch.js" "$B" "$SES" "$ALICE" >"$T_DIR/watch.out" &
WATCH=$!
# its response has begun: it is subscribed (the replay is over)
for i in $(seq 1 100); do grep -q '^OPEN$' "$T_DIR/watch.out" && break; sleep 0.05; done
check "the watcher on B is subscribed" grep -q '^OPEN$' "$T_DIR/watch.out"
api POST "/api/sessions/$SES/messages" "$ALICE" '{"content":"talk"}'
expect_status 202 "message through B"
wait "$WATCH"
check "session on B: ids step by one" grep -qx "STEP true" "$T_DIR/watch.out"
check "session on B: every token, in order" grep -qxF "TEXT $WORDS" "$T_DIR/watch.out"
wait_idle "$SES"
# abort through B of a model call running on A
LONG=$(printf 'word%.0s ' $(seq 1 200))
script "$DA" "[{\"content\":[{\"type\":\"text\",\"text\":\"$LONG\"}],\"delay_ms\":50}]"
at "$A"
SEQ0=$(sql "SELECT s.last_seq FROM streams s JOIN agent_sessions a ON a.stream_id = s.id WHERE a.id = $SES")
api POST "/api/sessions/$SES/messages" "$ALICE" '{"content":"talk more"}'
check "the second turn streams tokens" sql_is "SELECT count(*) > 0 FROM workload_events e JOIN agent_sessions a ON a.stream_id = e.stream_id WHERE a.id = $SES AND e.type = 'token' AND e.stream_seq > $SEQ0" t 600
at "$B"
api POST "/api/sessions/$SES/abort" "$ALICE"
expect_status 202 "abort through B while A streams tokens"
wait_idle "$SES"
wait_event "$SES" aborted
check "the model stream on A was closed early" node -e '
 const r=JSON.parse(require("fs").readFileSync(0,"utf8"));process.exit(r[r.length-1].closed_early?0:1)' <<<"$(requests "$DA")"

# ---- visibility: a change through one replica, the other answers at once ----
at "$A"
api POST /api/repos "$ALICE" '{"name":"site"}'
expect_status 201 "create site"
W="$T_DIR/site"
git init -q "$W"
(cd "$W" && echo "hello" >README && git add . && git commit -qm readme && git push -q "http://alice:$ALICE@127.0.0.1:$APORT/alice/site.git" main)
SHA=$(git -C "$W" rev-parse HEAD)
BLOB="/api/alice/site/blob/$SHA/README"
# anon REPLICA: status and Cache-Control of an anonymous read of the blob
anon() {
	curl -s -o /dev/null -D "$T_DIR/anon.h" -w '%{http_code}' "$1$BLOB" >"$T_DIR/anon.s"
	echo "$(cat "$T_DIR/anon.s") $(grep -i '^cache-control:' "$T_DIR/anon.h" | cut -d' ' -f2 | tr -d '\r')"
}
for round in 1 2 3; do
	for side in A B; do
		if [ $side = A ]; then CHG=$A; OTHER=$B; else CHG=$B; OTHER=$A; fi
		at "$CHG"
		api PATCH /api/repos/alice/site "$ALICE" '{"private":false}'
		# twice on the other replica: the second comes from its fast path
		anon "$OTHER" >/dev/null
		check "round $round: public blob served by the other replica" test "$(anon "$OTHER")" = "200 public,"
		api PATCH /api/repos/alice/site "$ALICE" '{"private":true}'
		expect_status 200 "round $round: made private through $side"
		got=$(anon "$OTHER")
		check "round $round: private through $side, the other answers 404 at once (got $got)" test "${got%% *}" = 404
		got=$(curl -s -o /dev/null -D - -H "Authorization: Bearer $ALICE" "$OTHER$BLOB" | tr -d '\r' | grep -i '^cache-control:')
		check "round $round: the owner reads it as private there ($got)" grep -q "private" <<<"$got"
	done
done
# deletion through A while B has the hint
at "$A"
api POST /api/repos "$ALICE" '{"name":"gone"}'
(cd "$W" && git push -q "http://alice:$ALICE@127.0.0.1:$APORT/alice/gone.git" main)
GBLOB="/api/alice/gone/blob/$SHA/README"
curl -s -o /dev/null "$B$GBLOB"
check "gone: served by B while it exists" test "$(curl -s -o /dev/null -w '%{http_code}' "$B$GBLOB")" = 200
api DELETE /api/repos/alice/gone "$ALICE"
expect_status 204 "delete through A"
check "gone: B answers 404 at once" test "$(curl -s -o /dev/null -w '%{http_code}' "$B$GBLOB")" = 404
# a replica that cannot acknowledge (stopped): the change through A waits for
# it — up to its bound — and says it did not come; with both answering, the
# rounds above never had to
check "no change above went unacknowledged" bash -c '! grep -q "replicas acknowledged a visibility change" "$1"' _ "$T_DIR/serve.log"
at "$A"
api PATCH /api/repos/alice/site "$ALICE" '{"private":false}'
kill -STOP "$PEER_PID"
api PATCH /api/repos/alice/site "$ALICE" '{"private":true}'
expect_status 200 "made private through A while B is stopped"
kill -CONT "$PEER_PID"
check "A waited for B's acknowledgement and said it did not come" \
	grep -q "relay: 1 of 2 replicas acknowledged a visibility change" "$T_DIR/serve.log"

# ---- pushes through A and B at once ----
at "$A"
api POST /api/repos "$ALICE" '{"name":"race"}'
api PUT /api/repos/alice/race/collaborators/bob "$ALICE" '{"role":"write"}'
# a webhook on it: both replicas' delivery workers compete for its deliveries
cat >"$T_DIR/receiver.js" <<'EOF'
// Logs each delivery's id, one a line, and answers 200.
const http = require("http"), fs = require("fs");
const [log, portFile] = process.argv.slice(2);
http.createServer((req, res) => {
	req.resume();
	req.on("end", () => { fs.appendFileSync(log, req.headers["x-github-delivery"] + "\n"); res.end("ok"); });
}).listen(0, "127.0.0.1", function () { fs.writeFileSync(portFile, String(this.address().port)); });
EOF
node "$T_DIR/receiver.js" "$T_DIR/deliveries" "$T_DIR/rport" 2>"$T_DIR/receiver.log" &
DOUBLE_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T_DIR/rport" ] && break; sleep 0.1; done
api POST /api/alice/race/hooks "$ALICE" "{\"url\":\"http://127.0.0.1:$(cat "$T_DIR/rport")/hook\",\"events\":[\"push\",\"pull_request\"]}"
expect_status 201 "a webhook on race"
UA="http://alice:$ALICE@127.0.0.1:$APORT/alice/race.git"
UB="http://bob:$BOB@127.0.0.1:$BPORT/alice/race.git"
R="$T_DIR/race"
git init -q "$R"
cd "$R"
echo base >base.txt && git add . && git commit -qm base && git push -q "$UA" main
in_main() { git fetch -q "$UA" main && git merge-base --is-ancestor "$1" FETCH_HEAD; }
for round in 1 2 3 4 5; do
	git fetch -q "$UA" main && git checkout -q -B main FETCH_HEAD
	git checkout -q -b "a$round" main && echo "a$round" >"a$round.txt" && git add . && git commit -qm "a$round"
	ca=$(git rev-parse HEAD)
	git checkout -q -b "b$round" main && echo "b$round" >"b$round.txt" && git add . && git commit -qm "b$round"
	cb=$(git rev-parse HEAD)
	# both to main at once, and each to its own branch at once
	git push -q "$UA" "$ca:refs/heads/main" 2>/dev/null &
	pa=$!
	git push -q "$UB" "$cb:refs/heads/main" 2>/dev/null &
	pb=$!
	git push -q "$UA" "$ca:refs/heads/ta$round" &
	qa=$!
	git push -q "$UB" "$cb:refs/heads/tb$round" &
	qb=$!
	wait $pa; ra=$?
	wait $pb; rb=$?
	wait $qa; sa=$?
	wait $qb; sb=$?
	check "push round $round: exactly one push to main landed ($ra/$rb)" test $((ra == 0 ? 1 : 0)) -ne $((rb == 0 ? 1 : 0))
	[ $ra = 0 ] && check "push round $round: A's reported push is in main" in_main "$ca"
	[ $rb = 0 ] && check "push round $round: B's reported push is in main" in_main "$cb"
	check "push round $round: both branch pushes landed" test "$sa$sb" = 00
	check "push round $round: branches table agrees with git" test \
		"$(sql "SELECT b.name || ' ' || b.commit_sha FROM branches b JOIN repositories r ON r.id = b.repo_id WHERE r.name = 'race' AND b.name IN ('main', 'ta$round', 'tb$round') ORDER BY b.name")" = \
		"$(git ls-remote "$UA" main "ta$round" "tb$round" | awk '{sub("refs/heads/", "", $2); print $2 " " $1}' | sort)"
done

# ---- merges through A and B at once all land (the merge lock is in PostgreSQL) ----
merge_bg() {
	curl -s -o "$T_DIR/m-$1.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $3" \
		-H 'Content-Type: application/json' --data-binary '{"method":"merge"}' \
		"$2/api/alice/race/pulls/$1/merge" >"$T_DIR/m-$1.status" &
}
for round in 1 2; do
	git fetch -q "$UA" main && git checkout -q -B main FETCH_HEAD
	nums=()
	for k in 1 2 3 4; do
		b="m$round-$k"
		git checkout -q -b "$b" main && echo "$b" >"$b.txt" && git add . && git commit -qm "$b"
		git push -q "$UA" "$b"
		at "$A"
		api POST /api/alice/race/pulls "$ALICE" "{\"title\":\"$b\",\"head\":\"$b\",\"base\":\"main\"}"
		nums+=("$(json .number)")
	done
	pids=()
	for i in "${!nums[@]}"; do
		if [ $((i % 2)) = 0 ]; then merge_bg "${nums[$i]}" "$A" "$ALICE"; else merge_bg "${nums[$i]}" "$B" "$BOB"; fi
		pids+=($!)
	done
	wait "${pids[@]}"
	landed=0
	for n in "${nums[@]}"; do [ "$(cat "$T_DIR/m-$n.status")" = 200 ] && landed=$((landed + 1)); done
	check "merge round $round: all four merges through A and B landed ($landed)" test "$landed" = 4
	git fetch -q "$UA" main
	check "merge round $round: four changes in main" test "$(git ls-tree --name-only FETCH_HEAD | grep -c "^m$round-")" = 4
done
cd "$T_DIR"

# ---- sign-in sessions and rate limits are PostgreSQL's ----
# capi METHOD PATH JAR [BODY]: api with a cookie jar, as a browser
capi() {
	local args=(-s -o "$T_DIR/body" -w '%{http_code}' -X "$1" -b "$3" -c "$3")
	[ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	STATUS=$(curl "${args[@]}" "$BASE$2")
	BODY_OUT=$(cat "$T_DIR/body")
}
at "$A"
capi POST /api/auth/register "$T_DIR/carol.jar" '{"username":"carol","password":"correct horse"}'
expect_status 201 "carol registers through A"
at "$B"
capi GET /api/auth/me "$T_DIR/carol.jar"
expect_json .user.username carol "carol's session cookie from A works on B"
capi POST /api/auth/register "$T_DIR/dave.jar" '{"username":"dave","password":"correct horse"}'
expect_status 201 "dave registers through B (the second of the hour)"
at "$A"
capi POST /api/auth/register "$T_DIR/erin.jar" '{"username":"erin","password":"correct horse"}'
expect_error 429 rate_limited "" "the third registration from this address, through A, counts B's"

# ---- the pack cache shared on one volume: identical clones through both ----
clones=()
for k in 1 2 3; do
	git clone -q "http://alice:$ALICE@127.0.0.1:$APORT/alice/race.git" "$T_DIR/ca$k" &
	clones+=($!)
	git clone -q "http://alice:$ALICE@127.0.0.1:$BPORT/alice/race.git" "$T_DIR/cb$k" &
	clones+=($!)
done
wait "${clones[@]}"
RACE_MAIN=$(git ls-remote "$UA" refs/heads/main | cut -f1)
for k in 1 2 3; do
	for s in a b; do
		check "clone $s$k is whole" git -C "$T_DIR/c$s$k" fsck --no-progress --no-dangling
		check "clone $s$k has main" test "$(git -C "$T_DIR/c$s$k" rev-parse HEAD)" = "$RACE_MAIN"
	done
done

# ---- background jobs once ----
settle
check "every event dispatched once (no event has two runs of one file)" test \
	"$(sql "SELECT count(*) FROM (SELECT 1 FROM workflow_runs WHERE event_id IS NOT NULL GROUP BY event_id, workflow_path HAVING count(*) > 1) x")" = 0
# a scheduled minute: both schedulers wake for it, one fires
check "a cron minute fired" sql_is "SELECT count(*) > 0 FROM events WHERE type = 'schedule'" t 750
check "no cron minute fired twice" test \
	"$(sql "SELECT count(*) - count(DISTINCT payload->>'scheduled_at') FROM events WHERE type = 'schedule'")" = 0

# webhooks: every delivery made, each once although both replicas deliver
check "every webhook delivery was made" sql_is "SELECT count(*) > 10 AND bool_and(status = 'delivered') FROM webhook_deliveries" t 600
N_DEL=$(sql "SELECT count(*) FROM webhook_deliveries")
check "each delivery reached the receiver once ($(wc -l <"$T_DIR/deliveries") received, $N_DEL made)" test \
	"$(sort -u "$T_DIR/deliveries" | wc -l)/$(wc -l <"$T_DIR/deliveries")" = "$N_DEL/$N_DEL"
# housekeeping: four schedulers (two per replica) saw site's one push; one ran it
check "site's push was maintained" sql_is "SELECT m.runs > 0 AND m.first_push_at IS NULL FROM repo_maintenance m JOIN repositories r ON r.id = m.repo_id WHERE r.name = 'site'" t 300
check "site was maintained once" test "$(sql "SELECT m.runs FROM repo_maintenance m JOIN repositories r ON r.id = m.repo_id WHERE r.name = 'site'")" = 1
# a runner killed mid-step: both reapers see it dead, the job is retried once
at "$B"
SLOW2=$(dispatch slow.yaml)
for i in $(seq 1 600); do
	RPID=$(sql "SELECT r.pid FROM runners r JOIN workloads w ON w.runner_id = r.id JOIN workflow_jobs j ON j.id = w.job_id WHERE j.run_id = $SLOW2 AND w.status = 'running'")
	[ -n "$RPID" ] && break
	sleep 0.1
done
check "slow step running on a runner of A" test -n "$RPID"
kill -KILL "$RPID" 2>/dev/null
check "the job was retried as attempt 2" sql_is "SELECT count(*) FROM workloads w JOIN workflow_jobs j ON j.id = w.job_id WHERE j.run_id = $SLOW2 AND w.attempt = 2 AND w.status IN ('claimed', 'running')" 1 900
check "retried once, not twice" test "$(sql "SELECT count(*) FROM workloads w JOIN workflow_jobs j ON j.id = w.job_id WHERE j.run_id = $SLOW2")" = 1
check "one retry notice in the stream" test "$(sql "SELECT count(*) FROM workload_events e JOIN workflow_runs r ON r.stream_id = e.stream_id WHERE r.id = $SLOW2 AND e.payload->>'message' LIKE '%retrying as attempt 2%'")" = 1
at "$A"
api POST "/api/runs/$SLOW2/cancel" "$ALICE"
wait_run "$SLOW2"

# ---- B killed with SIGKILL mid-stream: the client resumes on A ----
at "$A"
RUN2=$(dispatch stream.yaml)
rm -f "$T_DIR/cut"
node "$T_DIR/sse.js" "$B,$A" "$RUN2" "$ALICE" 100 "$T_DIR/cut" >"$T_DIR/sse-kill.out" &
NODE=$!
for i in $(seq 1 600); do [ -f "$T_DIR/cut" ] && break; sleep 0.05; done
check "the client on B got 100 lines live" test -f "$T_DIR/cut"
{ kill -KILL "$PEER_PID"; wait "$PEER_PID"; } 2>/dev/null
wait "$NODE"
stream_ok "$T_DIR/sse-kill.out" "across the kill"
check "across the kill: the client resumed" grep -q "reconnects=true" "$T_DIR/sse-kill.out"
wait_run "$RUN2" || true
finish
