#!/usr/bin/env bash
# web-pulls.sh — the files page of a pull request with 10,000 changed lines
# (10 files of 500 lines, every line replaced: 5,000 added, 5,000 removed),
# beside the JSON API's files endpoint of the same pull request in the
# same run: time to first byte and total time per request (curl on
# 127.0.0.1, sequential, so nearly all of it is the server's), p50/p99,
# and the bytes on the wire, plain and with gzip offered.
#
# Usage: PLUE=path/to/plue bash bench/web-pulls.sh
# Knobs: WEB_PULLS_RUNS (requests per URL, default 30), KEEP_TMP=1.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=web-pulls
. "$(dirname "$0")/lib.sh"
RUNS=${WEB_PULLS_RUNS:-30}
export PLUE_WARM_POOL=0
export PLUE_LOG_LEVEL=warn
export PLUE_PG_FSYNC=off
require_tools git curl python3

bench_init plue-web-pulls
export PLUE_DATA_DIR="$WORK/var" HOME="$WORK/home"
mkdir -p "$HOME"
bench_git_env
plue_start
plue_user bench repo:read,repo:write,user
plue_repo wp

# the fixture: main with 10 files of 500 lines, a branch that rewrites them
SRC="$WORK/src"
git init -q -b main "$SRC"
gen() { python3 -c 'import sys
for f in range(10):
    with open(f"{sys.argv[1]}/file{f}.c", "w") as o:
        for i in range(500):
            o.write(f"int {sys.argv[2]}_{f}_{i} = {i}; /* <line> & \"text\" */\n")' "$SRC" "$1"; }
gen before
git -C "$SRC" add -A
git -C "$SRC" -c user.name=b -c user.email=b@example.com commit -qm base
git -C "$SRC" checkout -qb big
gen after
git -C "$SRC" -c user.name=b -c user.email=b@example.com commit -qam "rewrite every line"
plue_push "$SRC" wp main big || die "push failed"
st=$(curl -s -o "$WORK/pull.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' --data '{"title":"big","head":"big","base":"main"}' \
	"$BASE/api/bench/wp/pulls")
[ "$st" = 201 ] || die "opening the pull request: status $st: $(cat "$WORK/pull.json")"

# measure NAME URL: RUNS sequential requests; prints p50/p99 of the time to
# first byte and the total, and the bytes plain and gzip-offered.
measure() {
	local name=$1 url=$2 i
	: >"$WORK/t"
	curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$url" # warm
	for i in $(seq 1 "$RUNS"); do
		curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" \
			-w '%{time_starttransfer} %{time_total}\n' "$url" >>"$WORK/t"
	done
	local plain gz
	plain=$(curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -w '%{size_download}' "$url")
	gz=$(curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Accept-Encoding: gzip' \
		-w '%{size_download}' "$url")
	python3 - "$WORK/t" "$name" "$plain" "$gz" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] * 1000
ttfb = [r[0] for r in rows]; tot = [r[1] for r in rows]
print(f"{sys.argv[2]:<34} ttfb p50 {pct(ttfb, .5):7.1f} ms  p99 {pct(ttfb, .99):7.1f} ms   "
      f"total p50 {pct(tot, .5):7.1f} ms  p99 {pct(tot, .99):7.1f} ms   "
      f"{int(sys.argv[3]):>9} B  ({int(sys.argv[4])} B gzip offered)  n={len(rows)}")
PY
}

echo "pull request files, 10 files, 10,000 changed lines ($(nproc) cores, $RUNS requests each)"
measure "page  /bench/wp/pull/1/files" "$BASE/bench/wp/pull/1/files"
measure "json  /api/bench/wp/pulls/1/files" "$BASE/api/bench/wp/pulls/1/files"
