#!/usr/bin/env bash
# 59-sse-many: many subscribers of one run's stream. 300 clients follow
# /api/runs/:id/stream of a run fed by hand through the runner protocol;
# each new event reaches every one of them, and three times over they all
# disconnect and resume with Last-Event-ID, getting exactly the events
# after it: nothing lost, nothing twice. Counts only, no timing.
. "$(dirname "$0")/lib.sh"
export PLUE_WARM_POOL=0
export PLUE_RUNNER_SECRET="many-secret-$RANDOM$RANDOM"
N=300
start_server --max-connections 1000 --per-ip-limit 1000
ALICE=$(new_user alice)
api POST /api/repos "$ALICE" '{"name":"many"}'
expect_status 201 "create many"
SRC="$T_DIR/src"
git init -q -b main "$SRC"
mkdir -p "$SRC/.plue/workflows"
printf 'on: workflow_dispatch\njobs:\n  one:\n    steps:\n      - run: echo hello\n' >"$SRC/.plue/workflows/hand.yaml"
(cd "$SRC" && git add . && git commit -qm "workflow")
check "push many" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/many.git" main

api POST /internal/runners/register "$PLUE_RUNNER_SECRET" '{"host":"by-hand","pid":1,"sandbox":"none"}'
expect_status 201 "register"
RID=$(json .id)
RTOK=$(json .token)
api POST /api/alice/many/workflows/hand.yaml/dispatch "$ALICE" '{}'
expect_status 202 "dispatch"
sql_is "SELECT count(*) FROM workloads WHERE status = 'waiting'" 1 100
api POST "/internal/runners/$RID/claim" "$RTOK"
expect_status 200 "claim"
WID=$(json .workload)
TT=$(json .task_token)
SEQ=$(json .seq_start)
api POST "/internal/tasks/$WID/events" "$TT" "{\"events\":[{\"seq\":$SEQ,\"type\":\"step_start\",\"payload\":{\"step\":1,\"name\":\"many\"}},{\"seq\":$((SEQ + 1)),\"type\":\"log\",\"payload\":{\"step\":1,\"stream\":\"stdout\",\"line\":\"before\"}}]}"
expect_status 200 "the first events"
RUN=$(sql "SELECT j.run_id FROM workflow_jobs j JOIN workloads w ON w.job_id = j.id WHERE w.id = $WID")
LAST=$(sql "SELECT max(stream_seq) FROM workload_events WHERE workload_id = $WID")

# N subscribers; then, for each of ROUNDS rounds: one new event, awaited by
# all, and (but after the last) every subscriber drops its connection and
# resumes with the last id it saw. Prints one line of counts per round.
cat >"$T_DIR/many.js" <<'EOF'
const http = require("http");
const [base, run, token, wid, tt, seq0, last0, n] = process.argv.slice(2);
const N = +n, ROUNDS = 4;
let seq = +seq0;
function post(line) {
	const body = JSON.stringify({ events: [{ seq: seq++, type: "log", payload: { step: 1, stream: "stdout", line } }] });
	const req = http.request(`${base}/internal/tasks/${wid}/events`, { method: "POST", agent: false,
		headers: { Authorization: `Bearer ${tt}`, "Content-Type": "application/json" } }, (res) => res.resume());
	req.end(body);
}
const subs = [];
function connect(s) {
	s.buf = ""; s.got = []; s.status = 0;
	const headers = { Authorization: `Bearer ${token}` };
	if (s.last) headers["Last-Event-ID"] = String(s.last);
	s.req = http.get(`${base}/api/runs/${run}/stream`, { agent: false, headers }, (res) => {
		s.status = res.statusCode;
		res.setEncoding("utf8");
		res.on("data", (d) => {
			s.buf += d;
			let i;
			while ((i = s.buf.indexOf("\n\n")) >= 0) {
				const block = s.buf.slice(0, i);
				s.buf = s.buf.slice(i + 2);
				const id = /^id: (\d+)$/m.exec(block), data = /^data: (.*)$/m.exec(block);
				if (!id) continue;
				s.got.push(+id[1]);
				s.last = +id[1];
				if (data) s.lines.push(JSON.parse(data[1]).line);
			}
			tick();
		});
	});
	s.req.on("error", () => {});
}
for (let i = 0; i < N; i++) { const s = { last: 0, lines: [] }; subs.push(s); connect(s); }
let round = 0, posted = false;
function tick() {
	if (round === 0) { // the replay: everyone has the stored events
		if (subs.every((s) => s.last >= +last0)) { round = 1; posted = false; }
		else return;
	}
	if (!posted) {
		if (!subs.every((s) => s.status === 200)) return;
		posted = true;
		post(`fan-${round}`);
		return;
	}
	const want = `fan-${round}`;
	if (!subs.every((s) => s.lines.includes(want))) return;
	// every subscriber saw it: since connecting, each got only what follows its Last-Event-ID
	const resumed = round > 1;
	const exact = subs.filter((s) => !resumed || (s.got.length === 1 && s.lines[s.lines.length - 1] === want)).length;
	const dups = subs.filter((s) => s.lines.filter((l) => l === want).length !== 1).length;
	console.log(`round ${round} received ${N} exact ${exact} twice ${dups}`);
	if (round === ROUNDS) process.exit(0);
	round++;
	posted = false;
	for (const s of subs) { s.req.destroy(); connect(s); }
}
setInterval(tick, 100);
setTimeout(() => {
	const have = subs.filter((s) => s.lines.includes(`fan-${round}`)).length;
	console.log(`round ${round} timed out: received ${have} of ${N}`);
	process.exit(1);
}, 120000);
EOF
node "$T_DIR/many.js" "$BASE" "$RUN" "$ALICE" "$WID" "$TT" $((SEQ + 2)) "$LAST" "$N" >"$T_DIR/many.out" 2>&1
cat "$T_DIR/many.out"
for r in 1 2 3 4; do
	check "round $r: all $N subscribers received the event, once, nothing else after resuming" \
		grep -qx "round $r received $N exact $N twice 0" "$T_DIR/many.out"
done
finish
