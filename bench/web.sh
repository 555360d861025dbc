#!/usr/bin/env bash
# web.sh — the browsing pages against cgit's, measured in the same run on
# 127.0.0.1 with the site fixture (bench/gen-site.py) in both:
#
#   tree page, wide/ (320 entries)   plue /alice/site/tree/SHA/wide   vs cgit /site/tree/wide?id=SHA
#   blob page, blob-64k.txt          plue /alice/site/blob/SHA/...    vs cgit /site/tree/blob-64k.txt?id=SHA
#   overview                         plue /alice/site                 vs cgit /site/ (summary)
#
# The tree page: requests/s with wrk, keep-alive (plue answers anonymous
# readers of a SHA page from its object cache; cgit runs as shipped, with
# no page cache). Target: plue >= 100x cgit. The blob and overview pages:
# latency p50/p99 under the same wrk load and the bytes on the wire
# (headers + body) of one response, beside cgit's; and plue's render time
# with the object cache bypassed (a distinct query string per request,
# curl's time to first byte, sequential), which is what a first reader of
# a SHA page waits.
#
# Usage: PLUE=path/to/plue bash bench/web.sh
# Knobs: BENCH_DURATION (s per wrk run, default 10), BENCH_THREADS (2),
#        BENCH_CONNECTIONS (32), BENCH_SAMPLES (uncached renders, 50),
#        KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=bench/web
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
OUT=bench/out
DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
SAMPLES=${BENCH_SAMPLES:-50}
CGIT_CGI=${CGIT_CGI:-/usr/lib/cgit/cgit.cgi}
CGIT_DATA=${CGIT_DATA:-/usr/share/cgit}
GIT_HTTP_BACKEND=${GIT_HTTP_BACKEND:-$(git --exec-path)/git-http-backend}
require_tools git nginx fcgiwrap wrk curl python3 "$CGIT_CGI"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

bench_init plue-bench-web
bench_git_env

# ---- the fixture (made by bench/run.sh; generated here when run alone)
gen_repo site bench/gen-site.py "-adq"
SHA=$(git -C "$OUT/site.git" rev-parse refs/heads/main)

# ---- the peer: cgit under nginx and fcgiwrap, as bench/run.sh runs it
peer_dirs
git clone -q --bare --no-local "$OUT/site.git" "$WORK/git/site.git"
sed -e "s|@WORK@|$WORK|g" bench/cgitrc >"$WORK/cgitrc"
give_away "$WORK/cgitrc"
peer_start 4 "$GIT_HTTP_BACKEND" "cgit/site/"

# ---- plue, as shipped
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off)
plue_start
plue_user alice repo:read,repo:write
plue_repo site
plue_push "$OUT/site.git" site --all || die "cannot push the fixture"

P_TREE="$BASE/alice/site/tree/$SHA/wide"
Q_TREE="$PEER/cgit/site/tree/wide?id=$SHA"
P_BLOB="$BASE/alice/site/blob/$SHA/blob-64k.txt"
Q_BLOB="$PEER/cgit/site/tree/blob-64k.txt?id=$SHA"
P_OVER="$BASE/alice/site"
Q_OVER="$PEER/cgit/site/"

# check URL WORD: the page answers 200 and shows WORD, or dies.
check() {
	local st
	st=$(curl -s -o "$WORK/got" -w '%{http_code}' "$1" || echo 000)
	[ "$st" = 200 ] && grep -q -- "$2" "$WORK/got" || die "$1: status $st, no '$2' in: $(head -c 300 "$WORK/got")"
}
check "$P_TREE" file-299.txt
check "$Q_TREE" file-299.txt
check "$P_BLOB" 'id="L10"'
check "$Q_BLOB" "blob-64k.txt"
check "$P_OVER" Fixtures
check "$Q_OVER" "browsing benchmark fixtures"

# run_wrk URL: one wrk run after a 1 s warm-up; prints "REQ/S P50-MS P99-MS",
# or "- - -" when wrk saw errors.
run_wrk() {
	local out="$WORK/wrk.out"
	wrk -t"$THREADS" -c"$CONNS" -d1s --timeout 10s "$1" >/dev/null 2>&1 || true
	wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency "$1" >"$out" 2>&1 || true
	if grep -qE '^ *(Non-2xx|Socket errors)' "$out" || ! grep -q '^Requests/sec' "$out"; then
		say "wrk on $1: $(grep -E 'Non-2xx|Socket errors' "$out" | tr -s ' \n' ' ')"
		echo "- - -"
		return
	fi
	python3 - "$out" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s*([0-9.]+)", t).group(1))
def ms(p):
    m = re.search(r"^\s*%d%%\s+([0-9.]+)(us|ms|s)\s*$" % p, t, re.M)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
print("%.0f %.2f %.2f" % (rps, ms(50), ms(99)))
EOF
}

# wire URL: the bytes of one response, headers included.
wire() { curl -s -o /dev/null -w '%{size_header} %{size_download}\n' "$1" | awk '{ print $1 + $2 }'; }

# cold URL: plue's render with the object cache bypassed (a query string of
# its own per request), sequential; prints "P50-MS P99-MS".
cold() {
	local i
	for i in $(seq 1 "$SAMPLES"); do
		curl -s -o /dev/null -w '%{time_starttransfer}\n' "$1?bench=$i"
	done | python3 -c '
import sys
v = sorted(float(x) * 1000 for x in sys.stdin)
print("%.2f %.2f" % (v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))]))'
}

echo "plue bench web: $(nproc) cores; wrk -t$THREADS -c$CONNS -d${DURATION}s keep-alive, anonymous; site $SHA"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows both sides)"

read -r p_rps p_50 p_99 <<<"$(run_wrk "$P_TREE")"
read -r q_rps q_50 q_99 <<<"$(run_wrk "$Q_TREE")"
ratio=-
verdict=n/a
if [ "$p_rps" != - ] && [ "$q_rps" != - ]; then
	ratio=$(python3 -c "print('%.1f' % ($p_rps / $q_rps))")
	verdict=$(python3 -c "print('met' if $ratio >= 100 else 'MISSED')")
fi
printf '%-22s plue %9s req/s   cgit %7s req/s   ratio %6s (target >= 100 %s)\n' \
	"tree page, 320 entries" "$p_rps" "$q_rps" "$ratio" "$verdict"
printf '%-22s plue p50 %6s ms p99 %6s ms   cgit p50 %6s ms p99 %6s ms   (latency under load)\n' \
	"" "$p_50" "$p_99" "$q_50" "$q_99"
read -r c50 c99 <<<"$(cold "$P_TREE")"
printf '%-22s plue %s B, cgit %s B on the wire; plue uncached render p50 %s ms p99 %s ms\n' \
	"" "$(wire "$P_TREE")" "$(wire "$Q_TREE")" "$c50" "$c99"

for page in blob over; do
	if [ $page = blob ]; then
		label="blob page, 64 KiB" purl=$P_BLOB qurl=$Q_BLOB
	else
		label="overview" purl=$P_OVER qurl=$Q_OVER
	fi
	read -r p_rps p_50 p_99 <<<"$(run_wrk "$purl")"
	read -r q_rps q_50 q_99 <<<"$(run_wrk "$qurl")"
	printf '%-22s plue p50 %6s ms p99 %6s ms %9s req/s   cgit p50 %6s ms p99 %6s ms %7s req/s\n' \
		"$label" "$p_50" "$p_99" "$p_rps" "$q_50" "$q_99" "$q_rps"
	read -r c50 c99 <<<"$(cold "$purl")"
	printf '%-22s plue %s B, cgit %s B on the wire; plue uncached render p50 %s ms p99 %s ms\n' \
		"" "$(wire "$purl")" "$(wire "$qurl")" "$c50" "$c99"
done

# What a first visit to the overview downloads: the page with the
# stylesheets and scripts it references (target: under 30 KB), and whether
# its first paint waits for a script (every script must be defer or async).
# cgit's summary page beside it, with its stylesheet.
page_weight() { # URL BASE: prints "TOTAL-BYTES BLOCKING-SCRIPTS"
	local total ref refs
	curl -s "$1" >"$WORK/page.html"
	total=$(wire "$1")
	refs=$(python3 - "$WORK/page.html" <<'PY'
import re, sys, html
t = open(sys.argv[1], encoding="utf-8", errors="replace").read()
refs, blocking = [], 0
for tag in re.findall(r"<(?:link|script)\b[^>]*>", t, re.I):
    m = re.search(r"""(?:href|src)\s*=\s*['"]([^'"]+)['"]""", tag, re.I)
    if tag.lower().startswith("<script"):
        if not re.search(r"\b(defer|async)\b", tag, re.I):
            blocking += 1
        if m:
            refs.append(m.group(1))
    elif m and re.search(r"stylesheet", tag, re.I):
        refs.append(m.group(1))
print(blocking)
for r in refs:
    print(html.unescape(r))
PY
)
	local blocking=${refs%%$'\n'*}
	for ref in $(tail -n +2 <<<"$refs"); do
		total=$((total + $(wire "$2$ref")))
	done
	echo "$total $blocking"
}
read -r p_total p_block <<<"$(page_weight "$P_OVER" "$BASE")"
read -r q_total _ <<<"$(page_weight "$Q_OVER" "$PEER")"
printf '%-22s plue %s B with its CSS and JS (target < 30720: %s), scripts blocking the first paint: %s; cgit %s B with its CSS\n' \
	"overview, first visit" "$p_total" "$([ "$p_total" -lt 30720 ] && echo met || echo MISSED)" \
	"$p_block" "$q_total"
