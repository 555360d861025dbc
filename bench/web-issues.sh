#!/usr/bin/env bash
# web-issues.sh — the issue list page of a repository with many issues
# beside the JSON API's list of the same page, in the same run: a real
# `plue serve`, one repository, WEB_ISSUES issues opened through the API
# (one curl process, one keep-alive connection; a third carry a label,
# a fifth an assignee, a seventh a milestone), then WEB_ISSUES_GETS
# requests of each, read anonymously (a public repository) over one
# keep-alive connection per side:
#
#   page   GET /:owner/:repo/issues             (30 open issues, the tabs'
#                                                counts, the filter form)
#   api    GET /api/:owner/:repo/issues?type=issues&limit=30
#
# Server time is curl's time to the first byte after the request went out
# (time_starttransfer - time_pretransfer: loopback, keep-alive), p50 and
# p99; bytes on the wire are the response's headers and body (the server
# does not compress). Prints one line per side and the page/API ratio.
#
# Usage: PLUE=path/to/plue bash bench/web-issues.sh
# Knobs: WEB_ISSUES (default 1000), WEB_ISSUES_GETS (300), KEEP_TMP=1.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=web-issues
. "$(dirname "$0")/lib.sh"
ISSUES=${WEB_ISSUES:-1000}
GETS=${WEB_ISSUES_GETS:-300}
export PLUE_WARM_POOL=0
export PLUE_LOG_LEVEL=warn
export PLUE_PG_FSYNC=off
require_tools curl awk

bench_init plue-web-issues
export PLUE_DATA_DIR="$WORK/var" HOME="$WORK/home"
mkdir -p "$HOME"

plue_start
plue_user bench repo:read,repo:write,user
plue_repo iss
API="$BASE/api/bench/iss"

# api_post PATH JSON: one POST, dies unless it answers 2xx.
api_post() {
	curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		--data "$2" "$API$1" || die "POST $1 failed"
}
api_post /labels '{"name":"bug","color":"d73a4a"}'
api_post /labels '{"name":"needs review","color":"fbca04"}'
api_post /milestones '{"title":"v1.0"}'

say "opening $ISSUES issues through the API"
{
	for i in $(seq 1 "$ISSUES"); do
		extra=""
		[ $((i % 3)) = 0 ] && extra="$extra,\"labels\":[\"bug\",\"needs review\"]"
		[ $((i % 5)) = 0 ] && extra="$extra,\"assignees\":[\"bench\"]"
		[ $((i % 7)) = 0 ] && extra="$extra,\"milestone\":1"
		printf 'url = "%s/issues"\nheader = "Authorization: Bearer %s"\n' "$API" "$TOKEN"
		printf 'header = "Content-Type: application/json"\noutput = /dev/null\n'
		printf 'data = "{\\"title\\":\\"Issue number %d: something <b>odd</b>\\",\\"body\\":\\"A body with **Markdown** and a [link](https://example.com/%d).\\"%s}"\n' \
			"$i" "$i" "${extra//\"/\\\"}"
		printf 'write-out = "%%{http_code}\\n"\n'
		[ "$i" -lt "$ISSUES" ] && echo next
	done
} >"$WORK/create.curl"
curl -s -K "$WORK/create.curl" >"$WORK/create.codes"
bad=$(grep -vc '^201$' "$WORK/create.codes" || true)
[ "$bad" = 0 ] || die "$bad of $ISSUES issues were not created: $(sort "$WORK/create.codes" | uniq -c | tr '\n' ' ')"

# measure NAME URL: GETS requests of URL over one connection; prints
# "NAME p50 p99 bytes".
measure() {
	local name=$1 url=$2 i
	: >"$WORK/$name.urls"
	for i in $(seq 1 "$GETS"); do printf 'url = "%s"\noutput = /dev/null\n' "$url" >>"$WORK/$name.urls"; done
	curl -s -K "$WORK/$name.urls" -w '%{http_code} %{time_pretransfer} %{time_starttransfer} %{size_header} %{size_download}\n' \
		>"$WORK/$name.times"
	awk '$1 != 200 { bad++ } END { exit bad > 0 }' "$WORK/$name.times" || die "$name: not every request answered 200"
	awk '{ printf "%.3f\n", ($3 - $2) * 1000 }' "$WORK/$name.times" | sort -n >"$WORK/$name.ms"
	local n p50 p99 bytes
	n=$(wc -l <"$WORK/$name.ms")
	p50=$(median <"$WORK/$name.ms")
	p99=$(sed -n "$(((n * 99 + 99) / 100))p" "$WORK/$name.ms")
	bytes=$(awk 'NR == 1 { print $4 + $5 }' "$WORK/$name.times")
	echo "$name $p50 $p99 $bytes"
}

# a first pass of each warms the database's caches; it is left out
GETS_SAVED=$GETS GETS=20
measure page "$BASE/bench/iss/issues" >/dev/null
measure api "$API/issues?type=issues&limit=30" >/dev/null
GETS=$GETS_SAVED

read -r _ page50 page99 pagebytes < <(measure page "$BASE/bench/iss/issues")
read -r _ api50 api99 apibytes < <(measure api "$API/issues?type=issues&limit=30")
printf '%-34s p50 %7.2f ms   p99 %7.2f ms   %8d bytes\n' "issue list page (30 of $ISSUES)" "$page50" "$page99" "$pagebytes"
printf '%-34s p50 %7.2f ms   p99 %7.2f ms   %8d bytes\n' "JSON API list (30 of $ISSUES)" "$api50" "$api99" "$apibytes"
awk -v a="$page50" -v b="$api50" -v c="$page99" -v d="$api99" -v e="$pagebytes" -v f="$apibytes" \
	'BEGIN { printf "%-34s p50 %7.2f x    p99 %7.2f x    %8.2f x\n", "page / API", a / b, c / d, e / f }'
echo "requests: $GETS per side after 20 to warm up, anonymous, one keep-alive connection each"
