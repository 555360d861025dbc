#!/usr/bin/env bash
# latency.sh — event-to-first-log-line latency of workflow runs with a warm
# pool: a real `plue serve` with PLUE_WARM_POOL standby runners in the real
# sandbox (PLUE_SANDBOX, default auto), a repository whose workflow has one
# step that prints a line, and N workflow_dispatch events one after the
# other. For each run it takes, from the database:
#
#   event → dispatch       events.created_at → the dispatcher's transaction
#   event → claim          events.created_at → workloads.claimed_at
#   checkout               the runner's step 0 (git fetch of the commit)
#   event → first log      events.created_at → ts of the first line of the
#                          workflow's own step (when the runner read it),
#                          minus the checkout
#   event → first stored   the same line's workload_events.created_at: when
#                          the server stored it and sent it to watchers,
#                          minus the checkout
#   (same, with checkout)  without subtracting it
#
# and prints p50/p99 of each, one line per figure, and the first-log p50
# and p99 as a ratio to the 500 ms warm-claim target of the original
# design (below 1 is better than the target).
#
# Usage: PLUE=path/to/plue bash bench/latency.sh
# Knobs: LATENCY_RUNS (default 50), LATENCY_GAP (seconds between runs, 1),
#        LATENCY_REPO (small, or big: the 110k-object benchmark repository
#        of bench/run.sh, 9,600 files at its head, generated when missing),
#        LATENCY_WARMUP (runs first, left out of the figures: each runner's
#        first checkout of the repository, which fills its checkout cache
#        and starts building its cached tree; default twice the pool size;
#        their checkout is printed as cold_checkout),
#        LATENCY_COMMITS=1 (push a new commit, one changed file, before
#        each event, so that every checkout fetches and writes what
#        differs; default 0: every run checks out the same commit),
#        PLUE_WARM_POOL (2), PLUE_SANDBOX (auto),
#        KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=latency
. "$(dirname "$0")/lib.sh"
OUT="$(dirname "$0")/out"
RUNS=${LATENCY_RUNS:-50}
export PLUE_WARM_POOL=${PLUE_WARM_POOL:-2}
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_LOG_LEVEL=warn
export PLUE_PG_FSYNC=off
export GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1

bench_init plue-latency
export PLUE_DATA_DIR="$WORK/var" HOME="$WORK/home"
mkdir -p "$HOME"

plue_start
plue_user bench repo:read,repo:write,user
PG="host=$PLUE_DATA_DIR/pg dbname=plue user=plue"
sql() { psql -qtAX "$PG" -c "$1"; }
plue_repo lat

SRC="$WORK/src"
if [ "${LATENCY_REPO:-small}" = big ]; then
	fixture_big
	git clone -q -b main "$OUT/big.git" "$SRC"
else
	git init -q -b main "$SRC"
fi
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/lat.yaml" <<'EOF'
on: workflow_dispatch
jobs:
  j:
    steps:
      - run: echo first-line
EOF
git -C "$SRC" -c user.name=b -c user.email=b@example.com add .
git -C "$SRC" -c user.name=b -c user.email=b@example.com commit -qm lat
git -C "$SRC" push -q "http://bench:$TOKEN@127.0.0.1:$PLUE_PORT/bench/lat.git" main

# the pool is warm when every runner has registered
for _ in $(seq 1 600); do
	[ "$(sql "SELECT count(*) FROM runners WHERE status = 'idle'")" -ge "$PLUE_WARM_POOL" ] && break
	sleep 0.1
done

WARMUP=${LATENCY_WARMUP:-$((2 * PLUE_WARM_POOL))}
for i in $(seq 1 "$((RUNS + WARMUP))"); do
	if [ "${LATENCY_COMMITS:-0}" = 1 ]; then
		echo "$i" >"$SRC/bump.txt"
		git -C "$SRC" -c user.name=b -c user.email=b@example.com add bump.txt
		git -C "$SRC" -c user.name=b -c user.email=b@example.com commit -qm "bump $i"
		git -C "$SRC" push -q "http://bench:$TOKEN@127.0.0.1:$PLUE_PORT/bench/lat.git" main
	fi
	curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-d '{}' "$BASE/api/bench/lat/workflows/lat.yaml/dispatch"
	for _ in $(seq 1 600); do
		[ "$(sql "SELECT count(*) FROM workflow_runs WHERE status IN ('success', 'failure', 'cancelled')")" -ge "$i" ] && break
		sleep 0.2
	done
	# a warm pool between events: the runner that ran it starts its next
	# sandbox and parks its claim again
	sleep "${LATENCY_GAP:-1}"
done

failed=$(sql "SELECT count(*) FROM workflow_runs WHERE status <> 'success'")
[ "$failed" = 0 ] || { echo "latency: $failed runs did not succeed" >&2; exit 1; }

# one row per run: claim, checkout, first log (with and without checkout), in ms
sql "
WITH r AS (
  SELECT w.id, e.created_at AS ev, w.created_at AS dispatched,
         (SELECT claimed_at FROM workloads x JOIN workflow_jobs j ON j.id = x.job_id WHERE j.run_id = w.id LIMIT 1) AS claimed,
         (SELECT (payload->>'duration_ms')::float FROM workload_events
           WHERE stream_id = w.stream_id AND type = 'step_end' AND (payload->>'step')::int = 0 LIMIT 1) AS checkout,
         (SELECT min((payload->>'ts')::timestamptz) FROM workload_events
           WHERE stream_id = w.stream_id AND type = 'log' AND (payload->>'step')::int >= 1) AS first_log,
         (SELECT min(created_at) FROM workload_events
           WHERE stream_id = w.stream_id AND type = 'log' AND (payload->>'step')::int >= 1) AS first_stored
  FROM workflow_runs w JOIN events e ON e.id = w.event_id
  WHERE w.id NOT IN (SELECT id FROM workflow_runs ORDER BY id LIMIT $WARMUP))
SELECT 'event_to_dispatch_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched - ev) * 1000),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched - ev) * 1000) FROM r
UNION ALL
SELECT 'event_to_claim_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM claimed - ev) * 1000),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM claimed - ev) * 1000) FROM r
UNION ALL
SELECT 'checkout_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY checkout),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY checkout) FROM r
UNION ALL
SELECT 'event_to_first_log_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_log - ev) * 1000 - checkout),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM first_log - ev) * 1000 - checkout) FROM r
UNION ALL
SELECT 'event_to_first_log_stored_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_stored - ev) * 1000 - checkout),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM first_stored - ev) * 1000 - checkout) FROM r
UNION ALL
SELECT 'event_to_first_log_with_checkout_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_log - ev) * 1000),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM first_log - ev) * 1000) FROM r
" | while IFS='|' read -r name p50 p99; do
	printf '%-40s p50 %8.1f ms   p99 %8.1f ms\n' "$name" "$p50" "$p99"
	if [ "$name" = event_to_first_log_ms ]; then
		awk -v a="$p50" -v b="$p99" 'BEGIN { printf "%-40s p50 %8.2f x     p99 %8.2f x   (of the 500 ms warm-claim target)\n", "first_log_vs_target", a / 500, b / 500 }'
	fi
done
# the slowest dispatch: a stall of one event in many hides in a p99
sql "SELECT max(extract(epoch FROM w.created_at - e.created_at) * 1000), count(*) FILTER (WHERE w.created_at - e.created_at > interval '1 second')
     FROM workflow_runs w JOIN events e ON e.id = w.event_id WHERE w.id NOT IN (SELECT id FROM workflow_runs ORDER BY id LIMIT $WARMUP)" |
	while IFS='|' read -r mx slow; do printf '%-40s max %8.1f ms   (%d of the runs over 1 s)\n' event_to_dispatch_ms "$mx" "$slow"; done
sql "SELECT max((payload->>'duration_ms')::float) FROM workload_events x JOIN workflow_runs w ON w.stream_id = x.stream_id
     WHERE x.type = 'step_end' AND (x.payload->>'step')::int = 0 AND w.id IN (SELECT id FROM workflow_runs ORDER BY id LIMIT $WARMUP)" |
	while read -r cold; do [ -n "$cold" ] && printf '%-40s max %8.1f ms   (the %d warm-up runs)\n' cold_checkout_ms "$cold" "$WARMUP"; done
echo "repository: ${LATENCY_REPO:-small}$([ "${LATENCY_COMMITS:-0}" = 1 ] && echo ", a new commit per run"), runs: $RUNS (+$WARMUP warm-up), warm pool: $PLUE_WARM_POOL, sandbox: $(sql "SELECT string_agg(DISTINCT sandbox, ',') FROM workflow_runs")"
