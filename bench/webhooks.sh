#!/usr/bin/env bash
# webhooks.sh — webhook delivery latency: a real `plue serve`, a Node HTTP
# receiver on 127.0.0.1 that verifies each signature (HMAC-SHA256 of the
# raw body) and notes when the request arrived, one repository with one
# hook for `issues`, and issues created through the API:
#
#   sequential   WEBHOOK_EVENTS issues one after the other, each waited for
#                at the receiver before the next (an idle server)
#   burst        WEBHOOK_EVENTS issues from WEBHOOK_CLIENTS parallel
#                clients (a busy hook: deliveries of one hook go one at a
#                time, in order)
#
# Latency is events.created_at (the start of the transaction that wrote
# the event) → the receiver's clock when the request arrived; same host,
# same clock. Prints p50/p99 of each and the burst's deliveries per second.
#
# Usage: PLUE=path/to/plue bash bench/webhooks.sh
# Knobs: WEBHOOK_EVENTS (default 200), WEBHOOK_CLIENTS (8), KEEP_TMP=1.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=webhooks
. "$(dirname "$0")/lib.sh"
EVENTS=${WEBHOOK_EVENTS:-200}
CLIENTS=${WEBHOOK_CLIENTS:-8}
export PLUE_WARM_POOL=0
export PLUE_LOG_LEVEL=warn
export PLUE_PG_FSYNC=off
export PLUE_WEBHOOK_ALLOW_NETS=127.0.0.1/32

bench_init plue-webhooks-bench
export PLUE_DATA_DIR="$WORK/var" HOME="$WORK/home"
mkdir -p "$HOME"
RECEIVER=""
stop_extra() { stop_pid "$RECEIVER"; RECEIVER=""; }

cat >"$WORK/receiver.js" <<'EOF'
const http = require("http"), crypto = require("crypto"), fs = require("fs");
const [secret, log, portFile] = process.argv.slice(2);
const out = fs.openSync(log, "a");
http.createServer((req, res) => {
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		const at = Date.now();
		const body = Buffer.concat(chunks);
		const want = Buffer.from("sha256=" + crypto.createHmac("sha256", secret).update(body).digest("hex"));
		const got = Buffer.from(req.headers["x-hub-signature-256"] || "");
		const ok = want.length === got.length && crypto.timingSafeEqual(want, got);
		fs.writeSync(out, `${req.headers["x-plue-delivery"]} ${at} ${ok ? 1 : 0}\n`);
		res.end("ok");
	});
}).listen(0, "127.0.0.1", function () { fs.writeFileSync(portFile, String(this.address().port)); });
EOF
node "$WORK/receiver.js" bench-secret "$WORK/arrivals" "$WORK/rport" &
RECEIVER=$!
plue_start
for _ in $(seq 1 300); do [ -s "$WORK/rport" ] && break; sleep 0.1; done
[ -s "$WORK/rport" ] || die "the receiver did not start"
plue_user bench repo:read,repo:write,user
PG="host=$PLUE_DATA_DIR/pg dbname=plue user=plue"
sql() { psql -qtAX "$PG" -c "$1"; }
post() { curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2" "$BASE$1"; }
plue_repo wh
post /api/bench/wh/hooks "{\"url\":\"http://127.0.0.1:$(cat "$WORK/rport")/hook\",\"secret\":\"bench-secret\",\"events\":[\"issues\"],\"active\":true}"
arrived() { wc -l <"$WORK/arrivals"; }
await() { for _ in $(seq 1 3000); do [ "$(arrived)" -ge "$1" ] && return 0; sleep 0.01; done; echo "webhooks: only $(arrived) of $1 arrived" >&2; exit 1; }
await 1 # the ping

# one line per delivery: phase, latency ms (from the receiver's arrivals)
report() {
	sql "SELECT d.guid, (extract(epoch FROM e.created_at) * 1000)::bigint FROM webhook_deliveries d JOIN events e ON e.id = d.event_id" >"$WORK/events"
	node -e '
const fs = require("fs");
const ev = new Map(fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("|")).map(([g, t]) => [g, +t]));
const lines = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split(" "));
const from = +process.argv[3], to = +process.argv[4], name = process.argv[5];
const lat = [], bad = [];
let first = Infinity, last = 0;
for (const [g, at, ok] of lines.slice(from, to)) {
	if (ok !== "1") bad.push(g);
	if (!ev.has(g)) continue;
	lat.push(+at - ev.get(g));
	first = Math.min(first, ev.get(g)); last = Math.max(last, +at);
}
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
console.log(`${name.padEnd(28)} p50 ${String(pct(0.5)).padStart(6)} ms   p99 ${String(pct(0.99)).padStart(6)} ms   n=${lat.length}` +
	(name.startsWith("burst") ? `   ${(lat.length / ((last - first) / 1000)).toFixed(0)} deliveries/s` : "") +
	(bad.length ? `   ${bad.length} BAD SIGNATURES` : ""));
' "$WORK/events" "$WORK/arrivals" "$@"
}

base=$(arrived)
for i in $(seq 1 "$EVENTS"); do
	post /api/bench/wh/issues "{\"title\":\"s$i\"}"
	await $((base + i))
done
report "$base" $((base + EVENTS)) "sequential event→receiver"

base=$(arrived)
seq 1 "$EVENTS" | xargs -P "$CLIENTS" -I{} curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -d '{"title":"b{}"}' "$BASE/api/bench/wh/issues"
await $((base + EVENTS))
report "$base" $((base + EVENTS)) "burst event→receiver"
echo "events: $EVENTS per phase, burst clients: $CLIENTS, $(nproc) cores"
