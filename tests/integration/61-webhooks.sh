#!/usr/bin/env bash
# 61-webhooks: outgoing webhooks end to end against a real HTTP receiver
# that verifies X-Hub-Signature-256 the way GitHub's documentation tells
# receivers to (HMAC-SHA256 of the raw body, compared with
# crypto.timingSafeEqual): the ping, every event type caused through the
# API and git, both content types, order per hook, retries after a 500
# and after a timeout, redelivery, a hook deleted while retrying, the
# address refusals (SSRF) and the REST errors.
. "$(dirname "$0")/lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=1
export PLUE_WEBHOOK_ALLOW_NETS=127.0.0.1/32
export PLUE_WEBHOOK_RETRY_BASE_MS=300
export PLUE_WEBHOOK_TIMEOUT_MS=1500
SECRET="It's a Secret to Everybody"

# ---- the receiver: records every request as a JSON line; /control sets
# how the next requests to a path are answered (500 or no answer) ----
cat >"$T_DIR/receiver.js" <<'EOF'
const http = require("http"), crypto = require("crypto"), fs = require("fs");
const [secret, log, portFile] = process.argv.slice(2);
const modes = {}; // path -> {mode, count}
function verify(header, body) {
	if (!header) return false;
	const want = Buffer.from("sha256=" + crypto.createHmac("sha256", secret).update(body).digest("hex"), "ascii");
	const got = Buffer.from(header, "ascii");
	return want.length === got.length && crypto.timingSafeEqual(want, got);
}
http.createServer((req, res) => {
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		const raw = Buffer.concat(chunks);
		const url = new URL(req.url, "http://x");
		if (url.pathname === "/control") {
			modes[url.searchParams.get("path")] = { mode: url.searchParams.get("mode"), count: +url.searchParams.get("count") };
			res.end("ok");
			return;
		}
		const m = modes[url.pathname];
		let answer = 200;
		if (m && m.count > 0) { m.count--; answer = m.mode; }
		let payload = null;
		try {
			const text = raw.toString("utf8");
			payload = req.headers["content-type"] === "application/x-www-form-urlencoded"
				? JSON.parse(new URLSearchParams(text).get("payload")) : JSON.parse(text);
		} catch (e) { payload = null; }
		const rec = {
			path: url.pathname, answer, t: Date.now(),
			event: req.headers["x-github-event"], plue_event: req.headers["x-plue-event"],
			delivery: req.headers["x-github-delivery"], plue_delivery: req.headers["x-plue-delivery"],
			hook_id: req.headers["x-github-hook-id"], ua: req.headers["user-agent"],
			content_type: req.headers["content-type"], signed: !!req.headers["x-hub-signature-256"],
			sig_ok: verify(req.headers["x-hub-signature-256"], raw), payload,
		};
		fs.appendFileSync(log, JSON.stringify(rec) + "\n");
		if (answer === "hang") return; // never answers: the sender times out
		res.setHeader("X-Receiver", "test");
		if (answer === "redirect") { // must not be followed
			res.writeHead(302, { Location: "/followed" });
			res.end();
			return;
		}
		if (answer === "big") { // more than the sender reads
			res.end("x".repeat(3 << 20));
			return;
		}
		res.statusCode = answer === "500" ? 500 : 200;
		res.end(answer === "500" ? "try again" : "thanks");
	});
}).listen(0, "127.0.0.1", function () { fs.writeFileSync(portFile, String(this.address().port)); });
EOF
REC="$T_DIR/received.jsonl"
: >"$REC"
node "$T_DIR/receiver.js" "$SECRET" "$REC" "$T_DIR/rport" 2>"$T_DIR/receiver.log" &
RECEIVER_PID=$!
trap 'kill $RECEIVER_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do [ -s "$T_DIR/rport" ] && break; sleep 0.1; done
RPORT=$(cat "$T_DIR/rport")
R="http://127.0.0.1:$RPORT"
control() { curl -s "$R/control?path=$1&mode=$2&count=$3" >/dev/null; }

# q JS-EXPR: evaluates an expression over `recs` (the received requests)
q() {
	node -e 'const recs=require("fs").readFileSync(process.argv[1],"utf8").split("\n").filter(Boolean).map(JSON.parse);const v=eval(process.argv[2]);process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v))' "$REC" "$1"
}
# await_rec DESC JS-CONDITION: polls (at most 30 s) until the condition over recs holds
await_rec() {
	local i
	for i in $(seq 1 300); do
		[ "$(q "$2")" = true ] && { pass; return 0; }
		sleep 0.1
	done
	fail "$1: timed out waiting for $2"
	return 1
}
# await_api DESC PATH FIELD VALUE: polls an API GET until FIELD is VALUE
await_api() {
	local i
	for i in $(seq 1 300); do
		api GET "$2" "$ALICE"
		[ "$(json "$3")" = "$4" ] && { pass; return 0; }
		sleep 0.1
	done
	fail "$1: $3 is '$(json "$3")', want '$4'"
	return 1
}

start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
api POST /api/repos "$ALICE" '{"name":"hooked"}'
expect_status 201 "create repo"
P=/api/alice/hooked

# ---- the REST errors ----
api POST $P/hooks "$ALICE" '{"url":"ftp://example.com/x"}'
expect_error 400 invalid_url "must use http or https" "ftp url"
api POST $P/hooks "$ALICE" '{"url":"not a url"}'
expect_error 400 invalid_url "is not an absolute http or https url" "not a url"
api POST $P/hooks "$ALICE" '{"url":"http://example.com/#frag"}'
expect_error 400 invalid_url "no fragment" "url with a fragment"
api POST $P/hooks "$ALICE" '{"events":["push"]}'
expect_error 400 missing_field "field 'url' is required" "no url"
api POST $P/hooks "$ALICE" "{\"url\":\"$R/a\",\"events\":[\"push\",\"bogus\"]}"
expect_error 400 invalid_events "unknown event 'bogus'" "unknown event"
api POST $P/hooks "$ALICE" "{\"url\":\"$R/a\",\"events\":[]}"
expect_error 400 invalid_events "non-empty array" "empty events"
api POST $P/hooks "$ALICE" "{\"url\":\"$R/a\",\"events\":\"push\"}"
expect_error 400 invalid_events "non-empty array" "events not an array"
api POST $P/hooks "$ALICE" "{\"url\":\"$R/a\",\"content_type\":\"xml\"}"
expect_error 400 invalid_field "must be 'json' or 'form'" "bad content type"
api POST $P/hooks "$ALICE" "{\"url\":\"$R/a\",\"active\":\"yes\"}"
expect_error 400 invalid_field "field 'active' must be true or false" "active not a boolean"
api POST $P/hooks "$BOB" "{\"url\":\"$R/a\"}"
expect_error 403 forbidden "admin access to repository 'alice/hooked' is required" "create without admin"
api GET $P/hooks "$BOB"
expect_error 403 forbidden "admin access" "list without admin"
api POST $P/hooks "" "{\"url\":\"$R/a\"}"
expect_error 401 unauthorized "" "create anonymously"
api GET $P/hooks/9999 "$ALICE"
expect_error 404 not_found "hook 9999 not found in 'alice/hooked'" "unknown hook"
api DELETE $P/hooks/9999 "$ALICE"
expect_error 404 not_found "hook 9999 not found" "delete unknown hook"
api GET $P/hooks/abc/deliveries "$ALICE"
expect_error 404 not_found "hook 'abc' not found" "hook id not a number"
api GET /api/alice/nope/hooks "$ALICE"
expect_error 404 not_found "repository 'alice/nope' not found" "unknown repository"
# SSRF at creation: literal addresses in refused ranges
api POST $P/hooks "$ALICE" '{"url":"http://169.254.169.254/latest/meta-data/"}'
expect_error 400 invalid_url "points to the cloud metadata address (169.254.169.254)" "metadata address"
api POST $P/hooks "$ALICE" '{"url":"http://10.0.0.1/hook"}'
expect_error 400 invalid_url "points to a private address (10.0.0.1)" "private address"
api POST $P/hooks "$ALICE" "{\"url\":\"http://[::1]:$RPORT/v6\"}"
expect_error 400 invalid_url "points to a loopback address (::1)" "IPv6 loopback (not in the allow list)"
api POST $P/hooks "$ALICE" "{\"url\":\"http://[::ffff:10.1.2.3]/m\"}"
expect_error 400 invalid_url "a private address (10.1.2.3)" "IPv4-mapped IPv6"
api POST $P/hooks "$ALICE" '{"url":"http://0.0.0.0/"}'
expect_error 400 invalid_url "an unspecified address" "unspecified address"

# ---- another repository's hook is not found here ----
api POST /api/repos "$BOB" '{"name":"elsewhere"}'
expect_status 201 "bob's repository"
api POST /api/bob/elsewhere/hooks "$BOB" '{"url":"http://hooks.invalid/bob","active":false}'
expect_status 201 "bob's inactive hook"
HX=$(json .id)
api POST /api/bob/elsewhere/hooks/$HX/pings "$BOB"
expect_status 204 "bob pings his hook (held: it is inactive)"
api GET /api/bob/elsewhere/hooks/$HX/deliveries "$BOB"
DX=$(json .0.id)
check "the held ping is in bob's log" test "$(json .length)/$(json .0.event)" = "1/ping"
NF="hook $HX not found in 'alice/hooked'"
api GET $P/hooks/$HX "$ALICE"
expect_error 404 not_found "$NF" "show another repository's hook"
api PATCH $P/hooks/$HX "$ALICE" '{"active":true}'
expect_error 404 not_found "$NF" "change another repository's hook"
api POST $P/hooks/$HX/pings "$ALICE"
expect_error 404 not_found "$NF" "ping another repository's hook"
api GET $P/hooks/$HX/deliveries "$ALICE"
expect_error 404 not_found "$NF" "the log of another repository's hook"
api GET $P/hooks/$HX/deliveries/$DX "$ALICE"
expect_error 404 not_found "$NF" "a delivery of another repository's hook"
api POST $P/hooks/$HX/deliveries/$DX/attempts "$ALICE"
expect_error 404 not_found "$NF" "redeliver for another repository's hook"
api DELETE $P/hooks/$HX "$ALICE"
expect_error 404 not_found "$NF" "delete another repository's hook"
api GET /api/bob/elsewhere/hooks/$HX/deliveries "$BOB"
check "bob's log is as it was" test "$(json .length)/$(json .0.status)" = "1/pending"

# ---- hook A: every event, JSON, signed; the ping on creation ----
api POST $P/hooks "$ALICE" "{\"url\":\"$R/a\",\"secret\":\"$SECRET\",\"events\":[\"*\"]}"
expect_status 201 "create hook A"
HA=$(json .id)
check "the secret is never returned" test "$(json .has_secret)/$(json .secret)" = "true/<undefined>"
expect_json .content_type json "json by default"
await_rec "ping delivered" 'recs.some(r=>r.path==="/a"&&r.event==="ping")'
check "ping: signature verifies" test "$(q 'recs.find(r=>r.path==="/a"&&r.event==="ping").sig_ok')" = true
check "ping: hook_id, zen, config" test "$(q 'const p=recs.find(r=>r.path==="/a").payload;[p.hook_id,typeof p.zen,p.hook.config.url,p.repository.full_name,p.sender.login].join(" ")')" = "$HA string $R/a alice/hooked alice"
check "ping: headers" test "$(q 'const r=recs.find(r=>r.path==="/a");[r.plue_event,r.hook_id,r.delivery===r.plue_delivery,r.ua.startsWith("Plue-Hookshot/")].join(" ")')" = "ping $HA true true"

# hook B: form-encoded, issues only, signed
api POST $P/hooks "$ALICE" "{\"config\":{\"url\":\"$R/b\",\"content_type\":\"form\",\"secret\":\"$SECRET\"},\"events\":[\"issues\"]}"
expect_status 201 "create hook B (GitHub's config object)"
HB=$(json .id)
expect_json .content_type form "form content type"
# hook C: no secret, push only
api POST $P/hooks "$ALICE" "{\"url\":\"$R/c\",\"events\":[\"push\"]}"
expect_status 201 "create hook C"
HC=$(json .id)
expect_json .has_secret false "no secret"
await_rec "pings of B and C" 'recs.filter(r=>r.event==="ping").length===3'
check "an unsigned hook sends no signature" test "$(q 'recs.find(r=>r.path==="/c").signed')" = false
check "form: the payload parses and the signature verifies" test "$(q 'const r=recs.find(r=>r.path==="/b");[r.content_type,r.sig_ok,r.payload.hook_id].join(" ")')" = "application/x-www-form-urlencoded true $HB"
api PATCH $P/hooks/$HB "$ALICE" '{"url":"gopher://x/"}'
expect_error 400 invalid_url "must use http or https" "patch a bad url"
api PATCH $P/hooks/$HB "$ALICE" '{"events":["nope"]}'
expect_error 400 invalid_events "unknown event 'nope'" "patch a bad event"
api PATCH $P/hooks/$HB "$BOB" '{"active":false}'
expect_error 403 forbidden "admin access" "patch without admin"
api PATCH $P/hooks/$HC "$ALICE" '{"secret":"temporary"}'
expect_json .has_secret true "patch sets a secret"
api PATCH $P/hooks/$HC "$ALICE" '{"secret":""}'
check "an empty secret removes it, the rest stays" test "$(json .has_secret)/$(json .events)/$(json .url)" = "false/[\"push\"]/$R/c"
api GET $P/hooks "$ALICE"
check "list: three hooks, no secrets" test "$(json .length)/$(json .0.secret)/$(json .0.last_delivery.status)" = "3/<undefined>/delivered"

# ---- push (git) ----
SRC="$T_DIR/src"
git init -q "$SRC"
(cd "$SRC" && echo one >f.txt && git add . && git commit -qm "first commit" && echo two >>f.txt && git commit -qam "second commit")
(cd "$SRC" && git push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/hooked.git" main)
HEAD1=$(git -C "$SRC" rev-parse HEAD)
await_rec "push delivered to A and C" 'recs.filter(r=>r.event==="push").length===2'
check "push: ref, after, commits oldest first, head_commit" test "$(q 'const p=recs.find(r=>r.path==="/a"&&r.event==="push").payload;[p.ref,p.after,p.created,p.commits.length,p.commits[0].message.trim(),p.head_commit.id,p.pusher.name,p.repository.full_name].join(" ")')" = "refs/heads/main $HEAD1 true 2 first commit $HEAD1 alice alice/hooked"
check "push: signature verifies" test "$(q 'recs.find(r=>r.path==="/a"&&r.event==="push").sig_ok')" = true
check "push: B does not get it" test "$(q 'recs.filter(r=>r.path==="/b"&&r.event==="push").length')" = 0
(cd "$SRC" && echo three >>f.txt && git commit -qam "third commit" && git push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/hooked.git" main)
HEAD2=$(git -C "$SRC" rev-parse HEAD)
await_rec "second push" 'recs.filter(r=>r.path==="/a"&&r.event==="push").length===2'
check "push: before..after has one commit" test "$(q 'const p=recs.filter(r=>r.path==="/a"&&r.event==="push")[1].payload;[p.before,p.after,p.commits.length,p.created].join(" ")')" = "$HEAD1 $HEAD2 1 false"

# ---- issues, issue_comment: in order ----
for i in 1 2 3 4 5; do
	api POST $P/issues "$ALICE" "{\"title\":\"issue $i\",\"body\":\"body $i\"}"
	expect_status 201 "issue $i"
done
api POST $P/issues/1/comments "$BOB" '{"body":"a comment"}'
expect_status 201 "comment"
await_rec "issues at A" 'recs.filter(r=>r.path==="/a"&&r.event==="issues").length===5'
check "issues arrive in order" test "$(q 'recs.filter(r=>r.path==="/a"&&r.event==="issues").map(r=>r.payload.issue.number).join(",")')" = "1,2,3,4,5"
check "issues: action, title, user, sender, signature" test "$(q 'const r=recs.find(r=>r.path==="/a"&&r.event==="issues");[r.payload.action,r.payload.issue.title,r.payload.issue.user.login,r.payload.sender.login,r.sig_ok].join(" ")')" = "opened issue 1 alice alice true"
await_rec "issues at B (form)" 'recs.filter(r=>r.path==="/b"&&r.event==="issues").length===5'
check "B: in order and signed" test "$(q 'recs.filter(r=>r.path==="/b"&&r.event==="issues").map(r=>r.payload.issue.number+":"+r.sig_ok).join(",")')" = "1:true,2:true,3:true,4:true,5:true"
await_rec "issue_comment" 'recs.some(r=>r.path==="/a"&&r.event==="issue_comment")'
check "issue_comment: action, body, user, issue" test "$(q 'const p=recs.find(r=>r.event==="issue_comment").payload;[p.action,p.comment.body,p.comment.user.login,p.issue.number,p.sender.login].join(" ")')" = "created a comment bob 1 bob"
api PATCH $P/issues/2 "$ALICE" '{"state":"closed"}'
await_rec "issue closed" 'recs.some(r=>r.path==="/a"&&r.event==="issues"&&r.payload.action==="closed"&&r.payload.issue.number===2)'

# ---- pull_request, pull_request_review ----
(cd "$SRC" && git checkout -qb feat && echo feat >g.txt && git add g.txt && git commit -qm feat && git push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/hooked.git" feat)
api POST $P/pulls "$ALICE" '{"title":"Feature","head":"feat","base":"main"}'
expect_status 201 "open a pull request"
PR=$(json .number)
await_rec "pull_request opened" 'recs.some(r=>r.path==="/a"&&r.event==="pull_request")'
check "pull_request: action, number, head, base, merged" test "$(q 'const p=recs.find(r=>r.event==="pull_request").payload;[p.action,p.number,p.pull_request.head.ref,p.pull_request.base.ref,p.pull_request.merged,p.pull_request.state].join(" ")')" = "opened $PR feat main false open"
api POST $P/pulls/$PR/reviews "$ALICE" '{"event":"COMMENT","body":"looks fine"}'
expect_status 201 "review"
await_rec "pull_request_review" 'recs.some(r=>r.path==="/a"&&r.event==="pull_request_review")'
check "pull_request_review: action, state, body, pr" test "$(q 'const p=recs.find(r=>r.event==="pull_request_review").payload;[p.action,p.review.state,p.review.body,p.review.user.login,p.pull_request.number].join(" ")')" = "submitted commented looks fine alice $PR"

# ---- workflow_run ----
(cd "$SRC" && git checkout -q main && mkdir -p .plue/workflows && printf 'on: push\njobs:\n  j:\n    steps:\n      - run: echo hello\n' >.plue/workflows/ci.yaml && git add . && git commit -qm ci && git push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/hooked.git" main)
for _ in $(seq 1 600); do
	[ "$(q 'recs.some(r=>r.path==="/a"&&r.event==="workflow_run")')" = true ] && break
	sleep 0.1
done
check "workflow_run: completed, conclusion, head_sha" test "$(q 'const r=recs.find(r=>r.event==="workflow_run");r&&[r.payload.action,r.payload.workflow_run.status,r.payload.workflow_run.conclusion,r.payload.workflow_run.head_sha,r.payload.workflow_run.path,r.sig_ok].join(" ")')" = "completed completed success $(git -C "$SRC" rev-parse HEAD) .plue/workflows/ci.yaml true"

# ---- the delivery log and redelivery ----
api GET $P/hooks/$HA/deliveries "$ALICE"
expect_status 200 "delivery log"
NDEL=$(json .length)
PING=$(node -e 'const a=JSON.parse(process.argv[1]);process.stdout.write(String(a.find(d=>d.event==="ping").id))' "$BODY_OUT")
check "every delivery of A is delivered" test "$(node -e 'const a=JSON.parse(process.argv[1]);process.stdout.write(String(a.every(d=>d.status==="delivered"&&d.status_code===200&&d.attempts===1)))' "$BODY_OUT")" = true
api GET $P/hooks/$HA/deliveries/$PING "$ALICE"
expect_status 200 "one delivery"
check "the log: request headers, payload, response" test "$(json .request.headers.X-Plue-Event)/$(json .request.payload.hook_id)/$(json .response.body)/$(json .response.headers.x-receiver)/$(json .status_code)" = "ping/$HA/thanks/test/200"
check "the log: signature header kept, duration" test "$(json .request.headers.X-Hub-Signature-256 | cut -c1-7)/$(json .duration_ms | tr -d 0-9)" = "sha256=/"
api POST $P/hooks/$HA/deliveries/$PING/attempts "$ALICE"
expect_status 202 "redeliver"
REDEL=$(json .id)
await_rec "redelivered" 'recs.filter(r=>r.path==="/a"&&r.event==="ping").length===2'
check "redelivery: a new guid, the same payload" test "$(q 'const p=recs.filter(r=>r.path==="/a"&&r.event==="ping");[p[0].delivery!==p[1].delivery,p[1].payload.hook_id,p[1].sig_ok].join(" ")')" = "true $HA true"
api GET $P/hooks/$HA/deliveries/$REDEL "$ALICE"
expect_json .redelivery true "marked as a redelivery"
api POST $P/hooks/$HA/deliveries/99999/attempts "$ALICE"
expect_error 404 not_found "delivery 99999 of hook $HA not found" "redeliver unknown"
api GET $P/hooks/$HA/deliveries/99999 "$ALICE"
expect_error 404 not_found "delivery 99999 of hook $HA not found" "unknown delivery"

# ---- retries after a 500, order held while retrying ----
api POST $P/hooks "$ALICE" "{\"url\":\"$R/r\",\"secret\":\"$SECRET\",\"events\":[\"issues\"],\"active\":false}"
expect_status 201 "create hook R (inactive: no ping)"
HR=$(json .id)
control /r 500 2
api PATCH $P/hooks/$HR "$ALICE" '{"active":true}'
expect_json .active true "activated"
api POST $P/issues "$ALICE" '{"title":"retry me"}'
N1=$(json .number)
api POST $P/issues "$ALICE" '{"title":"after it"}'
N2=$(json .number)
await_rec "third attempt succeeds" 'recs.filter(r=>r.path==="/r").length>=4'
check "500, 500, 200 for the first, then the second" test "$(q 'recs.filter(r=>r.path==="/r").map(r=>r.payload.issue.number+":"+r.answer).join(",")')" = "$N1:500,$N1:500,$N1:200,$N2:200"
check "retries keep the guid" test "$(q 'new Set(recs.filter(r=>r.path==="/r"&&r.payload.issue.number==='"$N1"').map(r=>r.delivery)).size')" = 1
api GET $P/hooks/$HR/deliveries "$ALICE"
check "the log: delivered after 3 attempts" test "$(node -e 'const a=JSON.parse(process.argv[1]);const d=a.find(d=>d.action==="opened"&&d.attempts===3);process.stdout.write(d?d.status+"/"+d.status_code:"none")' "$BODY_OUT")" = "delivered/200"

# ---- a timeout, then a hook deleted while it retries ----
api POST $P/hooks "$ALICE" "{\"url\":\"$R/t\",\"events\":[\"issues\"],\"active\":false}"
HT=$(json .id)
control /t hang 100
api PATCH $P/hooks/$HT "$ALICE" '{"active":true}'
api POST $P/issues "$ALICE" '{"title":"slow receiver"}'
for _ in $(seq 1 300); do
	api GET $P/hooks/$HT/deliveries "$ALICE"
	[ "$(json .0.attempts)" -ge 2 ] 2>/dev/null && break
	sleep 0.1
done
check "the attempt timed out and waits for a retry" test "$(json .0.status)/$(json .0.error | cut -c1-14)/$(json .0.status_code)" = "pending/timed out afte/null"
api DELETE $P/hooks/$HT "$ALICE"
expect_status 204 "delete the hook while it retries"
SEEN=$(q 'recs.filter(r=>r.path==="/t").length')
# nothing can be awaited here: no request must come. The next attempt
# was due 300 ms x 3^2 after the last; wait past it, bounded
sleep 4
check "no attempt after the hook is gone" test "$(q 'recs.filter(r=>r.path==="/t").length')" = "$SEEN"
api GET $P/hooks/$HT/deliveries "$ALICE"
expect_error 404 not_found "hook $HT not found" "its log went with it"

# ---- redirects are not followed; a response is read only so far ----
control /x redirect 100
api POST $P/hooks "$ALICE" "{\"url\":\"$R/x\"}"
HX=$(json .id)
await_api "a redirect is a failure" "$P/hooks/$HX/deliveries" .0.status_code 302
check "the redirect is logged, not followed" test "$(json .0.status)/$(json .0.error)/$(q 'recs.filter(r=>r.path==="/followed").length')" = "pending/the receiver answered 302/0"
api DELETE $P/hooks/$HX "$ALICE"
control /y big 100
api POST $P/hooks "$ALICE" "{\"url\":\"$R/y\"}"
HY=$(json .id)
await_api "an oversized answer is a failure" "$P/hooks/$HY/deliveries" .0.attempts 1
check "the reason says so" test "$(json .0.error)" = "the response is larger than 1048576 bytes"
api GET $P/hooks/$HY/deliveries/$(json .0.id) "$ALICE"
check "the stored body is capped at 64 KiB" test "$(json .response.body | wc -c)" = 65536
api DELETE $P/hooks/$HY "$ALICE"

# ---- SSRF: without the allow list, loopback is refused at delivery ----
stop_server
unset PLUE_WEBHOOK_ALLOW_NETS
start_server
BEFORE=$(q 'recs.length')
api POST $P/hooks "$ALICE" "{\"url\":\"http://127.0.0.1:$RPORT/lit\"}"
expect_error 400 invalid_url "points to a loopback address (127.0.0.1)" "loopback literal without the allow list"
api POST $P/hooks "$ALICE" "{\"url\":\"http://localhost:$RPORT/name\",\"events\":[\"issues\"]}"
expect_status 201 "a name is only resolved at delivery"
HN=$(json .id)
await_api "the ping is refused" "$P/hooks/$HN/deliveries" .0.status failed
check "refused with the reason, once" test "$(json .0.attempts)/$(json .0.status_code)" = "1/null"
check "the reason names the address" bash -c '[[ "$1" == "refused: host '"'"'localhost'"'"' resolves to "*"a loopback address; no connection was made" ]]' _ "$(json .0.error)"
api POST $P/issues "$ALICE" '{"title":"after the restart"}'
await_api "A's delivery is refused" "$P/hooks/$HA/deliveries" .0.status failed
check "A: refused as loopback" test "$(json .0.error)" = "refused: '127.0.0.1' is a loopback address; no connection was made"
check "the receiver saw nothing" test "$(q 'recs.length')" = "$BEFORE"

finish
