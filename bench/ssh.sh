#!/usr/bin/env bash
# ssh.sh — `git clone` over SSH of the benchmark repository (bench/out/
# big.git, made by bench/run.sh from bench/gen-big.py): plue's SSH server
# against the classic setup, OpenSSH's sshd with a forced command
# (command="git-shell -c \"$SSH_ORIGINAL_COMMAND\"") in authorized_keys,
# serving a bare copy of the same repository, in the same run. Clones
# alternate between the two; each side's median wall time is printed with
# the ratio plue/sshd (target <= 1.1). Both sides get protocol v2
# (GIT_PROTOCOL is accepted by both) and the same client key.
#
# Usage: PLUE=path/to/plue bash bench/ssh.sh
# Knobs: BENCH_CLONES (runs per side, default 3), KEEP_TMP=1 keeps the
#        temporary directory.
set -euo pipefail
: "${PLUE:?PLUE must name the plue binary}"
BENCH_NAME=bench/ssh
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
OUT=bench/out
CLONES=${BENCH_CLONES:-3}
SSHD=${SSHD:-/usr/sbin/sshd}
require_tools git ssh ssh-keygen git-shell curl python3 "$SSHD"

bench_init plue-bench-ssh
SSHD_PID=""
stop_extra() { stop_pid "$SSHD_PID"; SSHD_PID=""; }
bench_git_env

# the fixture: made by bench/run.sh; generated here when run alone
fixture_big

# one client key for both servers
ssh-keygen -q -t ed25519 -N '' -C bench -f "$WORK/id" </dev/null
SSH_BASE="ssh -i $WORK/id -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=$WORK/known_hosts"

# ---- plue ----
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off)
plue_start --ssh-listen 127.0.0.1 --ssh-port 0
SSH_PORT=$(sed -n 's/^ssh listening on .*:\([0-9]*\)$/\1/p' "$WORK/serve.out" | head -1)
[ -n "$SSH_PORT" ] || die "plue serve printed no ssh port"
plue_user alice repo:read,repo:write,user
api() { curl -s -o "$WORK/api.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' --data-binary "$2" "$BASE$1"; }
plue_repo big
st=$(api /api/user/keys "$(python3 -c 'import json,sys; print(json.dumps({"key": open(sys.argv[1]).read()}))' "$WORK/id.pub")")
[ "$st" = 201 ] || die "adding the key: status $st: $(cat "$WORK/api.json")"
PLUE_URL="ssh://git@127.0.0.1:$SSH_PORT/alice/big.git"
say "pushing big into plue over ssh"
GIT_SSH_COMMAND="$SSH_BASE" git -C "$OUT/big.git" push -q "$PLUE_URL" main >"$WORK/push.log" 2>&1 ||
	die "push into plue failed: $(tail -3 "$WORK/push.log")"

# ---- OpenSSH sshd with a forced git-shell command ----
mkdir -p "$WORK/sshd" "$WORK/git"
git clone -q --bare --no-local "$OUT/big.git" "$WORK/git/big.git"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/sshd/host_ed25519" </dev/null
printf 'command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty %s\n' \
	"$(cat "$WORK/id.pub")" >"$WORK/sshd/authorized_keys"
chmod 600 "$WORK/sshd/authorized_keys"
SSHD_PORT=$(free_port)
cat >"$WORK/sshd/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SSHD_PORT
HostKey $WORK/sshd/host_ed25519
PidFile $WORK/sshd/sshd.pid
AuthorizedKeysFile $WORK/sshd/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin forced-commands-only
StrictModes no
UsePAM no
AcceptEnv GIT_PROTOCOL
EOF
[ "$(id -u)" -eq 0 ] && mkdir -p /run/sshd
"$SSHD" -D -e -f "$WORK/sshd/sshd_config" 2>"$WORK/sshd.log" &
SSHD_PID=$!
ME=$(id -un)
SSHD_URL="ssh://$ME@127.0.0.1:$SSHD_PORT$WORK/git/big.git"
for _ in $(seq 1 100); do
	GIT_SSH_COMMAND="$SSH_BASE" git ls-remote "$SSHD_URL" refs/heads/main >/dev/null 2>&1 && break
	kill -0 "$SSHD_PID" 2>/dev/null || die "sshd exited: $(cat "$WORK/sshd.log")"
	sleep 0.1
done

# clone_secs URL: wall time of one `git clone --bare`, in seconds
clone_secs() {
	local dir="$WORK/clone" t0 t1
	rm -rf "$dir"
	t0=$EPOCHREALTIME
	GIT_SSH_COMMAND="$SSH_BASE" git clone -q --bare "$1" "$dir" 2>"$WORK/clone.err" ||
		{ say "clone $1: $(cat "$WORK/clone.err")"; return 1; }
	t1=$EPOCHREALTIME
	[ "$(git -C "$dir" rev-parse refs/heads/main)" = "$BIG_SHA" ] || { say "clone $1: wrong main"; return 1; }
	python3 -c "print('%.3f' % ($t1 - $t0))"
}

echo "plue bench ssh: git clone of big ($BIG_OBJECTS objects) over ssh, $CLONES clones per side, alternating"
clone_secs "$PLUE_URL" >/dev/null || true # warm-up, both sides
clone_secs "$SSHD_URL" >/dev/null || true
plue_times=() peer_times=()
for _ in $(seq 1 "$CLONES"); do
	t=$(clone_secs "$PLUE_URL") && plue_times+=("$t")
	t=$(clone_secs "$SSHD_URL") && peer_times+=("$t")
done
a=- b=- ratio=- verdict="n/a"
[ ${#plue_times[@]} -eq "$CLONES" ] && a=$(printf '%s\n' "${plue_times[@]}" | median)
[ ${#peer_times[@]} -eq "$CLONES" ] && b=$(printf '%s\n' "${peer_times[@]}" | median)
if [ "$a" != - ] && [ "$b" != - ]; then
	ratio=$(python3 -c "print('%.2f' % ($a / $b))")
	verdict=$(python3 -c "print('met' if $ratio <= 1.1 else 'MISSED')")
fi
printf '%-20s plue %8s s     %6s %8s s     ratio %6s (target <= 1.1 %s)\n' \
	"ssh clone" "$a" sshd "$b" "$ratio" "$verdict"
echo "  clone runs (s): plue ${plue_times[*]:-none}   sshd+git-shell ${peer_times[*]:-none}"
