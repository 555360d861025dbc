// runs.test.mjs — the workflow run pages: a pushed workflow's log arriving
// live, a connection dropped mid-stream that resumes with every line once
// and in order, cancelling through the button, a finished run without
// JavaScript, the needs graph, hostile names and log lines, who may see and
// cancel what on a private repository, CSRF on the forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BASE, launch, context, register, token, api, repoWithFiles, uniq, shot, axe, visit,
  post, cookieHeader } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const RLO = '\u202e';

// A repository with one workflow file (and what else files holds).
async function workflowRepo(owner, tok, yaml, opts = {}) {
  const name = uniq('ci');
  await repoWithFiles(owner, tok, name, { '.plue/workflows/ci.yaml': yaml,
    'README.md': '# ci\n', ...(opts.files || {}) }, opts);
  return name;
}

// Waits until check(value of get()) holds; returns that value.
async function until(get, check, what, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (check(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The newest run of owner/repo, once there is one, as the API shows it.
async function firstRun(tok, owner, repo) {
  const r = await until(() => api('GET', `/api/${owner}/${repo}/runs`, tok),
    (x) => x.status === 200 && x.body.length > 0, `a run of ${owner}/${repo}`);
  return r.body[0];
}

async function runStatus(tok, id, check, what) {
  return (await until(() => api('GET', `/api/runs/${id}`, tok), (x) => check(x.body),
    what)).body;
}

const isDone = (run) => ['success', 'failure', 'cancelled', 'skipped'].includes(run.status);

// The lines of a job's log as the page shows them.
async function logLines(page, sel = 'pre.log') {
  return page.$$eval(`${sel} span.ln:not(.step)`, (els) => els.map((e) => e.textContent.replace(/\n$/, '')));
}

function noDialogs(page) {
  page.on('dialog', (d) => { throw new Error(`a dialog opened: ${d.message()}`); });
}

test('a running log arrives live; a stream that replays what the page shows adds nothing twice', async () => {
  const ctx = await context(browser);
  const alice = await register(ctx);
  const tok = token(alice);
  const repo = await workflowRepo(alice, tok, `name: Slow lines
on: push
jobs:
  count:
    steps:
      - name: Count
        run: for i in $(seq 1 40); do echo line $i; sleep 0.1; done
  after:
    needs: [count]
    steps:
      - name: After
        run: echo after the count
`);
  const run = await firstRun(tok, alice, repo);
  await runStatus(tok, run.id, (r) => r.status === 'running' || isDone(r), 'the run to start');

  const page = await ctx.newPage();
  noDialogs(page);
  // the first stream connection ends after a few events and starts a
  // little before what the page shows, so that duplicates arrive
  const requests = [];
  let cut = false;
  await page.route('**/api/runs/*/stream*', async (route) => {
    const req = route.request();
    requests.push(req.url());
    if (cut) return route.continue();
    cut = true;
    const from = Math.max(0, Number(new URL(req.url()).searchParams.get('last_event_id')) - 3);
    const ac = new AbortController();
    const res = await fetch(`${BASE}/api/runs/${run.id}/stream?last_event_id=${from}`,
      { headers: { Cookie: await cookieHeader(ctx) }, signal: ac.signal });
    let text = '';
    const dec = new TextDecoder();
    for await (const chunk of res.body) {
      text += dec.decode(chunk, { stream: true });
      if ((text.match(/\nevent: log\n/g) || []).length >= 5 || /event: done/.test(text)) break;
    }
    ac.abort();
    // whole events only, as a connection cut between two of them
    const events = text.slice(0, text.lastIndexOf('\n\n') + 2);
    const body = 'retry: 200\n\n' + events + events; // each event twice
    await route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' }, body });
  });
  await visit(page, `/${alice}/${repo}/runs/${run.id}`);
  const stream = await page.getAttribute('#run', 'data-stream');
  assert.equal(stream, `/api/runs/${run.id}/stream`, 'a running run is followed live');
  const shownSeq = Number(await page.getAttribute('#run', 'data-last-seq'));
  await shot(page, 'runs-run-live');

  await page.waitForSelector('#run[data-done="true"]', { timeout: 60000 });
  const lines = (await logLines(page)).filter((l) => /^line \d+$/.test(l));
  assert.deepEqual(lines, Array.from({ length: 40 }, (_, i) => `line ${i + 1}`));
  const seqs = await page.$$eval('pre.log [data-seq]', (els) => els.map((e) => Number(e.dataset.seq)));
  assert.equal(new Set(seqs).size, seqs.length, 'no event shown twice');
  assert.ok(seqs.some((s) => s > shownSeq), 'lines arrived after the page was rendered');
  assert.ok(requests.length >= 2, 'the stream reconnected');
  assert.equal(await page.textContent('#run-status'), '\u2713 Success');
  assert.equal(await page.textContent(`#job-${(await api('GET', `/api/runs/${run.id}`, tok)).body.jobs[1].id}-status`),
    '\u2713 Success', 'job statuses update live');
  assert.match(await page.textContent('#run-live'), /finished: Success/);

  // a reload renders the same log from the server alone
  const noJs = await context(browser, { javaScriptEnabled: false,
    storageState: await ctx.storageState() });
  const p2 = await noJs.newPage();
  await visit(p2, `/${alice}/${repo}/runs/${run.id}`);
  assert.deepEqual(await logLines(p2), await logLines(page));
  assert.equal(await p2.getAttribute('#run', 'data-stream'), null, 'a finished run is not followed');
  await noJs.close();
  await ctx.close();
});

// A TCP proxy in front of the server that cuts the first connection of a
// run's event stream after `after` log events, as a network would, and
// records the head of every stream request.
function cuttingProxy(after) {
  const target = new URL(BASE);
  const state = { heads: [], cut: false };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    let stream = false, logs = 0;
    client.on('data', (d) => {
      const text = d.toString('latin1');
      if (/^GET \/api\/runs\/\d+\/stream/.test(text)) {
        stream = true;
        state.heads.push(text.split('\r\n\r\n')[0]);
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (client.destroyed) return;
      client.write(d);
      if (stream && !state.cut) {
        logs += (d.toString('latin1').match(/\nevent: log\n/g) || []).length;
        if (logs >= after) {
          state.cut = true;
          client.destroy();
          upstream.destroy();
        }
      }
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    state.base = `http://127.0.0.1:${server.address().port}`;
    state.close = () => new Promise((r) => { server.close(r); server.closeAllConnections?.(); });
    resolve(state);
  }));
}

test('a connection cut mid-stream resumes with Last-Event-ID: every line once, in order', async () => {
  const ctx = await context(browser);
  const alice = await register(ctx);
  const tok = token(alice);
  const repo = await workflowRepo(alice, tok, `name: Cut
on: push
jobs:
  count:
    steps:
      - run: for i in $(seq 1 40); do echo line $i; sleep 0.1; done
`);
  const run = await firstRun(tok, alice, repo);
  await runStatus(tok, run.id, (r) => r.status === 'running' || isDone(r), 'the run to start');
  const proxy = await cuttingProxy(5);
  // the session cookie is the host's, whatever the port
  const page = await ctx.newPage();
  noDialogs(page);
  await page.goto(`${proxy.base}/${alice}/${repo}/runs/${run.id}`);
  assert.ok(await page.getAttribute('#run', 'data-stream'), 'a running run is followed live');
  await page.waitForSelector('#run[data-done="true"]', { timeout: 60000 });
  const lines = (await logLines(page)).filter((l) => /^line \d+$/.test(l));
  assert.deepEqual(lines, Array.from({ length: 40 }, (_, i) => `line ${i + 1}`));
  assert.ok(proxy.cut, 'the stream was cut');
  assert.ok(proxy.heads.length >= 2, 'the stream reconnected');
  const shown = await page.$$eval('pre.log [data-seq]', (els) => els.map((e) => Number(e.dataset.seq)));
  assert.equal(new Set(shown).size, shown.length, 'no event shown twice');
  assert.match(proxy.heads[1], /\r\nlast-event-id: \d+/i, 'the reconnection sent Last-Event-ID');
  await proxy.close();
  await ctx.close();
});

test('a long run is cancelled with the button; a finished run cannot be', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const alice = await register(ctx);
  const tok = token(alice);
  const repo = await workflowRepo(alice, tok, `name: Long
on: push
jobs:
  forever:
    steps:
      - name: Tick
        run: for i in $(seq 1 600); do echo tick $i; sleep 0.5; done
`);
  const run = await firstRun(tok, alice, repo);
  const page = await ctx.newPage();
  noDialogs(page);
  await runStatus(tok, run.id, (r) => r.status === 'running', 'the run to start');
  await visit(page, `/${alice}/${repo}/runs/${run.id}`);
  await page.waitForFunction(() => /tick/.test(document.querySelector('pre.log').textContent));
  await axe(page, 'a running run');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click('#run-cancel button'),
  ]);
  assert.equal(resp.status(), 303);
  await page.waitForSelector('#run-status[data-status="cancelled"]', { timeout: 30000 });
  assert.equal(await page.textContent('#run-status'), '\u2298 Cancelled');
  assert.equal((await api('GET', `/api/runs/${run.id}`, tok)).body.status, 'cancelled');
  await shot(page, 'runs-run-cancelled');

  // the page again: no button; a forged post is refused with a message
  await visit(page, `/${alice}/${repo}/runs/${run.id}`);
  assert.equal(await page.locator('#run-cancel').count(), 0);
  const csrf = await page.inputValue('input[name=_csrf]');
  const r = await post(`/${alice}/${repo}/runs/${run.id}/cancel`, { _csrf: csrf },
    await cookieHeader(ctx));
  assert.equal(r.status, 409);
  assert.match(r.text, /id="run-action-error"[^>]*>run \d+ has already finished \(cancelled\)/);
  await ctx.close();
});

test('a finished run shows its whole log, graph and hostile text inertly, with or without JavaScript', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const alice = await register(ctx);
  const tok = token(alice);
  const repo = await workflowRepo(alice, tok, `name: "<script>alert(1)</script> ${RLO}evil"
on: push
jobs:
  build:
    name: "<img src=x onerror=alert(2)> build ${RLO}x"
    steps:
      - name: "<script>alert(3)</script> step ${RLO}y"
        run: |
          echo '<script>alert(4)</script>'
          echo '"onerror=alert(5) <a href="javascript:alert(6)">x</a>'
          echo 'bidi ${RLO}cba'
          echo 'to stderr <b>bold</b>' >&2
  test:
    needs: [build]
    strategy:
      matrix:
        cc: [gcc, clang]
    steps:
      - run: echo "testing with \${{ matrix.cc }}"
  report:
    needs: [test]
    steps:
      - run: echo report
  lint:
    steps:
      - run: echo lint
`);
  const run = await firstRun(tok, alice, repo);
  const done = await runStatus(tok, run.id, isDone, 'the run to finish');
  assert.equal(done.status, 'success', JSON.stringify(done));

  for (const js of [true, false]) {
    const c = js ? ctx : await context(browser, { javaScriptEnabled: false,
      storageState: await ctx.storageState() });
    const page = await c.newPage();
    noDialogs(page);
    await visit(page, `/${alice}/${repo}/runs/${run.id}`);
    // the graph: one box per job, a line per need, a title
    assert.equal(await page.locator('svg.graph g.node').count(), done.jobs.length);
    assert.equal(await page.locator('svg.graph rect').count(), done.jobs.length);
    assert.equal(await page.locator('svg.graph path.edge').count(), 4); // build→test×2, test×2→report
    assert.match(await page.textContent('svg.graph title'), /5 jobs in 3 stages/);
    // the jobs as HTML too, names shown as text
    assert.equal(await page.locator('table.jobs tbody tr').count(), done.jobs.length);
    const buildJob = done.jobs.find((j) => j.key === 'build');
    assert.equal(await page.textContent(`#job-${buildJob.id}-h`),
      '<img src=x onerror=alert(2)> build [U+202E]x');
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('main script').count(), 0);
    // the whole log, escaped, stderr marked
    const log = await logLines(page, `#log-${buildJob.id}`);
    assert.deepEqual(log.slice(-4), ['<script>alert(4)</script>',
      '"onerror=alert(5) <a href="javascript:alert(6)">x</a>', 'bidi [U+202E]cba',
      'to stderr <b>bold</b>']);
    assert.equal(await page.textContent(`#log-${buildJob.id} span.stderr`), 'to stderr <b>bold</b>\n');
    assert.equal(await page.locator('pre.log a, pre.log b').count(), 0);
    assert.match(await page.textContent(`#log-${buildJob.id}`), /── <script>alert\(3\)<\/script> step \[U\+202E\]y/);
    assert.equal(await page.locator(`#log-${buildJob.id} .bidi`).count(), 2);
    assert.match(await page.textContent('h2'), /^<script>alert\(1\)<\/script> \[U\+202E\]evil #1$/);
    // the steps with status and duration
    assert.equal(await page.textContent(`#step-${buildJob.id}-1-status`), '\u2713 Success');
    assert.match(await page.textContent(`#step-${buildJob.id}-1-dur`), /\d+(\.\d)? (ms|s)$/);
    assert.equal(await page.getAttribute('#run', 'data-stream'), null);
    if (js) {
      await axe(page, 'a finished run');
      await shot(page, 'runs-run-finished');
    } else {
      await c.close();
    }
  }

  // the list: status as text, workflow, event, branch and commit, actor
  const page = await ctx.newPage();
  noDialogs(page);
  await visit(page, `/${alice}/${repo}/runs`);
  assert.equal(await page.getAttribute('.tabs a[aria-current="page"]', 'href'), `/${alice}/${repo}/runs`);
  const row = page.locator('table.runs tbody tr').first();
  assert.equal(await row.locator('.status').textContent(), '\u2713 Success');
  assert.equal(await row.locator('td').nth(1).locator('a').textContent(), '<script>alert(1)</script> [U+202E]evil');
  assert.equal(await row.locator('td').nth(2).textContent(), 'push');
  assert.match(await row.locator('td').nth(3).textContent(), new RegExp(`^main ${done.sha.slice(0, 7)}$`));
  assert.equal(await row.locator('td').nth(4).textContent(), alice);
  await axe(page, 'the runs list');
  await shot(page, 'runs-list');
  await Promise.all([page.waitForURL(`${BASE}/${alice}/${repo}/runs/${run.id}`),
    row.locator('td').nth(1).locator('a').click()]);
  // a cursor before the newest run: nothing older, a way back
  await visit(page, `/${alice}/${repo}/runs?before=${run.id}`);
  assert.match(await page.textContent('main'), /No runs before this one/);
  assert.equal(await page.getAttribute('nav.pager a', 'href'), `/${alice}/${repo}/runs`);
  await visit(page, `/${alice}/${repo}/runs?before=x`, 400);
  assert.match(await page.textContent('main'), /before must be a run id/);
  await visit(page, `/${alice}/${repo}/runs/99999999`, 404);
  assert.match(await page.textContent('main'), new RegExp(`run 99999999 not found in '${alice}/${repo}'`));
  await visit(page, `/${alice}/${repo}/runs/abc`, 404);
  await ctx.close();
});

test('private runs: 404 to those who cannot read, readers cannot cancel, forms need the CSRF field', async () => {
  const owner = await context(browser);
  const alice = await register(owner);
  const tok = token(alice);
  const readerCtx = await context(browser);
  const reader = await register(readerCtx);
  const outsiderCtx = await context(browser);
  await register(outsiderCtx);
  const anon = await context(browser);
  const repo = await workflowRepo(alice, tok, `name: Secret
on: push
jobs:
  wait:
    steps:
      - run: for i in $(seq 1 600); do echo tick $i; sleep 0.5; done
`, { private: true });
  assert.equal((await api('PUT', `/api/repos/${alice}/${repo}/collaborators/${reader}`, tok,
    { role: 'read' })).status < 300, true);
  const run = await firstRun(tok, alice, repo);
  const list = `/${alice}/${repo}/runs`, one = `/${alice}/${repo}/runs/${run.id}`;

  for (const [who, c] of [['anonymous', anon], ['outsider', outsiderCtx]]) {
    const page = await c.newPage();
    for (const path of [list, one, `/${alice}/${repo}/sessions`]) {
      await visit(page, path, 404);
      assert.equal(await page.locator('.repohead').count(), 0, `${who} sees no frame on ${path}`);
      assert.doesNotMatch(await page.textContent('main'), /Secret|tick/);
    }
    // another repository's address for the run answers 404 too
    await visit(page, `/${alice}/nope/runs/${run.id}`, 404);
  }
  // an outsider's forged cancel: 404, nothing changes
  const op = await outsiderCtx.newPage();
  await op.goto('/');
  const ocsrf = await op.inputValue('input[name=_csrf]');
  const o = await post(`${one}/cancel`, { _csrf: ocsrf }, await cookieHeader(outsiderCtx));
  assert.equal(o.status, 404);

  // a reader sees the run, without the button; a forged post is refused
  const rp = await readerCtx.newPage();
  await visit(rp, list);
  await visit(rp, one);
  assert.equal(await rp.locator('#run-cancel').count(), 0);
  const rcsrf = await rp.inputValue('input[name=_csrf]');
  const rr = await post(`${one}/cancel`, { _csrf: rcsrf }, await cookieHeader(readerCtx));
  assert.equal(rr.status, 403);
  assert.match(rr.text, /write access to repository/);

  // the writer: without or with a wrong CSRF field, refused and nothing changes
  const wp = await owner.newPage();
  await visit(wp, one);
  const cookie = await cookieHeader(owner);
  for (const fields of [{}, { _csrf: 'x'.repeat(43) }, { _csrf: rcsrf }]) {
    const r = await post(`${one}/cancel`, fields, cookie);
    assert.equal(r.status, 403);
    assert.match(r.text, /the form has expired or was sent from another site/);
  }
  // anonymous with a pre-session token: no session, no cancel
  const ap = await anon.newPage();
  await ap.goto('/login');
  const acsrf = await ap.inputValue('input[name=_csrf]');
  const ar = await post(`${one}/cancel`, { _csrf: acsrf }, await cookieHeader(anon));
  assert.ok([401, 404].includes(ar.status), String(ar.status));
  const still = (await api('GET', `/api/runs/${run.id}`, tok)).body;
  assert.equal(still.cancel_requested, false);
  assert.ok(!isDone(still));
  // and the writer's own button works
  await Promise.all([wp.waitForResponse((r) => r.request().method() === 'POST'),
    wp.click('#run-cancel button')]);
  await runStatus(tok, run.id, (r) => r.status === 'cancelled', 'the run to be cancelled');
  for (const c of [owner, readerCtx, outsiderCtx, anon]) await c.close();
});

test('an outsider\'s run that refers to secrets waits; a writer approves it with the button', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const alice = await register(ctx);
  const tok = token(alice);
  const outsiderCtx = await context(browser);
  const mallory = await register(outsiderCtx);
  const mtok = token(mallory);
  const repo = await workflowRepo(alice, tok, `name: Triage
on: issue.opened
jobs:
  triage:
    steps:
      - name: Use the secret
        run: echo "token \${{ secrets.TOKEN }} used"
`);
  assert.equal((await api('PUT', `/api/${alice}/${repo}/secrets/TOKEN`, tok,
    { value: 'hunter2-secret' })).status, 201);
  assert.equal((await api('POST', `/api/${alice}/${repo}/issues`, mtok,
    { title: 'help', body: 'please' })).status, 201);
  const run = await firstRun(tok, alice, repo);
  await runStatus(tok, run.id, (r) => r.status === 'waiting', 'the run to wait');
  const one = `/${alice}/${repo}/runs/${run.id}`;

  // the outsider sees it waiting, without buttons; a forged approval is refused
  const op = await outsiderCtx.newPage();
  await visit(op, one);
  assert.equal(await op.textContent('#run-status'), '\u2016 Waiting for approval');
  assert.equal(await op.locator('#run-approve, #run-cancel').count(), 0);
  const ocsrf = await op.inputValue('input[name=_csrf]');
  const o = await post(`${one}/approve`, { _csrf: ocsrf }, await cookieHeader(outsiderCtx));
  assert.equal(o.status, 403);
  assert.match(o.text, /write access to repository/);

  const page = await ctx.newPage();
  noDialogs(page);
  await visit(page, one);
  assert.match(await page.textContent('main'), /waits for a writer to approve it/);
  await axe(page, 'a run waiting for approval');
  await shot(page, 'runs-run-waiting');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click('#run-approve button'),
  ]);
  assert.equal(resp.status(), 303);
  await page.waitForSelector('#run-status[data-status="success"]', { timeout: 60000 });
  assert.match(await page.textContent('pre.log'), /token \*\*\* used/);
  assert.match(await page.textContent('main'), new RegExp(`approved by ${alice}`));
  // approving again: the refusal beside the buttons, with its status
  const csrf = await page.inputValue('input[name=_csrf]');
  const again = await post(`${one}/approve`, { _csrf: csrf }, await cookieHeader(ctx));
  assert.equal(again.status, 409);
  assert.match(again.text, /id="run-action-error"[^>]*>run \d+ was already approved by/);
  await outsiderCtx.close();
  await ctx.close();
});

