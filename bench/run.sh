#!/usr/bin/env bash
# run.sh — `make bench`: plue against its peers, measured in the same run on
# 127.0.0.1, each figure printed beside its peer as a ratio.
#
#   blob by SHA (1 KiB, 64 KiB)   plue /api/…/blob/SHA/PATH  vs nginx static file
#   tree listing (320 entries)    plue /api/…/tree/SHA/DIR   vs cgit tree page
#   full clone (110k objects)     plue smart HTTP            vs git http-backend
#
# The fixture repositories are generated from scratch (bench/gen-*.py) and
# cached under bench/out/. nginx and fcgiwrap run unprivileged from a
# temporary prefix; everything started here is stopped on exit.
#
# Usage: PLUE=path/to/plue bash bench/run.sh
# Knobs: BENCH_DURATION (s, default 10), BENCH_THREADS (wrk threads, 2),
#        BENCH_CONNECTIONS (32), BENCH_ROUNDS (alternating wrk rounds, 2),
#        BENCH_CLONES (runs per side, 3),
#        BENCH_ONLY (space-separated subset of: blob tree clone),
#        BENCH_EXTRAS=0 skips bench/sandbox.sh, bench/latency.sh, bench/ssh.sh, bench/webhooks.sh,
#        bench/sse.sh, bench/agents.sh, bench/replicas.sh, bench/k8s.sh,
#        bench/packcache.sh, bench/maintenance.sh, bench/web.sh and
#        bench/web-pulls.sh, bench/web-issues.sh,
#        KEEP_TMP=1 keeps the temporary directory, BENCH_HOLD=1 sets
#        everything up, prints the URLs and waits (for profiling).
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=bench
. "$(dirname "$0")/lib.sh"

cd "$(dirname "$0")/.."
OUT=bench/out
DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
CLONES=${BENCH_CLONES:-3}
ROUNDS=${BENCH_ROUNDS:-2}
ONLY=${BENCH_ONLY:-blob tree clone}
CGIT_CGI=${CGIT_CGI:-/usr/lib/cgit/cgit.cgi}
CGIT_DATA=${CGIT_DATA:-/usr/share/cgit}
GIT_HTTP_BACKEND=${GIT_HTTP_BACKEND:-$(git --exec-path)/git-http-backend}

require_tools git nginx fcgiwrap wrk curl python3 "$CGIT_CGI" "$GIT_HTTP_BACKEND"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

bench_init plue-bench
SAMPLER_PID="" CPU_P_PID="" CPU_Q_PID=""
stop_extra() { # the samplers, before the servers (lib.sh's stop_all)
	stop_pid "$SAMPLER_PID" TERM
	stop_pid "$CPU_P_PID" TERM
	stop_pid "$CPU_Q_PID" TERM
	SAMPLER_PID="" CPU_P_PID="" CPU_Q_PID=""
}
bench_git_env

# ---------------------------------------------------------------- fixtures

gen_repo site bench/gen-site.py "-adq"
fixture_big
SITE_SHA=$(git -C "$OUT/site.git" rev-parse refs/heads/main)
WIDE_ENTRIES=$(git -C "$OUT/site.git" ls-tree "$SITE_SHA:wide" | wc -l)

# The peers' copies: bare clones, packed the way a push leaves them.
peer_dirs
mkdir -p "$WORK/www/static"
PEER_REPOS=(site)
[[ " $ONLY " == *" clone "* ]] && PEER_REPOS+=(big)
for name in "${PEER_REPOS[@]}"; do
	git clone -q --bare --no-local "$OUT/$name.git" "$WORK/git/$name.git"
done
for f in blob-1k.txt blob-64k.txt; do
	git -C "$OUT/site.git" cat-file blob "$SITE_SHA:$f" >"$WORK/www/static/$f"
done

# ---------------------------------------------------------------- peers

sed -e "s|@WORK@|$WORK|g" bench/cgitrc >"$WORK/cgitrc"
give_away "$WORK/cgitrc"
peer_start 4 "$GIT_HTTP_BACKEND" static/blob-1k.txt

# ---------------------------------------------------------------- plue

# The server as shipped, with warnings only, no standby runners (nothing here
# runs workflows) and fsync off in its throwaway cluster (only the setup
# writes to it).
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off)
plue_start
plue_user alice repo:read,repo:write

PLUE_SITE=0 PLUE_BIG=0 # 1 once the repository is pushed and its tip checked
for name in "${PEER_REPOS[@]}"; do
	plue_repo "$name"
	plue_push "$OUT/$name.git" "$name" --all || continue
	want=$(git -C "$OUT/$name.git" rev-parse refs/heads/main)
	got=$(git ls-remote "$BASE/alice/$name.git" refs/heads/main 2>/dev/null | cut -f1)
	if [ "$got" = "$want" ]; then
		[ "$name" = site ] && PLUE_SITE=1 || PLUE_BIG=1
	else
		say "plue's alice/$name has main at '$got', want $want"
	fi
done

if [ "${BENCH_HOLD:-}" = 1 ]; then
	# for profiling: everything is up; stop with Ctrl-C or SIGTERM
	echo "plue $BASE (pid $PLUE_PID, token $TOKEN), peers $PEER (nginx pid $NGINX_PID)"
	echo "  $BASE/api/alice/site/blob/$SITE_SHA/blob-64k.txt   $PEER/static/blob-64k.txt"
	echo "  $BASE/api/alice/site/tree/$SITE_SHA/wide   $PEER/cgit/site/tree/wide?id=$SITE_SHA"
	echo "  $BASE/alice/big.git   $PEER/git/big.git   (work dir $WORK)"
	sleep infinity &
	SAMPLER_PID=$! # stopped by stop_all like the samplers
	wait "$SAMPLER_PID" || true
	exit 0
fi

# ---------------------------------------------------------------- measuring

# fetch URL FILE: GET into FILE, prints the status code.
fetch() { curl -s -o "$2" -w '%{http_code}' "$1" || echo 000; }

# cpu_ticks plue|peer: CPU time used so far by plue, or by the peers (nginx's
# master and workers, fcgiwrap's process group with the CGI programs it has
# run), children included once reaped.
cpu_ticks() {
	if [ "$1" = plue ]; then
		awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PLUE_PID/stat"
	else
		{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v n="$NGINX_PID" -v g="$FCGI_PID" '
			{ pid = $1; sub(/^.*\) /, "") }  # now $1 is the state, $2 the ppid
			pid == n || $2 == n || $3 == g { t += $12 + $13 + $14 + $15 }
			END { print t + 0 }'
	fi
}

# A sampler for the clone phase: every 50 ms it reads the CPU time of the
# given processes and all their descendants (own time only, so nothing
# counts twice) and the first process's resident set; on SIGTERM it prints
# "TICKS MAX-RSS-KiB", the ticks used since it started. It misses at most
# one interval at the end of each short-lived process.
CPU_SAMPLER='
import os, signal, sys, time
roots = [int(p) for p in sys.argv[1:]]
seen, base, rss = {}, None, [0]
def sample():
    global base
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            procs[int(d)] = (int(f[1]), f[19], int(f[11]) + int(f[12]))
    tree, grew = set(roots), True
    while grew:
        grew = False
        for pid, (ppid, _, _) in procs.items():
            if ppid in tree and pid not in tree:
                tree.add(pid); grew = True
    for pid in tree:
        if pid in procs:
            seen[(pid, procs[pid][1])] = procs[pid][2]
    if base is None:
        base = dict(seen)  # time used before the phase does not count
    try:
        for line in open("/proc/%d/status" % roots[0]):
            if line.startswith("VmRSS:"):
                rss[0] = max(rss[0], int(line.split()[1]))
    except OSError:
        pass
def done(*_):
    sample(); print(sum(v - base.get(k, 0) for k, v in seen.items()), rss[0]); sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    sample(); time.sleep(0.05)
'

# wrk_once SIDE URL: one wrk run; prints "REQ/S CPU-µs-PER-REQUEST", or "- -"
# when wrk saw errors (they go to stderr).
wrk_once() {
	local side=$1 url=$2 out="$WORK/wrk.out" r n c0 c1 bad
	c0=$(cpu_ticks "$side")
	wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s "$url" >"$out" 2>&1 || true
	c1=$(cpu_ticks "$side")
	r=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
	n=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
	bad=$(grep -E '^ *(Non-2xx|Socket errors)' "$out" || true)
	[ -n "$bad" ] && say "wrk on $url: $(echo "$bad" | tr -s ' \n' ' ')"
	if [ -z "$r" ] || [ -z "$n" ] || [ "$n" = 0 ] || grep -q 'Non-2xx' "$out"; then
		echo "- -"
	else
		printf '%.0f %d\n' "$r" $(( (c1 - c0) * TICK_US / n ))
	fi
}

# pair PLUE-URL PEER-URL: a 2 s warm-up each, then BENCH_ROUNDS rounds that
# alternate which side goes first; sets A/B (best requests/s of plue and the
# peer) and A_CPU/B_CPU (CPU µs per request in that best round). An empty
# PLUE-URL measures the peer alone.
pair() {
	local purl=$1 qurl=$2 i side url res rps cpu
	A=- B=- A_CPU=- B_CPU=-
	for url in $purl $qurl; do
		wrk -t"$THREADS" -c"$CONNS" -d2s --timeout 10s "$url" >/dev/null 2>&1 || true
	done
	for i in $(seq 1 "$ROUNDS"); do
		for side in $( [ $((i % 2)) = 1 ] && echo "plue peer" || echo "peer plue"); do
			if [ "$side" = plue ]; then url=$purl; else url=$qurl; fi
			[ -n "$url" ] || continue
			res=$(wrk_once "$side" "$url")
			read -r rps cpu <<<"$res"
			[ "$rps" != - ] || continue
			if [ "$side" = plue ]; then
				if [ "$A" = - ] || [ "$rps" -gt "$A" ]; then A=$rps A_CPU=$cpu; fi
			else
				if [ "$B" = - ] || [ "$rps" -gt "$B" ]; then B=$rps B_CPU=$cpu; fi
			fi
		done
	done
}

FIGURES=() # "label|ratio|op|target|verdict" for the summary

# figure LABEL PLUE PEERNAME PEER UNIT OP TARGET: prints a line and records it;
# the ratio is plue/peer ("-" if either is missing).
figure() {
	local label=$1 a=$2 peer=$3 b=$4 unit=$5 op=$6 target=$7 ratio="-" verdict="n/a"
	if [ "$a" != - ] && [ "$b" != - ]; then
		ratio=$(python3 -c "print('%.2f' % ($a / $b))")
		if python3 -c "import sys; sys.exit(0 if $ratio $op $target else 1)"; then
			verdict=met
		else
			verdict=MISSED
		fi
	fi
	printf '%-20s plue %8s %-5s %6s %8s %-5s ratio %6s (target %s %s)\n' \
		"$label" "$a" "$unit" "$peer" "$b" "$unit" "$ratio" "$op" "$target"
	FIGURES+=("$label|$ratio|$op|$target|$verdict")
}

# cpu_line PEERNAME: the CPU cost per request of the last pair.
cpu_line() {
	printf '%-20s plue %8s µs    %6s %8s µs    (CPU per request, all processes)\n' \
		"" "$A_CPU" "$1" "$B_CPU"
}

echo "plue bench: $(nproc) cores; wrk -t$THREADS -c$CONNS -d${DURATION}s keep-alive, best of $ROUNDS alternating rounds; $CLONES clones per side"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows both sides)"
echo "  site $SITE_SHA (wide/ has $WIDE_ENTRIES entries), big $BIG_SHA ($BIG_OBJECTS objects)"

if [[ " $ONLY " == *" blob "* ]]; then
	for f in blob-1k.txt blob-64k.txt; do
		label="blob $( [ $f = blob-1k.txt ] && echo 1KiB || echo 64KiB) by sha"
		purl="$BASE/api/alice/site/blob/$SITE_SHA/$f"
		if [ "$PLUE_SITE" = 1 ]; then
			st=$(fetch "$purl" "$WORK/got")
			if [ "$st" != 200 ]; then
				say "plue $purl: status $st"
				purl=""
			elif ! cmp -s "$WORK/got" "$WORK/www/static/$f"; then
				say "plue $purl: the bytes differ from the blob"
				purl=""
			fi
		else
			purl=""
		fi
		pair "$purl" "$PEER/static/$f"
		figure "$label" "$A" nginx "$B" req/s ">=" 0.8
		cpu_line nginx
	done
fi

if [[ " $ONLY " == *" tree "* ]]; then
	purl="$BASE/api/alice/site/tree/$SITE_SHA/wide"
	qurl="$PEER/cgit/site/tree/wide?id=$SITE_SHA"
	if [ "$PLUE_SITE" = 1 ]; then
		st=$(fetch "$purl" "$WORK/got")
		n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/got" 2>/dev/null || echo "?")
		if [ "$st" != 200 ] || [ "$n" != "$WIDE_ENTRIES" ]; then
			say "plue $purl: status $st, $n entries (want 200, $WIDE_ENTRIES)"
			purl=""
		fi
	else
		purl=""
	fi
	st=$(fetch "$qurl" "$WORK/got")
	if [ "$st" = 200 ] && grep -q 'file-299.txt' "$WORK/got"; then
		pair "$purl" "$qurl"
	else
		say "cgit $qurl: status $st: $(head -c 300 "$WORK/got")"
		pair "$purl" ""
		B=-
	fi
	figure "tree $WIDE_ENTRIES entries" "$A" cgit "$B" req/s ">=" 100
	cpu_line cgit
fi

# clone_secs URL: wall time of one `git clone --bare`, in seconds.
clone_secs() {
	local dir="$WORK/clones/c" t0 t1
	rm -rf "$dir"
	t0=$EPOCHREALTIME
	git clone -q --bare "$1" "$dir" 2>"$WORK/clone.err" || { say "clone $1: $(cat "$WORK/clone.err")"; return 1; }
	t1=$EPOCHREALTIME
	[ "$(git -C "$dir" rev-parse refs/heads/main)" = "$BIG_SHA" ] || { say "clone $1: wrong main"; return 1; }
	python3 -c "print('%.3f' % ($t1 - $t0))"
}

kib_of() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$PLUE_PID/status"; }

if [[ " $ONLY " == *" clone "* ]]; then
	a=- b=- plue_times=() peer_times=() rss_base="" rss_peak=""
	# one untimed clone per side first: the first clone after a quiet spell
	# is slower on both sides
	[ "$PLUE_BIG" = 1 ] && { clone_secs "$BASE/alice/big.git" >/dev/null || true; }
	clone_secs "$PEER/git/big.git" >/dev/null || true
	if [ "$PLUE_BIG" = 1 ]; then
		rss_base=$(kib_of VmRSS)
		# peak RSS over the clones: the high-water mark, reset here, and
		# the sampler's maximum in case the reset is not permitted
		echo 5 >"/proc/$PLUE_PID/clear_refs" 2>/dev/null || true
	fi
	# CPU over the whole phase (each side idles while the other clones).
	python3 -c "$CPU_SAMPLER" "$PLUE_PID" >"$WORK/cpu.plue" &
	CPU_P_PID=$!
	python3 -c "$CPU_SAMPLER" "$NGINX_PID" "$FCGI_PID" >"$WORK/cpu.peer" &
	CPU_Q_PID=$!
	self0=$(awk '{ print $14 + $15 }' "/proc/$PLUE_PID/stat")
	for i in $(seq 1 "$CLONES"); do
		# alternate which side goes first in each round
		for side in $( [ $((i % 2)) = 1 ] && echo "plue peer" || echo "peer plue"); do
			if [ "$side" = plue ] && [ "$PLUE_BIG" = 1 ]; then
				t=$(clone_secs "$BASE/alice/big.git") && plue_times+=("$t")
			elif [ "$side" = peer ]; then
				t=$(clone_secs "$PEER/git/big.git") && peer_times+=("$t")
			fi
		done
	done
	self1=$(awk '{ print $14 + $15 }' "/proc/$PLUE_PID/stat")
	kill -TERM "$CPU_P_PID" "$CPU_Q_PID"
	wait "$CPU_P_PID" "$CPU_Q_PID" || true
	CPU_P_PID="" CPU_Q_PID=""
	cpu_self=$(( (self1 - self0) * TICK_US / CLONES / 1000 ))
	cpu_p=$(( $(cut -d' ' -f1 "$WORK/cpu.plue") * TICK_US / CLONES / 1000 ))
	cpu_q=$(( $(cut -d' ' -f1 "$WORK/cpu.peer") * TICK_US / CLONES / 1000 ))
	if [ "$PLUE_BIG" = 1 ]; then
		hwm=$(kib_of VmHWM)
		sampled=$(cut -d' ' -f2 "$WORK/cpu.plue")
		rss_peak=$(( hwm > sampled ? hwm : sampled ))
	fi
	[ ${#plue_times[@]} -eq "$CLONES" ] && a=$(printf '%s\n' "${plue_times[@]}" | median)
	[ ${#peer_times[@]} -eq "$CLONES" ] && b=$(printf '%s\n' "${peer_times[@]}" | median)
	figure "clone $BIG_OBJECTS objects" "$a" http-backend "$b" s "<=" 1.1
	printf '%-20s plue %8s ms    %6s %8s ms    (server CPU per clone, git processes included)\n' \
		"" "$cpu_p" http-backend "$cpu_q"
	echo "  of which plue's own threads: $cpu_self ms per clone"
	echo "  clone runs (s): plue ${plue_times[*]:-none}   http-backend ${peer_times[*]:-none}"
	if [ -n "$rss_peak" ]; then
		pack_kib=$(du -sk "$WORK/git/big.git/objects/pack" | cut -f1)
		echo "  plue RSS during the clones: $((rss_base / 1024)) MiB before, peak $((rss_peak / 1024)) MiB (pack is $((pack_kib / 1024)) MiB)"
	fi
fi

# ---------------------------------------------------------------- summary

echo
echo "summary:"
missed=0
for f in "${FIGURES[@]}"; do
	IFS='|' read -r label ratio op target verdict <<<"$f"
	printf '  %-20s ratio %6s  target %s %-4s  %s\n' "$label" "$ratio" "$op" "$target" "$verdict"
	[ "$verdict" = met ] || missed=$((missed + 1))
done
echo "  $(( ${#FIGURES[@]} - missed )) of ${#FIGURES[@]} targets met"

stop_all
# The other benchmarks, if present, in the caller's environment.
unset GIT_CONFIG_NOSYSTEM GIT_TERMINAL_PROMPT GIT_CONFIG_GLOBAL
if [ "${BENCH_EXTRAS:-1}" = 1 ]; then
	for extra in bench/sandbox.sh bench/latency.sh bench/ssh.sh bench/webhooks.sh bench/sse.sh bench/agents.sh bench/replicas.sh bench/packcache.sh bench/maintenance.sh bench/web.sh bench/web-pulls.sh bench/web-issues.sh bench/k8s.sh; do
		if [ -x "$extra" ]; then echo; "$extra"; fi
	done
fi
