#!/usr/bin/env bash
# 14-fsck: which objects a push may bring. The quirks old tools wrote into
# public histories (zero-padded tree modes, malformed time zones and author
# lines) are accepted with git's warning and come back intact; trees that
# could write outside a checkout or into .git, and objects the forge could
# not read, are refused with git's message and leave every ref unchanged.
# The rules are the server's, so a repository whose config predates them
# follows them too. Objects are crafted with `git hash-object --literally`.
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
api POST /api/repos "$ALICE" '{"name":"quirks"}'
expect_status 201 "create quirks"
api POST /api/repos "$ALICE" '{"name":"legacy"}'
expect_status 201 "create legacy"
LEGACY_ID=$(json .id)
URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/quirks.git"
LEGACY_URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/legacy.git"

SRC="$T_DIR/src"
git init -q "$SRC"

# raw_tree MODE NAME SHA [MODE NAME SHA...]: writes the entries as given,
# in that order, unchecked; prints the tree's id
raw_tree() {
	local f="$T_DIR/tree.raw"
	: >"$f"
	while [ $# -gt 0 ]; do
		printf '%s %s\0' "$1" "$2" >>"$f"
		printf "$(sed 's/../\\x&/g' <<<"$3")" >>"$f"
		shift 3
	done
	git -C "$SRC" hash-object -t tree --literally -w "$f"
}
# raw_commit TREE PARENT AUTHOR-LINE COMMITTER-LINE MESSAGE: an unchecked
# commit (PARENT may be empty); prints its id
raw_commit() {
	local f="$T_DIR/commit.raw"
	{
		printf 'tree %s\n' "$1"
		[ -n "$2" ] && printf 'parent %s\n' "$2"
		printf 'author %s\ncommitter %s\n\n%s\n' "$3" "$4" "$5"
	} >"$f"
	git -C "$SRC" hash-object -t commit --literally -w "$f"
}
ID='A U Thor <author@example.com> 1312735823 +0200'
BLOB=$(printf 'hello\n' | git -C "$SRC" hash-object -w --stdin)
LEAF=$(raw_tree 100644 file.txt "$BLOB")

# an ordinary history of 40 commits (120 objects) under the first quirk
# (every push, large or small, goes through index-pack: the server keeps
# pushes as packs, receive.unpackLimit=1)
HIST=""
for i in $(seq 1 40); do
	b=$(printf 'line %s\n' "$i" | git -C "$SRC" hash-object -w --stdin)
	HIST=$(raw_commit "$(raw_tree 100644 history.txt "$b")" "$HIST" "$ID" "$ID" "commit $i")
done

# ---- tolerated: accepted, each with git's warning naming the class ----
ZP_TREE=$(raw_tree 040000 dir "$LEAF" 100644 file.txt "$BLOB")
C_ZP=$(raw_commit "$ZP_TREE" "$HIST" "$ID" "$ID" "tree with a zero-padded mode")
C_TZ=$(raw_commit "$LEAF" "$C_ZP" 'A U Thor <author@example.com> 1312735823 +051800' \
	'A U Thor <author@example.com> 1312735823 +051800' "bad time zone")
C_SD=$(raw_commit "$LEAF" "$C_TZ" 'A U Thor <author@example.com>1312735823 +0200' \
	'A U Thor <author@example.com>1312735823 +0200' "no space before the date")
C_SE=$(raw_commit "$LEAF" "$C_SD" 'A U Thor<author@example.com> 1312735823 +0200' "$ID" \
	"no space before the email")
C_NE=$(raw_commit "$LEAF" "$C_SE" '<author@example.com> 1312735823 +0200' "$ID" \
	"no name before the email")
C_BN=$(raw_commit "$LEAF" "$C_NE" 'author@example.com> <none@none> 1312735823 +0200' "$ID" \
	"bad name")
TOLERATED=("$C_ZP zeroPaddedFilemode: contains zero-padded file modes"
	"$C_TZ badTimezone: invalid author/committer line - bad time zone"
	"$C_SD missingSpaceBeforeDate: invalid author/committer line - missing space before date"
	"$C_SE missingSpaceBeforeEmail: invalid author/committer line - missing space before email"
	"$C_NE missingNameBeforeEmail: invalid author/committer line - missing space before email"
	"$C_BN badName: invalid author/committer line - bad name")
check "git itself finds every quirk" test "$(git -C "$SRC" fsck --strict 2>&1 | grep -c '^error in')" -ge 6

remote_ref() { git ls-remote "$1" "$2" | cut -f1; }
for t in "${TOLERATED[@]}"; do
	sha=${t%% *} msg=${t#* }
	id=${msg%%:*}
	# the warning names the tree for a mode, the commit for an author line
	obj=$sha
	[ "$id" = zeroPaddedFilemode ] && obj=$ZP_TREE
	out=$(git -C "$SRC" push "$URL" "$sha:refs/heads/main" 2>&1)
	check "$id: push accepted ($out)" test "$(remote_ref "$URL" refs/heads/main)" = "$sha"
	check "$id: the pusher sees git's warning" grep -qF "remote: warning: object $obj: $msg" <<<"$out"
done

# the objects come back byte for byte: a plain clone, and a client that
# checks what it fetches once it tolerates the same classes
check "clone" git clone -q "http://127.0.0.1:$PORT/alice/quirks.git" "$T_DIR/clone"
for o in "$ZP_TREE" "$C_ZP" "$C_TZ" "$C_SD" "$C_SE" "$C_NE" "$C_BN"; do
	check "object $o intact" cmp -s <(git -C "$SRC" cat-file "$(git -C "$SRC" cat-file -t "$o")" "$o") \
		<(git -C "$T_DIR/clone" cat-file "$(git -C "$T_DIR/clone" cat-file -t "$o")" "$o")
done
out=$(git -c transfer.fsckObjects=true clone "http://127.0.0.1:$PORT/alice/quirks.git" "$T_DIR/strict" 2>&1)
check "a client with transfer.fsckObjects refuses them itself" grep -q "fsck error in packed object" <<<"$out"
check "a checking client with the same classes as warnings clones" \
	git -c transfer.fsckObjects=true -c fetch.fsck.zeroPaddedFilemode=warn \
	-c fetch.fsck.badTimezone=warn -c fetch.fsck.missingSpaceBeforeDate=warn \
	-c fetch.fsck.missingSpaceBeforeEmail=warn -c fetch.fsck.missingNameBeforeEmail=warn \
	-c fetch.fsck.badName=warn clone -q "http://127.0.0.1:$PORT/alice/quirks.git" "$T_DIR/strict2" \
	2>"$T_DIR/strict2.err"
check "... and warns" grep -q "warning: object $ZP_TREE: zeroPaddedFilemode" "$T_DIR/strict2.err"

# the forge reads them: history through every quirk, each commit, the tree
api GET "/api/alice/quirks/commits/$C_BN?limit=100"
expect_status 200 "history through the quirks"
check "history lists all 46 commits" test "$(grep -o '"sha":' <<<"$BODY_OUT" | wc -l)" = 46
check "history reaches the ordinary commits" grep -q "\"$HIST\"" <<<"$BODY_OUT"
for c in "$C_ZP" "$C_TZ" "$C_SD" "$C_SE" "$C_NE" "$C_BN"; do
	api GET "/api/alice/quirks/commit/$c"
	expect_status 200 "commit $c readable"
done
expect_json .author.email none@none "bad name: the email git reads"
api GET "/api/alice/quirks/tree/$C_ZP"
expect_status 200 "zero-padded tree listed"
expect_json .0.mode 040000 "zero-padded mode reads as a directory"
expect_json .0.type tree "zero-padded entry is a tree"

# ---- refused: git's message reaches the pusher, no ref moves ----
MAIN=$(remote_ref "$URL" refs/heads/main)
GITDIR=$(raw_tree 100644 config "$BLOB")
LINK=$(printf '../../../../etc/passwd' | git -C "$SRC" hash-object -w --stdin)
REFUSED=(
	"$(raw_tree 040000 .git "$GITDIR" 100644 file.txt "$BLOB") hasDotgit: contains '.git'"
	"$(raw_tree 040000 .GIT "$GITDIR") hasDotgit: contains '.git'"
	"$(raw_tree 040000 git~1 "$GITDIR") hasDotgit: contains '.git'"
	"$(raw_tree 040000 .. "$LEAF") hasDotdot: contains '..'"
	"$(raw_tree 040000 . "$LEAF") hasDot: contains '.'"
	"$(raw_tree 120000 .gitmodules "$LINK") gitmodulesSymlink: .gitmodules is a symbolic link"
	"$(raw_tree 100644 /etc/passwd "$BLOB") fullPathname: contains full pathnames"
	"$(raw_tree 100644 a "$BLOB" 100644 a "$BLOB") duplicateEntries: contains duplicate file entries"
	"$(raw_tree 100644 b "$BLOB" 100644 a "$BLOB") treeNotSorted: not properly sorted"
)
i=0
for t in "${REFUSED[@]}"; do
	tree=${t%% *} msg=${t#* }
	id=${msg%%:*}
	i=$((i + 1))
	c=$(raw_commit "$tree" "$MAIN" "$ID" "$ID" "refused $i")
	out=$(git -C "$SRC" push "$URL" "$c:refs/heads/main" "$c:refs/heads/new-$i" 2>&1)
	check "$id ($i): git shows why ($out)" grep -qF "remote: error: object $tree: $msg" <<<"$out"
	check "$id ($i): main unchanged" test "$(remote_ref "$URL" refs/heads/main)" = "$MAIN"
	check "$id ($i): no new branch" test -z "$(remote_ref "$URL" refs/heads/new-$i)"
done
# author lines the forge could not read, or would read differently from git
REFUSED_COMMITS=(
	"A U Thor 1312735823 +0200|missingEmail: invalid author/committer line - missing email"
	"A U Thor <author@example.com 1312735823 +0200|badEmail: invalid author/committer line - bad email"
	"A U Thor <author@example.com> Mon Aug 8 2011 +0200|badDate: invalid author/committer line - bad date"
	"A U Thor <author@example.com> 99999999999999999999 +0200|badDateOverflow: invalid author/committer line - date causes integer overflow"
	"A U Thor <author@example.com> 01312735823 +0200|zeroPaddedDate: invalid author/committer line - zero-padded date"
)
for t in "${REFUSED_COMMITS[@]}"; do
	line=${t%%|*} msg=${t#*|}
	id=${msg%%:*}
	c=$(raw_commit "$LEAF" "$MAIN" "$line" "$ID" "refused $id")
	out=$(git -C "$SRC" push "$URL" "$c:refs/heads/main" 2>&1)
	check "$id: git shows why ($out)" grep -qF "remote: error: object $c: $msg" <<<"$out"
	check "$id: main unchanged" test "$(remote_ref "$URL" refs/heads/main)" = "$MAIN"
done
c=$(raw_commit "$LEAF" "$MAIN" "$ID
author Someone Else <else@example.com> 1312735823 +0200" "$ID" "two authors")
out=$(git -C "$SRC" push "$URL" "$c:refs/heads/main" 2>&1)
check "multipleAuthors: git shows why ($out)" \
	grep -qF "remote: error: object $c: multipleAuthors: invalid format - multiple 'author' lines" <<<"$out"
check "multipleAuthors: main unchanged" test "$(remote_ref "$URL" refs/heads/main)" = "$MAIN"
api GET /api/alice/quirks/branches
check "the forge recorded only main" test "$(json .0.name) $(json .0.commit) $(json .1.name)" = "main $MAIN <undefined>"
PSQL=(psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue")
check "push events for the accepted pushes only" test "$("${PSQL[@]}" -c "select count(*) from events e join repositories r on r.id = e.repo_id where r.name = 'quirks' and e.type = 'push'")" = 6

# ---- a repository whose config predates the rules ----
CONF="$PLUE_DATA_DIR/repos/$LEGACY_ID.git/config"
check "legacy config is the strict form: fsckObjects on" \
	test "$(git config -f "$CONF" receive.fsckObjects)" = true
check "legacy config is the strict form: no per-class settings" \
	test -z "$(git config -f "$CONF" --get-regexp '^receive\.fsck\.')"
out=$(git -C "$SRC" push "$LEGACY_URL" "$C_BN:refs/heads/main" 2>&1)
check "legacy: the quirks are accepted ($out)" test "$(remote_ref "$LEGACY_URL" refs/heads/main)" = "$C_BN"
# even with checking switched off in its config, the server's rules apply
git config -f "$CONF" receive.fsckObjects false
tree=$(raw_tree 040000 .git "$GITDIR")
c=$(raw_commit "$tree" "$C_BN" "$ID" "$ID" "legacy refused")
out=$(git -C "$SRC" push "$LEGACY_URL" "$c:refs/heads/main" 2>&1)
check "legacy: .git still refused ($out)" grep -qF "remote: error: object $tree: hasDotgit: contains '.git'" <<<"$out"
check "legacy: main unchanged" test "$(remote_ref "$LEGACY_URL" refs/heads/main)" = "$C_BN"
finish
