#!/usr/bin/env bash
# 40-workflow-lint.sh — `plue workflow lint` on good and broken files: the
# output line per file ("FILE: ok" or "FILE:LINE:COL: problem") and the
# exit status (0 all good, 1 any broken, 2 usage). No server needed.
. "$(dirname "$0")/lib.sh"

W="$T_DIR/.plue/workflows"
mkdir -p "$W"
cd "$T_DIR" || exit 1

cat >"$W/ci.yaml" <<'EOF'
name: CI
on:
  push:
    branches: [main, "release/**"]
    paths: ["src/**", "Makefile"]
  pull_request:
    types: [opened, synchronize, reopened]
  workflow_dispatch:
    inputs:
      target: {type: choice, options: [staging, prod], default: staging}
  schedule:
    - cron: "17 3 * * *"
env:
  CFLAGS: -O2
concurrency:
  group: ci-${{ event.ref }}
  cancel-in-progress: true
jobs:
  build:
    timeout-minutes: 20
    steps:
      - name: Build
        run: make
  test:
    needs: [build]
    strategy:
      matrix:
        cc: [gcc, clang]
    env:
      CC: ${{ matrix.cc }}
    steps:
      - run: make test
        timeout-minutes: 10
      - name: Report
        if: ${{ failure() }}
        run: cat test.log
        continue-on-error: true
EOF

cat >"$W/review.yml" <<'EOF'
name: Code review
on:
  pull_request:
    types: [opened, synchronize]
mode: agent
agent:
  model: claude-sonnet-4-20250514
  system: You review pull requests.
  prompt: "Review pull request #${{ event.pull_request.number }}."
  tools: [read_file, pr_diff, pr_review]
EOF

cat >"$W/typo.yaml" <<'EOF'
on: push
jobs:
  build:
    runs-on: sandbox
    stesp:
      - run: make
EOF

cat >"$W/syntax.yaml" <<'EOF'
on: push
jobs:
  build:
    steps:
      - run: make
     - run: test
EOF

cat >"$W/cycle.yaml" <<'EOF'
on: [push, issue_comment]
jobs:
  a:
    needs: b
    steps: [{run: "true"}]
  b:
    needs: [a]
    steps: [{run: "true"}]
EOF

cat >"$W/event.yaml" <<'EOF'
on:
  push:
  release:
jobs:
  a:
    steps: [{run: "true"}]
EOF

cat >"$W/cron.yaml" <<'EOF'
on:
  schedule:
    - cron: "0 25 * * *"
jobs:
  a:
    steps: [{run: "true"}]
EOF

cat >"$W/expr.yaml" <<'EOF'
on: push
jobs:
  a:
    if: github.ref == 'refs/heads/main'
    steps: [{run: "true"}]
EOF

# lint FILE...: sets OUT (stdout), ERR (stderr) and RC
lint() {
	OUT=$("$PLUE" workflow lint "$@" 2>"$T_DIR/lint.err")
	RC=$?
	ERR=$(cat "$T_DIR/lint.err")
}

# expect_lint DESCRIPTION RC OUTPUT
expect_lint() {
	if [ "$RC" = "$2" ] && [ "$OUT" = "$3" ]; then
		pass
	else
		fail "$1: exit $RC, output '$OUT' (stderr '$ERR'); want exit $2, '$3'"
	fi
}

lint .plue/workflows/ci.yaml
expect_lint "the CI example is valid" 0 ".plue/workflows/ci.yaml: ok"

lint .plue/workflows/ci.yaml .plue/workflows/review.yml
expect_lint "two good files" 0 ".plue/workflows/ci.yaml: ok
.plue/workflows/review.yml: ok"

lint .plue/workflows/typo.yaml
expect_lint "an unknown key" 1 ".plue/workflows/typo.yaml:5:5: unknown key 'stesp' in job 'build'"

lint .plue/workflows/syntax.yaml
expect_lint "a yaml syntax error" 1 \
	".plue/workflows/syntax.yaml:6:6: yaml syntax error: did not find expected key while parsing a block mapping"

lint .plue/workflows/cycle.yaml
expect_lint "a dependency cycle" 1 ".plue/workflows/cycle.yaml:7:12: needs form a cycle: a -> b -> a"

lint .plue/workflows/event.yaml
expect_lint "an unknown event" 1 ".plue/workflows/event.yaml:3:3: unknown event 'release'"

lint .plue/workflows/cron.yaml
expect_lint "a bad cron expression" 1 \
	".plue/workflows/cron.yaml:3:13: cron field 'hour' value '25' is out of range 0-23"

lint .plue/workflows/expr.yaml
expect_lint "an unknown expression context" 1 \
	".plue/workflows/expr.yaml:4:9: expression 'github.ref == 'refs/heads/main'': unknown name 'github' (contexts: event, repo, inputs, env, matrix, needs, secrets)"

# a broken file does not stop the others from being checked
lint .plue/workflows/typo.yaml .plue/workflows/ci.yaml
expect_lint "a broken and a good file" 1 ".plue/workflows/typo.yaml:5:5: unknown key 'stesp' in job 'build'
.plue/workflows/ci.yaml: ok"

lint .plue/workflows/missing.yaml
expect_lint "a missing file" 1 ".plue/workflows/missing.yaml: cannot read file: No such file or directory"

OUT=$("$PLUE" workflow lint - <"$W/typo.yaml" 2>/dev/null); RC=$?
expect_lint "standard input" 1 "<stdin>:5:5: unknown key 'stesp' in job 'build'"

head -c 1100000 /dev/zero | tr '\0' '#' >"$W/huge.yaml"
lint .plue/workflows/huge.yaml
expect_lint "a file over 1 MiB" 1 ".plue/workflows/huge.yaml: cannot read file: larger than 1 MiB"

lint
check "no files is a usage error" [ "$RC" = 2 ]
check "usage goes to stderr" grep -q '^usage: plue workflow lint FILE' <<<"$ERR"

OUT=$("$PLUE" workflow --help); RC=$?
check "--help exits 0" [ "$RC" = 0 ]
check "--help explains the output" grep -q 'FILE:LINE:COL' <<<"$OUT"

OUT=$("$PLUE" workflow lint --bogus x 2>"$T_DIR/lint.err"); RC=$?
check "an unknown option is a usage error" [ "$RC" = 2 ]
check "the unknown option is named" grep -q "unknown option '--bogus'" "$T_DIR/lint.err"

finish
