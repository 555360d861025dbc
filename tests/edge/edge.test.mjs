// edge.test.mjs — the edge cache (deploy/edge/worker.js) run in the real
// workerd runtime through miniflare, in front of the real plue server that
// run.sh started (PLUE_BASE). Requests that reach Plue are counted from its
// own /metrics (plue_http_requests_total, per route). The checks: an
// immutable blob is served from the edge on the second request without
// reaching Plue; a private blob, a request with Authorization or a Cookie,
// and an answer that sets a cookie are never kept; a ref is fetched again
// once its 5 s are over, anything once MAX_TTL is; git clone and push go
// through intact; an SSE stream passes live. The cache rules Plue's
// answers do not exercise today (Vary, s-maxage, Set-Cookie beside
// `public`, no Content-Length, hop-by-hop headers) are checked against a
// scripted origin, and so is the streaming of a push both ways (each side
// reads the first part while the other still holds back the rest). Last,
// mutants of the worker (cache everything or nothing, buffer or drop
// bodies, ignore Authorization, Vary, the size limit, the TTL or MAX_TTL)
// are run through the same checks, each of which must then fail.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Miniflare } from 'miniflare';

const BASE = process.env.PLUE_BASE;
const TOKEN = process.env.PLUE_TOKEN;
const USER = process.env.PLUE_USER;
const RUNNER_SECRET = process.env.PLUE_RUNNER_SECRET;
const METRICS_TOKEN = process.env.PLUE_METRICS_TOKEN;
const TMP = process.env.EDGE_TMP;
assert.ok(BASE && TOKEN && USER && RUNNER_SECRET && METRICS_TOKEN && TMP,
  'run.sh sets PLUE_BASE, PLUE_TOKEN, PLUE_USER, PLUE_RUNNER_SECRET, PLUE_METRICS_TOKEN, EDGE_TMP');

const WORKER = new URL('../../deploy/edge/worker.js', import.meta.url);
const SOURCE = readFileSync(WORKER, 'utf8');
// the worker runs as wrangler.toml configures it: its compatibility date
// and the top-level [vars] (ORIGIN_URL replaced by the test's origin)
const TOML = readFileSync(new URL('../../deploy/edge/wrangler.toml', import.meta.url), 'utf8');
const COMPAT = /^compatibility_date\s*=\s*"([0-9-]+)"/m.exec(TOML)[1];
const tomlVars = (section) => Object.fromEntries([...new RegExp(`^\\[${section}\\]\\n([^[]*)`, 'm')
  .exec(TOML)[1].matchAll(/^([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
const TOML_VARS = tomlVars('vars');
assert.ok(TOML_VARS.ORIGIN_URL && TOML_VARS.MAX_TTL, 'wrangler.toml sets ORIGIN_URL and MAX_TTL');

const BLOB_ROUTE = '/api/:owner/:repo/blob/:sha/*path';
const REF_ROUTE = '/api/:owner/:repo/refs/*ref';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the edge: the worker in workerd ----

// Starts the worker (or a mutant of it, source) in front of origin, with
// wrangler.toml's vars, those in vars replacing them. Returns { base, close }.
async function startEdge(origin, source = SOURCE, vars = {}) {
  const mf = new Miniflare({
    modules: true,
    script: source,
    scriptPath: fileURLToPath(WORKER),
    modulesRoot: dirname(fileURLToPath(WORKER)),
    compatibilityDate: COMPAT,
    bindings: { ...TOML_VARS, ORIGIN_URL: origin, ...vars },
  });
  const url = await mf.ready;
  return { base: url.href.replace(/\/$/, ''), close: () => mf.dispose() };
}

// One request through the edge: { status, mark (X-Plue-Edge), text, headers }.
async function get(edge, path, headers = {}, method = 'GET') {
  const r = await fetch(edge + path, { method, headers, redirect: 'manual' });
  const text = await r.text();
  return { status: r.status, mark: r.headers.get('x-plue-edge'), text, headers: r.headers };
}

// Asks until the edge answers from its cache (the copy is written after
// the answer, in the background); returns that answer and how many asks
// went to the origin first.
async function untilHit(edge, path, headers = {}) {
  for (let misses = 0; misses < 100; misses++) {
    const r = await get(edge, path, headers);
    if (r.mark === 'HIT') return { hit: r, misses };
    assert.equal(r.mark, 'MISS', `${path}: waiting for a HIT`);
    await sleep(50);
  }
  assert.fail(`${path}: never served from the edge cache`);
}

// ---- Plue: its request counters, the API, git ----

async function metricsText() {
  const r = await fetch(`${BASE}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(r.status, 200, 'metrics are on');
  return r.text();
}

// How many requests Plue has answered on route with method and status.
async function count(route, status = '200', method = 'GET') {
  const want = `plue_http_requests_total{route="${route}",method="${method}",status="${status}"} `;
  const line = (await metricsText()).split('\n').find((l) => l.startsWith(want));
  return line ? Number(line.slice(want.length)) : 0;
}

// Waits until Plue has counted every request it answered so far: a request
// is counted as it is torn down, just after its answer left, so a direct
// request made now is counted after any made before it.
async function settled() {
  const h0 = await count('/api/health');
  const r = await fetch(`${BASE}/api/health`);
  await r.arrayBuffer();
  assert.equal(r.status, 200, 'health answers');
  for (let i = 0; i < 200; i++) {
    if ((await count('/api/health')) > h0) return;
    await sleep(25);
  }
  assert.fail('plue never counted a request');
}

// The requests on route that reach Plue while fn runs.
async function originHits(route, fn, status = '200') {
  await settled();
  const c0 = await count(route, status);
  await fn();
  await settled();
  return (await count(route, status)) - c0;
}

async function api(method, path, body, token = TOKEN) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(BASE + path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body: json, text };
}

function git(dir, ...args) {
  return execFileSync('git', ['-c', 'user.name=Edge Test', '-c', 'user.email=edge@example.com',
    '-c', 'init.defaultBranch=main', '-c', 'protocol.version=2', ...args],
  { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

// git, whose failure is the check's: an assertion naming what failed.
function mustGit(what, dir, ...args) {
  try {
    return git(dir, ...args);
  } catch (e) {
    assert.fail(`${what}: ${String(e.stderr || e.message).trim().split('\n').pop()}`);
  }
}

// A repository URL on base, with the user's credentials when auth.
function repoUrl(base, name, auth) {
  const u = new URL(`/${USER}/${name}.git`, base);
  if (auth) {
    u.username = USER;
    u.password = TOKEN;
  }
  return u.toString();
}

let seq = 0;
function fresh(prefix) {
  const d = join(TMP, `${prefix}-${++seq}`);
  mkdirSync(d, { recursive: true });
  return d;
}

// The refs a remote advertises, as "sha ref" lines, sorted.
function lsRemote(url) {
  return mustGit(`ls-remote ${url}`, TMP, 'ls-remote', url).trim().split('\n').sort().join('\n');
}

// ---- fixtures: a public and a private repository ----

const F = {}; // the commits pushed, the runner's id and token

// Makes a commit of files ({path: content}) in dir and pushes it to url.
function commitAndPush(dir, url, files, message) {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  mustGit(`push to ${url.replace(/:[^:@/]*@/, ':***@')}`, dir, 'push', '-q', url, 'HEAD:main');
  return git(dir, 'rev-parse', 'HEAD').trim();
}

before(async () => {
  for (const [name, priv] of [['pub', false], ['priv', true]]) {
    const r = await api('POST', '/api/repos', { name, private: priv });
    assert.equal(r.status, 201, r.text);
  }
  const pubDir = fresh('pub');
  git(pubDir, 'init', '-q');
  F.sha = commitAndPush(pubDir, repoUrl(BASE, 'pub', true), {
    'a.txt': 'hello from the edge\n',
    'b.txt': 'read with and without a token\n',
    '.plue/workflows/hand.yaml': 'on: workflow_dispatch\njobs:\n  one:\n    steps:\n      - run: echo hello\n',
  }, 'first');
  const privDir = fresh('priv');
  git(privDir, 'init', '-q');
  F.privSha = commitAndPush(privDir, repoUrl(BASE, 'priv', true),
    { 'secret.txt': 'the private bytes\n' }, 'secret');
  const r = await api('POST', '/internal/runners/register',
    { host: 'edge-test', pid: process.pid, sandbox: 'none' }, RUNNER_SECRET);
  assert.equal(r.status, 201, r.text);
  F.runner = r.body.id;
  F.runnerToken = r.body.token;
});

// ---- the checks, each a function of an edge, so that a mutant can be
// run through the very same ----

// An immutable blob: the first read is a MISS, then the edge answers alone
// (GET, HEAD and a conditional GET) and Plue sees none of those requests.
async function checkImmutable(edge) {
  const path = `/api/${USER}/pub/blob/${F.sha}/a.txt`;
  const first = await get(edge, path);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.mark, 'MISS');
  assert.equal(first.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  await untilHit(edge, path);
  let hit, head, cond;
  const hits = await originHits(BLOB_ROUTE, async () => {
    hit = await get(edge, path);
    head = await get(edge, path, {}, 'HEAD');
    cond = await get(edge, path, { 'If-None-Match': first.headers.get('etag') });
  });
  assert.equal(hit.mark, 'HIT');
  assert.equal(hit.status, 200);
  assert.equal(hit.text, 'hello from the edge\n');
  assert.equal(hit.headers.get('etag'), first.headers.get('etag'));
  assert.equal(hit.headers.get('content-type'), first.headers.get('content-type'));
  assert.equal(hit.headers.get('cache-control'), first.headers.get('cache-control'),
    'the origin\'s Cache-Control goes to the client');
  assert.deepEqual([...hit.headers.keys()].filter((k) => k.startsWith('x-plue-edge-')), [],
    'the edge\'s own bookkeeping stays at the edge');
  assert.match(hit.headers.get('age') || '', /^[0-9]+$/);
  assert.equal(head.mark, 'HIT');
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  assert.equal(cond.mark, 'HIT');
  assert.equal(cond.status, 304);
  assert.equal(hits, 0, 'a cached blob did not reach plue');
}

// A private blob: read with the owner's token it passes through; read
// anonymously it is Plue's 404, however often, never the cached bytes.
async function checkPrivate(edge) {
  const path = `/api/${USER}/priv/blob/${F.privSha}/secret.txt`;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const seen = [];
  const hits = await originHits(BLOB_ROUTE, async () => {
    for (let i = 0; i < 3; i++) seen.push(await get(edge, path, auth));
  });
  await sleep(100); // give a (wrong) background write the time to land
  for (let i = 0; i < 3; i++) {
    const anon = await get(edge, path);
    assert.doesNotMatch(anon.text, /private bytes/, `anonymous read ${i} got the private bytes (${anon.mark})`);
    assert.equal(anon.status, 404, `anonymous read ${i}: ${anon.status} ${anon.mark}`);
    assert.equal(anon.mark, 'MISS', `anonymous read ${i}`);
  }
  for (const r of seen) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'the private bytes\n');
    assert.equal(r.mark, 'BYPASS', 'an authorized read went through the cache');
    assert.match(r.headers.get('cache-control'), /^private/);
  }
  assert.equal(hits, 3, 'every authorized read reached plue');
}

// Authorization and Cookie: such a request neither fills the cache (the
// anonymous read after it is a MISS) nor is answered from it (once the
// anonymous copy is cached, the authorized read still reaches Plue).
async function checkCredentials(edge) {
  const path = `/api/${USER}/pub/blob/${F.sha}/b.txt`;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const a = await get(edge, path, auth);
  const c = await get(edge, path, { Cookie: 'plue_session=whatever' });
  await sleep(100); // give a (wrong) background write the time to land
  const anon = await get(edge, path);
  assert.equal(anon.mark, 'MISS', 'a request with credentials filled the cache');
  assert.equal(a.status, 200);
  assert.equal(a.mark, 'BYPASS', 'an authorized request went through the cache');
  assert.equal(a.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(c.mark, 'BYPASS', 'a request with a cookie went through the cache');
  await untilHit(edge, path);
  const hits = await originHits(BLOB_ROUTE, async () => {
    const r1 = await get(edge, path, auth);
    assert.equal(r1.mark, 'BYPASS', 'an authorized request was answered from the cache');
    const r2 = await get(edge, path, { Cookie: 'plue_session=whatever' });
    assert.equal(r2.mark, 'BYPASS', 'a request with a cookie was answered from the cache');
  });
  assert.equal(hits, 2, 'requests with credentials reached plue');
}

// Plue's sign-in page sets the CSRF cookie: every reader gets their own,
// from Plue, never one kept at the edge.
async function checkSetCookie(edge) {
  const seen = [];
  const hits = await originHits('/login', async () => {
    for (let i = 0; i < 3; i++) {
      seen.push(await get(edge, '/login'));
      await sleep(100); // give a (wrong) background write the time to land
    }
  });
  for (const r of seen) {
    assert.equal(r.status, 200);
    assert.equal(r.mark, 'MISS', 'a sign-in page came from the cache');
    assert.match(r.headers.get('set-cookie') || '', /^plue_csrf=/);
  }
  assert.equal(new Set(seen.map((r) => r.headers.get('set-cookie'))).size, 3, 'one cookie each');
  assert.equal(hits, 3, 'every sign-in page came from plue');
}

// A ref (max-age=5): cached, then fetched again once its 5 s are over,
// when it names the commit pushed meanwhile.
async function checkRefExpiry(edge) {
  const path = `/api/${USER}/pub/refs/main`;
  const first = await get(edge, path);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.mark, 'MISS');
  assert.equal(first.headers.get('cache-control'), 'public, max-age=5');
  const stored = Date.now();
  const { hit } = await untilHit(edge, path);
  assert.equal(JSON.parse(hit.text).commit, JSON.parse(first.text).commit);
  const dir = fresh('move');
  git(dir, 'clone', '-q', repoUrl(BASE, 'pub', false), 'w');
  const sha = commitAndPush(join(dir, 'w'), repoUrl(BASE, 'pub', true),
    { 'c.txt': `moved at ${Date.now()}\n` }, 'move main');
  // the condition is the copy's age: wait (once) until 5 s are over
  await sleep(Math.max(0, stored + 6000 - Date.now()));
  let again;
  const hits = await originHits(REF_ROUTE, async () => { again = await get(edge, path); });
  assert.equal(again.mark, 'MISS', 'an expired ref was served from the cache');
  assert.equal(JSON.parse(again.text).commit, sha);
  assert.equal(hits, 1);
}

// MAX_TTL bounds how long anything is kept: the year-long blob is
// fetched again once MAX_TTL (2 s here) is over.
async function checkMaxTtl(edge) {
  const path = `/api/${USER}/pub/blob/${F.sha}/a.txt`;
  assert.equal((await get(edge, path)).mark, 'MISS');
  const stored = Date.now();
  await untilHit(edge, path);
  await sleep(Math.max(0, stored + 3000 - Date.now()));
  let again;
  const hits = await originHits(BLOB_ROUTE, async () => { again = await get(edge, path); });
  assert.equal(again.mark, 'MISS', 'kept beyond MAX_TTL');
  assert.equal(again.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(hits, 1);
}

// git through the edge: a clone has the same refs as Plue's and is sound;
// a push of a few MB (a streamed request body) lands; a private clone
// works with credentials and not without.
async function checkGit(edge) {
  const dir = fresh('clone');
  mustGit('clone through the edge', dir, 'clone', '-q', repoUrl(edge, 'pub', false), 'w');
  const w = join(dir, 'w');
  mustGit('fsck of the clone', w, 'fsck', '--full', '--strict');
  assert.equal(lsRemote(repoUrl(edge, 'pub', false)), lsRemote(repoUrl(BASE, 'pub', false)));
  assert.equal(git(w, 'rev-parse', 'HEAD').trim(),
    lsRemote(repoUrl(BASE, 'pub', false)).split('\n').find((l) => l.endsWith('refs/heads/main'))
      .split('\t')[0]);
  const big = randomBytes(3 << 20).toString('base64');
  const sha = commitAndPush(w, repoUrl(edge, 'pub', true), { 'big.txt': big }, 'a big push');
  const direct = fresh('direct');
  git(direct, 'clone', '-q', repoUrl(BASE, 'pub', false), 'w');
  assert.equal(git(join(direct, 'w'), 'rev-parse', 'HEAD').trim(), sha, 'the push landed');
  mustGit('fsck after the push', join(direct, 'w'), 'fsck', '--full', '--strict');
  assert.equal(readFileSync(join(direct, 'w', 'big.txt'), 'utf8'), big);
  const priv = fresh('priv-clone');
  mustGit('private clone through the edge', priv, 'clone', '-q', repoUrl(edge, 'priv', true), 'w');
  assert.equal(readFileSync(join(priv, 'w', 'secret.txt'), 'utf8'), 'the private bytes\n');
  assert.throws(() => git(priv, 'clone', '-q', repoUrl(edge, 'priv', false), 'anon'));
}

// A workload of the public repository's hand.yaml, claimed by the test
// acting as the runner: { run, id, token, seq }.
async function newWorkload() {
  const d = await api('POST', `/api/${USER}/pub/workflows/hand.yaml/dispatch`, {});
  assert.equal(d.status, 202, d.text);
  const c = await api('POST', `/internal/runners/${F.runner}/claim`, undefined, F.runnerToken);
  assert.equal(c.status, 200, c.text);
  const runs = await api('GET', `/api/${USER}/pub/runs`);
  assert.equal(runs.status, 200, runs.text);
  const list = Array.isArray(runs.body) ? runs.body : runs.body.runs;
  const run = Math.max(...list.map((r) => r.id));
  return { run, id: c.body.workload, token: c.body.task_token, seq: c.body.seq_start };
}

async function post(w, events) {
  const body = { events: events.map((e) => ({ seq: w.seq++, ...e })) };
  const r = await api('POST', `/internal/tasks/${w.id}/events`, body, w.token);
  assert.equal(r.status, 200, r.text);
}

// Until cond() holds, or ms have passed; returns whether it held.
async function waitFor(cond, ms) {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

// SSE: an anonymous reader of a run's stream through the edge gets the
// stored events, then an event written after it connected, while the
// stream is still open; the stream ends when the run does.
async function checkSse(edge) {
  const w = await newWorkload();
  await post(w, [{ type: 'step_start', payload: { step: 1, name: 'edge' } },
    { type: 'log', payload: { step: 1, stream: 'stdout', line: 'before' } }]);
  const got = [];
  const st = { status: 0, mark: null, ended: false };
  const ac = new AbortController();
  const reader = (async () => {
    const r = await fetch(`${edge}/api/runs/${w.run}/stream`, { signal: ac.signal });
    st.status = r.status;
    st.mark = r.headers.get('x-plue-edge');
    st.type = r.headers.get('content-type');
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of r.body) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block);
        const data = /^data: (.*)$/m.exec(block);
        if (data) got.push({ type: ev ? ev[1] : 'message', data: JSON.parse(data[1]) });
      }
    }
    st.ended = true;
  })().catch((e) => { if (e.name !== 'AbortError') throw e; });
  const line = (s) => () => got.some((e) => e.data && e.data.line === s);
  const connected = await waitFor(line('before'), 5000);
  await post(w, [{ type: 'log', payload: { step: 1, stream: 'stdout', line: 'live' } }]);
  const live = await waitFor(line('live'), 5000);
  const openWhenLive = live && !st.ended;
  await post(w, [{ type: 'step_end', payload: { step: 1, status: 'success', exit_code: 0, duration_ms: 1 } },
    { type: 'job_end', payload: { status: 'success' } }]);
  const c = await api('POST', `/internal/tasks/${w.id}/complete`, { result: 'success', exit_code: 0 },
    w.token);
  assert.equal(c.status, 200, c.text);
  const ended = await waitFor(() => st.ended, 15000);
  ac.abort();
  await reader;
  assert.equal(st.status, 200);
  assert.equal(st.mark, 'BYPASS');
  assert.match(st.type || '', /^text\/event-stream/);
  assert.ok(connected, 'the stored events arrived while the run was going');
  assert.ok(openWhenLive, 'an event written after connecting arrived before the stream ended');
  assert.ok(ended, 'the stream ended with the run');
  assert.ok(got.some((e) => e.type === 'done'), `the stream's last event is done: ${JSON.stringify(got.map((e) => e.type))}`);
}

// ---- a scripted origin for the rules Plue does not exercise today ----

// Answers what its path asks for and counts the requests per path.
function scriptedOrigin() {
  const hits = {};
  // the streamed push (checkGitStreams): what the origin has read of the
  // request body, and the call that lets its answer finish
  const push = { received: '', release: null };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const n = (hits[path] = (hits[path] || 0) + 1);
    if (path === '/o/r.git/git-receive-pack') {
      req.setEncoding('utf8');
      req.on('data', (d) => { push.received += d; });
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/x-git-receive-pack-result' });
        res.write('reply-1;');
        push.release = () => res.end('reply-2;');
      });
      return;
    }
    const h = { 'Content-Type': 'text/plain' };
    const pub = 'public, max-age=60';
    switch (path) {
    case '/cookie': Object.assign(h, { 'Cache-Control': pub, 'Set-Cookie': `n=${n}` }); break;
    case '/vary-star': Object.assign(h, { 'Cache-Control': pub, Vary: '*' }); break;
    case '/vary-other': Object.assign(h, { 'Cache-Control': pub, Vary: 'X-Tenant' }); break;
    case '/vary-lang': Object.assign(h, { 'Cache-Control': pub, Vary: 'Accept-Language' }); break;
    case '/no-cache': Object.assign(h, { 'Cache-Control': `${pub}, no-cache` }); break;
    case '/private': Object.assign(h, { 'Cache-Control': 'private, max-age=60' }); break;
    case '/s-maxage': Object.assign(h, { 'Cache-Control': 'public, max-age=0, s-maxage=60' }); break;
    case '/hop': Object.assign(h, { 'Cache-Control': 'no-store', Connection: 'close, X-Hop',
      'X-Hop': 'per-connection', 'Keep-Alive': 'timeout=5' }); break;
    case '/chunked': // no Content-Length: the body comes in two writes
      res.writeHead(200, { ...h, 'Cache-Control': pub });
      res.write(`${path} `);
      res.end(`${n}\n`);
      return;
    default: res.writeHead(404, h); res.end('not found\n'); return;
    }
    const body = `${path} ${req.headers['accept-language'] || '-'} ${n} ${req.headers['x-req-hop'] || '-'}\n`;
    res.writeHead(200, { ...h, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    base: `http://127.0.0.1:${server.address().port}`, hits, push,
    close: () => server.close() })));
}

// A git push's bodies stream both ways: the origin reads the first part of
// the request body while the client still holds back the rest, and the
// client reads the first part of the answer while the origin still holds
// back the rest.
async function checkGitStreams(edge, origin) {
  const u = new URL('/o/r.git/git-receive-pack', edge);
  const st = { body: '', ended: false, status: 0, mark: null };
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
    headers: { 'Content-Type': 'application/x-git-receive-pack-request',
      'Transfer-Encoding': 'chunked' } }, (res) => {
    st.status = res.statusCode;
    st.mark = res.headers['x-plue-edge'];
    res.setEncoding('utf8');
    res.on('data', (d) => { st.body += d; });
    res.on('end', () => { st.ended = true; });
  });
  req.on('error', () => {});
  req.write('pack-1;');
  const upStreamed = await waitFor(() => origin.push.received === 'pack-1;', 5000);
  req.end('pack-2;');
  const answered = await waitFor(() => origin.push.release !== null, 10000);
  const downStreamed = answered && await waitFor(() => st.body === 'reply-1;', 5000);
  origin.push.release?.();
  await waitFor(() => st.ended, 10000);
  assert.ok(upStreamed, 'the origin read the first part of the push before the client sent the rest');
  assert.ok(downStreamed, 'the client read the first part of the answer before the origin sent the rest');
  assert.equal(origin.push.received, 'pack-1;pack-2;');
  assert.equal(st.status, 200);
  assert.equal(st.mark, 'BYPASS');
  assert.equal(st.body, 'reply-1;reply-2;');
}

// The rules: Set-Cookie, Vary: *, a Vary it cannot key on, no-cache,
// private and an answer of unknown length are never kept; Vary: Accept-Language keeps one copy per
// language; s-maxage wins over max-age; hop-by-hop headers stay behind.
async function checkRules(edge, origin) {
  for (const p of ['/cookie', '/vary-star', '/vary-other', '/no-cache', '/private', '/chunked']) {
    const a = await get(edge, p);
    await sleep(100); // give a (wrong) background write the time to land
    const b = await get(edge, p);
    assert.equal(a.mark, 'MISS', p);
    assert.equal(b.mark, 'MISS', `${p} was kept`);
    assert.equal(origin.hits[p], 2, p);
  }
  const en = { 'Accept-Language': 'en' };
  const fr = { 'Accept-Language': 'fr' };
  assert.equal((await get(edge, '/vary-lang', en)).mark, 'MISS');
  const { hit: enHit } = await untilHit(edge, '/vary-lang', en);
  assert.match(enHit.text, /^\/vary-lang en /);
  const frFirst = await get(edge, '/vary-lang', fr);
  assert.equal(frFirst.mark, 'MISS', 'another language was served the first one\'s copy');
  assert.match(frFirst.text, /^\/vary-lang fr /);
  const { hit: frHit } = await untilHit(edge, '/vary-lang', fr);
  assert.match(frHit.text, /^\/vary-lang fr /);
  assert.match((await get(edge, '/vary-lang', en)).text, /^\/vary-lang en /);
  assert.equal((await get(edge, '/s-maxage')).mark, 'MISS');
  await untilHit(edge, '/s-maxage');
  // hop-by-hop: the origin's, and the client's (sent over a raw request:
  // fetch will not send a Connection header)
  const hop = await get(edge, '/hop');
  assert.equal(hop.headers.get('x-hop'), null, 'a header named in Connection went through');
  assert.equal(hop.headers.get('keep-alive'), null);
  const echoed = await new Promise((resolve, reject) => {
    const u = new URL('/hop', edge);
    http.get({ host: u.hostname, port: u.port, path: u.pathname,
      headers: { Connection: 'keep-alive, X-Req-Hop', 'X-Req-Hop': 'per-connection' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  assert.match(echoed, / -\n$/, 'a request header named in Connection reached the origin');
}

// ---- the worker as it is ----

let edge;
let rules;
let origin;
before(async () => {
  edge = await startEdge(BASE);
  origin = await scriptedOrigin();
  rules = await startEdge(origin.base);
});
after(async () => {
  await edge?.close();
  await rules?.close();
  origin?.close();
});

test('an immutable blob is served from the edge without reaching plue', () => checkImmutable(edge.base));
test('a private blob is never kept nor served to another reader', () => checkPrivate(edge.base));
test('requests with Authorization or a Cookie pass by the cache', () => checkCredentials(edge.base));
test('an answer that sets a cookie is never kept', () => checkSetCookie(edge.base));
test('a ref is fetched again once its max-age is over', () => checkRefExpiry(edge.base));
test('git clone and push pass through intact', () => checkGit(edge.base));
test('an SSE stream passes through live', () => checkSse(edge.base));
test('the cache rules against a scripted origin', () => checkRules(rules.base, origin));
test('a git push streams both ways', () => checkGitStreams(rules.base, origin));

// wrangler's own reading of the configuration (a dry run bundles the
// worker and lists its bindings, offline): every environment loads without
// a warning. A key wrangler does not know is one, so that check can fail.
test('wrangler accepts wrangler.toml in every environment', () => {
  const dir = fresh('wrangler');
  copyFileSync(WORKER, join(dir, 'worker.js'));
  const dryRun = (toml, env) => {
    writeFileSync(join(dir, 'wrangler.toml'), toml);
    const r = spawnSync(join(dirname(fileURLToPath(import.meta.url)), 'node_modules/.bin/wrangler'),
      ['deploy', '--dry-run', `--env=${env}`, '--outdir', join(dir, 'out')], { cwd: dir,
        encoding: 'utf8', timeout: 120000, env: { ...process.env, NO_COLOR: '1',
          WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true',
          WRANGLER_LOG_PATH: join(dir, 'logs') } });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  for (const [env, vars] of [['', TOML_VARS], ['staging', tomlVars('env\\.staging\\.vars')]]) {
    const r = dryRun(TOML, env);
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /WARNING|ERROR/, r.out);
    assert.ok(vars.ORIGIN_URL && vars.MAX_TTL, `[${env || 'vars'}] sets ORIGIN_URL and MAX_TTL`);
    for (const [k, v] of Object.entries(vars))
      assert.ok(r.out.includes(`env.${k} ("${v}")`), `${env || 'top level'}: ${k}\n${r.out}`);
  }
  const typo = dryRun(TOML.replace('[vars]', 'cache_everything = true\n\n[vars]'), '');
  assert.match(typo.out, /WARNING[\s\S]*cache_everything/, 'an unknown key is reported');
});

test('MAX_TTL bounds how long the edge keeps anything', async () => {
  const e = await startEdge(BASE, SOURCE, { MAX_TTL: '2' });
  try {
    await checkMaxTtl(e.base);
  } finally {
    await e.close();
  }
});

test('bad settings are a clear error', async () => {
  for (const [origin, vars, want] of [
    ['ftp://example.com/', {}, "ORIGIN_URL is not an http(s) URL without a query: 'ftp://example.com/'"],
    ['not a url', {}, "ORIGIN_URL is not an http(s) URL without a query: 'not a url'"],
    [`${BASE}/?x=1`, {}, `ORIGIN_URL is not an http(s) URL without a query: '${BASE}/?x=1'`],
    [BASE, { MAX_TTL: 'a day' }, "MAX_TTL is not a positive number of seconds: 'a day'"],
    [BASE, { MAX_TTL: '0' }, "MAX_TTL is not a positive number of seconds: '0'"],
  ]) {
    const bad = await startEdge(origin, SOURCE, vars);
    try {
      const r = await get(bad.base, '/anything');
      assert.equal(r.status, 502);
      assert.equal(r.mark, 'BYPASS');
      assert.equal(r.text, `edge: ${want}\n`);
    } finally {
      await bad.close();
    }
  }
  // an origin that does not answer
  const down = await startEdge('http://127.0.0.1:9');
  try {
    const r = await get(down.base, '/api/health');
    assert.equal(r.status, 502);
    assert.match(r.text, /^edge: cannot reach the origin: /);
  } finally {
    await down.close();
  }
});

// ---- mutants: each check fails against a worker that breaks its rule ----

// The worker with each [from, to] replaced; every from must be in it.
function mutate(edits) {
  let s = SOURCE;
  for (const [from, to] of edits) {
    assert.ok(s.includes(from), `the mutant's text is in the worker: ${from}`);
    s = s.replace(from, to);
  }
  return s;
}

// Each mutant names the checks that must fail against it; every check
// runs in an edge of its own (an empty cache), those of SCRIPTED with a
// scripted origin of its own.
const CHECKS = { immutable: checkImmutable, private: checkPrivate, credentials: checkCredentials,
  setCookie: checkSetCookie, refExpiry: checkRefExpiry, git: checkGit, sse: checkSse,
  maxTtl: checkMaxTtl };
const SCRIPTED = { rules: checkRules, gitStreams: checkGitStreams };
const VARS = { maxTtl: { MAX_TTL: '2' } };
const MUTANTS = [
  {
    // what a naive "cache everything" worker does: no request rule but
    // git's and streams', every 200 kept a year, its cookie dropped so the
    // runtime's own cache accepts it
    name: 'cache everything',
    edits: [
      ["  if (request.headers.has('Authorization')) return 'authorization';\n" +
       "  if (request.headers.has('Cookie')) return 'cookie';\n", ''],
      ['function storableTtl(res) {\n', 'function storableTtl(res) {\n  return res.status === 200 ? 31536000 : 0;\n'],
      ["  headers.delete('X-Plue-Edge');\n", "  headers.delete('X-Plue-Edge');\n  headers.delete('Set-Cookie');\n"],
    ],
    fails: ['private', 'credentials', 'setCookie', 'refExpiry', 'rules'],
  },
  {
    name: 'bodies buffered',
    edits: [
      ['function finish(res, mark) {', 'async function finish(res, mark) {'],
      ['return new Response(res.body, { status: res.status, statusText: res.statusText, headers });',
       'return new Response(await res.arrayBuffer(), { status: res.status, statusText: res.statusText, headers });'],
    ],
    fails: ['sse', 'gitStreams'],
  },
  {
    name: 'nothing kept',
    edits: [['function storableTtl(res) {\n', 'function storableTtl(res) {\n  return 0;\n']],
    fails: ['immutable'],
  },
  {
    name: 'answers of any size kept',
    edits: [["  if (length === null || !/^[0-9]{1,12}$/.test(length) || Number(length) > KEEP_MAX_BYTES) return 0;\n", '']],
    fails: ['rules'],
  },
  {
    name: 'request bodies buffered',
    edits: [['    init.body = request.body;\n', '    init.body = await request.arrayBuffer();\n']],
    fails: ['gitStreams'],
  },
  {
    name: 'request bodies dropped',
    edits: [['    init.body = request.body;\n', '']],
    fails: ['git'],
  },
  {
    name: 'Authorization ignored',
    edits: [["  if (request.headers.has('Authorization')) return 'authorization';\n", '']],
    fails: ['credentials'],
  },
  {
    name: 'any Vary kept',
    edits: [['  if (names.length > VARY_MAX || names.some((n) => !VARY_KEYABLE.has(n))) return null;\n', '']],
    fails: ['rules'],
  },
  {
    name: 'variants not keyed',
    edits: [['  const names = varyNames(res);\n  if (names.length === 0)',
      '  const names = [];\n  if (names.length === 0)']],
    fails: ['rules'],
  },
  {
    name: 'the TTL ignored (kept a year)',
    edits: [["headers.set('Cache-Control', `public, max-age=${ttl}`);",
      "headers.set('Cache-Control', 'public, max-age=31536000');"]],
    fails: ['refExpiry'],
  },
  {
    name: 'MAX_TTL ignored',
    edits: [['Math.min(storableTtl(res), cfg.maxTtl)', 'storableTtl(res)']],
    fails: ['maxTtl'],
  },
];

for (const m of MUTANTS) {
  test(`mutant: ${m.name}`, async (t) => {
    const src = mutate(m.edits);
    for (const name of m.fails) {
      await t.test(`the ${name} check fails`, async () => {
        const o = SCRIPTED[name] ? await scriptedOrigin() : null;
        const e = await startEdge(o ? o.base : BASE, src, VARS[name]);
        try {
          await assert.rejects(o ? SCRIPTED[name](e.base, o) : CHECKS[name](e.base), (err) => {
            t.diagnostic(`${name}: ${String(err.message).split('\n')[0]}`);
            return err instanceof assert.AssertionError;
          });
        } finally {
          await e.close();
          o?.close();
        }
      });
    }
  });
}
