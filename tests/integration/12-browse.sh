#!/usr/bin/env bash
# 12-browse: the SHA-addressed browsing API against git itself — refs,
# branches, trees (git's order, sizes, modes), raw blobs (bytes, safe
# content types), paged history and commit diffs (renames, deletions,
# binary files, truncated patches) — plus caching (immutable/public,
# private, ETag, 304) and every error a caller can hit.
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
for spec in '{"name":"project"}' '{"name":"secret","private":true}' '{"name":"empty"}' \
	'{"name":"doomed"}'; do
	api POST /api/repos "$ALICE" "$spec"
	expect_status 201 "create repository $spec"
done
api GET /api/repos/alice/project "$ALICE"
PROJECT_ID=$(json .id)
api GET /api/repos/alice/doomed "$ALICE"
DOOMED_ID=$(json .id)
push_url() { echo "http://alice:$ALICE@127.0.0.1:$PORT/alice/$1.git"; }

# ---- the fixture: history with branches, tags, a merge, renames, deletions,
# binary and non-UTF-8 content, odd names, a symlink, a submodule and a
# directory with 300+ entries; every commit has its own date ----
SRC="$T_DIR/src"
git init -q "$SRC"
cd "$SRC" || exit 1
n=0
commit() {
	n=$((n + 1))
	local d
	d=$(printf '2024-03-%02dT10:%02d:00' "$n" "$n")
	[ "${NOADD:-}" = 1 ] || git add -A
	GIT_AUTHOR_DATE="$d +0100" GIT_COMMITTER_DATE="$d -0700" git commit -q "$@"
}
mkdir -p src many/foo docs
printf '# project\n\nA test repository.\n' >README.md
printf 'int main(void)\n{\n\treturn 0;\n}\n' >src/main.c
for i in $(seq -w 0 299); do echo "file $i" >"many/f$i.txt"; done
for f in foo.c foo-bar foo0; do echo "$f" >"many/$f"; done
echo nested >many/foo/x
ln -s README.md link
commit -m "initial import"
C1=$(git rev-parse HEAD)

head -c 16 /dev/urandom >rand.bin
{ printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR'; cat rand.bin; } >logo.png
{ printf 'bin\x00ary\xff'; cat rand.bin; } >data.bin
rm rand.bin
printf '<!doctype html><script>alert(1)</script>\n' >page.html
printf '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n' >image.svg
printf 'space and unicode\n' >"name with space ü.txt"
: >empty.txt
printf 'quoted\n' >'quote"and\back'
printf 'tab\n' >$'tab\tname'
printf 'latin-1 name\n' >$'latin\xe9.txt'
commit -m "binary files and odd names" -m "A body paragraph
over two lines."
C2=$(git rev-parse HEAD)
git tag v1.0

git mv README.md docs/README.md
git rm -q many/f299.txt
printf 'int main(void)\n{\n\treturn 1;\n}\n' >src/main.c
commit -m "move the readme, drop a file, change main"
C3=$(git rev-parse HEAD)

seq 1 40000 | sed 's/^/a long line of text number /' >big.txt
printf 'caf\xe9 latin-1\n' >latin1.txt
commit -m "a big file and a latin-1 one"
C4=$(git rev-parse HEAD)
# git itself re-encodes non-UTF-8 messages, so this commit is written by hand
ODD=$(printf 'tree %s\nparent %s\nauthor Ren\xe9 <r@example.com> 1710000000 +0000\ncommitter Ren\xe9 <r@example.com> 1710000000 +0000\n\nlatin-1 \xe9 in the message\n' \
	"$(git rev-parse "$C4^{tree}")" "$C4" | git hash-object -t commit -w --stdin)
git update-ref refs/heads/odd "$ODD"

git checkout -q -b feature "$C2"
echo feature >feature.txt
commit -m "feature work"
C5=$(git rev-parse HEAD)

git checkout -q main
echo '// more' >>src/main.c
git add -A
git update-index --add --cacheinfo "160000,$C1,vendor/lib"
NOADD=1 commit -m "add a submodule"
C6=$(git rev-parse HEAD)
GIT_AUTHOR_DATE="2024-03-20T10:00:00 +0100" GIT_COMMITTER_DATE="2024-03-20T10:00:00 -0700" \
	git merge -q --no-ff -m "merge feature" feature
C7=$(git rev-parse HEAD)
git tag -a v1.1 -m "annotated" "$C7"

check "push branches" git push -q "$(push_url project)" --all
check "push tags" git push -q "$(push_url project)" --tags
check "push private" git push -q "$(push_url secret)" main
check "push doomed" git push -q "$(push_url doomed)" main

# urlenc PATH: percent-encodes each segment.
urlenc() { node -e 'process.stdout.write(process.argv[1].split("/").map(encodeURIComponent).join("/"))' "$1"; }
P=/api/alice/project

# ---- refs and branches ----
for spec in "main refs/heads/main main" "heads/main refs/heads/main main" \
	"refs/heads/main refs/heads/main main" "HEAD refs/heads/main main" \
	"feature refs/heads/feature feature" "v1.0 refs/tags/v1.0 v1.0" \
	"v1.1 refs/tags/v1.1 v1.1" "tags/v1.1 refs/tags/v1.1 v1.1"; do
	set -- $spec
	api GET "$P/refs/$1"
	expect_status 200 "ref $1"
	expect_json .ref "$2" "ref $1: name"
	expect_json .commit "$(git rev-parse "$3^{commit}")" "ref $1: peeled commit"
done
check "ref: short public cache" test "$(header Cache-Control)" = "public, max-age=5"
api GET "$P/refs/nope"
expect_error 404 not_found "ref 'nope' not found" "unknown ref"
for bad in "bad..name" "refs/heads/x.lock" "a%20b" "x~1" "refs/heads/"; do
	api GET "$P/refs/$bad"
	expect_error 400 invalid_ref "is not a valid ref name" "invalid ref $bad"
done
api GET /api/alice/empty/refs/HEAD
expect_error 404 not_found "ref 'HEAD' not found" "unborn HEAD"
api GET /api/alice/empty/branches
expect_status 200 "branches of an empty repository"
check "empty repository: no branches" test "$BODY_OUT" = "[]"

api GET "$P/branches"
expect_status 200 "branches"
got=$(node -e 'for (const b of JSON.parse(require("fs").readFileSync(0))) console.log(b.name, b.commit, b.default)' <<<"$BODY_OUT")
want=$(git for-each-ref --format='%(refname:lstrip=2) %(objectname)' refs/heads | sed -e '/^main /s/$/ true/' -e '/ true$/!s/$/ false/')
check "branches match git for-each-ref" test "$got" = "$want"
check "branches: short public cache" test "$(header Cache-Control)" = "public, max-age=5"

# ---- trees ----
# tree_lines: the JSON listing in `git ls-tree -l -z` form.
tree_lines() {
	node -e 'for (const e of JSON.parse(require("fs").readFileSync(0)))
		process.stdout.write(`${e.mode} ${e.type} ${e.sha} ${String(e.size ?? "-").padStart(7)}\t${e.name}\0`)' <<<"$BODY_OUT"
}
for c in "$C1" "$C2" "$C7"; do
	for path in "" many src docs many/foo vendor; do
		git cat-file -e "$c:$path" 2>/dev/null || continue
		[ "$(git cat-file -t "$c:$path")" = tree ] || continue
		api GET "$P/tree/$c/$(urlenc "$path")"
		expect_status 200 "tree $c:$path"
		tree_lines >"$T_DIR/tree.got"
		# names that are not UTF-8 come back with U+FFFD, as node decodes them
		git ls-tree -l -z "$c:$path" | node -e 'process.stdout.write(require("fs").readFileSync(0).toString())' >"$T_DIR/tree.want"
		check "tree $c:'$path' matches git ls-tree" cmp -s "$T_DIR/tree.got" "$T_DIR/tree.want"
		check "tree $c:'$path': ETag is the tree id" test "$(header ETag)" = "\"$(git rev-parse "$c:$path")\""
	done
done
api GET "$P/tree/$C1/many"
check "git order: foo-bar, foo.c, foo/, foo0" test "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).map(e => e.name).filter(n => n.startsWith("foo")).join(" "))' <<<"$BODY_OUT")" = "foo-bar foo.c foo foo0"
check "300+ entries" test "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)' <<<"$BODY_OUT")" -ge 300
check "tree: immutable public cache" test "$(header Cache-Control)" = "public, max-age=31536000, immutable"
api GET "$P/tree/$C7/many/"
expect_status 200 "a trailing slash names the same tree"
api GET "$P/tree/$C7/vendor"
expect_json .0.type commit "submodule entry type"
expect_json .0.mode 160000 "submodule entry mode"
api GET "$P/tree/$C7"
check "symlink listed with its mode" test "$(node -e 'const e=JSON.parse(require("fs").readFileSync(0)).find(e=>e.name==="link");console.log(e.type, e.mode)' <<<"$BODY_OUT")" = "blob 120000"

# ---- blobs ----
for spec in "$C1|README.md|text/plain; charset=utf-8" "$C2|page.html|text/plain; charset=utf-8" \
	"$C2|image.svg|text/plain; charset=utf-8" "$C2|logo.png|image/png" \
	"$C2|data.bin|application/octet-stream" "$C2|name with space ü.txt|text/plain; charset=utf-8" \
	"$C2|empty.txt|text/plain; charset=utf-8" "$C2|link|text/plain; charset=utf-8" \
	"$C4|latin1.txt|application/octet-stream" "$C4|big.txt|text/plain; charset=utf-8" \
	"$C7|docs/README.md|text/plain; charset=utf-8"; do
	IFS='|' read -r c path ctype <<<"$spec"
	url="$P/blob/$c/$(urlenc "$path")"
	for pass in first cached; do
		STATUS=$(curl -s -o "$T_DIR/body" -D "$T_DIR/headers" -w '%{http_code}' "$BASE$url")
		HEADERS_OUT=$(tr -d '\r' <"$T_DIR/headers")
		expect_status 200 "blob $path ($pass)"
		git cat-file blob "$c:$path" >"$T_DIR/blob.want"
		check "blob $path ($pass): bytes match git cat-file" cmp -s "$T_DIR/body" "$T_DIR/blob.want"
		check "blob $path ($pass): Content-Type $ctype" test "$(header Content-Type)" = "$ctype"
		check "blob $path ($pass): nosniff" test "$(header X-Content-Type-Options)" = nosniff
		check "blob $path ($pass): CSP sandbox" test "$(header Content-Security-Policy)" = "default-src 'none'; sandbox"
		check "blob $path ($pass): ETag is the blob id" test "$(header ETag)" = "\"$(git rev-parse "$c:$path")\""
		check "blob $path ($pass): immutable public cache" test "$(header Cache-Control)" = "public, max-age=31536000, immutable"
	done
done

code=$(curl -s -o "$T_DIR/body" -w '%{http_code}' "$BASE$P/blob/$C2/latin%E9.txt")
check "blob under a non-UTF-8 name" test "$code" = 200
check "blob under a non-UTF-8 name: bytes" test "$(cat "$T_DIR/body")" = "latin-1 name"
api GET "$P/blob/$C2/nope%E9"
expect_error 404 not_found "path 'nope�' not found in commit '$C2'" "unknown non-UTF-8 path: message stays UTF-8"

# ---- conditional requests ----
etag=$(curl -s -D - -o /dev/null "$BASE$P/blob/$C2/page.html" | tr -d '\r' | sed -n 's/^ETag: //Ip')
check "blob ETag present" test -n "$etag"
for who in anonymous alice; do
	auth=()
	[ "$who" = alice ] && auth=(-H "Authorization: Bearer $ALICE")
	rm -f "$T_DIR/body"
	code=$(curl -s -o "$T_DIR/body" -w '%{http_code}' "${auth[@]}" -H "If-None-Match: $etag" "$BASE$P/blob/$C2/page.html")
	check "304 for a matching If-None-Match ($who)" test "$code" = 304
	check "304 has no body ($who)" test ! -s "$T_DIR/body"
	code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -H 'If-None-Match: "0000"' "$BASE$P/blob/$C2/page.html")
	check "200 for another ETag ($who)" test "$code" = 200
done
api GET "$P/tree/$C3/src"
etag=$(header ETag)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE$P/tree/$C3/src")
check "304 for a tree" test "$code" = 304

# ---- history ----
cat >"$T_DIR/history.js" <<'EOF'
// Pages through /commits/SHA with limit N and compares every field with git.
const { execFileSync } = require("child_process");
const [sha, limit] = process.argv.slice(2);
const git = (...a) => execFileSync("git", a, { encoding: "utf8" });
const fail = (m) => { console.error(m); process.exit(1); };
(async () => {
	const got = [];
	let cursor = null, pages = 0;
	do {
		const q = `?limit=${limit}` + (cursor ? `&cursor=${cursor}` : "");
		const res = await fetch(`${process.env.BASE}/api/alice/project/commits/${sha}${q}`);
		if (res.status !== 200) fail(`status ${res.status}`);
		const j = await res.json();
		if (j.commits.length > limit) fail(`page of ${j.commits.length} > ${limit}`);
		got.push(...j.commits);
		cursor = j.next_cursor;
		if (++pages > 100) fail("no end");
	} while (cursor);
	const want = git("log", "--format=%H", sha).trim().split("\n");
	if (got.map((c) => c.sha).join(" ") !== want.join(" "))
		fail(`order: got ${got.map((c) => c.sha.slice(0, 7))} want ${want.map((s) => s.slice(0, 7))}`);
	for (const c of got) {
		const f = git("show", "-s", "--format=%T%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI%n%s", c.sha).split("\n");
		const fields = [c.tree, c.parents.join(" "), c.author.name, c.author.email, c.author.date,
			c.committer.name, c.committer.email, c.committer.date, c.summary];
		for (let i = 0; i < fields.length; i++)
			if (fields[i] !== f[i]) fail(`${c.sha}: field ${i} '${fields[i]}' != '${f[i]}'`);
		const body = git("show", "-s", "--format=%B", c.sha).replace(/\n+$/, "");
		if (c.message.replace(/\n+$/, "") !== body) fail(`${c.sha}: message '${c.message}' != '${body}'`);
	}
	if (pages !== Math.ceil(want.length / limit)) fail(`${pages} pages for ${want.length} commits`);
})().catch((e) => fail(String(e)));
EOF
for limit in 1 3 100; do
	check "history from main, $limit per page, matches git log" node "$T_DIR/history.js" "$C7" "$limit"
done
check "history from the feature branch matches git log" node "$T_DIR/history.js" "$C5" 2
api GET "$P/commits/$C7"
expect_status 200 "history with the default limit"
check "default limit lists everything here" test "$(node -e 'const j=JSON.parse(require("fs").readFileSync(0));console.log(j.commits.length, j.next_cursor)' <<<"$BODY_OUT")" = "7 null"
check "history: immutable public cache" test "$(header Cache-Control)" = "public, max-age=31536000, immutable"
api GET "$P/commits/$C7?limit=2&cursor=$C5"
expect_json .commits.0.sha "$C5" "the cursor is the first commit listed"
check "history with non-UTF-8 commits matches git log" node "$T_DIR/history.js" "$ODD" 2
# a path filter: the commits that change it, as git log -- PATH lists them
for path in src/main.c README.md many/foo feature.txt; do
	api GET "$P/commits/$C7?path=$path"
	expect_status 200 "history of $path"
	check "history of $path is git log's" test \
		"$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).commits.map(c => c.sha).join(" "))' <<<"$BODY_OUT")" = \
		"$(git log --format=%H "$C7" -- "$path" | tr '\n' ' ' | sed 's/ $//')"
done
# pages of a path's history: the cursor resumes the walk where the page ended
api GET "$P/commits/$C7?path=src/main.c&limit=1"
expect_json .commits.0.sha "$C6" "a path's history, first page"
api GET "$P/commits/$C7?path=src/main.c&limit=1&cursor=$(json .next_cursor)"
expect_json .commits.0.sha "$C3" "a path's history, second page"
api GET "$P/commits/$C7?path=../x"
expect_error 400 invalid_path "invalid path '../x'" "history of an invalid path"
api GET "$P/commits/$ODD?limit=1"
expect_json .commits.0.summary "latin-1 � in the message" "non-UTF-8 message becomes U+FFFD"
expect_json .commits.0.author.name "Ren�" "non-UTF-8 name becomes U+FFFD"

# ---- one commit: files and patches against the first parent ----
cat >"$T_DIR/commit.js" <<'EOF'
// Compares /commit/SHA with git diff-tree -M against the first parent
// (the empty tree for a root commit): statuses, paths, line counts,
// binary flags and the hunks of every patch.
const { execFileSync } = require("child_process");
const sha = process.argv[2];
const run = (...a) => execFileSync("git", a, { encoding: "utf8", maxBuffer: 1 << 26 });
const fail = (m) => { console.error(`${sha.slice(0, 7)}: ${m}`); process.exit(1); };
const parents = run("show", "-s", "--format=%P", sha).trim().split(" ").filter(Boolean);
const range = parents.length ? [parents[0], sha] : ["--root", sha];
const z = (fmt) => run("diff-tree", "-r", "-z", "-M", fmt, ...range).split("\0");
(async () => {
	const res = await fetch(`${process.env.BASE}/api/alice/project/commit/${sha}`);
	if (res.status !== 200) fail(`status ${res.status}`);
	const j = await res.json();
	if (j.sha !== sha) fail("sha");
	if (j.parents.join(" ") !== parents.join(" ")) fail("parents");
	// --name-status -z: STATUS\0path\0 or R100\0old\0new\0 (a root diff-tree starts with the sha)
	const ns = z("--name-status");
	if (!parents.length) ns.shift();
	const want = [];
	for (let i = 0; i < ns.length - 1; ) {
		const st = ns[i++];
		if (st[0] === "R" || st[0] === "C") want.push({ st: st[0], old: ns[i++], path: ns[i++] });
		else want.push({ st: st[0], old: null, path: ns[i++] });
	}
	// --numstat -z: A\tD\tpath\0 or A\tD\t\0old\0new\0
	const nm = z("--numstat");
	if (!parents.length) nm.shift();
	for (let i = 0, k = 0; i < nm.length - 1; k++) {
		const [a, d, p] = nm[i++].split("\t");
		if (p === "") i += 2;
		want[k].adds = a; want[k].dels = d;
	}
	const letter = { added: "A", deleted: "D", modified: "M", renamed: "R", copied: "C" };
	const got = j.files.map((f) => ({ st: letter[f.status], old: f.old_path, path: f.path,
		adds: f.binary ? "-" : String(f.additions), dels: f.binary ? "-" : String(f.deletions) }));
	if (JSON.stringify(got) !== JSON.stringify(want))
		fail(`files:\n got  ${JSON.stringify(got)}\n want ${JSON.stringify(want)}`);
	// hunks: everything from the first @@ of each file's patch
	const chunks = run("diff-tree", "-r", "-M", "-p", ...range).split(/^diff --git /m).slice(1);
	if (chunks.length !== j.files.length) fail(`${chunks.length} patches, ${j.files.length} files`);
	const hunks = (s) => { const i = s.indexOf("\n@@"); return i < 0 ? "" : s.slice(i + 1); };
	j.files.forEach((f, k) => {
		if (f.binary) {
			if (f.patch !== null || !/^Binary files/m.test(chunks[k])) fail(`${f.path}: binary patch`);
			return;
		}
		const g = hunks(chunks[k]), o = hunks(f.patch || "");
		if (f.truncated ? !(o.length > 0 && g.startsWith(o) && o.length < g.length) : o !== g)
			fail(`${f.path}: patch differs${f.truncated ? " (truncated)" : ""}:\n${o.slice(0, 400)}\n---\n${g.slice(0, 400)}`);
	});
	const adds = j.files.reduce((s, f) => s + f.additions, 0);
	if (j.stats.files !== j.files.length || j.stats.additions !== adds) fail("stats");
})().catch((e) => fail(String(e)));
EOF
for c in $(git rev-list --all); do
	check "commit $c matches git diff-tree" node "$T_DIR/commit.js" "$c"
done
api GET "$P/commit/$C3"
check "rename detected" test "$(node -e 'const f=JSON.parse(require("fs").readFileSync(0)).files.find(f=>f.status==="renamed");console.log(f.old_path,f.path)' <<<"$BODY_OUT")" = "README.md docs/README.md"
check "commit: immutable public cache" test "$(header Cache-Control)" = "public, max-age=31536000, immutable"
check "commit: ETag is the sha" test "$(header ETag)" = "\"$C3\""
api GET "$P/commit/$C4"
check "a very large patch is truncated on a line boundary" test "$(node -e 'const f=JSON.parse(require("fs").readFileSync(0)).files.find(f=>f.path==="big.txt");console.log(f.truncated, f.patch.endsWith("\n"), f.additions)' <<<"$BODY_OUT")" = "true true 40000"
api GET "$P/commit/$C2"
check "binary file: no patch" test "$(node -e 'const f=JSON.parse(require("fs").readFileSync(0)).files.find(f=>f.path==="logo.png");console.log(f.binary, f.patch, f.truncated)' <<<"$BODY_OUT")" = "true null false"
api GET "$P/commit/$(echo "$C2" | tr a-f A-F)"
expect_json .sha "$C2" "an upper-case sha is accepted"

# ---- errors ----
for route in tree blob/x commits commit; do
	r=${route%%/*}
	api GET "$P/$r/main${route#"$r"}"
	expect_error 400 sha_required "'main' is not a commit sha; resolve it with /api/alice/project/refs/main first" "$r by branch name"
done
api GET "$P/tree/${C1:0:12}"
expect_error 400 sha_required "is not a commit sha" "abbreviated sha"
ZERO=0000000000000000000000000000000000000000
api GET "$P/tree/$ZERO"
expect_error 404 not_found "commit '$ZERO' not found" "unknown sha (tree)"
api GET "$P/commit/$ZERO"
expect_error 404 not_found "commit '$ZERO' not found" "unknown sha (commit)"
api GET "$P/commits/$ZERO"
expect_error 404 not_found "commit '$ZERO' not found" "unknown sha (history)"
TREE=$(git rev-parse "$C1^{tree}")
api GET "$P/commit/$TREE"
expect_error 404 not_found "'$TREE' is a tree, not a commit" "a tree sha where a commit is required"
BLOB=$(git rev-parse "$C1:README.md")
api GET "$P/tree/$BLOB"
expect_error 404 not_found "'$BLOB' is a blob, not a commit" "a blob sha where a commit is required"
api GET "$P/tree/$C1/nope"
expect_error 404 not_found "path 'nope' not found in commit '$C1'" "unknown tree path"
api GET "$P/blob/$C1/src/nope.c"
expect_error 404 not_found "path 'src/nope.c' not found in commit '$C1'" "unknown blob path"
api GET "$P/blob/$C1/README.md/x"
expect_error 404 not_found "path 'README.md/x' not found" "path below a file"
for bad in "src/%2E%2E/README.md" "%2E%2E" "src/%2E/main.c" "src//main.c"; do
	api GET "$P/tree/$C1/$bad"
	expect_error 400 invalid_path "invalid path" "tree path $bad"
	api GET "$P/blob/$C1/$bad"
	expect_error 400 invalid_path "invalid path" "blob path $bad"
done
code=$(curl -s --path-as-is -o "$T_DIR/body" -w '%{http_code}' "$BASE$P/blob/$C1/src/../README.md")
check "literal .. in a blob path is refused" test "$code" = 400
api GET "$P/blob/$C1"
expect_error 400 invalid_path "a file path is required" "blob without a path"
api GET "$P/tree/$C1/README.md"
expect_error 400 not_a_tree "path 'README.md' is a file, use /blob" "tree of a file"
api GET "$P/tree/$C7/vendor/lib"
expect_error 400 not_a_tree "path 'vendor/lib' is a submodule" "tree of a submodule"
api GET "$P/blob/$C1/src"
expect_error 400 not_a_blob "path 'src' is a directory, use /tree" "blob of a directory"
api GET "$P/blob/$C7/vendor/lib"
expect_error 400 not_a_blob "path 'vendor/lib' is a submodule" "blob of a submodule"
for lim in 0 101 abc -1 1.5; do
	api GET "$P/commits/$C7?limit=$lim"
	expect_error 400 invalid_limit "limit '$lim' must be a number from 1 to 100" "limit $lim"
done
api GET "$P/commits/$C7?cursor=main"
expect_error 400 invalid_cursor "cursor 'main' is not a commit sha" "cursor by name"
api GET "$P/commits/$C3?cursor=$C5"
expect_error 400 invalid_cursor "cursor '$C5' is not in the history of commit '$C3'" "cursor outside the history"
api GET "$P/tree"
expect_error 404 no_route "no route for" "tree without a sha"

# ---- private repositories ----
S=/api/alice/secret
PH=$(git rev-parse main)
for u in "tree/$PH" "blob/$PH/src/main.c" "commits/$PH" "commit/$PH" "refs/main" "branches"; do
	api GET "$S/$u" "$ALICE"
	expect_status 200 "private $u as the owner"
	case $u in
	refs/* | branches) want="private, max-age=5" ;;
	*) want="private, max-age=31536000, immutable" ;;
	esac
	check "private $u: Cache-Control $want" test "$(header Cache-Control)" = "$want"
	api GET "$S/$u"
	expect_error 404 not_found "repository 'alice/secret' not found" "private $u anonymously (after a cached answer)"
	api GET "$S/$u" "$BOB"
	expect_error 404 not_found "repository 'alice/secret' not found" "private $u as a stranger"
done
api GET "$S/tree/$PH" "$ALICE"
check "private, cached: still private" test "$(header Cache-Control)" = "private, max-age=31536000, immutable"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: \"$(git rev-parse "$PH^{tree}")\"" "$BASE$S/tree/$PH")
check "no 304 for an anonymous caller of a private repository" test "$code" = 404

# ---- the repository on disk changes underneath ----
BARE="$PLUE_DATA_DIR/repos/$PROJECT_ID.git"
check "gc the bare repository" git -C "$BARE" gc -q --prune=now
api GET "$P/tree/$C2/many/foo"
expect_status 200 "browse after gc replaced the packs"
echo after-gc >after.txt && git add after.txt && commit -m "after gc" && C8=$(git rev-parse HEAD)
check "push after gc" git push -q "$(push_url project)" main
api GET "$P/commit/$C8"
expect_status 200 "a commit pushed after gc"
api GET "$P/refs/main"
expect_json .commit "$C8" "ref moves with the push"

api GET "/api/alice/doomed/tree/$C7"
expect_status 200 "doomed repository browsable"
rm -rf "$PLUE_DATA_DIR/repos/$DOOMED_ID.git"
api GET "/api/alice/doomed/commit/$C7"
expect_error 404 not_found "repository 'alice/doomed' not found" "repository directory vanished"
api GET "/api/alice/doomed/refs/main"
expect_error 404 not_found "repository 'alice/doomed' not found" "refs of a vanished repository"
api GET "/api/alice/doomed/branches"
expect_error 404 not_found "repository 'alice/doomed' not found" "branches of a vanished repository"

grep -E 'AddressSanitizer|runtime error' "$T_DIR/serve.log" && fail "sanitizer report in the server log"
finish
