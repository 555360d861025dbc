#!/usr/bin/env bash
# 60-ssh: git over SSH with the real OpenSSH client and keys made by
# ssh-keygen (ed25519, ECDSA, RSA). Clone, fetch and push (protocol v0 and
# v2), every role on a public and a private repository, unknown and revoked
# keys, refused commands, shells, subsystems and forwarding, branch
# protection, push recording, host keys stable across a restart, the
# connection limits and idle timeout, and a large push with bounded memory.
source "$(dirname "$0")/lib.sh"
# under make SAN=1, ASan's quarantine keeps up to 256 MB of freed memory
# resident (libssh allocates per packet): keep it small so the memory bound
# of the large push below measures the server, not the sanitizer
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
start_server --ssh-listen 127.0.0.1 --ssh-port 0
SSH_PORT=$(sed -n 's/^ssh listening on .*:\([0-9]*\)$/\1/p' "$T_DIR/serve.out" | head -1)
check "ssh port printed beside the http one" test -n "$SSH_PORT"

# ---- the cast: a key each, registered through the API ----
K="$T_DIR/keys"
mkdir -p "$K"
keygen() { ssh-keygen -q -t "$2" ${3:+-b "$3"} -N '' -C "$1@test" -f "$K/$1" </dev/null; }
keygen olivia ed25519      # owner
keygen ada ed25519         # site admin
keygen adam ecdsa 256      # admin collaborator
keygen walt ecdsa 384      # write collaborator
keygen rita rsa 3072       # read collaborator
keygen oscar ed25519       # no role
keygen stranger ed25519    # registered with nobody
keygen stranger2 ed25519
keygen stranger3 ecdsa 256
keygen later ecdsa 521     # added, used, then deleted
body_for() { node -e 'process.stdout.write(JSON.stringify({key:require("fs").readFileSync(process.argv[1],"utf8")}))' "$1"; }
declare -A TOK
for u in olivia ada adam walt rita oscar; do
	extra=""
	[ "$u" = ada ] && extra=admin
	TOK[$u]=$(new_user "$u" $extra)
	api POST /api/user/keys "${TOK[$u]}" "$(body_for "$K/$u.pub")"
	expect_status 201 "register $u's key"
done
OWNER=${TOK[olivia]}
for repo in pub priv; do
	priv=false
	[ "$repo" = priv ] && priv=true
	api POST /api/repos "$OWNER" "{\"name\":\"$repo\",\"private\":$priv}"
	expect_status 201 "create olivia/$repo"
	for c in adam:admin walt:write rita:read; do
		api PUT "/api/repos/olivia/$repo/collaborators/${c%:*}" "$OWNER" "{\"role\":\"${c#*:}\"}"
		[[ "$STATUS" == 20? ]] && pass || fail "collaborator $c on $repo: $STATUS $BODY_OUT"
	done
done

SSH_OPTS="-o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=$T_DIR/known_hosts -o BatchMode=yes -o ConnectTimeout=10"
# sshk KEY ARGS...: ssh to the server with that key only
sshk() { local k=$1; shift; ssh -i "$K/$k" $SSH_OPTS -p "$SSH_PORT" "$@"; }
# gitk KEY ARGS...: git with GIT_SSH_COMMAND using that key
gitk() { local k=$1; shift; GIT_SSH_COMMAND="ssh -i $K/$k $SSH_OPTS -p $SSH_PORT" git "$@"; }
url() { echo "ssh://git@127.0.0.1:$SSH_PORT/olivia/$1.git"; }

# ---- first push, recorded as HTTP pushes are ----
W="$T_DIR/work"
git init -q "$W" && cd "$W"
echo one >a.txt && git add a.txt && git commit -qm one
out=$(gitk olivia push "$(url priv)" main 2>&1)
check "owner pushes over ssh ($out)" grep -q "\[new branch\] *main -> main" <<<"$out"
check "branches table follows the ssh push" test "$(sql "select b.commit_sha from branches b join repositories r on r.id = b.repo_id where r.name = 'priv' and b.name = 'main'")" = "$(git rev-parse HEAD)"
check "one push event, with the pusher" test "$(sql "select count(*) from events e join repositories r on r.id = e.repo_id where r.name = 'priv' and e.type = 'push' and e.payload->>'pusher' = 'olivia' and e.payload->>'after' = '$(git rev-parse HEAD)'")" = 1
check "the pusher of the commit recorded" test "$(sql "select u.username from push_commits p join users u on u.id = p.pusher_id join repositories r on r.id = p.repo_id where r.name = 'priv' and p.sha = '$(git rev-parse HEAD)'")" = olivia
check "the key's last use is noted" test "$(sql "select count(*) from ssh_keys k join users u on u.id = k.user_id where u.username = 'olivia' and k.last_used_at is not null")" = 1
check "push to public (unquoted scheme path)" gitk olivia push -q "ssh://git@127.0.0.1:$SSH_PORT/olivia/pub" main
api GET /api/olivia/pub/branches "$OWNER"
check "branch listed over the API after an ssh push" grep -q '"main"' <<<"$BODY_OUT"

# ---- every role: read (clone) and write (push), public and private ----
# role  key     pub-read pub-write priv-read priv-write
MATRIX="
owner   olivia  ok  ok   ok  ok
admin   ada     ok  ok   ok  ok
admcol  adam    ok  ok   ok  ok
writer  walt    ok  ok   ok  ok
reader  rita    ok  perm ok  perm
other   oscar   ok  perm nf  nf
"
n=0
while read -r role key pr pw vr vw; do
	[ -z "$role" ] && continue
	for spec in "pub $pr $pw" "priv $vr $vw"; do
		set -- $spec
		repo=$1 want_r=$2 want_w=$3
		d="$T_DIR/clone-$role-$repo"
		out=$(gitk "$key" clone -q "$(url "$repo")" "$d" 2>&1)
		rc=$?
		case $want_r in
		ok) check "$role clones $repo ($out)" test $rc -eq 0 ;;
		nf) check "$role cannot see $repo ($out)" grep -q "fatal: repository 'olivia/$repo' not found" <<<"$out"
		    check "$role clone of $repo fails" test $rc -ne 0 ;;
		esac
		[ $rc -eq 0 ] || d="$W"
		n=$((n + 1))
		(cd "$d" && git checkout -q -b "$role-$n" && echo "$role" >"$role-$n.txt" && git add . && git commit -qm "$role" &&
			gitk "$key" push "$(url "$repo")" "$role-$n") >"$T_DIR/push.out" 2>&1
		rc=$?
		out=$(cat "$T_DIR/push.out")
		case $want_w in
		ok) check "$role pushes to $repo ($out)" test $rc -eq 0
		    check "$role's branch recorded" test "$(sql "select count(*) from branches b join repositories r on r.id = b.repo_id where r.name = '$repo' and b.name = '$role-$n'")" = 1 ;;
		perm) check "$role may not push to $repo ($out)" grep -q "fatal: write access to repository 'olivia/$repo' is required" <<<"$out" ;;
		nf) check "$role push to invisible $repo ($out)" grep -q "fatal: repository 'olivia/$repo' not found" <<<"$out" ;;
		esac
		if [ "$want_w" != ok ]; then
			check "$role push to $repo fails" test $rc -ne 0
			check "$role's branch not recorded" test "$(sql "select count(*) from branches b join repositories r on r.id = b.repo_id where r.name = '$repo' and b.name = '$role-$n'")" = 0
		fi
		cd "$W"
	done
done <<<"$MATRIX"
git checkout -q main
out=$(gitk olivia ls-remote "ssh://git@127.0.0.1:$SSH_PORT/olivia/nope.git" 2>&1)
check "unknown repository ($out)" grep -q "fatal: repository 'olivia/nope' not found" <<<"$out"

# ---- fetch, protocol v0 and v2 ----
C="$T_DIR/clone-owner-priv"
echo two >>a.txt && git commit -qam two && gitk olivia push -q "$(url priv)" main
(cd "$C" && gitk olivia fetch -q origin) 
check "fetch brings the new commit" test "$(git -C "$C" rev-parse origin/main)" = "$(git rev-parse main)"
GIT_TRACE_PACKET=1 gitk olivia -c protocol.version=2 ls-remote "$(url priv)" >/dev/null 2>"$T_DIR/v2.trace"
check "protocol v2 over ssh (GIT_PROTOCOL honoured)" grep -q "< version 2" "$T_DIR/v2.trace"
GIT_TRACE_PACKET=1 gitk olivia -c protocol.version=0 ls-remote "$(url priv)" >/dev/null 2>"$T_DIR/v0.trace"
check "protocol v0 when asked" bash -c "! grep -q '< version 2' '$T_DIR/v0.trace'"
check "v0 still lists main" grep -q "refs/heads/main" "$T_DIR/v0.trace"
gitk olivia archive --remote="$(url pub)" --format=tar main a.txt >"$T_DIR/a.tar" 2>"$T_DIR/archive.err"
check "git archive --remote over ssh (upload-archive)" bash -c "tar -xOf '$T_DIR/a.tar' a.txt | grep -q one"

# ---- command paths as clients write them ----
for cmd in "git-upload-pack 'olivia/pub.git'" "git-upload-pack olivia/pub" "git-upload-pack '/olivia/pub.git'" \
	"git upload-pack 'olivia/pub'" "git-upload-pack '/olivia/pub/'"; do
	out=$(printf 0000 | sshk olivia git@127.0.0.1 "$cmd" 2>&1 | tr -d '\0')
	check "exec \"$cmd\" advertises refs" grep -q "refs/heads/main" <<<"$out"
done
out=$(sshk olivia git@127.0.0.1 "git-upload-pack 'olivia'" 2>&1)
check "path without a repository ($out)" grep -q "fatal: invalid repository path in 'git-upload-pack 'olivia'': use 'owner/repo.git'" <<<"$out"

# ---- wrong, unknown and revoked keys ----
out=$(gitk stranger ls-remote "$(url pub)" 2>&1)
check "unknown key: clear message ($out)" grep -q "plue: the SSH key $(ssh-keygen -lf "$K/stranger.pub" | awk '{print $2}') is not registered with any account" <<<"$out"
check "unknown key: refused" grep -q "Permission denied (publickey)" <<<"$out"
out=$(ssh $SSH_OPTS -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive -p "$SSH_PORT" git@127.0.0.1 true 2>&1)
check "passwords and keyboard-interactive refused ($out)" grep -q "Permission denied (publickey)" <<<"$out"
api POST /api/user/keys "${TOK[walt]}" "$(body_for "$K/later.pub")"
expect_status 201 "walt adds a second key"
LATER_ID=$(json .id)
check "the second key works" gitk later ls-remote -q "$(url priv)" >/dev/null
api DELETE "/api/user/keys/$LATER_ID" "${TOK[walt]}"
[[ "$STATUS" == 20? ]] && pass || fail "delete key: $STATUS"
out=$(gitk later ls-remote "$(url priv)" 2>&1)
check "a deleted key is refused on the next connection ($out)" grep -q "is not registered with any account" <<<"$out"

# ---- no shell, no other commands, no subsystems, no forwarding ----
out=$(sshk olivia git@127.0.0.1 ls -la 2>&1)
rc=$?
check "other commands refused ($out)" grep -q "fatal: unknown command 'ls -la': plue runs only git-upload-pack, git-receive-pack and git-upload-archive" <<<"$out"
check "refused command exits 1" test $rc -eq 1
out=$(sshk olivia -T -A git@127.0.0.1 </dev/null 2>&1)
rc=$?
check "shell refused, with agent forwarding asked ($out)" grep -q "Hi olivia! You've authenticated, but plue does not provide shell access" <<<"$out"
check "shell exits 1" test $rc -eq 1
out=$(sshk olivia -tt git@127.0.0.1 </dev/null 2>&1)
check "a terminal is refused ($out)" grep -q "PTY allocation request failed" <<<"$out"
out=$(sshk olivia -s git@127.0.0.1 sftp </dev/null 2>&1)
check "subsystems refused ($out)" grep -q "fatal: subsystem 'sftp' is not supported" <<<"$out"
out=$(sshk olivia -W "127.0.0.1:$PORT" git@127.0.0.1 </dev/null 2>&1)
check "local forwarding refused ($out)" grep -q "open failed" <<<"$out"
out=$(sshk olivia -o ExitOnForwardFailure=yes -R 0:127.0.0.1:$PORT git@127.0.0.1 "git-upload-pack 'olivia/pub'" </dev/null 2>&1)
check "remote forwarding refused ($out)" grep -qi "remote port forwarding failed" <<<"$out"

# ---- branch protection: the same hook as HTTP ----
api PUT /api/olivia/priv/protections/main "$OWNER" '{}'
expect_status 201 "protect main"
git commit -q --amend -m "two, rewritten"
out=$(gitk walt push -f "$(url priv)" main 2>&1)
check "force push refused by the hook over ssh ($out)" grep -q "remote: error: branch 'main' is protected (rule 'main'): force pushes are not allowed" <<<"$out"
check "main unchanged" test "$(sql "select b.commit_sha from branches b join repositories r on r.id = b.repo_id where r.name = 'priv' and b.name = 'main'")" = "$(git rev-parse main@{1})"
git reset -q --hard main@{1}

# ---- a large push: the server's memory stays bounded ----
head -c $((50 * 1024 * 1024)) /dev/urandom >big.bin
git add big.bin && git commit -qm big
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }
before=$(hwm)
out=$(gitk olivia push "$(url pub)" main 2>&1)
check "50 MB push over ssh ($out)" test $? -eq 0
after=$(hwm)
check "server peak RSS grew by less than 200 MB ($before kB → $after kB)" test $((after - before)) -lt 204800
check "big push recorded" test "$(sql "select b.commit_sha from branches b join repositories r on r.id = b.repo_id where r.name = 'pub' and b.name = 'main'")" = "$(git rev-parse HEAD)"

# ---- host keys: 0600, the same after a restart ----
for k in ssh_host_ed25519_key ssh_host_ecdsa_key; do
	check "$k is mode 600" test "$(stat -c %a "$PLUE_DATA_DIR/ssh/$k")" = 600
done
ED_BEFORE=$(ssh-keygen -lf "$PLUE_DATA_DIR/ssh/ssh_host_ed25519_key" | awk '{print $2}')
ssh-keyscan -p "$SSH_PORT" -t ecdsa 127.0.0.1 2>/dev/null >"$T_DIR/ecdsa.scan"
check "the ecdsa host key is served" grep -q "ecdsa-sha2-nistp256" "$T_DIR/ecdsa.scan"
stop_server
start_server --ssh-listen 127.0.0.1 --ssh-port "$SSH_PORT" --ssh-per-ip-limit 1 --ssh-timeout 3 \
	--ssh-auth-tries 2
check "same ed25519 host key after restart" test "$(ssh-keygen -lf "$PLUE_DATA_DIR/ssh/ssh_host_ed25519_key" | awk '{print $2}')" = "$ED_BEFORE"
SSH_OPTS="${SSH_OPTS/StrictHostKeyChecking=no/StrictHostKeyChecking=yes}"
out=$(gitk olivia ls-remote "$(url pub)" 2>&1)
check "known_hosts still matches after restart ($out)" grep -q "refs/heads/main" <<<"$out"

# ---- limits: authentication attempts, connections per address, idle time ----
# (the connection before may still hold the address's one slot for a
# moment after its client left: try again until it is not refused for that)
for _ in $(seq 1 50); do
	out=$(ssh -i "$K/stranger" -i "$K/stranger2" -i "$K/stranger3" -i "$K/olivia" $SSH_OPTS \
		-p "$SSH_PORT" git@127.0.0.1 "git-upload-pack 'olivia/pub'" </dev/null 2>&1)
	grep -q "too many connections from your address" <<<"$out" || break
	sleep 0.1
done
check "the attempt reached authentication ($out)" bash -c "! grep -q 'too many connections' <<<\"\$1\"" _ "$out"
check "the connection closes after --ssh-auth-tries failures ($out)" test -z "$(grep refs/heads/main <<<"$out")"
check "too many failures logged" grep -q "too many authentication failures" "$T_DIR/serve.log"
authed() { grep -c "authenticated as 'olivia'" "$T_DIR/serve.log"; }
n0=$(authed)
sshk olivia -N git@127.0.0.1 2>"$T_DIR/held.err" &
HELD=$!
for _ in $(seq 1 100); do [ "$(authed)" -gt "$n0" ] && break; sleep 0.1; done
check "a connection held open without a command" test "$(authed)" -gt "$n0"
out=$(gitk olivia ls-remote "$(url pub)" 2>&1)
check "a second connection from the address is refused ($out)" test -z "$(grep refs/heads/main <<<"$out")"
check "the refusal is logged" grep -q "too many connections from your address" "$T_DIR/serve.log"
for _ in $(seq 1 150); do kill -0 "$HELD" 2>/dev/null || break; sleep 0.1; done
check "an idle connection is closed after --ssh-timeout" bash -c "! kill -0 $HELD 2>/dev/null"
kill "$HELD" 2>/dev/null
wait "$HELD" 2>/dev/null
out=$(gitk olivia ls-remote "$(url pub)" 2>&1)
check "the slot is free again ($out)" grep -q "refs/heads/main" <<<"$out"

finish
