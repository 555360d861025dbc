#!/usr/bin/env bash
# 13-server: the server's life cycle — clean stop (embedded PostgreSQL
# stopped with it), restart with data kept, an external PostgreSQL through
# PLUE_DATABASE_URL with the same schema, command-line help and errors.
. "$(dirname "$0")/lib.sh"
start_server
ALICE=$(new_user alice)
api POST /api/repos "$ALICE" '{"name":"keep"}'
expect_status 201 "create repo"
check "embedded cluster listens on no TCP port" bash -c "ss -ltnp | grep -q users: && ! ss -ltnp | grep -q postgres"
check "socket is private (0700 directory)" test "$(stat -c %a "$PLUE_DATA_DIR/pg")" = 700
if [ "$(id -u)" -eq 0 ]; then
	check "cluster runs as the unprivileged user" test "$(stat -c %U "$PLUE_DATA_DIR/pg")" = plue
	check "postgres processes are not root" test -z "$(ps -o user= -C postgres | grep -x root)"
fi
pgpid=$(head -1 "$PLUE_DATA_DIR/pg/postmaster.pid")
stop_server
check "postgres stopped with the server" bash -c "! kill -0 $pgpid 2>/dev/null"
check "no stale pid file" test ! -e "$PLUE_DATA_DIR/pg/postmaster.pid"

start_server
api GET /api/repos/alice/keep
expect_status 200 "data survives a restart"
api GET /api/repos/alice/keep "$ALICE"
expect_status 200 "tokens survive a restart"

# a second server on another data directory, using the first one's cluster
# as an external database
EXT="host=$PLUE_DATA_DIR/pg dbname=plue user=plue"
mkdir -p "$T_DIR/ext"
PLUE_DATA_DIR="$T_DIR/ext" PLUE_DATABASE_URL="$EXT" "$PLUE" serve --port 0 >"$T_DIR/ext.out" 2>"$T_DIR/ext.log" &
EXT_PID=$!
for _ in $(seq 1 100); do grep -q '^listening on ' "$T_DIR/ext.out" && break; sleep 0.1; done
EXT_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T_DIR/ext.out")
check "external-database server starts" test -n "$EXT_PORT"
check "no embedded cluster for an external database" test ! -e "$T_DIR/ext/pg"
STATUS=$(curl -s -o "$T_DIR/b" -w '%{http_code}' "http://127.0.0.1:$EXT_PORT/api/repos/alice/keep")
check "external server reads the same rows" test "$STATUS" = 200
STATUS=$(curl -s -o "$T_DIR/b" -w '%{http_code}' "http://127.0.0.1:$EXT_PORT/api/health")
check "external server healthy" test "$STATUS" = 200
kill -TERM $EXT_PID; wait $EXT_PID
check "external server exits 0 on SIGTERM" test $? -eq 0

# a database that cannot be reached is a clear start-up error
out=$(PLUE_DATA_DIR="$T_DIR/bad" PLUE_DATABASE_URL="host=$T_DIR/nowhere dbname=x" "$PLUE" serve --port 0 2>&1)
rc=$?
check "unreachable database: non-zero exit" test $rc -ne 0
check "unreachable database: says so" grep -q "cannot connect to the database" <<<"$out"

# command line
out=$("$PLUE" serve --help)
for v in PLUE_PORT PLUE_DATA_DIR PLUE_DATABASE_URL PLUE_WORKERS PLUE_CACHE_MB PLUE_SANDBOX; do
	check "serve --help documents $v" grep -q "$v" <<<"$out"
done
check "plue --help lists commands" bash -c "'$PLUE' --help | grep -q 'admin'"
out=$("$PLUE" serve --frobnicate 2>&1); rc=$?
check "unknown flag rejected" test $rc -ne 0
check "unknown flag named" grep -q "unknown option '--frobnicate'" <<<"$out"
out=$(PLUE_PORT=notaport "$PLUE" serve 2>&1); rc=$?
check "bad env value rejected" test $rc -ne 0
check "bad env value named" grep -q "PLUE_PORT: 'notaport' is not a non-negative number" <<<"$out"
out=$("$PLUE" serve --conn-memory-kb 2 2>&1); rc=$?
check "a connection memory too small is rejected" test $rc -eq 2
check "its range is named" grep -q "conn-memory-kb (PLUE_CONN_MEMORY_KB) must be between 4 and 1024, not 2" <<<"$out"
out=$("$PLUE" frob 2>&1); rc=$?
check "unknown command rejected" test $rc -eq 2
out=$("$PLUE" admin create-user "bad/name" 2>&1); rc=$?
check "admin: invalid username rejected" test $rc -ne 0
check "admin: message" grep -q "username 'bad/name' may contain only" <<<"$out"
out=$("$PLUE" admin create-user alice 2>&1); rc=$?
check "admin: duplicate user rejected" grep -q "user 'alice' already exists" <<<"$out"
out=$("$PLUE" admin create-token nobody 2>&1); rc=$?
check "admin: unknown user" grep -q "user 'nobody' not found" <<<"$out"
out=$("$PLUE" admin create-token alice --scopes repo:nope 2>&1); rc=$?
check "admin: bad scope" grep -q "unknown scope 'repo:nope'" <<<"$out"
finish
