# agents-lib.sh: what the agent tests (63-agents, 65-agents-more) share,
# sourced after lib.sh: the model doubles (tests/llm/), waiting on a
# session's turn and events, and the sandboxes a runner owns. Not named
# NN-*.sh, so run.sh does not run it on its own.

AGENTS_LLM="$(dirname "${BASH_SOURCE[0]}")/../llm"

# start_double NAME FILE: a model double (tests/llm/FILE) in the
# background; sets NAME_PORT
DOUBLE_PIDS=()
RUNNER_PID=""
start_double() {
	node "$AGENTS_LLM/$2" --port 0 >"$T_DIR/$1.out" 2>"$T_DIR/$1.log" &
	DOUBLE_PIDS+=($!)
	local p=""
	for _ in $(seq 1 100); do
		p=$(sed -n 's/^listening on \([0-9]*\).*/\1/p' "$T_DIR/$1.out")
		[ -n "$p" ] && break
		sleep 0.1
	done
	[ -n "$p" ] || { echo "the model double $1 did not start"; cat "$T_DIR/$1.log"; exit 1; }
	printf -v "${1}_PORT" '%s' "$p"
}
trap 'kill ${DOUBLE_PIDS[*]} 2>/dev/null; [ -n "$RUNNER_PID" ] && kill $RUNNER_PID 2>/dev/null; cleanup' EXIT

# script URL JSON: forgets what the double at URL had and queues replies
script() {
	curl -s -X POST "$1/_double/reset" >/dev/null
	curl -s -X POST -H 'Content-Type: application/json' --data-binary "$2" "$1/_double/script" >/dev/null
}
# requests URL: the requests the double at URL got, as JSON
requests() { curl -s "$1/_double/requests"; }

# wait_idle SESSION [TOKEN]: until its turn has ended (two minutes at most)
wait_idle() {
	local i
	for i in $(seq 1 1200); do
		api GET "/api/sessions/$1" "${2:-$ALICE}"
		[ "$(json .status)" = idle ] && return 0
		sleep 0.1
	done
	fail "session $1 never went idle: ${BODY_OUT:0:300}"
	return 1
}
# events SESSION: the types of its stored events, space-separated
events() {
	sql "SELECT string_agg(e.type, ' ' ORDER BY e.stream_seq) FROM workload_events e
	     JOIN agent_sessions s ON s.stream_id = e.stream_id WHERE s.id = $1"
}
# wait_event SESSION TYPE: until the session's stream holds an event TYPE
wait_event() {
	local i
	for i in $(seq 1 600); do
		[[ " $(events "$1") " == *" $2 "* ]] && return 0
		sleep 0.05
	done
	fail "session $1 never had a $2 event: $(events "$1")"
	return 1
}
# new_session BODY [TOKEN] [OWNER/REPO]: creates a session, prints its id
new_session() {
	api POST "/api/${3:-alice/app}/sessions" "${2:-$ALICE}" "$1"
	[ "$STATUS" = 201 ] || { fail "create session: $STATUS ${BODY_OUT:0:300}"; return 1; }
	json .id
}

# session_sandboxes SESSION: the sandboxes of the runner running its turn
session_sandboxes() {
	sandboxes_of "$(sql "SELECT r.pid FROM runners r JOIN workloads w ON w.id = r.workload_id
	                     WHERE w.session_id = $1 AND r.status = 'busy'")"
}
# sandbox_procs DIR...: whether a host process carries the id of one of
# the sandboxes. Under gVisor a sandboxed process is not the host's, so a
# host pgrep for the command itself finds nothing; the sandbox's own
# runsc processes are the host's, each with the id on its command line.
# (the pattern's brackets keep pgrep from finding this check's own)
sandbox_procs() {
	local d id
	for d in "$@"; do
		id=$(basename "$d")
		pgrep -f -- "[${id:0:1}]${id:1}" >/dev/null && return 0
	done
	return 1
}
# sandbox_gone DIR...: until the sandboxes are destroyed and none of their
# processes is left (ten seconds at most)
sandbox_gone() {
	local d left
	for _ in $(seq 1 50); do
		left=""
		for d in "$@"; do [ -e "$d" ] && left=1; done
		[ -z "$left" ] && ! sandbox_procs "$@" && return 0
		sleep 0.2
	done
	return 1
}
