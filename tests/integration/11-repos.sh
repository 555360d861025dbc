#!/usr/bin/env bash
# 11-repos: the repositories API, health, and the error contract for bad
# input (status, code, message) — with nothing left half-made.
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
PSQL=(psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue")
ndirs() { find "$PLUE_DATA_DIR/repos" -mindepth 1 -maxdepth 1 | wc -l; }
nrows() { "${PSQL[@]}" -c "select count(*) from repositories"; }

api GET /api/health
expect_status 200 "health"
expect_json .status ok "health status"
expect_json .database.status ok "database status"

api POST /api/repos "$ALICE" '{"name":"project","description":"a project"}'
expect_status 201 "create"
expect_json .full_name alice/project "full name"
expect_json .private false "public by default"
expect_json .default_branch main "default branch"
expect_json .clone_url "$BASE/alice/project.git" "clone url"
check "Location header" test "$(header Location)" = "/api/repos/alice/project"
api GET /api/repos/alice/project
expect_status 200 "get"
expect_json .description "a project" "description"
api GET /api/repos/ALICE/PROJECT
expect_status 200 "names are case-insensitive"

# bad input: each with status, code and message; nothing on disk or in the DB
before_rows=$(nrows); before_dirs=$(ndirs)
api POST /api/repos "$ALICE" '{"name":"project"}'
expect_error 409 already_exists "repository 'alice/project' already exists" "duplicate"
api POST /api/repos "$ALICE" '{"name":"Project"}'
expect_error 409 already_exists "already exists" "duplicate differing in case"
for bad in '..' '../x' 'a/b' '.hidden' '-dash' 'x.git' 'x.lock' 'sp ace' 'ünï' ''; do
	api POST /api/repos "$ALICE" "{\"name\":\"$bad\"}"
	expect_error 400 invalid_name "repository name" "invalid name '$bad'"
done
api POST /api/repos "$ALICE" '{"name":"a\u0000b"}'
expect_error 400 invalid_json "not allowed" "NUL in name"
api POST /api/repos "$ALICE" "{\"name\":\"$(printf 'x%.0s' $(seq 1 101))\"}"
expect_error 400 invalid_field "longer than 100" "overlong name"
api POST /api/repos "$ALICE" '{"name":"ok","default_branch":"bad..branch"}'
expect_error 400 invalid_branch "is not a valid branch name" "invalid default branch"
api POST /api/repos "$ALICE" '{"name":"ok","private":"yes"}'
expect_error 400 invalid_field "must be true or false" "private not boolean"
api POST /api/repos "$ALICE" '{"name":5}'
expect_error 400 invalid_field "must be a string" "name not string"
api POST /api/repos "$ALICE" '{}'
expect_error 400 missing_field "field 'name' is required" "missing name"
api POST /api/repos "$ALICE" '{"name":'
expect_error 400 invalid_json "malformed JSON" "malformed JSON"
api POST /api/repos "$ALICE" '[1,2]'
expect_error 400 invalid_json "must be a JSON object" "array body"
api POST /api/repos "$ALICE" '{"name":"a","name":"b"}'
expect_error 400 invalid_json "duplicate" "duplicate keys"
big=$(head -c 1100000 /dev/zero | tr '\0' 'a')
printf '{"name":"x","description":"%s"}' "$big" >"$T_DIR/big.json"
STATUS=$(curl -s -o "$T_DIR/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ALICE" --data-binary @"$T_DIR/big.json" "$BASE/api/repos"); BODY_OUT=$(cat "$T_DIR/body")
expect_error 413 body_too_large "larger than" "oversized body"
STATUS=$(curl -s -o "$T_DIR/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ALICE" -H 'Transfer-Encoding: chunked' --data-binary @"$T_DIR/big.json" "$BASE/api/repos"); BODY_OUT=$(cat "$T_DIR/body")
expect_error 413 body_too_large "larger than" "oversized chunked body"
check "no rows left by failures" test "$(nrows)" = "$before_rows"
check "no directories left by failures" test "$(ndirs)" = "$before_dirs"

# a failure on disk rolls the row back: a file stands where the next
# repository's directory would go (works as root too, unlike chmod)
next_id=$(( $("${PSQL[@]}" -c "select last_value from repositories_id_seq") + 1 ))
echo blocker >"$PLUE_DATA_DIR/repos/$next_id.git"
api POST /api/repos "$ALICE" '{"name":"diskfail"}'
expect_error 500 storage_error "cannot create the repository on disk" "disk failure"
check "row rolled back after disk failure" test "$(nrows)" = "$before_rows"
api GET /api/repos/alice/diskfail "$ALICE"
expect_status 404 "no repository after a disk failure"
rm -f "$PLUE_DATA_DIR/repos/$next_id.git"

# auth errors
api POST /api/repos "" '{"name":"x"}'
expect_error 401 unauthorized "authentication required" "anonymous create"
check "WWW-Authenticate on 401" grep -qi "Bearer" <<<"$(header WWW-Authenticate)"
api POST /api/repos "not-a-token" '{"name":"x"}'
expect_error 401 invalid_token "invalid or expired token" "bad token"
RO=$(new_token alice repo:read)
api POST /api/repos "$RO" '{"name":"x"}'
expect_error 403 insufficient_scope "repo:write" "read-only token cannot create"

# routing errors
api GET /api/nope
expect_error 404 no_route "no route for '/api/nope'" "unknown route"
api PUT /api/health
expect_error 405 method_not_allowed "not allowed" "wrong method"
check "Allow header" test "$(header Allow)" = "GET"
STATUS=$(curl -s -o "$T_DIR/body" -w '%{http_code}' -X BREW "$BASE/api/health"); BODY_OUT=$(cat "$T_DIR/body")
expect_error 405 method_not_allowed "not supported" "unknown method"
api GET /api/repos/alice/missing
expect_error 404 not_found "repository 'alice/missing' not found" "missing repo"
api GET "/api/repos/alice/pro%00ject"
expect_error 404 no_route "no route" "encoded NUL in path"
api GET "/api/repos/%FF/x"
expect_error 400 invalid_encoding "'owner' in the path is not valid UTF-8" "non-UTF-8 owner"
api GET "/api/users/alice/repos?x=%FF"
expect_error 400 invalid_encoding "query parameter is not valid UTF-8" "non-UTF-8 query"

# private repositories are invisible to others
api POST /api/repos "$ALICE" '{"name":"secret","private":true}'
expect_status 201 "create private"
api GET /api/repos/alice/secret
expect_error 404 not_found "repository 'alice/secret' not found" "anonymous cannot see private"
api GET /api/repos/alice/secret "$BOB"
expect_error 404 not_found "not found" "other user cannot see private"
api GET /api/repos/alice/secret "$ALICE"
expect_status 200 "owner sees private"
check "private repo not publicly cacheable" grep -q private <<<"$(header Cache-Control)"
api GET /api/users/alice/repos
check "anonymous listing hides private" test "$(json .length)" = 1
api GET /api/users/alice/repos "$ALICE"
check "owner listing shows private" test "$(json .length)" = 2
api GET /api/users/nobody/repos
expect_error 404 not_found "user 'nobody' not found" "listing unknown user"

# update and collaborators
api PATCH /api/repos/alice/project "$BOB" '{"description":"hijack"}'
expect_error 403 forbidden "admin access to repository 'alice/project' is required" "non-admin update"
api PATCH /api/repos/alice/project "$ALICE" '{"description":"new","private":true}'
expect_status 200 "update"
expect_json .private true "now private"
expect_json .issues_open_to_readers true "issues open to readers by default"
api PATCH /api/repos/alice/project "$ALICE" '{"issues_open_to_readers":false}'
expect_json .issues_open_to_readers false "issues restricted to writers"
api PATCH /api/repos/alice/project "$ALICE" '{"issues_open_to_readers":"no"}'
expect_error 400 invalid_field "must be true or false" "issues_open_to_readers not boolean"
api GET /api/repos/alice/project
expect_status 404 "visibility change takes effect at once"
api PUT /api/repos/alice/project/collaborators/bob "$ALICE" '{"role":"owner"}'
expect_error 400 invalid_role "role 'owner' is not one of read, write, admin" "bad role"
api PUT /api/repos/alice/project/collaborators/nobody "$ALICE" '{"role":"read"}'
expect_error 404 not_found "user 'nobody' not found" "unknown collaborator"
api PUT /api/repos/alice/project/collaborators/alice "$ALICE" '{"role":"read"}'
expect_error 400 invalid_collaborator "owns the repository" "owner as collaborator"
api PUT /api/repos/alice/project/collaborators/bob "$ALICE" '{"role":"admin"}'
expect_status 200 "add admin collaborator"
api GET /api/repos/alice/project/collaborators "$BOB"
expect_json .0.role admin "collaborator listed"
api PATCH /api/repos/alice/project "$BOB" '{"description":"by bob"}'
expect_status 200 "admin collaborator may update"
api DELETE /api/repos/alice/project/collaborators/bob "$ALICE"
expect_status 204 "remove collaborator"
api DELETE /api/repos/alice/project/collaborators/bob "$ALICE"
expect_error 404 not_found "'bob' is not a collaborator" "remove twice"

# delete removes row and directory
dirs=$(ndirs)
api DELETE /api/repos/alice/project "$BOB"
expect_status 404 "removed collaborator cannot see private repo to delete it"
api DELETE /api/repos/alice/project "$ALICE"
expect_status 204 "delete"
api GET /api/repos/alice/project "$ALICE"
expect_status 404 "gone after delete"
check "directory removed" test "$(ndirs)" = "$((dirs - 1))"
api POST /api/repos "$ALICE" '{"name":"project"}'
expect_status 201 "name reusable after delete"
finish
