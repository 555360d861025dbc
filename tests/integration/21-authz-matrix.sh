#!/usr/bin/env bash
# 21-authz-matrix: the one authorization function, seen from outside. Every
# role (anonymous, another user, read and write collaborators, the owner by
# token and by browser session, a site admin, the owner's tokens of each
# scope) tries every action (read over the API, read over git, push,
# manage collaborators, delete) on a public and a private repository; the
# table below is the expected status of each.
source "$(dirname "$0")/lib.sh"
start_server

# role        repo  read  git   push  collab delete
MATRIX="
anonymous     pub   200   200   401   401   401
anonymous     priv  404   401   401   404   404
other         pub   200   200   403   403   403
other         priv  404   404   404   404   404
reader        pub   200   200   403   403   403
reader        priv  200   200   403   403   403
writer        pub   200   200   200   403   403
writer        priv  200   200   200   403   403
owner         pub   200   200   200   200   204
owner         priv  200   200   200   200   204
owner-session pub   200   200   200   200   204
owner-session priv  200   200   200   200   204
admin         pub   200   200   200   200   204
admin         priv  200   200   200   200   204
admin-noscope pub   200   200   403   403   403
admin-noscope priv  404   404   404   404   404
tok-repo:read pub   200   200   403   403   403
tok-repo:read priv  200   200   403   403   403
tok-repo:write pub  200   200   200   200   204
tok-repo:write priv 200   200   200   200   204
tok-user      pub   200   200   403   403   403
tok-user      priv  404   404   404   404   404
tok-admin     pub   200   200   200   200   204
tok-admin     priv  200   200   200   200   204
"
# admin: a site admin's token with the admin scope; admin-noscope: the same
# admin's token without it (a token never does more than its scopes).
# tok-*: tokens of the owner with exactly that scope.

# ---- the cast ----
jar="$T_DIR/owner.jar"
curl -s -o "$T_DIR/body" -c "$jar" -H 'Content-Type: application/json' \
	--data-binary '{"username":"olivia","password":"owner password"}' "$BASE/api/auth/register"
BODY_OUT=$(cat "$T_DIR/body")
OWNER_CSRF=$(json .csrf_token)
check "owner registered" test ${#OWNER_CSRF} -eq 43
OWNER_TOK=$(new_token olivia repo:write,user)
READER_TOK=$(new_user rita)
WRITER_TOK=$(new_user walt)
OTHER_TOK=$(new_user oscar)
ADMIN_NOSCOPE_TOK=$(new_user ada admin)
ADMIN_TOK=$(new_token ada admin)
new_user xavier >/dev/null
declare -A TOK=(
	[other]=$OTHER_TOK [reader]=$READER_TOK [writer]=$WRITER_TOK [owner]=$OWNER_TOK
	[admin]=$ADMIN_TOK [admin-noscope]=$ADMIN_NOSCOPE_TOK
	[tok-repo:read]=$(new_token olivia repo:read) [tok-repo:write]=$(new_token olivia repo:write)
	[tok-user]=$(new_token olivia user) [tok-admin]=$(new_token olivia admin)
)

# make_repo pub|priv: (re)creates olivia/NAME with rita reading, walt writing.
make_repo() {
	local priv=false
	[ "$1" = priv ] && priv=true
	api POST /api/repos "$OWNER_TOK" "{\"name\":\"$1\",\"private\":$priv}"
	[ "$STATUS" = 201 ] || fail "create olivia/$1: $STATUS $BODY_OUT"
	api PUT "/api/repos/olivia/$1/collaborators/rita" "$OWNER_TOK" '{"role":"read"}'
	[ "$STATUS" = 200 ] || fail "add reader to olivia/$1: $STATUS"
	api PUT "/api/repos/olivia/$1/collaborators/walt" "$OWNER_TOK" '{"role":"write"}'
	[ "$STATUS" = 200 ] || fail "add writer to olivia/$1: $STATUS"
}
make_repo pub
make_repo priv

# attempt ROLE REPO ACTION: sets STATUS. API calls send the token as a
# Bearer token, git calls as HTTP Basic (as git does), the owner's browser
# its cookie and CSRF token.
attempt() {
	local role=$1 repo=$2 action=$3 method path body=""
	local args=(-s -o "$T_DIR/body" -w '%{http_code}')
	case $action in
	read) method=GET path="/api/repos/olivia/$repo" ;;
	git) method=GET path="/olivia/$repo.git/info/refs?service=git-upload-pack" ;;
	push) method=GET path="/olivia/$repo.git/info/refs?service=git-receive-pack" ;;
	collab) method=PUT path="/api/repos/olivia/$repo/collaborators/xavier" body='{"role":"read"}' ;;
	delete) method=DELETE path="/api/repos/olivia/$repo" ;;
	esac
	if [ "$role" = owner-session ]; then
		args+=(-b "$jar" -H "X-CSRF-Token: $OWNER_CSRF")
	elif [ "$role" != anonymous ]; then
		if [ "$action" = git ] || [ "$action" = push ]; then
			args+=(-u "git:${TOK[$role]}") # git's user name is ignored: the token says who
		else
			args+=(-H "Authorization: Bearer ${TOK[$role]}")
		fi
	fi
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	STATUS=$(curl "${args[@]}" -X "$method" "$BASE$path")
	BODY_OUT=$(tr -d '\0' <"$T_DIR/body") # git answers hold NULs
}

actions=(read git push collab delete)
rows=0
while read -r role repo want_read want_git want_push want_collab want_delete; do
	[ -z "$role" ] && continue
	rows=$((rows + 1))
	wants=("$want_read" "$want_git" "$want_push" "$want_collab" "$want_delete")
	for i in "${!actions[@]}"; do
		action=${actions[$i]}
		attempt "$role" "$repo" "$action"
		expect_status "${wants[$i]}" "$role $action $repo"
		# a private repository never shows its name to those who cannot read it
		if [ "$STATUS" = 404 ]; then
			check "$role $action $repo: 404 says not found" grep -q "repository 'olivia/$repo' not found" <<<"$BODY_OUT"
		fi
		[ "$action" = delete ] && [ "$STATUS" = 204 ] && make_repo "$repo"
	done
done <<<"$MATRIX"
check "the matrix has 24 rows" test "$rows" -eq 24

# the messages behind the refusals
api PUT /api/repos/olivia/pub/collaborators/xavier "$WRITER_TOK" '{"role":"read"}'
expect_error 403 forbidden "admin access to repository 'olivia/pub' is required" "writer managing collaborators"
api DELETE /api/repos/olivia/priv "${TOK[tok-repo:read]}"
expect_error 403 insufficient_scope "lacks the repo:write scope" "read token deleting"
api GET /api/repos/olivia/priv "${TOK[tok-user]}"
expect_error 404 not_found "repository 'olivia/priv' not found" "user-scope token reading private"
api DELETE /api/repos/olivia/pub
expect_error 401 unauthorized "sign in to change repository 'olivia/pub'" "anonymous delete"
# and with a real git client: a writer pushes, a reader cannot
hostport=${BASE#http://}
git init -q "$T_DIR/w" && git -C "$T_DIR/w" commit -q --allow-empty -m first
git -C "$T_DIR/w" push -q "http://git:$WRITER_TOK@$hostport/olivia/priv.git" HEAD:main 2>"$T_DIR/push.err"
rc=$?
check "writer pushes with git ($(tail -1 "$T_DIR/push.err"))" test $rc -eq 0
git -C "$T_DIR/w" commit -q --allow-empty -m second
git -C "$T_DIR/w" push -q "http://git:$READER_TOK@$hostport/olivia/priv.git" HEAD:main 2>"$T_DIR/push.err"
rc=$?
check "reader's git push is refused" test $rc -ne 0
check "reader sees why ($(tr '\n' ' ' <"$T_DIR/push.err"))" grep -q "403\|write access" "$T_DIR/push.err"
git clone -q "http://git:$OTHER_TOK@$hostport/olivia/priv.git" "$T_DIR/c" 2>"$T_DIR/clone.err"
rc=$?
check "non-reader cannot clone a private repository" test $rc -ne 0
git clone -q "http://git:$READER_TOK@$hostport/olivia/priv.git" "$T_DIR/c" 2>"$T_DIR/clone.err"
check "reader clones it" test "$(git -C "$T_DIR/c" log -1 --format=%s 2>/dev/null)" = first

curl -s -o /dev/null -D "$T_DIR/h" "$BASE/olivia/priv.git/info/refs?service=git-upload-pack"
check "git asks anonymous clients for credentials" grep -qi '^WWW-Authenticate: Basic' "$T_DIR/h"

finish
