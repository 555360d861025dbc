#!/usr/bin/env bash
# 15-private-dir: `plue serve` run as root from a data directory below a
# directory only root may enter (a checkout in root's 0700 home, a mktemp -d
# directory): the embedded cluster, which runs as the unprivileged user,
# still starts, keeps its files where they were asked for, and a workflow
# runs on the warm pool. Without root there is nothing to check.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "not root: the embedded cluster runs as this user; nothing to check"
	finish
	exit
fi
PRIVATE="$T_DIR/home"
chmod 700 "$PRIVATE" # $HOME of the tests: as root's home directory is
export PLUE_DATA_DIR="$PRIVATE/checkout/var"
mkdir -p "$PRIVATE/checkout"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=1
# started from inside the private directory, as `make run` is
cd "$PRIVATE/checkout"
start_server
check "the cluster's user cannot enter the data directory's parent" bash -c "! runuser -u plue -- test -x '$PRIVATE/checkout'"
check "the cluster's files are in the data directory" test -f "$PLUE_DATA_DIR/pg/PG_VERSION"
check "the cluster runs as the unprivileged user" test "$(stat -c %U "$PLUE_DATA_DIR/pg")" = plue
check "the parent stays private" test "$(stat -c %a "$PRIVATE")" = 700
check "the host's mounts are untouched" bash -c "! grep -q ' /run/plue/embedded ' /proc/self/mounts"
ALICE=$(new_user alice)
check "plue admin reaches the running cluster" test -n "$ALICE"
api POST /api/repos "$ALICE" '{"name":"p"}'
expect_status 201 "create a repository"

SRC="$T_DIR/src"
git init -q "$SRC"
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/ci.yaml" <<'YAML'
on: push
jobs:
  hello:
    steps:
      - run: cat README && echo "ran from a private data directory"
YAML
echo "private" >"$SRC/README"
git -C "$SRC" add -A && git -C "$SRC" commit -qm one
check "push" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/p.git" main
RUN=""
for _ in $(seq 1 300); do
	api GET /api/alice/p/runs "$ALICE"
	RUN=$(json .0.id)
	[ "$RUN" != "<undefined>" ] && [ -n "$RUN" ] && break
	sleep 0.1
done
for _ in $(seq 1 600); do
	api GET "/api/runs/$RUN" "$ALICE"
	case "$(json .status)" in success | failure | cancelled) break ;; esac
	sleep 0.1
done
expect_json .status success "the workflow runs on the warm pool"
api GET "/api/runs/$RUN/logs" "$ALICE"
check "its log was stored" grep -q "ran from a private data directory" <<<"$BODY_OUT"

pgpid=$(head -1 "$PLUE_DATA_DIR/pg/postmaster.pid")
stop_server
check "postgres stopped with the server" bash -c "! kill -0 $pgpid 2>/dev/null"
start_server
api GET /api/repos/alice/p "$ALICE"
expect_status 200 "data and tokens survive a restart"

# where a private mount namespace is not allowed (root without
# CAP_SYS_ADMIN, as in some containers): one line naming the directory and
# the remedy, and the server does not start
NOCAP="$T_DIR/nocap"
mkdir -p "$NOCAP/checkout" && chmod 700 "$NOCAP"
PLUE_DATA_DIR="$NOCAP/checkout/var" setpriv --bounding-set -sys_admin --inh-caps=-sys_admin \
	"$PLUE" serve --port 0 >"$T_DIR/nocap.out" 2>"$T_DIR/nocap.log"
check "without a mount namespace the server refuses to start" test $? -ne 0
check "and says which directory and what to do" grep -q "database user 'plue' cannot reach '$NOCAP/checkout/var' and no mount namespace is allowed here: chmod o+x its parents or set PLUE_DATA_DIR under /var/lib" "$T_DIR/nocap.log"
finish
