#!/usr/bin/env bash
# 20-accounts: registration, password sign-in and its throttling, cookie
# sessions (curl cookie jars) with sign-out and sign-out everywhere, CSRF on
# cookie writes, username choice, personal access tokens and their scopes,
# SSH keys checked against ssh-keygen's fingerprints.
source "$(dirname "$0")/lib.sh"
start_server

# capi METHOD PATH JAR [BODY] [CSRF]: like api, authenticated by the cookie
# jar JAR (read and updated, as a browser would).
capi() {
	local method=$1 path=$2 jar=$3 body=${4:-} csrf=${5:-}
	local args=(-s -o "$T_DIR/body" -D "$T_DIR/headers" -w '%{http_code}' -X "$method"
		-b "$jar" -c "$jar")
	[ -n "$csrf" ] && args+=(-H "X-CSRF-Token: $csrf")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	STATUS=$(curl "${args[@]}" "$BASE$path")
	BODY_OUT=$(cat "$T_DIR/body")
	HEADERS_OUT=$(tr -d '\r' <"$T_DIR/headers")
}

# raw METHOD PATH [curl args...]: a request with hand-made headers.
raw() {
	local method=$1 path=$2; shift 2
	STATUS=$(curl -s -o "$T_DIR/body" -D "$T_DIR/headers" -w '%{http_code}' -X "$method" "$@" "$BASE$path")
	BODY_OUT=$(cat "$T_DIR/body")
	HEADERS_OUT=$(tr -d '\r' <"$T_DIR/headers")
}

J="$T_DIR/jars"
mkdir -p "$J"

# ---- registration ----
capi POST /api/auth/register "$J/alice" '{"username":"alice","password":"correct horse","email":"alice@example.com"}'
expect_status 201 "register alice"
expect_json .user.username alice "registered user"
expect_json .user.has_password true "has_password"
expect_json .user.email alice@example.com "email stored"
ALICE_CSRF=$(json .csrf_token)
check "csrf token returned" test ${#ALICE_CSRF} -eq 43
cookie=$(header Set-Cookie)
check "cookie is plue_session" grep -q '^plue_session=ey' <<<"$cookie"
check "cookie is HttpOnly" grep -q '; HttpOnly' <<<"$cookie"
check "cookie is SameSite=Lax" grep -q '; SameSite=Lax' <<<"$cookie"
check "cookie has Path=/" grep -q '; Path=/' <<<"$cookie"
check "no Secure over http" bash -c "! grep -q Secure <<<'$cookie'"
check "cookie jar written" grep -q plue_session "$J/alice"

capi POST /api/auth/register "$J/x" '{"username":"ALICE","password":"another one"}'
expect_error 409 username_taken "username 'ALICE' is taken" "duplicate username (any case)"
capi POST /api/auth/register "$J/x" '{"username":"bob","password":"short"}'
expect_error 400 weak_password "at least 8 characters" "short password"
capi POST /api/auth/register "$J/x" '{"username":"bad name","password":"long enough"}'
expect_error 400 invalid_name "may contain only letters" "bad username"
capi POST /api/auth/register "$J/x" '{"username":"admin","password":"long enough"}'
expect_error 400 invalid_name "'admin' is reserved" "reserved username"
capi POST /api/auth/register "$J/x" '{"username":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","password":"long enough"}'
expect_error 400 invalid_name "reserved for the Ethereum account" "address-like username"
capi POST /api/auth/register "$J/x" '{"username":"bob","password":"long enough","email":"nope"}'
expect_error 400 invalid_email "email 'nope' is not a valid address" "bad email"
capi POST /api/auth/register "$J/x" '{"username":"bob"}'
expect_error 400 missing_field "field 'password' is required" "missing password"
raw POST /api/auth/register -H 'Content-Type: text/plain' --data-binary '{"username":"bob","password":"long enough"}'
expect_error 400 invalid_content_type "Content-Type application/json" "form-style sign-up refused"
check "refused sign-up sets no cookie" bash -c "! grep -qi '^set-cookie' <<<'$HEADERS_OUT'"

# ---- who am I ----
capi GET /api/auth/me "$J/alice"
expect_status 200 "me with cookie"
expect_json .via session "me via session"
expect_json .user.username alice "me username"
expect_json .csrf_token "$ALICE_CSRF" "me returns the session's csrf token"
api GET /api/auth/me
expect_error 401 unauthorized "authentication required" "me anonymous"
raw GET /api/auth/me -H "Cookie: plue_session=eyJhbGciOiJub25lIn0.eyJzaWQiOjF9."
expect_error 401 unauthorized "authentication required" "alg-none cookie is no session"
tampered=$(awk '$6=="plue_session"{print $7}' "$J/alice" | sed 's/\.[^.]*$/.AAAA/')
raw GET /api/auth/me -H "Cookie: plue_session=$tampered"
expect_error 401 unauthorized "authentication required" "tampered cookie is no session"

# ---- password sign-in ----
capi POST /api/auth/login "$J/x" '{"username":"alice","password":"wrong horse"}'
expect_error 401 invalid_credentials "incorrect username or password" "wrong password"
check "failed sign-in sets no cookie" bash -c "! grep -qi '^set-cookie' <<<'$HEADERS_OUT'"
capi POST /api/auth/login "$J/x" '{"username":"nobody","password":"wrong horse"}'
expect_error 401 invalid_credentials "incorrect username or password" "unknown user: same answer"
capi POST /api/auth/login "$J/x" '{"username":"alice"}'
expect_error 400 missing_field "field 'password' is required" "login without password"
capi POST /api/auth/login "$J/alice2" '{"username":"Alice","password":"correct horse"}'
expect_status 200 "login (username in any case)"
expect_json .user.username alice "login user"
ALICE2_CSRF=$(json .csrf_token)
check "each session has its own csrf token" test "$ALICE2_CSRF" != "$ALICE_CSRF"

# ---- CSRF: cookie writes need the header, token writes do not ----
capi POST /api/repos "$J/alice" '{"name":"r1"}'
expect_error 403 csrf_failed "missing or invalid X-CSRF-Token header" "cookie write without csrf"
capi POST /api/repos "$J/alice" '{"name":"r1"}' "$ALICE2_CSRF"
expect_error 403 csrf_failed "X-CSRF-Token" "cookie write with another session's csrf"
capi POST /api/repos "$J/alice" '{"name":"r1"}' "$ALICE_CSRF"
expect_status 201 "cookie write with csrf"
capi DELETE /api/repos/alice/r1 "$J/alice"
expect_error 403 csrf_failed "X-CSRF-Token" "cookie delete without csrf"
capi GET /api/repos/alice/r1 "$J/alice"
expect_status 200 "cookie read needs no csrf"
capi POST /api/auth/logout "$J/alice"
expect_error 403 csrf_failed "X-CSRF-Token" "logout needs csrf"

# tokens, made through the API with the cookie session
capi POST /api/user/tokens "$J/alice" '{"name":"all","scopes":["repo:write","user"]}' "$ALICE_CSRF"
expect_status 201 "create token with cookie"
TOK_ALL=$(json .token)
TOK_ALL_ID=$(json .id)
check "token secret shown" grep -q '^plue_' <<<"$TOK_ALL"
expect_json .scopes '["repo:read","repo:write","user"]' "write implies read"
api POST /api/repos "$TOK_ALL" '{"name":"r2"}'
expect_status 201 "token write needs no csrf"
raw POST /api/repos -H "Authorization: Bearer $TOK_ALL" -H "Cookie: plue_session=garbage" \
	-H 'Content-Type: application/json' --data-binary '{"name":"r3"}'
expect_status 201 "Authorization wins over a cookie"
api GET /api/auth/me "$TOK_ALL"
expect_json .via token "me via token"
expect_json .scopes '["repo:read","repo:write","user"]' "me shows token scopes"
expect_json .csrf_token "<undefined>" "no csrf token for tokens"

# ---- tokens API ----
capi POST /api/user/tokens "$J/alice" '{"name":"ro","scopes":["repo:read"]}' "$ALICE_CSRF"
TOK_RO=$(json .token)
TOK_RO_ID=$(json .id)
api GET /api/repos/alice/r2 "$TOK_RO"
expect_status 200 "read token reads"
api POST /api/repos "$TOK_RO" '{"name":"r4"}'
expect_error 403 insufficient_scope "lacks the repo:write scope" "read token cannot create"
api DELETE /api/repos/alice/r2 "$TOK_RO"
expect_error 403 insufficient_scope "repo:write" "read token cannot delete"
api GET /api/user/tokens "$TOK_RO"
expect_error 403 insufficient_scope "lacks the user scope" "tokens API needs the user scope"
api GET /api/user/keys "$TOK_RO"
expect_error 403 insufficient_scope "lacks the user scope" "keys API needs the user scope"
api POST /api/auth/logout-all "$TOK_RO"
expect_error 403 insufficient_scope "lacks the user scope" "logout-all needs the user scope"
api PATCH /api/user "$TOK_RO" '{"email":"x@example.com"}'
expect_error 403 insufficient_scope "lacks the user scope" "profile needs the user scope"

api GET /api/user/tokens "$TOK_ALL"
expect_status 200 "list tokens with user scope"
expect_json .0.name all "token list name"
expect_json .1.scopes '["repo:read"]' "token list scopes"
check "last use recorded" test "$(json .1.last_used_at)" != "null"
expect_json .1.expires_at null "no expiry"
check "list never shows secrets" bash -c "! grep -q plue_ <<<'$BODY_OUT'"
check "list has no token field" test "$(json .0.token)" = "<undefined>"

api POST /api/user/tokens "$TOK_ALL" '{"name":"u","scopes":["user"]}'
expect_status 201 "user-scope token mints a weaker token"
api POST /api/user/tokens "$TOK_ALL" '{"name":"adm","scopes":["admin"]}'
expect_error 403 insufficient_scope "lacks the admin scope it would grant" "no stronger token from a token"
api POST /api/user/tokens "$TOK_ALL" '{"name":"bad","scopes":["repo:delete"]}'
expect_error 400 invalid_scope "unknown scope 'repo:delete'" "unknown scope"
api POST /api/user/tokens "$TOK_ALL" '{"name":"bad","scopes":[]}'
expect_error 400 invalid_scope "at least one scope" "no scopes"
api POST /api/user/tokens "$TOK_ALL" '{"name":"bad"}'
expect_error 400 missing_field "field 'scopes' is required" "scopes missing"
api POST /api/user/tokens "$TOK_ALL" '{"scopes":["user"]}'
expect_error 400 missing_field "field 'name' is required" "name missing"
api POST /api/user/tokens "$TOK_ALL" '{"name":"","scopes":["user"]}'
expect_error 400 invalid_field "field 'name' may not be empty" "empty name"
api POST /api/user/tokens "$TOK_ALL" '{"name":"x","scopes":"user"}'
expect_error 400 invalid_scope "scopes must be an array of strings" "scopes not an array"
api POST /api/user/tokens "$TOK_ALL" '{"name":"old","scopes":["user"],"expires_at":"2001-01-01T00:00:00Z"}'
expect_error 400 invalid_field "expires_at '2001-01-01T00:00:00Z' is in the past" "expiry in the past"
api POST /api/user/tokens "$TOK_ALL" '{"name":"odd","scopes":["user"],"expires_at":"2099-02-30"}'
expect_error 400 invalid_field "not an RFC 3339 time or a date" "impossible date"
api POST /api/user/tokens "$TOK_ALL" '{"name":"later","scopes":["repo:read"],"expires_at":"2099-06-01T12:00:00+02:00"}'
expect_status 201 "token with expiry"
expect_json .expires_at 2099-06-01T10:00:00Z "expiry stored in UTC"

# an admin-scoped token of a non-admin reaches nothing its user cannot
BOB_TOK=$(new_user bob)
api POST /api/repos "$BOB_TOK" '{"name":"secret","private":true}'
expect_status 201 "bob's private repository"
capi POST /api/user/tokens "$J/alice" '{"name":"adm","scopes":["admin"]}' "$ALICE_CSRF"
TOK_ADM=$(json .token)
api GET /api/repos/bob/secret "$TOK_ADM"
expect_error 404 not_found "repository 'bob/secret' not found" "admin scope is not site admin"

api DELETE "/api/user/tokens/$TOK_RO_ID" "$TOK_ALL"
expect_status 204 "delete token"
api GET /api/repos/alice/r2 "$TOK_RO"
expect_error 401 invalid_token "invalid or expired token" "deleted token is dead"
api DELETE "/api/user/tokens/$TOK_RO_ID" "$TOK_ALL"
expect_error 404 not_found "token '$TOK_RO_ID' not found" "delete twice"
api DELETE "/api/user/tokens/$TOK_ALL_ID" "$BOB_TOK"
expect_error 404 not_found "not found" "cannot delete another user's token"
api DELETE /api/user/tokens/abc "$TOK_ALL"
expect_error 404 not_found "token 'abc' not found" "non-numeric token id"

# ---- choosing a username ----
capi PATCH /api/user "$J/alice" '{"username":"alicia"}'
expect_error 403 csrf_failed "X-CSRF-Token" "profile change needs csrf"
capi PATCH /api/user "$J/alice" '{"username":"alicia"}' "$ALICE_CSRF"
expect_status 200 "rename"
expect_json .username alicia "renamed"
api GET /api/repos/alicia/r2 "$TOK_ALL"
expect_status 200 "repositories follow the rename"
capi PATCH /api/user "$J/alice" '{"username":"BOB"}' "$ALICE_CSRF"
expect_error 409 username_taken "username 'BOB' is taken" "rename onto a taken name"
capi PATCH /api/user "$J/alice" '{"username":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"}' "$ALICE_CSRF"
expect_error 400 invalid_name "reserved for the Ethereum account" "rename to someone's address"
capi PATCH /api/user "$J/alice" '{"email":"not an email"}' "$ALICE_CSRF"
expect_error 400 invalid_email "is not a valid address" "bad email change"
api PATCH /api/user "$TOK_ALL" '{"username":"alice","email":""}'
expect_status 200 "rename back with a user-scope token"
expect_json .email null "email cleared"

# ---- SSH keys ----
K="$T_DIR/keys"
mkdir -p "$K"
for spec in ed25519:0 ecdsa:256 ecdsa:384 ecdsa:521 rsa:2048 rsa:1024; do
	t=${spec%:*} b=${spec#*:}
	args=(-q -t "$t" -N '' -C "$t-$b@test" -f "$K/$t-$b")
	[ "$t" != ed25519 ] && args+=(-b "$b")
	ssh-keygen "${args[@]}" </dev/null
done
body_for() { node -e 'process.stdout.write(JSON.stringify({key:require("fs").readFileSync(process.argv[1],"utf8"), ...(process.argv[2]?{name:process.argv[2]}:{})}))' "$@"; }
for k in ed25519-0 ecdsa-256 ecdsa-384 ecdsa-521 rsa-2048; do
	api POST /api/user/keys "$TOK_ALL" "$(body_for "$K/$k.pub")"
	expect_status 201 "add $k key"
	want=$(ssh-keygen -lf "$K/$k.pub" | awk '{print $2}')
	expect_json .fingerprint "$want" "$k fingerprint equals ssh-keygen -lf"
	expect_json .name "${k%-*}-${k#*-}@test" "$k name defaults to the comment"
	expect_json .key "$(cut -d' ' -f1-2 "$K/$k.pub")" "$k stored without comment"
done
expect_json .bits 2048 "rsa bits"
KEY_ID=$(json .id)
api GET /api/user/keys "$TOK_ALL"
expect_status 200 "list keys"
expect_json .length 5 "five keys"
expect_json .0.type ssh-ed25519 "key type listed"
api POST /api/user/keys "$TOK_ALL" "$(body_for "$K/ed25519-0.pub" laptop)"
expect_error 409 key_exists "key 'SHA256:" "duplicate key"
api POST /api/user/keys "$BOB_TOK" "$(body_for "$K/ed25519-0.pub")"
expect_error 409 key_exists "is already in use" "another user's key"
api POST /api/user/keys "$TOK_ALL" "$(body_for "$K/rsa-1024.pub")"
expect_error 400 invalid_key "rsa key has 1024 bits; at least 2048 are required" "short rsa key"
api POST /api/user/keys "$TOK_ALL" '{"key":"ssh-ed25519 AAAA"}'
expect_error 400 invalid_key "key data is truncated" "truncated key"
api POST /api/user/keys "$TOK_ALL" '{"key":"ssh-ed25519 not*base64"}'
expect_error 400 invalid_key "not valid base64" "bad base64"
api POST /api/user/keys "$TOK_ALL" '{"key":"ssh-dss AAAAB3NzaC1kc3MAAACBAO1E"}'
expect_error 400 invalid_key "unsupported key type 'ssh-dss'" "dsa refused"
api POST /api/user/keys "$TOK_ALL" "$(body_for "$K/ed25519-0")"
expect_error 400 invalid_key "private key" "private key refused"
api POST /api/user/keys "$TOK_ALL" '{"key":""}'
expect_error 400 invalid_key "key is empty" "empty key"
api POST /api/user/keys "$TOK_ALL" '{"name":"k"}'
expect_error 400 missing_field "field 'key' is required" "key missing"
# the ed25519 blob under the rsa type name
ed_b64=$(cut -d' ' -f2 "$K/ed25519-0.pub")
api POST /api/user/keys "$TOK_ALL" "{\"key\":\"ssh-rsa $ed_b64\"}"
expect_error 400 invalid_key "does not match the key data's type" "type/blob mismatch"
api DELETE "/api/user/keys/$KEY_ID" "$BOB_TOK"
expect_error 404 not_found "key '$KEY_ID' not found" "cannot delete another user's key"
capi DELETE "/api/user/keys/$KEY_ID" "$J/alice" "" "$ALICE_CSRF"
expect_status 204 "delete key with cookie"
api DELETE "/api/user/keys/$KEY_ID" "$TOK_ALL"
expect_error 404 not_found "key '$KEY_ID' not found" "delete key twice"
long=$(printf 'é%.0s' $(seq 1 80))
ssh-keygen -q -t ed25519 -N '' -C "$long" -f "$K/long" </dev/null
api POST /api/user/keys "$TOK_ALL" "$(body_for "$K/long.pub")"
expect_status 201 "key with a long comment"
expect_json .name "$(printf 'é%.0s' $(seq 1 50))" "long comment cut to 100 bytes on a character boundary"
api POST /api/user/keys "$TOK_ALL" "$(body_for "$K/rsa-2048.pub" "work laptop")"
expect_status 201 "a deleted key can be added again"
expect_json .name "work laptop" "key name given"

# ---- sign out, and sign out everywhere ----
cp "$J/alice" "$J/alice.before"
capi POST /api/auth/logout "$J/alice" "" "$ALICE_CSRF"
expect_status 204 "logout"
check "logout clears the cookie" grep -q '^Set-Cookie: plue_session=; Path=/; Max-Age=0' <<<"$HEADERS_OUT"
capi GET /api/auth/me "$J/alice.before"
expect_error 401 unauthorized "authentication required" "replayed cookie after logout (revoked session)"
capi GET /api/repos/alice/r2 "$J/alice.before"
expect_status 200 "a dead cookie still reads public repositories"
capi POST /api/auth/login "$J/alice.before" '{"username":"alice","password":"correct horse"}'
expect_status 200 "a dead cookie does not block signing in again"
api POST /api/auth/logout "$TOK_ALL"
expect_error 400 not_a_session "sign-out ends browser sessions" "logout with a token"

capi POST /api/auth/login "$J/a3" '{"username":"alice","password":"correct horse"}'
A3_CSRF=$(json .csrf_token)
capi GET /api/auth/me "$J/alice2"
expect_status 200 "second browser still signed in"
capi POST /api/auth/logout-all "$J/a3" "" "$A3_CSRF"
expect_status 200 "sign out everywhere"
expect_json .revoked_sessions 3 "three live sessions revoked"
for jar in a3 alice2 alice.before; do
	capi GET /api/auth/me "$J/$jar"
	expect_error 401 unauthorized "authentication required" "session $jar ended everywhere"
done
api GET /api/auth/me "$TOK_ALL"
expect_status 200 "tokens survive sign-out everywhere"

# ---- throttling: per account, then per address ----
new_user carol >/dev/null
for i in $(seq 1 10); do
	capi POST /api/auth/login "$J/x" '{"username":"carol","password":"guess number '"$i"'"}'
	[ "$STATUS" = 401 ] || fail "failed login $i for carol: $STATUS"
done
capi POST /api/auth/login "$J/x" '{"username":"CAROL","password":"guess number 11"}'
expect_error 429 rate_limited "too many failed sign-ins for this account" "11th failure is throttled"
ra=$(header Retry-After)
check "Retry-After is seconds within the window ($ra)" bash -c "[[ '$ra' =~ ^[0-9]+$ ]] && [ '$ra' -ge 1 ] && [ '$ra' -le 900 ]"
capi POST /api/auth/login "$J/alice" '{"username":"alice","password":"correct horse"}'
expect_status 200 "another account from the same address is not throttled"
ALICE_CSRF=$(json .csrf_token)

# the address limit: failures across many account names
limited=0
for i in $(seq 1 60); do
	capi POST /api/auth/login "$J/x" '{"username":"spray'"$i"'","password":"password1"}'
	if [ "$STATUS" = 429 ]; then limited=$i; break; fi
	[ "$STATUS" = 401 ] || { fail "spray $i: $STATUS"; break; }
done
check "address throttled after 50 failures (at attempt $limited)" test "$limited" -gt 30
expect_error 429 rate_limited "too many failed sign-ins from this address" "address limit"
check "Retry-After on the address limit" test -n "$(header Retry-After)"
capi POST /api/auth/login "$J/x" '{"username":"alice","password":"correct horse"}'
expect_error 429 rate_limited "from this address" "the address limit covers every account"
capi GET /api/auth/me "$J/alice"
expect_status 200 "signed-in sessions are unaffected"

# ---- Secure cookies when the public URL is https ----
stop_server
start_server --public-url https://forge.example:8443
capi POST /api/auth/register "$J/dave" '{"username":"dave","password":"correct horse"}'
expect_status 201 "register behind https"
check "cookie is Secure under an https public URL" grep -q '; Secure' <<<"$(header Set-Cookie)"
raw POST /api/auth/siwe/nonce
expect_status 200 "nonce"
expect_json .domain forge.example:8443 "SIWE domain is the public host"
expect_json .uri https://forge.example:8443 "SIWE uri is the public origin"
check "nonce is 32 hex digits" grep -Eq '^[0-9a-f]{32}$' <<<"$(json .nonce)"
raw POST /api/auth/siwe/verify -H 'Content-Type: application/json' --data-binary '{"message":"hello","signature":"0x00"}'
expect_error 400 siwe_malformed "siwe message" "garbage SIWE message"
raw POST /api/auth/siwe/verify -H 'Content-Type: text/plain' --data-binary '{"message":"hello","signature":"0x00"}'
expect_error 400 invalid_content_type "Content-Type application/json" "form-style SIWE sign-in refused"
raw POST /api/auth/siwe/verify -H 'Content-Type: application/json' --data-binary '{"message":"hello"}'
expect_error 400 missing_field "field 'signature' is required" "SIWE without signature"

# anonymous writes are bounded per address: nonces, registrations
limited=0
for i in $(seq 1 250); do
	raw POST /api/auth/siwe/nonce
	if [ "$STATUS" = 429 ]; then limited=$i; break; fi
	[ "$STATUS" = 200 ] || { fail "nonce $i: $STATUS"; break; }
done
check "nonces throttled after 200, one issued above (at request $limited)" test "$limited" -eq 200
expect_error 429 rate_limited "too many sign-in attempts from this address" "nonce limit"
check "Retry-After on the nonce limit" test -n "$(header Retry-After)"
limited=0
for i in $(seq 1 40); do
	capi POST /api/auth/register "$J/x" '{"username":"bulk'"$i"'","password":"short"}'
	if [ "$STATUS" = 429 ]; then limited=$i; break; fi
	[ "$STATUS" = 400 ] || { fail "registration $i: $STATUS"; break; }
done
check "registrations throttled after 30 attempts (at attempt $limited)" test "$limited" -ge 20
expect_error 429 rate_limited "too many registrations from this address" "registration limit"
check "Retry-After on the registration limit" test -n "$(header Retry-After)"

# ---- the first administrator: an account made through the pages, promoted
# from the command line ----
ADMTOK=$(new_user promoted)
api GET /api/auth/me "$ADMTOK"
expect_json .user.is_admin false "a new account is no administrator"
out=$("$PLUE" admin set-admin PROMOTED 2>&1 | tail -1) # after the server's log lines
check "set-admin says what it did (got '$out')" test "$out" = "PROMOTED is now a site administrator"
api GET /api/auth/me "$ADMTOK"
expect_json .user.is_admin true "set-admin makes it one (names are case-insensitive)"
"$PLUE" admin set-admin promoted --revoke 2>/dev/null
api GET /api/auth/me "$ADMTOK"
expect_json .user.is_admin false "--revoke takes the role away"
out=$("$PLUE" admin set-admin nobody-such 2>&1)
rc=$?
out=$(tail -1 <<<"$out")
check "set-admin of an unknown account fails (exit $rc)" test "$rc" = 1
check "and says why (got '$out')" test "$out" = "plue admin: user 'nobody-such' not found"

finish
