#!/usr/bin/env bash
# replicas.sh — cross-replica fan-out: two `plue serve` replicas on one
# PostgreSQL (the first's cluster, reached by the second through its Unix
# socket) and one data directory. One workflow run is fed by hand through
# the runner protocol on replica A; one SSE subscriber of the run's stream
# is connected to A, another to B. Each sample POSTs one log line to A
# (the runner's events call) and times, from just before the POST, its
# arrival at each subscriber:
#
#   on A (the peer)   the same-replica path: published by the thread that
#                     stored it
#   on B              NOTIFY at COMMIT → B's relay → read from the table →
#                     B's subscriber (queue/relay.h)
#
# printed as p50/p99 each and B's as a ratio of A's (target: B's p99 ≤ 50
# ms). Samples are sequential (the next line after both got the last) with
# a short pause; REPLICAS_BURST lines per POST measure a batch.
#
# Usage: PLUE=path/to/plue bash bench/replicas.sh
# Knobs: REPLICAS_SAMPLES (default 300), REPLICAS_BURST (lines per POST,
#        default 1), KEEP_TMP=1.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=replicas
. "$(dirname "$0")/lib.sh"
SAMPLES=${REPLICAS_SAMPLES:-300}
BURST=${REPLICAS_BURST:-1}
require_tools node curl git python3 psql

bench_init plue-replicas-bench
SECRET="replicas-bench-$RANDOM$RANDOM"
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off
	PLUE_RUNNER_SECRET="$SECRET" HOME="$WORK/home")
mkdir -p "$WORK/home"
B_PID=""
stop_extra() { stop_pid "$B_PID"; B_PID=""; }

plue_start
A_BASE=$BASE
# replica B: the same data directory, A's database as an external one
env "${PLUE_ENV[@]}" PLUE_DATABASE_URL="host=$WORK/plue/pg dbname=plue user=plue" \
	"$PLUE" serve --port 0 >"$WORK/b.out" 2>"$WORK/b.log" &
B_PID=$!
B_PORT=""
for _ in $(seq 1 600); do
	B_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/b.out" 2>/dev/null | head -1)
	[ -n "$B_PORT" ] && break
	kill -0 "$B_PID" 2>/dev/null || die "replica B exited during start: $(cat "$WORK/b.log")"
	sleep 0.1
done
[ -n "$B_PORT" ] || die "replica B did not start"
B_BASE="http://127.0.0.1:$B_PORT"

# one workflow run fed by hand
SRC="$WORK/src"
git init -q -b main "$SRC"
mkdir -p "$SRC/.plue/workflows"
printf 'on: workflow_dispatch\njobs:\n  one:\n    steps:\n      - run: echo hello\n' >"$SRC/.plue/workflows/hand.yaml"
git -C "$SRC" add . && git -C "$SRC" -c user.name=b -c user.email=b@b commit -qm workflow
plue_user bench repo:read,repo:write,user
plue_repo fan
plue_push "$SRC" fan main || die "push failed"
bench_claim bench/fan hand.yaml
RUN=$(psql -qtAX "host=$WORK/plue/pg dbname=plue user=plue" -c \
	"SELECT j.run_id FROM workflow_jobs j JOIN workloads w ON w.job_id = j.id WHERE w.id = $WID")

cat >"$WORK/fan.mjs" <<'EOF'
// Two SSE subscribers (A, B) of one run; posts log lines to A one sample at
// a time and prints "SAMPLE msA msB" per sample.
import http from "node:http";
const [a, b, run, token, wid, tt, seq0, samples, burst] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true });
const waiting = new Map(); // marker -> {t0, got: {A, B}, resolve}
function watch(base, name) {
	return new Promise((ready) => {
		http.get(`${base}/api/runs/${run}/stream`, { headers: { Authorization: "Bearer " + token } }, (res) => {
			let buf = "";
			res.setEncoding("utf8");
			ready();
			res.on("data", (d) => {
				const now = process.hrtime.bigint();
				buf += d;
				let j;
				while ((j = buf.indexOf("\n\n")) >= 0) {
					const block = buf.slice(0, j); buf = buf.slice(j + 2);
					const m = /"line": ?"(mark-\d+)-last"/.exec(block);
					if (!m) continue;
					const w = waiting.get(m[1]);
					if (!w || w.got[name]) continue;
					w.got[name] = Number(now - w.t0) / 1e6;
					if (w.got.A !== undefined && w.got.B !== undefined) w.resolve();
				}
			});
		});
	});
}
function post(body) {
	return new Promise((resolve, reject) => {
		const req = http.request(`${a}/internal/tasks/${wid}/events`, { method: "POST", agent,
			headers: { Authorization: "Bearer " + tt, "Content-Type": "application/json" } }, (res) => {
			res.resume(); res.on("end", () => res.statusCode === 200 ? resolve() : reject(new Error("status " + res.statusCode)));
		});
		req.on("error", reject);
		req.end(body);
	});
}
await watch(a, "A");
await watch(b, "B");
await new Promise((r) => setTimeout(r, 500));
let seq = +seq0;
for (let i = 0; i < +samples; i++) {
	const marker = `mark-${i}`;
	const events = [];
	for (let k = 0; k < +burst; k++)
		events.push({ seq: seq++, type: "log", payload: { step: 1, stream: "stdout", line: k === +burst - 1 ? `${marker}-last` : `${marker}-${k}` } });
	const done = new Promise((resolve) => waiting.set(marker, { t0: 0n, got: {}, resolve }));
	const w = waiting.get(marker);
	w.t0 = process.hrtime.bigint();
	await post(JSON.stringify({ events }));
	const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`sample ${i} not received by both in 5 s`)), 5000));
	await Promise.race([done, timeout]);
	console.log(`SAMPLE ${w.got.A.toFixed(3)} ${w.got.B.toFixed(3)}`);
	waiting.delete(marker);
	await new Promise((r) => setTimeout(r, 5));
}
process.exit(0);
EOF
say "$SAMPLES samples, $BURST line(s) per POST"
node "$WORK/fan.mjs" "$A_BASE" "$B_BASE" "$RUN" "$TOKEN" "$WID" "$TT" "$SEQ" "$SAMPLES" "$BURST" >"$WORK/fan.out" ||
	die "the fan-out client failed: $(tail -3 "$WORK/fan.out")"
# pct COLUMN P: the P-th percentile of a column of the samples
pct() { awk -v c="$1" '/^SAMPLE/ {print $(c + 1)}' "$WORK/fan.out" | sort -n | awk -v p="$2" '{v[NR]=$1} END {i=int(NR*p/100+0.999); if (i<1) i=1; print v[i]}'; }
a50=$(pct 1 50) a99=$(pct 1 99) b50=$(pct 2 50) b99=$(pct 2 99)
awk -v a50="$a50" -v a99="$a99" -v b50="$b50" -v b99="$b99" -v n="$SAMPLES" -v k="$BURST" 'BEGIN {
	printf "fan-out, %d samples of %d line(s): POST to A -> subscriber\n", n, k
	printf "  on A (peer)     p50 %7.2f ms   p99 %7.2f ms\n", a50, a99
	printf "  on B            p50 %7.2f ms   p99 %7.2f ms   (x%.2f, x%.2f of A; target p99 <= 50 ms: %s)\n",
		b50, b99, b50 / a50, b99 / a99, b99 <= 50 ? "met" : "NOT met" }'
