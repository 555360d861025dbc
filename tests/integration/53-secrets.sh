#!/usr/bin/env bash
# 53-secrets: repository secrets — set, list (names only), delete, with
# every refusal; sealed at rest; given only to the steps that refer to
# them; masked as *** in the stored log and the live stream.
. "$(dirname "$0")/lib.sh"
export PLUE_SANDBOX=${PLUE_SANDBOX:-auto}
export PLUE_WARM_POOL=1
start_server
ALICE=$(new_user alice)
BOB=$(new_user bob)
api POST /api/repos "$ALICE" '{"name":"sec"}'
expect_status 201 "create repo"
VALUE="s3cr3t-value-42"

api PUT /api/alice/sec/secrets/API_TOKEN "$ALICE" "{\"value\":\"$VALUE\"}"
expect_status 201 "set a secret"
expect_json .created true "created"
api PUT /api/alice/sec/secrets/OTHER "$ALICE" '{"value":"first"}'
expect_status 201 "set another"
api PUT /api/alice/sec/secrets/OTHER "$ALICE" '{"value":"other-value-99"}'
expect_status 200 "replace it"
expect_json .created false "replaced, not created"
api GET /api/alice/sec/secrets "$ALICE"
expect_status 200 "list"
check "list has names, never values" test "$(json .length)/$(json .0.name)/$(json .0.value)" = "2/API_TOKEN/<undefined>"
check "values are sealed at rest" test "$(sql "SELECT count(*) FROM secrets WHERE ciphertext LIKE '%' || encode('$VALUE', 'hex') || '%' OR ciphertext LIKE '%$VALUE%'")" = 0
check "each secret has its own nonce" test "$(sql "SELECT count(DISTINCT nonce) FROM secrets")" = 2

api PUT /api/alice/sec/secrets/API_TOKEN "$BOB" '{"value":"x"}'
expect_error 403 forbidden "admin access to repository 'alice/sec' is required" "set without admin"
api PUT /api/alice/sec/secrets/API_TOKEN "" '{"value":"x"}'
expect_error 401 unauthorized "" "set anonymously"
api GET /api/alice/sec/secrets "$BOB"
expect_error 403 forbidden "admin access" "list without admin"
api PUT /api/alice/sec/secrets/1ABC "$ALICE" '{"value":"x"}'
expect_error 400 invalid_name "must be 1 to 100 of letters, digits and '_'" "bad name"
api PUT /api/alice/sec/secrets/PLUE_X "$ALICE" '{"value":"x"}'
expect_error 400 invalid_name "must not start with PLUE_" "reserved prefix"
api PUT /api/alice/sec/secrets/EMPTY "$ALICE" '{"value":""}'
expect_error 400 invalid_field "must not be empty" "empty value"
api PUT /api/alice/sec/secrets/EMPTY "$ALICE" '{}'
expect_error 400 missing_field "field 'value' is required" "missing value"
api PUT /api/alice/sec/secrets/EMPTY "$ALICE" '{"value":5}'
expect_error 400 invalid_field "field 'value' must be a string" "value not a string"
api DELETE /api/alice/sec/secrets/NOPE "$ALICE"
expect_error 404 not_found "secret 'NOPE' not found" "delete unknown"
api PUT /api/alice/sec/secrets/GONE "$ALICE" '{"value":"gone-value"}'
api DELETE /api/alice/sec/secrets/GONE "$ALICE"
expect_status 204 "delete"
api GET /api/alice/sec/secrets "$ALICE"
check "deleted secret is gone" test "$(json .length)" = 2

SRC="$T_DIR/src"
git init -q "$SRC"
mkdir -p "$SRC/.plue/workflows"
cat >"$SRC/.plue/workflows/s.yaml" <<'EOF'
on: push
jobs:
  j:
    steps:
      - name: Uses
        env:
          TOKEN: ${{ secrets.API_TOKEN }}
        run: |
          echo "token is $TOKEN"
          echo "inline ${{ secrets.API_TOKEN }} end"
          echo "length ${#TOKEN}"
      - name: Clean
        run: |
          echo "TOKEN=${TOKEN:-unset} API_TOKEN=${API_TOKEN:-unset}"
          echo "other=${{ secrets.OTHER == '' }}"
          env | sort | sed 's/^/env: /'
EOF
(cd "$SRC" && git add . && git commit -qm s && git push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/sec.git" main)
for i in $(seq 1 100); do api GET /api/alice/sec/runs "$ALICE"; [ "$(json .length)" = 1 ] && break; sleep 0.1; done
RUN=$(json .0.id)
for i in $(seq 1 600); do
	api GET "/api/runs/$RUN" "$ALICE"
	case "$(json .status)" in success | failure | cancelled) break ;; esac
	sleep 0.1
done
expect_json .status success "the run succeeded"
api GET "/api/runs/$RUN/logs" "$ALICE"
LOG=$BODY_OUT
check "env from a secret is masked" grep -qxF "token is ***" <<<"$LOG"
check "an inline secret is masked" grep -qxF "inline *** end" <<<"$LOG"
check "the step had the real value" grep -qxF "length ${#VALUE}" <<<"$LOG"
check "the value appears nowhere in the log" bash -c '! grep -qF "$1" <<<"$2"' _ "$VALUE" "$LOG"
check "a step that does not refer to it does not get it" grep -qxF "TOKEN=unset API_TOKEN=unset" <<<"$LOG"
check "a secret a step only compares is still given to it" grep -qxF "other=false" <<<"$LOG"
check "no server settings leak into the sandbox" bash -c '! grep -E "^env: (PLUE_RUNNER_SECRET|PLUE_DATABASE_URL|PLUE_DATA_DIR|PLUE_SERVER_URL)=" <<<"$1"' _ "$LOG"
curl -s -N --max-time 20 -H "Authorization: Bearer $ALICE" "$BASE/api/runs/$RUN/stream" >"$T_DIR/s.sse"
check "the stream is masked too" bash -c 'grep -q "token is \*\*\*" "$1" && ! grep -qF "$2" "$1"' _ "$T_DIR/s.sse" "$VALUE"
check "nothing stored holds the value" test "$(sql "SELECT count(*) FROM workload_events WHERE payload::text LIKE '%$VALUE%'")/$(sql "SELECT count(*) FROM workloads WHERE spec::text LIKE '%$VALUE%'")" = 0/0

finish
