#!/usr/bin/env bash
# 62-metrics: GET /metrics is off by default (404), needs its bearer token
# when on (401), and what it serves parses with the reference parser
# (python3-prometheus-client). Real traffic moves the counters by exactly
# what it did: API calls by route pattern, a 404 and an unmatched path, a
# duplicate insert, a git push and clone with their bytes, a workflow run
# claimed by the warm pool in the sandbox, and an SSE client.
. "$(dirname "$0")/lib.sh"
PY=${PYTHON3:-/usr/bin/python3} # Debian's, where python3-prometheus-client lives
TOKEN="plue-metrics-$RANDOM$RANDOM$RANDOM"

# ---- off by default ----
PLUE_WARM_POOL=0 start_server
api GET /metrics
expect_error 404 not_found "metrics are off" "metrics off by default"
api GET /metrics "$TOKEN"
expect_error 404 not_found "PLUE_METRICS_TOKEN" "metrics off: a token changes nothing"
stop_server

# ---- on, with the token ----
export PLUE_METRICS_TOKEN=$TOKEN
export PLUE_SANDBOX=${PLUE_SANDBOX:-gvisor}
export PLUE_WARM_POOL=1
start_server
api GET /metrics
expect_error 401 unauthorized "Authorization: Bearer" "metrics without a token"
check "401 carries a Bearer challenge" test "$(header WWW-Authenticate)" = 'Bearer realm="plue"'
api GET /metrics "wrong-$TOKEN"
expect_error 401 invalid_token "invalid metrics token" "metrics with a wrong token"
api GET /metrics "${TOKEN:0:5}"
expect_error 401 invalid_token "invalid metrics token" "metrics with a prefix of the token"
api GET /metrics "$TOKEN"
expect_status 200 "metrics with the token"
check "exposition content type" grep -q '^text/plain; version=0.0.4' <<<"$(header Content-Type)"

# The reference parser reads a scrape; every histogram is checked (buckets
# cumulative, +Inf equal to _count) and the samples are printed one a line
# as NAME{label="value",...} VALUE, labels sorted.
cat >"$T_DIR/flat.py" <<'EOF'
import math, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
out = []
for fam in text_string_to_metric_families(text):
    hist = {}
    for s in fam.samples:
        labels = ",".join('%s="%s"' % (k, s.labels[k]) for k in sorted(s.labels))
        out.append("%s{%s} %r" % (s.name, labels, float(s.value)))
        if fam.type == "histogram":
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            h = hist.setdefault(key, {"buckets": [], "count": None})
            if s.name.endswith("_bucket"):
                h["buckets"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                h["count"] = s.value
    for key, h in hist.items():
        b = h["buckets"]
        if [x for x, _ in b] != sorted(x for x, _ in b) or not b or not math.isinf(b[-1][0]):
            sys.exit("%s%s: buckets out of order or no +Inf" % (fam.name, key))
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            sys.exit("%s%s: buckets are not cumulative" % (fam.name, key))
        if b[-1][1] != h["count"]:
            sys.exit("%s%s: +Inf %s != count %s" % (fam.name, key, b[-1][1], h["count"]))
print("\n".join(out))
EOF

# scrape NAME: parses a fresh scrape into $T_DIR/NAME.flat (fails the test
# when the parser or the histogram checks refuse it)
scrape_quiet() {
	curl -s -H "Authorization: Bearer $TOKEN" "$BASE/metrics" >"$T_DIR/$1.prom" &&
		"$PY" "$T_DIR/flat.py" "$T_DIR/$1.prom" >"$T_DIR/$1.flat" 2>"$T_DIR/$1.err"
}
scrape() {
	if scrape_quiet "$1"; then
		pass
	else
		fail "scrape $1 does not parse: $(head -c 300 "$T_DIR/$1.err")"
	fi
}

# val NAME SAMPLE: the sample's value in a scrape (0 when absent), as an integer
val() {
	awk -v k="$2" '{ i = index($0, " "); if (substr($0, 1, i - 1) == k) { v = substr($0, i + 1) } }
		END { printf "%.0f", v + 0 }' "$T_DIR/$1.flat"
}

# delta A B SAMPLE: how much SAMPLE grew from scrape A to scrape B
delta() { echo $(($(val "$2" "$3") - $(val "$1" "$3"))); }

# expect_delta A B SAMPLE WANT DESCRIPTION
expect_delta() {
	local d
	d=$(delta "$1" "$2" "$3")
	if [ "$d" = "$4" ]; then pass; else fail "$5: $3 grew by $d, want $4"; fi
}

# wait_metric SAMPLE WANT: until a scrape shows it (leaves the scrape in "w")
wait_metric() {
	local i
	for i in $(seq 1 300); do
		scrape_quiet w && [ "$(val w "$1")" = "$2" ] && { pass; return 0; }
		sleep 0.1
	done
	fail "$1 never became $2 (last $(val w "$1"))"
}

scrape s0
check "build info is 1" test "$(grep -c '^plue_build_info{.*version=' "$T_DIR/s0.flat")" = 1
check "sse gauge present" grep -q '^plue_sse_connections{} ' "$T_DIR/s0.flat"
check "claim histogram present" grep -q '^plue_workload_claim_seconds_count{} ' "$T_DIR/s0.flat"
check "db connections open" test "$(val s0 'plue_db_connections{}')" -ge 1
check "the scrape itself holds a connection" test "$(val s0 'plue_db_connections_in_use{}')" -ge 1
check "webhook deliveries read from their table" \
	grep -q '^plue_webhook_deliveries{status="pending"} 0' "$T_DIR/s0.flat"

# ---- API traffic, by route pattern ----
ALICE=$(new_user alice)
api POST /api/repos "$ALICE" '{"name":"m"}'
expect_status 201 "create repo"
scrape a
for i in 1 2 3; do api GET /api/repos/alice/m "$ALICE"; done
api GET /api/repos/alice/nope "$ALICE"
expect_status 404 "missing repository"
api GET /zz/yy/xx/ww/vv/uu "$ALICE"
expect_status 404 "unmatched path (the pages' 404)"
api PUT /zz/yy/xx/ww/vv/uu "$ALICE"
expect_error 404 no_route "no route" "a path and method no route takes"
api POST /api/repos "$ALICE" '{"name":"m"}'
expect_error 409 already_exists "already exists" "duplicate repository"
api DELETE /metrics "$TOKEN"
expect_status 405 "metrics answers GET only"
scrape b
R='route="/api/repos/:owner/:repo"'
expect_delta a b "plue_http_requests_total{method=\"GET\",$R,status=\"200\"}" 3 "three GETs"
expect_delta a b "plue_http_requests_total{method=\"GET\",$R,status=\"404\"}" 1 "one 404"
expect_delta a b 'plue_http_requests_total{method="GET",route="/*path",status="404"}' 1 \
	"a path only the pages' catch-all takes counts under its pattern"
expect_delta a b 'plue_http_requests_total{method="PUT",route="unmatched",status="404"}' 1 \
	"an unmatched path counts as unmatched"
expect_delta a b 'plue_http_requests_total{method="DELETE",route="unmatched",status="405"}' 1 \
	"a method the route does not take"
expect_delta a b 'plue_http_requests_total{method="POST",route="/api/repos",status="409"}' 1 \
	"the duplicate create"
# scrape a's own request finished after it was rendered: b counts it
expect_delta a b 'plue_http_requests_total{method="GET",route="/metrics",status="200"}' 1 \
	"the scrape in between"
expect_delta a b "plue_http_request_duration_seconds_count{method=\"GET\",$R}" 4 \
	"latency observations for the route"
expect_delta a b 'plue_db_query_errors_total{kind="constraint"}' 1 \
	"the duplicate insert is a constraint error"
check "no raw path becomes a label" test "$(grep -c 'alice/m\|zz/yy' "$T_DIR/b.flat")" = 0

# ---- git over HTTP: one push, one clone (no workflow: nothing else fetches) ----
SRC="$T_DIR/src"
git init -q "$SRC"
head -c 200000 /dev/urandom >"$SRC/blob.bin" # incompressible: the pack carries it whole
(cd "$SRC" && git add . && git commit -qm "blob")
wait_metric 'plue_runners{state="idle"}' 1 # the warm pool is up; it only long-polls
scrape g0
check "push" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/m.git" main
check "clone" git clone -q "http://127.0.0.1:$PORT/alice/m.git" "$T_DIR/clone"
scrape g1
expect_delta g0 g1 'plue_git_transfers_total{result="ok",service="git-receive-pack"}' 1 "one push"
posts=$(delta g0 g1 'plue_http_requests_total{method="POST",route="/:owner/:repo.git/git-upload-pack",status="200"}')
check "the clone posted to upload-pack" test "$posts" -ge 1
expect_delta g0 g1 'plue_git_transfers_total{result="ok",service="git-upload-pack"}' "$posts" \
	"one upload-pack transfer per POST of the clone"
check "push bytes in carry the blob" \
	test "$(delta g0 g1 'plue_git_transfer_bytes_total{direction="in",service="git-receive-pack"}')" -ge 200000
check "clone bytes out carry the blob" \
	test "$(delta g0 g1 'plue_git_transfer_bytes_total{direction="out",service="git-upload-pack"}')" -ge 200000
check "push bytes out: the report" \
	test "$(delta g0 g1 'plue_git_transfer_bytes_total{direction="out",service="git-receive-pack"}')" -gt 0
# the clone's POSTs offer no haves: the pack cache's hook runs for them; a
# fetch that offers haves runs without it (git/smart_http.c)
expect_delta g0 g1 'plue_git_fetch_pack_cache_total{pack_cache="used"}' "$posts" \
	"every POST of the clone ran with the pack cache"
expect_delta g0 g1 'plue_git_fetch_pack_cache_total{pack_cache="bypassed"}' 0 "no POST of the clone bypassed it"
(cd "$SRC" && echo more >more.txt && git add . && git commit -qm more)
check "push again" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/m.git" main
check "fetch with haves" git -C "$T_DIR/clone" fetch -q origin
scrape g2
expect_delta g1 g2 'plue_git_fetch_pack_cache_total{pack_cache="bypassed"}' 1 "the fetch with haves bypassed the cache"

# ---- a pushed workflow's run: claimed by the warm pool, watched over SSE ----
api POST /api/repos "$ALICE" '{"name":"ci"}'
expect_status 201 "create the workflow repo"
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/ci.yaml" <<'YAML'
name: CI
on: push
jobs:
  build:
    steps:
      - run: echo hello-metrics
      - run: sleep 120
YAML
(cd "$SRC" && git add . && git commit -qm "workflow")
check "push the workflow" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/ci.git" main
RUN=""
for i in $(seq 1 100); do
	api GET /api/alice/ci/runs "$ALICE"
	RUN=$(node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(r.length?String(r[0].id):"")' <<<"$BODY_OUT")
	[ -n "$RUN" ] && break
	sleep 0.1
done
check "the push made a run" test -n "$RUN"
curl -s -N --max-time 120 -H "Authorization: Bearer $ALICE" "$BASE/api/runs/$RUN/stream" \
	>"$T_DIR/sse.txt" &
SSE=$!
wait_metric 'plue_sse_connections{}' 1
wait_metric 'plue_workloads{state="running"}' 1
expect_delta g0 w 'plue_workload_claim_seconds_count{}' 1 "the claim is observed once"
check "the claim histogram has its sum" grep -q '^plue_workload_claim_seconds_sum{} ' "$T_DIR/w.flat"
check "the warm runner is busy" test "$(val w 'plue_runners{state="busy"}')" = 1
# cancel during the sleep, once the first step's output has been streamed
for _ in $(seq 1 300); do grep -q 'hello-metrics' "$T_DIR/sse.txt" && break; sleep 0.1; done
api POST "/api/runs/$RUN/cancel" "$ALICE"
expect_status 202 "cancel the run"
wait_metric 'plue_workloads{state="done"}' 1
wait_metric 'plue_sse_connections{}' 0
wait "$SSE"
check "the SSE client saw the step's output" grep -q 'hello-metrics' "$T_DIR/sse.txt"
scrape z
check "nothing waits or runs" test "$(val z 'plue_workloads{state="waiting"}')$(val z 'plue_workloads{state="running"}')" = 00

# ---- webhook deliveries by status: an inactive hook holds its ping ----
api POST /api/alice/m/hooks "$ALICE" '{"url":"http://hooks.invalid/m","active":false}'
expect_status 201 "an inactive hook"
HOOK=$(json .id)
api POST "/api/alice/m/hooks/$HOOK/pings" "$ALICE"
expect_status 204 "ping the inactive hook"
scrape h
check "the held ping is counted as pending" \
	test "$(val h 'plue_webhook_deliveries{status="pending"}')" = 1

check "the token is never logged" test "$(grep -c -- "$TOKEN" "$T_DIR/serve.log")" = 0
finish
