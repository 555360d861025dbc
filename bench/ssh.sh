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
cd "$(dirname "$0")/.."
OUT=bench/out
CLONES=${BENCH_CLONES:-3}
SSHD=${SSHD:-/usr/sbin/sshd}
for tool in git ssh ssh-keygen git-shell curl python3 "$SSHD"; do
	command -v "$tool" >/dev/null || { echo "bench/ssh: '$tool' is missing (make bench installs it)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/plue-bench-ssh.XXXXXX)
chmod 755 "$WORK"
PLUE_PID="" SSHD_PID=""
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$SSHD_PID"
	stop_pid "$PLUE_PID"
	if [ "${KEEP_TMP:-}" = 1 ]; then echo "bench/ssh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "bench/ssh: $*" >&2; }
die() { say "$*"; exit 1; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_CONFIG_GLOBAL="$WORK/gitconfig"
git config --global protocol.version 2

# the fixture: made by bench/run.sh; generated here when run alone
if [ ! -f "$OUT/big.git/bench-stamp" ]; then
	say "generating $OUT/big.git (once; cached)"
	mkdir -p "$OUT"
	tmp="$OUT/.big.$$"
	rm -rf "$tmp"
	git init -q --bare "$tmp"
	python3 bench/gen-big.py | git -C "$tmp" fast-import --quiet
	git -C "$tmp" repack -adfq
	git -C "$tmp" symbolic-ref HEAD refs/heads/main
	sha256sum <bench/gen-big.py | cut -c1-16 >"$tmp/bench-stamp"
	rm -rf "$OUT/big.git"
	mv -T "$tmp" "$OUT/big.git"
fi
BIG_SHA=$(git -C "$OUT/big.git" rev-parse refs/heads/main)
BIG_OBJECTS=$(git -C "$OUT/big.git" count-objects -v | sed -n 's/^in-pack: //p')

# one client key for both servers
ssh-keygen -q -t ed25519 -N '' -C bench -f "$WORK/id" </dev/null
SSH_BASE="ssh -i $WORK/id -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=$WORK/known_hosts"

# ---- plue ----
PLUE_ENV=(PLUE_DATA_DIR="$WORK/plue" PLUE_LOG_LEVEL=warn PLUE_WARM_POOL=0 PLUE_PG_FSYNC=off)
env "${PLUE_ENV[@]}" "$PLUE" serve --port 0 --ssh-listen 127.0.0.1 --ssh-port 0 \
	>"$WORK/serve.out" 2>"$WORK/serve.log" &
PLUE_PID=$!
PORT="" SSH_PORT=""
for _ in $(seq 1 600); do
	PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/serve.out" 2>/dev/null | head -1)
	[ -n "$PORT" ] && break
	kill -0 "$PLUE_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; die "plue serve exited during start"; }
	sleep 0.1
done
[ -n "$PORT" ] || die "plue serve did not start"
SSH_PORT=$(sed -n 's/^ssh listening on .*:\([0-9]*\)$/\1/p' "$WORK/serve.out" | head -1)
[ -n "$SSH_PORT" ] || die "plue serve printed no ssh port"
TOKEN=$(env "${PLUE_ENV[@]}" "$PLUE" admin create-user alice --scopes repo:read,repo:write,user \
	2>>"$WORK/admin.log" | tail -1)
[ -n "$TOKEN" ] || die "cannot create user 'alice': $(cat "$WORK/admin.log")"
api() { curl -s -o "$WORK/api.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' --data-binary "$2" "http://127.0.0.1:$PORT$1"; }
st=$(api /api/repos '{"name":"big"}')
[ "$st" = 201 ] || die "creating alice/big: status $st: $(cat "$WORK/api.json")"
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
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

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
