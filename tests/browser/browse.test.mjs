// browse.test.mjs — the repository browsing pages: overview, trees, blobs
// (line anchors, images, binaries, large files, Markdown), history with
// pages and a path filter, commits with their diff, branches and tags;
// refs redirecting to SHA URLs; immutable caching with ETags; hostile
// names, paths, branches and messages shown inert; the pages without
// JavaScript; axe; who may see a private repository's pages (anonymous,
// outsider, reader, writer).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE, launch, context, register, token, api, git, uniq, shot, axe, visit } from './lib.mjs';

let browser;
let owner;
let tok;
let fx; // the public fixture
before(async () => {
  browser = await launch();
  const ctx = await context(browser);
  owner = await register(ctx);
  tok = token(owner);
  await ctx.close();
  fx = await fixture(uniq('site'), false);
});
after(async () => { await browser.close(); });

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const XSS_NAME = '<img src=x onerror=alert(1)>.txt';
const SCRIPT_PATH = 'odd/<script>alert(8)</script>.txt'; // a directory '<script>alert(8)<'
const QUOTE_NAME = '"onerror=alert(2) x=".txt';
const BIDI_NAME = 'invoice\u202Etxt.exe';
const BRANCH = 'feat/"onmouseover=alert(3)"&x=(y)';
const MESSAGE = 'Add <img src=x onerror=alert(4)> and <script>alert(5)</script>';

// A repository with the files the pages must cope with, a hostile branch,
// a tag, and 34 commits on main (two pages of history).
async function fixture(name, priv) {
  const r = await api('POST', '/api/repos', tok, { name, private: priv,
    description: 'fixture <b>not bold</b>' });
  assert.equal(r.status, 201, r.text);
  const dir = mkdtempSync(join(tmpdir(), 'plue-browse-'));
  git(dir, 'init', '-q');
  const put = (p, c) => { mkdirSync(join(dir, p, '..'), { recursive: true }); writeFileSync(join(dir, p), c); };
  put('README.md', '# Hello fixture\n\nSome *emphasis* and <script>alert(6)</script> raw HTML.\n\n[bad](javascript:alert(7))\n');
  put('src/lib/deep/util.c', Array.from({ length: 40 }, (_, i) => `int line${i + 1} = ${i + 1};`).join('\n') + '\n');
  put('docs/guide.md', '## Guide\n\ntext\n');
  put('img/logo.png', PNG);
  put('bin/data.bin', Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]));
  put('big/large.txt', 'x'.repeat(1100 * 1024) + '\n');
  put(`odd/${XSS_NAME}`, 'xss\n');
  put(SCRIPT_PATH, 'script\n');
  put(`odd/${QUOTE_NAME}`, 'quote\n');
  put(`odd/${BIDI_NAME}`, 'bidi\n');
  git(dir, 'add', '-A');
  commitAt(dir, '-m', MESSAGE);
  for (let i = 1; i <= 32; i++) commitAt(dir, '--allow-empty', '-m', `empty commit ${i}`);
  writeFileSync(join(dir, 'src/lib/deep/util.c'), 'int changed = 1;\n');
  commitAt(dir, '-am', 'change util.c');
  git(dir, 'tag', 'v1.0');
  git(dir, 'branch', BRANCH);
  const url = new URL(`/${owner}/${name}.git`, BASE);
  url.username = owner;
  url.password = tok;
  git(dir, 'push', '-q', url.toString(), 'HEAD:main', `${BRANCH}:${BRANCH}`, 'v1.0');
  const sha = git(dir, 'rev-parse', 'HEAD').trim();
  const first = git(dir, 'rev-list', '--max-parents=0', 'HEAD').trim();
  return { name, dir, sha, first, base: `/${owner}/${name}` };
}

// git commit at a given second, so that history has one order.
let clock = 1700000000;
function commitAt(dir, ...args) {
  const date = `${++clock} +0000`;
  execFileSync('git', ['-c', 'user.name=Test User', '-c', 'user.email=test@example.com', 'commit',
    '-q', ...args], { cwd: dir, env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
  stdio: ['ignore', 'pipe', 'pipe'] });
}

// Fails the test if anything on the page opens a dialog.
function noDialogs(page) {
  const seen = [];
  page.on('dialog', async (d) => { seen.push(d.message()); await d.dismiss(); });
  return seen;
}

test('overview → tree → blob (#L5) → history (next page) → commit, by clicks', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const page = await ctx.newPage();
  const dialogs = noDialogs(page);
  await visit(page, fx.base);
  assert.equal(await page.textContent('.description'), 'fixture <b>not bold</b>');
  assert.equal(await page.textContent('.readme .markdown h1'), 'Hello fixture');
  assert.equal(await page.locator('.readme script').count(), 0);
  assert.equal(await page.locator('.readme a[href^="javascript"]').count(), 0);
  assert.equal(await page.inputValue('#clone-http'), `${BASE}${fx.base}.git`);
  assert.equal(await page.textContent('.lastcommit a[href*="/commit/"]'), 'change util.c');
  assert.match(await page.textContent('.switcher summary'), /main/);
  await axe(page, 'overview');
  await shot(page, 'browse-overview');

  await Promise.all([page.waitForURL(/\/tree\/[0-9a-f]{40}\/src$/), page.click('table.tree a:text("src/")')]);
  await page.click('table.tree a:text("lib/")');
  await page.click('table.tree a:text("deep/")');
  assert.match(await page.textContent('nav.crumbs'), /src \/ lib \/ deep/);
  await axe(page, 'tree');
  await shot(page, 'browse-tree');
  await Promise.all([page.waitForURL(/\/blob\/[0-9a-f]{40}\/src\/lib\/deep\/util\.c$/),
    page.click('table.tree a:text("util.c")')]);
  assert.equal(await page.textContent('#L1 td:nth-child(2)'), 'int changed = 1;');
  await axe(page, 'blob');

  // a line anchor: the row is the :target, highlighted by the stylesheet
  const old = `${fx.base}/blob/${fx.first}/src/lib/deep/util.c`;
  await visit(page, old);
  await page.click('#L5 a');
  assert.equal(new URL(page.url()).hash, '#L5');
  assert.equal(await page.evaluate(() => document.querySelector(':target')?.id), 'L5');
  const bg = await page.$eval('#L5', (e) => getComputedStyle(e).backgroundColor);
  const plain = await page.$eval('#L6', (e) => getComputedStyle(e).backgroundColor);
  assert.notEqual(bg, plain, 'the target line is highlighted');
  await shot(page, 'browse-blob-L5');

  // history: 30 a page, then the rest
  await visit(page, `${fx.base}/blob/${fx.sha}/src/lib/deep/util.c`);
  await Promise.all([page.waitForURL(/\/commits\//), page.click('.locbar a:text("History")')]);
  assert.equal(await page.inputValue('#path'), 'src/lib/deep/util.c');
  assert.equal(await page.locator('li.commit').count(), 2, 'two commits touch util.c');
  await visit(page, `${fx.base}/commits/${fx.sha}`);
  assert.equal(await page.locator('li.commit').count(), 30);
  await axe(page, 'history');
  await shot(page, 'browse-history');
  await Promise.all([page.waitForURL(/cursor=/), page.click('a[rel="next"]')]);
  assert.equal(await page.locator('li.commit').count(), 4);
  assert.equal(await page.locator('a[rel="next"]').count(), 0);
  // the markup of a message shows as text
  const subj = page.locator('li.commit a.subject').last();
  assert.equal(await subj.textContent(), MESSAGE);

  // the commit and its diff
  await Promise.all([page.waitForURL(/\/commit\/[0-9a-f]{40}$/), subj.click()]);
  assert.equal(await page.textContent('h2.subject'), MESSAGE);
  assert.ok(await page.locator('table.files a:text("src/lib/deep/util.c")').count());
  assert.match(await page.textContent('section.diff:has-text("util.c") tr.add >> nth=0'), /\+int line1 = 1;/);
  assert.match(await page.textContent('section.diff:has-text("data.bin")'), /Binary file changed/);
  await axe(page, 'commit');
  await shot(page, 'browse-commit');

  await visit(page, `${fx.base}/commit/${fx.sha}`);
  assert.match(await page.textContent('section.diff tr.del'), /-int line1 = 1;/);
  assert.match(await page.textContent('section.diff tr.add'), /\+int changed = 1;/);

  for (const p of ['branches', 'tags']) {
    await visit(page, `${fx.base}/${p}`);
    await axe(page, p);
    await shot(page, `browse-${p}`);
  }
  assert.equal(await page.textContent('table.refs a[href*="/tree/"]'), 'v1.0');
  assert.deepEqual(dialogs, []);
  await ctx.close();
});

test('hostile names, paths, branches and messages are shown inert', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const dialogs = noDialogs(page);
  await visit(page, `${fx.base}/tree/${fx.sha}/odd`);
  const names = await page.$$eval('table.tree td:first-child a', (as) => as.map((a) => a.textContent));
  assert.ok(names.includes(XSS_NAME), names.join(' | '));
  assert.ok(names.includes(QUOTE_NAME), names.join(' | '));
  assert.ok(names.includes('<script>alert(8)</'), names.join(' | '));
  // the bidi control is named, not obeyed
  assert.ok(await page.locator('table.tree .bidi').count() >= 1);
  assert.equal(await page.locator('main script').count(), 0);
  await shot(page, 'browse-hostile-names');
  await page.click(`table.tree a:text("${XSS_NAME}")`);
  assert.equal(await page.textContent('nav.crumbs strong'), XSS_NAME);
  assert.equal(await page.textContent('#L1 td:nth-child(2)'), 'xss');
  await visit(page, `${fx.base}/blob/${fx.sha}/${SCRIPT_PATH.split('/').map(encodeURIComponent).join('/')}`);
  assert.equal(await page.textContent('nav.crumbs'), `${fx.name} / odd / <script>alert(8)< / script>.txt`);
  assert.equal(await page.textContent('#L1 td:nth-child(2)'), 'script');

  // the branch: listed, linked by SHA, reachable by name through a redirect
  await visit(page, `${fx.base}/branches`);
  assert.ok((await page.$$eval('table.refs td:first-child a', (as) => as.map((a) => a.textContent))).includes(BRANCH));
  await visit(page, fx.base);
  await page.click('.switcher summary');
  await page.locator('.switcher a', { hasText: BRANCH }).click();
  assert.match(page.url(), /\/tree\/[0-9a-f]{40}$/);
  const byName = `${fx.base}/tree/${BRANCH.split('/').map(encodeURIComponent).join('/')}/src`;
  await visit(page, byName);
  assert.equal(page.url(), `${BASE}${fx.base}/tree/${fx.sha}/src`);
  assert.deepEqual(dialogs, []);
  await ctx.close();
});

test('images, binaries, large files and Markdown on blob pages; raw files', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const dialogs = noDialogs(page);
  await visit(page, `${fx.base}/blob/${fx.sha}/img/logo.png`);
  const img = page.locator('p.image img');
  assert.equal(await img.getAttribute('src'), `${fx.base}/raw/${fx.sha}/img/logo.png`);
  assert.equal(await img.evaluate((e) => e.complete && e.naturalWidth), 1);
  await visit(page, `${fx.base}/blob/${fx.sha}/bin/data.bin`);
  assert.match(await page.textContent('main'), /binary file/);
  await visit(page, `${fx.base}/blob/${fx.sha}/big/large.txt`);
  assert.match(await page.textContent('main'), /too large to show here/);
  assert.equal(await page.locator('table.code').count(), 0);
  await visit(page, `${fx.base}/blob/${fx.sha}/docs/guide.md`);
  assert.equal(await page.textContent('.markdown h2'), 'Guide');
  await page.click('a:text("Source")');
  assert.match(page.url(), /\?plain=1$/);
  assert.equal(await page.textContent('#L1 td:nth-child(2)'), '## Guide');

  const raw = await fetch(`${BASE}${fx.base}/raw/${fx.sha}/README.md`);
  assert.equal(raw.status, 200);
  assert.equal(raw.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.match(raw.headers.get('content-security-policy'), /sandbox/);
  assert.equal(raw.headers.get('x-content-type-options'), 'nosniff');
  assert.match(await raw.text(), /^# Hello fixture/);
  const rawByName = await fetch(`${BASE}${fx.base}/raw/main/README.md`, { redirect: 'manual' });
  assert.equal(rawByName.status, 302);
  assert.equal(rawByName.headers.get('location'), `${fx.base}/raw/${fx.sha}/README.md`);
  assert.deepEqual(dialogs, []);
  await ctx.close();
});

test('refs redirect to SHA URLs; SHA pages are immutable, with ETags and 304s', async () => {
  const get = (p, headers = {}) => fetch(BASE + p, { redirect: 'manual', headers });
  let r = await get(`${fx.base}/tree/main/src/lib`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${fx.base}/tree/${fx.sha}/src/lib`);
  assert.match(r.headers.get('cache-control'), /^public, max-age=\d+$/);
  r = await get(`${fx.base}/commits/v1.0?path=README.md`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${fx.base}/commits/${fx.sha}?path=README.md`);
  r = await get(`${fx.base}/blob/nope/README.md`);
  assert.equal(r.status, 404);
  assert.match(await r.text(), /no branch or tag named &#39;nope&#39;|no branch or tag named 'nope'/);

  for (const p of [`/tree/${fx.sha}/src`, `/blob/${fx.sha}/README.md`, `/commits/${fx.sha}`,
    `/commit/${fx.sha}`]) {
    r = await get(fx.base + p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable', p);
    assert.match(r.headers.get('content-security-policy'), /script-src 'self'/, p);
    const etag = r.headers.get('etag');
    assert.ok(etag, p);
    const again = await get(fx.base + p, { 'If-None-Match': etag });
    assert.equal(again.status, 304, p);
    // the second answer comes from the object cache with the page's policy
    const cached = await get(fx.base + p);
    assert.match(cached.headers.get('content-security-policy'), /style-src 'self'/, p);
  }
  // the overview names a branch: seconds at most
  r = await get(fx.base);
  assert.match(r.headers.get('cache-control'), /^public, max-age=\d$/);

  // a signed-in reader's copy is private
  const ctx = await context(browser);
  await register(ctx);
  const page = await ctx.newPage();
  const resp = await visit(page, `${fx.base}/tree/${fx.sha}`);
  assert.equal(resp.headers()['cache-control'], 'private, max-age=31536000, immutable');
  await ctx.close();
});

test('the pages read the same without JavaScript', async () => {
  const ctx = await context(browser, { javaScriptEnabled: false });
  const page = await ctx.newPage();
  await visit(page, fx.base);
  assert.equal(await page.textContent('.readme .markdown h1'), 'Hello fixture');
  // the switcher is a <details>: it opens without script
  await page.click('.switcher summary');
  assert.ok(await page.locator('.switcher a:text("main")').isVisible());
  await visit(page, `${fx.base}/tree/${fx.sha}/src/lib/deep`);
  assert.ok(await page.locator('table.tree a:text("util.c")').count());
  await visit(page, `${fx.base}/blob/${fx.sha}/src/lib/deep/util.c#L1`);
  assert.equal(await page.textContent('#L1 td:nth-child(2)'), 'int changed = 1;');
  await visit(page, `${fx.base}/commits/${fx.sha}`);
  assert.equal(await page.locator('li.commit').count(), 30);
  // the path filter is a GET form
  await page.fill('#path', 'README.md');
  await Promise.all([page.waitForURL(/path=README\.md/), page.click('form button:text("Filter")')]);
  assert.equal(await page.locator('li.commit').count(), 1);
  await visit(page, `${fx.base}/commit/${fx.sha}`);
  assert.ok(await page.locator('section.diff tr.add').count());
  await ctx.close();
});

test('an empty repository says how to push to it', async () => {
  const name = uniq('empty');
  const r = await api('POST', '/api/repos', tok, { name });
  assert.equal(r.status, 201, r.text);
  const ctx = await context(browser, { bypassCSP: true });
  const page = await ctx.newPage();
  await visit(page, `/${owner}/${name}`);
  assert.match(await page.textContent('main'), /This repository is empty/);
  assert.match(await page.textContent('main pre'), new RegExp(`git remote add origin ${BASE}/${owner}/${name}\\.git`));
  await axe(page, 'empty overview');
  await shot(page, 'browse-empty');
  await ctx.close();
});

test('a private repository: 404 for anonymous and outsiders on every page, readers see', async () => {
  const sec = await fixture(uniq('secret'), true);
  const paths = ['', `/tree/${sec.sha}`, `/tree/${sec.sha}/src`, `/tree/main/src`,
    `/blob/${sec.sha}/README.md`, `/raw/${sec.sha}/README.md`, `/commits/${sec.sha}`,
    `/commit/${sec.sha}`, '/branches', '/tags'].map((p) => sec.base + p);

  const anon = await context(browser);
  const ap = await anon.newPage();
  for (const p of paths) {
    await visit(ap, p, 404);
    assert.doesNotMatch(await ap.textContent('body'), /Hello fixture|util\.c|change util/, p);
  }
  await anon.close();
  for (const p of paths) {
    const r = await fetch(BASE + p, { redirect: 'manual' });
    assert.equal(r.status, 404, `fetch ${p}`);
  }

  const outsider = await context(browser);
  await register(outsider);
  const op = await outsider.newPage();
  for (const p of paths) await visit(op, p, 404);
  await outsider.close();

  const reader = await context(browser);
  const rname = await register(reader);
  const put = await api('PUT', `/api/repos/${owner}/${sec.name}/collaborators/${rname}`, tok, { role: 'read' });
  assert.ok(put.status === 200 || put.status === 201 || put.status === 204, put.text);
  const rp = await reader.newPage();
  for (const p of paths) {
    const raw = p.includes('/raw/');
    const resp = raw ? await rp.goto(p) : await visit(rp, p);
    assert.equal(resp.status(), 200, p);
    const cc = resp.headers()['cache-control'] || '';
    assert.doesNotMatch(cc, /public/, `${p}: ${cc}`);
  }
  await visit(rp, `${sec.base}/blob/${sec.sha}/src/lib/deep/util.c`);
  assert.equal(await rp.textContent('#L1 td:nth-child(2)'), 'int changed = 1;');
  await reader.close();

  // a writer sees every page too (there is nothing to change on them)
  const writer = await context(browser);
  const wname = await register(writer);
  const wput = await api('PUT', `/api/repos/${owner}/${sec.name}/collaborators/${wname}`, tok, { role: 'write' });
  assert.ok(wput.status >= 200 && wput.status < 300, wput.text);
  const wp = await writer.newPage();
  for (const p of paths) {
    const resp = p.includes('/raw/') ? await wp.goto(p) : await visit(wp, p);
    assert.equal(resp.status(), 200, p);
  }
  await writer.close();
});
