# lib.sh — shared helpers for the integration scripts. Each script sources
# this, calls start_server (a real `plue serve` with its own embedded
# PostgreSQL in a fresh temporary directory, on a free port), and drives it
# with real clients. Everything is torn down on exit.
set -u
: "${PLUE:?PLUE must name the plue binary}"

T_PASS=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "/tmp/plue-${T_NAME}.XXXXXX")
chmod 755 "$T_DIR"
export PLUE_DATA_DIR="$T_DIR/var"
export PLUE_PG_FSYNC=off
export PLUE_LOG_LEVEL=${PLUE_LOG_LEVEL:-info}
export GIT_TERMINAL_PROMPT=0
export GIT_CONFIG_NOSYSTEM=1
export HOME="$T_DIR/home"
mkdir -p "$HOME"
git config --global user.name "Test User"
git config --global user.email "test@example.com"
git config --global init.defaultBranch main
git config --global protocol.version 2
SERVER_PID=""
SERVER_GROUPS=() # every server started, each the leader of its process group

# group_alive PGID: some process of the group is still running
group_alive() { kill -0 -- "-$1" 2>/dev/null; }

# Stops everything the script started: the server, then whatever is left in
# its process group (its warm-pool runners, which a busy runner outlives on
# purpose: two SIGTERMs make it abandon its workload and destroy its
# sandbox), SIGKILL for anything that does not stop.
stop_all() {
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SERVER_PID" 2>/dev/null
	fi
	local g
	for g in "${SERVER_GROUPS[@]}"; do
		group_alive "$g" || continue
		kill -TERM -- "-$g" 2>/dev/null
		sleep 0.2
		kill -TERM -- "-$g" 2>/dev/null
		for _ in $(seq 1 100); do group_alive "$g" || break; sleep 0.1; done
		kill -KILL -- "-$g" 2>/dev/null
	done
	SERVER_GROUPS=()
}

# Every report a sanitizer (make SAN=1) printed into a log of this script's
# servers, runners and commands; leak reports come when they exit, so call
# it after stop_all. Prints them and returns 1 if there is any.
sanitizer_reports() {
	local f found=0
	for f in "$T_DIR"/*.log "$T_DIR"/*.out; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' "$f"; then
			echo "sanitizer report in $(basename "$f"):"
			grep -E -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" | head -60
			found=1
		fi
	done
	return $found
}

cleanup() {
	stop_all
	if [ "${KEEP_TMP:-}" = 1 ]; then echo "kept $T_DIR"; else rm -rf "$T_DIR"; fi
}
trap cleanup EXIT

# start_server [extra plue serve args...]: sets BASE (http://127.0.0.1:PORT).
start_server() {
	# a restart must not read the previous run's "listening on" line
	rm -f "$T_DIR/serve.out"
	# its own process group, so cleanup finds the runners it starts
	setsid "$PLUE" serve --port 0 "$@" >"$T_DIR/serve.out" 2>>"$T_DIR/serve.log" &
	SERVER_PID=$!
	SERVER_GROUPS+=("$SERVER_PID")
	local i
	for i in $(seq 1 300); do
		if grep -q '^listening on ' "$T_DIR/serve.out" 2>/dev/null; then
			PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T_DIR/serve.out" | head -1)
			BASE="http://127.0.0.1:$PORT"
			export BASE PORT
			return 0
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "server exited during start:"; cat "$T_DIR/serve.log"; exit 1
		fi
		sleep 0.1
	done
	echo "server did not start:"; cat "$T_DIR/serve.log"; exit 1
}

# start_peer NAME [extra plue serve args...]: a second `plue serve` on the
# same data directory and the first server's database (reached through its
# Unix socket, as an external PostgreSQL): another replica. Sets
# PEER_BASE, PEER_PORT and PEER_PID; its output goes to NAME.out/NAME.log.
start_peer() {
	local name=$1; shift
	rm -f "$T_DIR/$name.out"
	PLUE_DATABASE_URL="host=$PLUE_DATA_DIR/pg dbname=plue user=plue" \
		setsid "$PLUE" serve --port 0 "$@" >"$T_DIR/$name.out" 2>>"$T_DIR/$name.log" &
	PEER_PID=$!
	SERVER_GROUPS+=("$PEER_PID")
	local i
	for i in $(seq 1 300); do
		if grep -q '^listening on ' "$T_DIR/$name.out" 2>/dev/null; then
			PEER_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T_DIR/$name.out" | head -1)
			PEER_BASE="http://127.0.0.1:$PEER_PORT"
			return 0
		fi
		if ! kill -0 "$PEER_PID" 2>/dev/null; then
			echo "$name exited during start:"; cat "$T_DIR/$name.log"; exit 1
		fi
		sleep 0.1
	done
	echo "$name did not start:"; cat "$T_DIR/$name.log"; exit 1
}

# stop_server: SIGTERM and wait (the data directory stays for a restart).
stop_server() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=""
}

# new_user NAME [admin]: creates the user, prints a full-scope token.
new_user() {
	local extra=()
	[ "${2:-}" = admin ] && extra=(--admin)
	"$PLUE" admin create-user "$1" "${extra[@]}" --scopes repo:read,repo:write,user 2>>"$T_DIR/admin.log"
}

# new_token USER SCOPES: prints a token with those scopes.
new_token() {
	"$PLUE" admin create-token "$1" --scopes "$2" 2>>"$T_DIR/admin.log"
}

# api METHOD PATH [TOKEN] [BODY]: sets STATUS and BODY_OUT (and HEADERS_OUT).
api() {
	local method=$1 path=$2 tok=${3:-} body=${4:-}
	local args=(-s -o "$T_DIR/body" -D "$T_DIR/headers" -w '%{http_code}' -X "$method")
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	STATUS=$(curl "${args[@]}" "$BASE$path")
	BODY_OUT=$(cat "$T_DIR/body")
	HEADERS_OUT=$(tr -d '\r' <"$T_DIR/headers")
}

pass() { T_PASS=$((T_PASS + 1)); }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL [$T_NAME]: $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local what=$1; shift
	if "$@"; then pass; else fail "$what"; fi
}

# expect_status CODE DESCRIPTION
expect_status() {
	if [ "$STATUS" = "$1" ]; then pass; else fail "$2: status $STATUS, want $1; body: ${BODY_OUT:0:300}"; fi
}

# jq-free JSON access through node: json FIELD_PATH (e.g. .error.code) of BODY_OUT
json() {
	node -e 'let v=JSON.parse(require("fs").readFileSync(0,"utf8"));for(const k of process.argv[1].split(".").filter(Boolean)){v=v==null?undefined:v[/^\d+$/.test(k)?+k:k]};process.stdout.write(v===undefined?"<undefined>":typeof v==="object"?JSON.stringify(v):String(v))' "$1" <<<"$BODY_OUT"
}

# expect_json PATH VALUE DESCRIPTION
expect_json() {
	local got
	got=$(json "$1")
	if [ "$got" = "$2" ]; then pass; else fail "$3: $1 is '$got', want '$2'"; fi
}

# expect_error STATUS CODE MESSAGE-SUBSTRING DESCRIPTION: the error contract.
expect_error() {
	local got_code got_msg
	got_code=$(json .error.code)
	got_msg=$(json .error.message)
	if [ "$STATUS" = "$1" ] && [ "$got_code" = "$2" ] && [[ "$got_msg" == *"$3"* ]]; then
		pass
	else
		fail "$4: got $STATUS $got_code '$got_msg', want $1 $2 '*$3*'"
	fi
}

# sql QUERY: runs one query on the script's embedded database (as the
# server's own user) and prints the rows, unaligned, without headers.
sql() { psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue" -c "$1"; }

# sql_is QUERY WANT TENTHS: until the query answers WANT (at most TENTHS
# tenths of a second); succeeds when it did
sql_is() {
	local i
	for i in $(seq 1 "$3"); do
		[ "$(sql "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# settle: waits until every event written so far has been dispatched.
settle() {
	local i
	for i in $(seq 1 200); do
		[ "$(sql "SELECT count(*) FROM events WHERE dispatched_at IS NULL")" = 0 ] && return 0
		sleep 0.05
	done
	fail "events were not dispatched"
}

# wait_run ID [TOKEN]: until workflow run ID has finished (success,
# failure, cancelled or skipped), asking as TOKEN ($ALICE by default);
# leaves the run in BODY_OUT. Fails the check after two minutes.
wait_run() {
	local i
	for i in $(seq 1 1200); do
		api GET "/api/runs/$1" "${2:-$ALICE}"
		case "$(json .status)" in success | failure | cancelled | skipped) return 0 ;; esac
		sleep 0.1
	done
	fail "run $1 did not finish: ${BODY_OUT:0:400}"
	return 1
}

# the SSE reader of the scripts' node helpers (sse-lib.js)
SSE_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sse-lib.js"
export SSE_LIB

# dispatch_in OWNER/REPO FILE [TOKEN]: starts workflow FILE by hand
# (workflow_dispatch) as TOKEN ($ALICE by default) through $BASE; prints the
# new run's id (run in $(...): says on stderr when it is refused or no run
# appears, and prints nothing)
dispatch_in() {
	local tok=${3:-$ALICE} ev i id
	api POST "/api/$1/workflows/$2/dispatch" "$tok" '{}'
	[ "$STATUS" = 202 ] || { fail "dispatch $2: $STATUS ${BODY_OUT:0:200}" >&2; return 1; }
	ev=$(json .event_id)
	for i in $(seq 1 200); do
		api GET "/api/$1/runs" "$tok"
		id=$(node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")).find(x=>x.event.id===+process.argv[1]);process.stdout.write(r?String(r.id):"")' "$ev" <<<"$BODY_OUT")
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	fail "dispatch $2: no run for event $ev" >&2
	return 1
}

# wait_log RUN TEXT [TOKEN]: until the run's stored log has TEXT
wait_log() {
	local i
	for i in $(seq 1 900); do
		api GET "/api/runs/$1/logs" "${3:-$ALICE}"
		grep -qF -- "$2" <<<"$BODY_OUT" && return 0
		sleep 0.1
	done
	fail "run $1 never logged '$2'"
	return 1
}

# jobfield NAME FIELD: a field of the job called NAME in BODY_OUT (a run)
jobfield() {
	node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));const j=r.jobs.find(x=>x.name===process.argv[1]);let v=j;for(const k of process.argv[2].split(".").filter(Boolean))v=v==null?undefined:v[/^\d+$/.test(k)?+k:k];process.stdout.write(v===undefined?"<undefined>":v===null?"null":typeof v==="object"?JSON.stringify(v):String(v))' "$1" "$2" <<<"$BODY_OUT"
}

# sandboxes_of PID: the state directories of the sandboxes runner PID owns
SB_ROOT=${PLUE_SANDBOX_DIR:-$([ "$(id -u)" = 0 ] && echo /run/plue-sandbox || echo "${TMPDIR:-/tmp}/plue-sandbox-$(id -u)")}
sandboxes_of() {
	grep -lx -- "$1" "$SB_ROOT"/plue-*/owner 2>/dev/null | xargs -r -n1 dirname
}

# header NAME: a header of the last api call.
header() { grep -i "^$1:" <<<"$HEADERS_OUT" | head -1 | cut -d' ' -f2-; }

# finish: stops the servers, fails on any sanitizer report in their logs,
# prints the tally line and exits non-zero on failures.
finish() {
	stop_all
	sanitizer_reports || fail "a sanitizer reported an error (above)"
	echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
