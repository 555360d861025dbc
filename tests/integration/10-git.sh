#!/usr/bin/env bash
# 10-git: push and clone with the real git client over smart HTTP (v0, v2),
# the ref bookkeeping a push leaves (branches, events), and how git sees
# refusals (401 prompts, 403 and 404 messages).
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
api POST /api/repos "$ALICE" '{"name":"project"}'
expect_status 201 "create project"
api POST /api/repos "$ALICE" '{"name":"secret","private":true}'
expect_status 201 "create private repo"
api POST /api/repos "$ALICE" '{"name":"empty"}'
expect_status 201 "create empty repo"

PUSH_URL="http://alice:$ALICE@127.0.0.1:$PORT/alice/project.git"
SRC="$T_DIR/src"
git init -q "$SRC"
(
	cd "$SRC"
	for i in $(seq 1 20); do echo "line $i" >>history.txt; git add .; git commit -qm "commit $i"; done
	mkdir -p dir/sub
	echo nested >dir/sub/file.c
	printf 'space and unicode\n' >"name with space ü.txt"
	head -c 1048576 /dev/urandom >binary.bin
	printf '\x00\x01\x02binary\xff' >small.bin
	git add .
	git commit -qm "tree with binary and unicode names"
	git tag v1.0
	git tag -a v1.1 -m "annotated"
	git checkout -qb feature
	echo feature >feature.txt
	git add .
	git commit -qm "feature work"
	git checkout -q main
)
check "push all branches and tags" git -C "$SRC" push -q "$PUSH_URL" --all
check "push tags" git -C "$SRC" push -q "$PUSH_URL" --tags

# clone back with both protocol versions and compare everything
for v in 0 2; do
	dst="$T_DIR/clone-v$v"
	check "clone protocol v$v" git -c protocol.version=$v clone -q "http://127.0.0.1:$PORT/alice/project.git" "$dst"
	check "v$v: same branches" test "$(git -C "$dst" for-each-ref --format='%(objectname) %(refname:lstrip=3)' refs/remotes/origin | grep -v HEAD)" = "$(git -C "$SRC" for-each-ref --format='%(objectname) %(refname:lstrip=2)' refs/heads)"
	check "v$v: same tags" test "$(git -C "$dst" for-each-ref --format='%(objectname) %(refname)' refs/tags)" = "$(git -C "$SRC" for-each-ref --format='%(objectname) %(refname)' refs/tags)"
	check "v$v: same tree" test "$(git -C "$dst" rev-parse HEAD^{tree})" = "$(git -C "$SRC" rev-parse main^{tree})"
	check "v$v: binary intact" cmp -s "$dst/binary.bin" "$SRC/binary.bin"
	check "v$v: unicode name intact" test -f "$dst/name with space ü.txt"
	check "v$v: fsck" git -C "$dst" fsck --strict --no-progress
done

# incremental fetch after more pushes
(cd "$SRC" && echo more >>history.txt && git commit -qam "more" && git push -q "$PUSH_URL" main)
check "fetch new commit" git -C "$T_DIR/clone-v2" pull -q --ff-only
check "fetched head matches" test "$(git -C "$T_DIR/clone-v2" rev-parse HEAD)" = "$(git -C "$SRC" rev-parse main)"

# force push and branch deletion are recorded
(cd "$SRC" && git checkout -q feature && git commit -q --amend -m "rewritten" && git checkout -q main)
check "force push" git -C "$SRC" push -q -f "$PUSH_URL" feature
check "delete branch" git -C "$SRC" push -q "$PUSH_URL" :feature
PSQL=(psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue")
check "branches table follows pushes" test "$("${PSQL[@]}" -c "select b.name || ' ' || b.commit_sha from branches b join repositories r on r.id = b.repo_id where r.name = 'project' order by b.name")" = "main $(git -C "$SRC" rev-parse main)"
check "one push event per ref update" test "$("${PSQL[@]}" -c "select count(*) from events e join repositories r on r.id = e.repo_id where r.name = 'project' and e.type = 'push'")" = 7
check "deletion event" test "$("${PSQL[@]}" -c "select payload->>'deleted' from events where type = 'push' order by id desc limit 1")" = true
check "pusher recorded" test "$("${PSQL[@]}" -c "select distinct payload->>'pusher' from events where type = 'push'")" = alice

# empty repository: clone works and warns; first push of another branch becomes the default
out=$(git clone "http://127.0.0.1:$PORT/alice/empty.git" "$T_DIR/empty" 2>&1)
check "clone empty repository" grep -q "empty repository" <<<"$out"
(cd "$SRC" && git push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/empty.git" main:trunk)
api GET /api/repos/alice/empty
expect_json .default_branch trunk "first pushed branch becomes the default"
check "clone after first push checks out trunk" git clone -q "http://127.0.0.1:$PORT/alice/empty.git" "$T_DIR/empty2"
check "HEAD is trunk" test "$(git -C "$T_DIR/empty2" symbolic-ref --short HEAD)" = trunk

# refusals as git shows them
out=$(git -C "$SRC" push "http://127.0.0.1:$PORT/alice/project.git" main 2>&1)
check "anonymous push asks for credentials" grep -q "could not read Username" <<<"$out"
out=$(git -C "$SRC" push "http://bob:$BOB@127.0.0.1:$PORT/alice/project.git" main:bob 2>&1)
check "reader push is refused with a message" grep -q "remote: write access to repository 'alice/project' is required" <<<"$out"
check "reader push: 403" grep -q "error: 403" <<<"$out"
out=$(git clone "http://127.0.0.1:$PORT/alice/secret.git" "$T_DIR/s1" 2>&1)
check "anonymous clone of private asks for credentials" grep -q "could not read Username" <<<"$out"
out=$(git clone "http://bob:$BOB@127.0.0.1:$PORT/alice/secret.git" "$T_DIR/s2" 2>&1)
check "non-collaborator sees not found" grep -q "remote: repository 'alice/secret' not found" <<<"$out"
out=$(git clone "http://alice:wrong@127.0.0.1:$PORT/alice/secret.git" "$T_DIR/s3" 2>&1)
check "bad token fails authentication" grep -q "Authentication failed" <<<"$out"
out=$(git clone "http://127.0.0.1:$PORT/alice/missing.git" "$T_DIR/s4" 2>&1)
check "anonymous clone of missing repo asks for credentials (no leak)" grep -q "could not read Username" <<<"$out"
check "owner clones private" git clone -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/secret.git" "$T_DIR/s5"

# collaborators: read can clone private, write can push
api PUT /api/repos/alice/secret/collaborators/bob "$ALICE" '{"role":"read"}'
expect_status 200 "add bob as reader"
check "reader clones private" git clone -q "http://bob:$BOB@127.0.0.1:$PORT/alice/secret.git" "$T_DIR/s6"
out=$(git -C "$SRC" push "http://bob:$BOB@127.0.0.1:$PORT/alice/secret.git" main 2>&1)
check "reader cannot push private" grep -q "error: 403" <<<"$out"
api PUT /api/repos/alice/secret/collaborators/bob "$ALICE" '{"role":"write"}'
check "writer pushes" git -C "$SRC" push -q "http://bob:$BOB@127.0.0.1:$PORT/alice/secret.git" main
RO=$(new_token alice repo:read)
out=$(git -C "$SRC" push "http://alice:$RO@127.0.0.1:$PORT/alice/project.git" main:ro 2>&1)
check "read-only token cannot push" grep -q "repo:write" <<<"$out"

# protocol edge cases
api GET "/alice/project.git/info/refs"
check "dumb HTTP refused" test "$STATUS" = 403
api GET "/alice/project.git/info/refs?service=git-frobnicate"
check "unknown service refused" test "$STATUS" = 400
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' --data-binary 0000 "$BASE/alice/project.git/git-upload-pack")
check "wrong content type refused" test "$STATUS" = 400
# a gzip-encoded upload-pack request (git sends these for big negotiations)
want=$(git -C "$SRC" rev-parse main)
printf '0032want %s\n00000009done\n' "$want" | gzip -c >"$T_DIR/req.gz"
curl -s -X POST -H 'Content-Type: application/x-git-upload-pack-request' -H 'Content-Encoding: gzip' \
	--data-binary @"$T_DIR/req.gz" "$BASE/alice/project.git/git-upload-pack" -o "$T_DIR/pack.out"
check "gzip request body yields a pack" grep -qa PACK "$T_DIR/pack.out"
# Git-Protocol: version 2 is honoured; a value git does not send never
# reaches git (the advertisement stays v0)
curl -s -H 'Git-Protocol: version=2' "$BASE/alice/project.git/info/refs?service=git-upload-pack" -o "$T_DIR/adv.v2"
check "Git-Protocol version=2 gives a v2 advertisement" grep -qa "version 2" "$T_DIR/adv.v2"
for p in version=3 'version=2:x' frobnicate; do
	curl -s -H "Git-Protocol: $p" "$BASE/alice/project.git/info/refs?service=git-upload-pack" -o "$T_DIR/adv.other"
	check "Git-Protocol '$p' gives a v0 advertisement" grep -qa "# service=git-upload-pack" "$T_DIR/adv.other"
	check "Git-Protocol '$p' is not passed to git" test "$(grep -ca "version 2" "$T_DIR/adv.other")" = 0
done
finish
