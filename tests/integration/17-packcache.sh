#!/usr/bin/env bash
# 17-packcache: the pack cache for identical fetches (git/packcache.h).
# A repeated clone is served from the cache byte for byte as git itself
# would send it; a push is a new key; the cache stays within its bound,
# least recently used first; requesters of a pack being generated stream
# it before it is finished, and neither a requester that disconnects half
# way nor a generator that died spoils the entry.
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
CACHE="$PLUE_DATA_DIR/packcache"
api POST /api/repos "$ALICE" '{"name":"project"}'
expect_status 201 "create project"
REPO_DIR="$PLUE_DATA_DIR/repos/$(json .id).git"
PUSH_URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/project.git"
URL="$BASE/alice/project.git"

entries() { ls "$CACHE" 2>/dev/null | grep -c '\.pack$'; }
entry_names() { ls "$CACHE" 2>/dev/null | grep '\.pack$' | sort; }
pack_of() { ls "$1"/.git/objects/pack/pack-*.pack; } # a clone's one pack

SRC="$T_DIR/src"
git init -q "$SRC"
(
	cd "$SRC"
	for i in $(seq 1 30); do
		echo "line $i" >>history.txt
		head -c 20000 /dev/urandom | base64 >"file-$((i % 5)).txt"
		git add .
		git commit -qm "commit $i"
	done
	git tag -a v1 -m "release"
)
check "push" git -C "$SRC" push -q "$PUSH_URL" main --tags

# ---- byte-identical: a miss, a hit, and git without the cache
check "first clone (generates)" git clone -q "$URL" "$T_DIR/c1"
check "one entry after the first clone" test "$(entries)" = 1
ENTRY=$(entry_names)
touch -a -d '2001-01-01' "$CACHE/$ENTRY"
check "second clone (from the cache)" git clone -q "$URL" "$T_DIR/c2"
check "still one entry" test "$(entries)" = 1
check "the hit refreshed the entry's atime" test "$(stat -c %X "$CACHE/$ENTRY")" -gt 1000000000
check "hit and miss send the same bytes" cmp -s "$(pack_of "$T_DIR/c1")" "$(pack_of "$T_DIR/c2")"
check "the entry is the pack the client got" cmp -s "$CACHE/$ENTRY" "$(pack_of "$T_DIR/c2")"
check "clone without the cache" git clone -q --no-local -u "git upload-pack" "file://$REPO_DIR" "$T_DIR/c0"
check "cached bytes are git's own bytes" cmp -s "$(pack_of "$T_DIR/c0")" "$(pack_of "$T_DIR/c2")"
check "cached clone is complete" git -C "$T_DIR/c2" fsck --strict --no-progress
check "cached clone has the tag" test "$(git -C "$T_DIR/c2" rev-parse v1)" = "$(git -C "$SRC" rev-parse v1)"

# shallow requests (shallow lines in the request) are keyed and served alike
check "shallow clone" git clone -q --depth 1 "$URL" "$T_DIR/sh1"
check "shallow clone again" git clone -q --depth 1 "$URL" "$T_DIR/sh2"
check "both shallow clones have one commit" test "$(git -C "$T_DIR/sh2" rev-list --count HEAD)" = 1
check "and the same commit" test "$(git -C "$T_DIR/sh2" rev-parse HEAD)" = "$(git -C "$T_DIR/sh1" rev-parse HEAD)"
check "the shallow clone is sound" git -C "$T_DIR/sh2" fsck --no-progress

# ---- a push is a new key: never a stale pack
(cd "$SRC" && echo more >>history.txt && git commit -qam "after the cache" && git push -q "$PUSH_URL" main)
check "clone after a push" git clone -q "$URL" "$T_DIR/c3"
check "it has the pushed commit" test "$(git -C "$T_DIR/c3" rev-parse HEAD)" = "$(git -C "$SRC" rev-parse main)"
check "a new entry for the new ref state" test "$(entries)" = 3
check "fetch after a push" git -C "$T_DIR/c1" pull -q --ff-only
check "fetch is up to date" test "$(git -C "$T_DIR/c1" rev-parse HEAD)" = "$(git -C "$SRC" rev-parse main)"
# a fetch that offers haves gets what is new since them: not worth a
# cache entry (smart_http.c runs its upload-pack without the hook)
check "the fetch with haves made no entry" test "$(entries)" = 3
(cd "$SRC" && echo again >>history.txt && git commit -qam "fetched incrementally" && git push -q "$PUSH_URL" main)
check "v0 fetch with haves" git -C "$T_DIR/c1" -c protocol.version=0 fetch -q origin
check "it has the new commit" test "$(git -C "$T_DIR/c1" rev-parse origin/main)" = "$(git -C "$SRC" rev-parse main)"
check "a shallow fetch of one commit with haves (a runner's checkout)" \
	git -C "$T_DIR/sh1" fetch -q --depth=1 origin "$(git -C "$SRC" rev-parse main)"
check "it has the commit" git -C "$T_DIR/sh1" cat-file -e "$(git -C "$SRC" rev-parse main)^{tree}"
check "the shallow repository is sound" git -C "$T_DIR/sh1" fsck --no-progress
check "neither made an entry" test "$(entries)" = 3
check "a clone of the same state still does" git clone -q "$URL" "$T_DIR/c4"
check "one more entry" test "$(entries)" = 4
check "the clone is complete" git -C "$T_DIR/c4" fsck --strict --no-progress
# only a ref changes (a tag on a commit clients already have): the same
# wants and haves, still a new key
BEFORE=$(entries)
git clone -q --single-branch -b main "$URL" "$T_DIR/s1"
(cd "$SRC" && git tag -a v2 -m "second" HEAD && git push -q "$PUSH_URL" v2)
check "single-branch clone after a tag push" git clone -q --single-branch -b main "$URL" "$T_DIR/s2"
check "it follows the new tag" test "$(git -C "$T_DIR/s2" rev-parse v2)" = "$(git -C "$SRC" rev-parse v2)"
check "the tag push made a new key" test "$(entries)" -ge $((BEFORE + 2))

# ---- requesters of a pack being generated, and a requester that leaves
# A pack larger than what the sockets and pipes on the way hold, so that
# a slow requester is really half way through it.
api POST /api/repos "$ALICE" '{"name":"large"}'
expect_status 201 "create large"
REPO_DIR="$PLUE_DATA_DIR/repos/$(json .id).git"
URL="$BASE/alice/large.git"
LARGE="$T_DIR/large"
git init -q "$LARGE"
head -c 12000000 /dev/urandom >"$LARGE/data.bin"
git -C "$LARGE" add . && git -C "$LARGE" commit -qm large
check "push large" git -C "$LARGE" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/large.git" main
# A fetch request of protocol v2, as raw pkt-lines, without progress (so
# the responses of identical requests carry identical bytes).
pkt() { printf '%04x%s' $((${#1} + 4)) "$1"; }
HEAD_SHA=$(git -C "$LARGE" rev-parse main)
{ pkt $'command=fetch\n'; printf 0001; pkt $'ofs-delta\n'; pkt $'no-progress\n'
  pkt "want $HEAD_SHA"$'\n'; pkt $'done\n'; printf 0000; } >"$T_DIR/fetch.req"
# raw_fetch OUT [curl args]: POSTs the request, the response into OUT
raw_fetch() {
	local out=$1; shift
	curl -s -o "$out" "$@" -H 'Git-Protocol: version=2' \
		-H 'Content-Type: application/x-git-upload-pack-request' \
		--data-binary @"$T_DIR/fetch.req" "$URL/git-upload-pack"
}
# pack_bytes RESPONSE OUT: the pack in a v2 fetch response (side band 1)
pack_bytes() {
	python3 - "$1" "$2" <<-'EOF'
	import sys
	d = open(sys.argv[1], "rb").read(); i = 0; out = bytearray(); started = False
	while i + 4 <= len(d):
	    n = int(d[i:i+4], 16)
	    if n < 4: i += 4; continue
	    p = d[i+4:i+n]; i += n
	    if p == b"packfile\n": started = True; continue
	    if started and p[:1] == b"\x01": out += p[1:]
	open(sys.argv[2], "wb").write(out)
	EOF
}
# whole_pack WHO PID RESPONSE WANT: the requester running as PID ended
# well and the pack in its RESPONSE is the pack WANT
whole_pack() {
	wait "$2"
	check "$1 finished" test $? = 0
	pack_bytes "$3" "$3.pack"
	check "$1 got the whole pack" cmp -s "$3.pack" "$4"
}
# the uncached answer to the same request, from git itself
GIT_PROTOCOL=version=2 git upload-pack --stateless-rpc "$REPO_DIR" <"$T_DIR/fetch.req" >"$T_DIR/direct.resp"
pack_bytes "$T_DIR/direct.resp" "$T_DIR/direct.pack"
check "git's own answer holds a pack" test "$(head -c 4 "$T_DIR/direct.pack")" = PACK

# A generation in progress, made by hand: the entry's .tmp file under its
# generator's lock, half written. Its key comes from a real generation.
raw_fetch "$T_DIR/key.resp"
KEY_ENTRY=$(ls -t "$CACHE" | grep '\.pack$' | head -1)
KEY=${KEY_ENTRY%.pack}
check "the raw request was cached" cmp -s "$CACHE/$KEY_ENTRY" "$T_DIR/direct.pack"
cp "$CACHE/$KEY_ENTRY" "$T_DIR/full.pack"
rm -f "$CACHE/$KEY_ENTRY"
SIZE=$(stat -c %s "$T_DIR/full.pack")
HALF=$((SIZE / 2))
mkfifo "$T_DIR/go"
(
	exec 8>"$CACHE/$KEY.tmp"
	flock -x 8
	head -c "$HALF" "$T_DIR/full.pack" >&8
	read -r _ <"$T_DIR/go" # until the tailers have streamed the first half
	tail -c +$((HALF + 1)) "$T_DIR/full.pack" >&8
	mv "$CACHE/$KEY.tmp" "$CACHE/$KEY_ENTRY"
) &
WRITER=$!
for _ in $(seq 1 100); do [ "$(stat -c %s "$CACHE/$KEY.tmp" 2>/dev/null || echo 0)" = "$HALF" ] && break; sleep 0.05; done
raw_fetch "$T_DIR/t1.resp" &
T1=$!
raw_fetch "$T_DIR/t2.resp" &
T2=$!
# both stream the half that exists, before the generation ends
streamed=0
for _ in $(seq 1 200); do
	a=$(stat -c %s "$T_DIR/t1.resp" 2>/dev/null || echo 0)
	b=$(stat -c %s "$T_DIR/t2.resp" 2>/dev/null || echo 0)
	if [ "$a" -gt $((HALF / 2)) ] && [ "$b" -gt $((HALF / 2)) ]; then streamed=1; break; fi
	sleep 0.05
done
check "concurrent requesters stream the pack while it is generated" test "$streamed" = 1
check "and are still waiting for the rest" kill -0 "$T1" "$T2"
echo go >"$T_DIR/go"
wait "$WRITER"
whole_pack "first tailer" "$T1" "$T_DIR/t1.resp" "$T_DIR/full.pack"
whole_pack "second tailer" "$T2" "$T_DIR/t2.resp" "$T_DIR/full.pack"

# A generator that died: an unlocked, half-written .tmp. The next
# requester discards it and generates afresh.
rm -f "$CACHE/$KEY_ENTRY"
head -c "$HALF" "$T_DIR/full.pack" >"$CACHE/$KEY.tmp"
raw_fetch "$T_DIR/d.resp"
pack_bytes "$T_DIR/d.resp" "$T_DIR/d.pack"
check "a dead generator's file is not served" cmp -s "$T_DIR/d.pack" "$T_DIR/direct.pack"
check "the entry was made afresh" cmp -s "$CACHE/$KEY_ENTRY" "$T_DIR/direct.pack"
check "the dead generator's file is gone" test ! -e "$CACHE/$KEY.tmp"

# The first requester disconnects half way through its pack while two
# identical requesters arrive: the entry is completed all the same, and
# everyone still connected gets the whole pack.
rm -f "$CACHE/$KEY_ENTRY"
raw_fetch "$T_DIR/slow.resp" --limit-rate 20k &
SLOW=$!
for _ in $(seq 1 200); do [ "$(stat -c %s "$T_DIR/slow.resp" 2>/dev/null || echo 0)" -gt 40000 ] && break; sleep 0.05; done
raw_fetch "$T_DIR/r1.resp" &
R1=$!
raw_fetch "$T_DIR/r2.resp" &
R2=$!
got=$(stat -c %s "$T_DIR/slow.resp" 2>/dev/null || echo 0)
check "the first requester is half way ($got of $SIZE bytes)" test "$got" -gt 40000 -a "$got" -lt "$SIZE"
# the background job is a subshell running curl: stop curl itself, or it
# goes on downloading at 20 KB/s long after the test
pkill -P "$SLOW" curl
kill "$SLOW" 2>/dev/null
wait "$SLOW" 2>/dev/null
whole_pack "second requester" "$R1" "$T_DIR/r1.resp" "$T_DIR/direct.pack"
whole_pack "third requester" "$R2" "$T_DIR/r2.resp" "$T_DIR/direct.pack"
for _ in $(seq 1 100); do [ -e "$CACHE/$KEY_ENTRY" ] && break; sleep 0.05; done
check "the entry is complete despite the disconnect" cmp -s "$CACHE/$KEY_ENTRY" "$T_DIR/direct.pack"
raw_fetch "$T_DIR/after.resp"
pack_bytes "$T_DIR/after.resp" "$T_DIR/after.pack"
check "later requesters get the whole pack" cmp -s "$T_DIR/after.pack" "$T_DIR/direct.pack"
check "no generation file is left" test -z "$(ls "$CACHE" | grep -E '\.(tmp|new)$')"

# ---- the bound: 3 MiB, least recently used first
stop_server
rm -rf "$CACHE"
start_server --pack-cache-mb 3
api POST /api/repos "$ALICE" '{"name":"big"}'
expect_status 201 "create big"
BIG="$T_DIR/big"
git init -q "$BIG"
(
	cd "$BIG"
	echo base >README
	git add . && git commit -qm base
	for b in 1 2 3 4; do
		git checkout -q -b "b$b" main
		head -c 900000 /dev/urandom >"blob-$b.bin"
		git add . && git commit -qm "branch $b"
	done
)
check "push big" git -C "$BIG" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/big.git" --all
new_entry() { # new_entry BEFORE-LIST: the one entry not in it
	comm -13 <(echo "$1") <(entry_names) | head -1
}
clone_branch() { git clone -q --single-branch -b "$1" "$BASE/alice/big.git" "$T_DIR/big-$1-$2"; }
L=$(entry_names); check "clone b1" clone_branch b1 x; E1=$(new_entry "$L")
L=$(entry_names); check "clone b2" clone_branch b2 x; E2=$(new_entry "$L")
L=$(entry_names); check "clone b3" clone_branch b3 x; E3=$(new_entry "$L")
check "three large entries fit" test -e "$CACHE/$E1" -a -e "$CACHE/$E2" -a -e "$CACHE/$E3"
L=$(entry_names); check "clone b1 again (a hit)" clone_branch b1 y
check "the hit made no entry" test "$(entry_names)" = "$L"
L=$(entry_names); check "clone b4" clone_branch b4 x; E4=$(new_entry "$L")
total=$(cat "$CACHE"/*.pack | wc -c)
check "the cache is within its bound ($total bytes)" test "$total" -le $((3 << 20))
check "the newest entry stays" test -e "$CACHE/$E4"
check "the recently used entry stays" test -e "$CACHE/$E1"
check "the least recently used entry went" test ! -e "$CACHE/$E2"
check "an evicted pack is generated again" clone_branch b2 y
check "and matches the first" cmp -s "$(pack_of "$T_DIR/big-b2-x")" "$(pack_of "$T_DIR/big-b2-y")"

# ---- the hook's command line
out=$("$PLUE" pack-objects-hook 2>&1)
check "the hook without arguments exits 2" test $? = 2
check "and prints its usage" grep -q '^usage: plue pack-objects-hook DIR MAX-BYTES git pack-objects' <<<"$out"

finish
