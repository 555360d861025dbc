// pulls.test.mjs — pull requests through the pages: a branch pushed with
// git, opened on the compare page, commented on, an inline comment on a
// line of the files tab (outdated once a push changes its line), approved by a collaborator, merged (merge, squash
// and rebase) and seen in a fresh clone; the compare page's branch
// pickers, with and without JavaScript; a file's diff too large to show; conflicts and branch protection
// shown with the merge engine's messages; hostile names, titles, paths and
// contents shown inert; who may see and do what on a private repository;
// forged forms; the refusals of every form with status and message; the
// pages without JavaScript; axe on each page type.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE, launch, context, register, token, api, git, repoWithFiles, uniq, shot, axe, visit,
  post, cookieHeader } from './lib.mjs';

const XSS = '<script>alert(1)</script>';
const RLO = '\u202e';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

// A page that fails the test if anything opens a dialog (a script ran).
async function guarded(ctx) {
  const page = await ctx.newPage();
  page.on('dialog', (d) => { d.dismiss(); assert.fail(`a dialog opened: ${d.message()}`); });
  return page;
}

// An account signed in in its own context, with an API token.
async function person(opts = {}) {
  const ctx = await context(browser, opts);
  const name = await register(ctx);
  return { ctx, name, tok: token(name) };
}

// Commits files ({path: content}) on branch (made from main) and pushes it.
function pushBranch(repo, branch, files, message = `change on ${branch}`) {
  git(repo.dir, 'checkout', '-q', '-B', branch, 'main');
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(repo.dir, p, '..'), { recursive: true });
    writeFileSync(join(repo.dir, p), c);
  }
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', message);
  git(repo.dir, 'push', '-q', repo.url, `HEAD:refs/heads/${branch}`);
  const sha = git(repo.dir, 'rev-parse', 'HEAD').trim();
  git(repo.dir, 'checkout', '-q', 'main');
  return sha;
}

function clone(repo) {
  const d = mkdtempSync(join(tmpdir(), 'plue-clone-'));
  git(d, 'clone', '-q', repo.url, 'c');
  return join(d, 'c');
}

async function openPull(owner, repoName, head, title, tok) {
  const r = await api('POST', `/api/${owner}/${repoName}/pulls`, tok, { title, head, base: 'main' });
  assert.equal(r.status, 201, r.text);
  return r.body.number;
}

async function collaborator(owner, repoName, tok, user, role) {
  const r = await api('PUT', `/api/repos/${owner}/${repoName}/collaborators/${user}`, tok, { role });
  assert.ok(r.status === 200 || r.status === 201 || r.status === 204, r.text);
}

// Clicks the submit button of a form and waits for the answer to its post.
async function submit(page, selector) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click(selector)]);
  await page.waitForLoadState();
  return resp;
}

test('push, open on the compare page, comment, inline comment, approve, merge, clone', async () => {
  const a = await person({ bypassCSP: true });
  const b = await person();
  const name = uniq('pr');
  const repo = await repoWithFiles(a.name, a.tok, name, {
    'README.md': '# hello\n', 'src/app.js': 'one\ntwo\nthree\n' });
  await collaborator(a.name, name, a.tok, b.name, 'write');
  pushBranch(repo, 'feature', { 'src/app.js': 'one\n2\nthree\nfour\n' }, 'Improve the app');
  const page = await guarded(a.ctx);
  const base = `/${a.name}/${name}`;

  await visit(page, `${base}/pulls`);
  await axe(page, 'pull list (empty)');
  await page.click('a:has-text("New pull request")');
  assert.equal(await page.inputValue('#base'), 'main');
  await page.selectOption('#head', 'feature');
  await page.click('button:has-text("Compare")');
  await page.waitForLoadState();
  assert.match(await page.textContent('main'), /Improve the app/);
  assert.match(await page.textContent('main'), /src\/app\.js/);
  await axe(page, 'compare');
  await shot(page, 'pulls-compare');
  await page.fill('#title', 'Better app');
  await page.fill('#body', 'It is **better**.');
  const created = await submit(page, 'button:has-text("Create pull request")');
  assert.equal(created.status(), 303);
  assert.match(page.url(), new RegExp(`${base}/pull/1$`));
  assert.equal(await page.textContent('.markdown strong'), 'better');

  await page.fill('#comment-body', 'First comment here');
  await submit(page, 'button:has-text("Comment")');
  assert.match(page.url(), /#comment-\d+$/);
  assert.match(await page.textContent('.box.comment:last-of-type, main'), /First comment here/);
  await axe(page, 'conversation');
  await shot(page, 'pulls-conversation');

  // an inline comment: the line number opens the form under the line
  await page.click('nav[aria-label="pull request"] a:has-text("Files changed")');
  await page.click('a[href*="?comment=src%2Fapp.js%3ARIGHT%3A2"]');
  await page.fill('#line-body', 'Why 2?');
  await submit(page, 'button:has-text("Add comment")');
  assert.match(page.url(), /\/files#rc-\d+$/);
  const row = page.locator('tr.rcomments').first();
  assert.match(await row.textContent(), /Why 2\?/);
  // it sits right under line 2 of the new file
  assert.equal(await page.locator('tr#f0-R2 + tr.rcomments').count(), 1);
  await axe(page, 'files');
  await shot(page, 'pulls-files');

  // the collaborator approves
  const pb = await guarded(b.ctx);
  await visit(pb, `${base}/pull/1/files`);
  await pb.check('#ev-APPROVE');
  await pb.fill('#review-body', 'Looks good');
  await submit(pb, 'button:has-text("Submit review")');
  assert.match(pb.url(), /\/pull\/1#review-\d+$/);
  assert.equal(await pb.locator('.box.review', { hasText: 'approved these changes' }).count(), 1);

  await visit(page, `${base}/pull/1/commits`);
  assert.match(await page.textContent('table.commits'), /Improve the app/);
  await axe(page, 'commits');
  await shot(page, 'pulls-commits');

  // merge
  await visit(page, `${base}/pull/1`);
  assert.match(await page.textContent('.mergebox'), /no conflicts/);
  await page.check('#method-merge');
  await submit(page, '#merge-button');
  assert.match(await page.textContent('main'), /merged this pull request/);
  await shot(page, 'pulls-merged');
  const c = clone(repo);
  assert.match(git(c, 'log', '-1', '--format=%s'), /Merge pull request #1 from feature/);
  assert.match(git(c, 'show', 'HEAD:src/app.js'), /four/);

  // squash and rebase, each on its own pull request
  for (const method of ['squash', 'rebase']) {
    git(repo.dir, 'pull', '-q', '--ff-only', repo.url, 'main');
    pushBranch(repo, `by-${method}`, { [`${method}.txt`]: `${method}\n` }, `Add ${method}.txt`);
    const n = await openPull(a.name, name, `by-${method}`, `By ${method}`, a.tok);
    await visit(page, `${base}/pull/${n}`);
    await page.check(`#method-${method}`);
    await submit(page, '#merge-button');
    assert.match(await page.textContent('main'), new RegExp(`merged this pull request \\(${method}\\)`));
    const cc = clone(repo);
    assert.equal(git(cc, 'show', `HEAD:${method}.txt`), `${method}\n`);
    assert.equal(git(cc, 'rev-list', '--parents', '-n1', 'HEAD').trim().split(' ').length, 2,
      `${method}: one parent`);
  }

  // the list: merged ones under "merged", with JavaScript off the same
  await visit(page, `${base}/pulls?state=merged`);
  assert.equal(await page.locator('ul.pulls li').count(), 3);
  await axe(page, 'pull list');
  await shot(page, 'pulls-list');
  const nojs = await context(browser, { javaScriptEnabled: false,
    storageState: await a.ctx.storageState() });
  const pn = await nojs.newPage();
  for (const path of [`${base}/pulls?state=merged`, `${base}/pull/1`, `${base}/pull/1/commits`,
    `${base}/pull/1/files`]) {
    await page.goto(path);
    await pn.goto(path);
    assert.equal(await pn.textContent('main h2'), await page.textContent('main h2'), path);
    assert.equal(await pn.locator('main a').count(), await page.locator('main a').count(), path);
  }
  assert.match(await pn.textContent('main'), /Why 2\?/);
  await nojs.close();
  await a.ctx.close();
  await b.ctx.close();
});

test('a conflicting pull request lists its conflicts and has no merge button', async () => {
  const a = await person({ bypassCSP: true });
  const name = uniq('cf');
  const repo = await repoWithFiles(a.name, a.tok, name, { 'f.txt': 'a\nb\nc\n' });
  pushBranch(repo, 'left', { 'f.txt': 'a\nLEFT\nc\n' });
  const n = await openPull(a.name, name, 'left', 'Left', a.tok);
  writeFileSync(join(repo.dir, 'f.txt'), 'a\nMAIN\nc\n');
  git(repo.dir, 'commit', '-qam', 'main moves');
  git(repo.dir, 'push', '-q', repo.url, 'HEAD:main');
  const page = await guarded(a.ctx);
  await visit(page, `/${a.name}/${name}/pull/${n}`);
  assert.match(await page.textContent('.mergebox'), /conflicts that must be resolved/);
  assert.equal(await page.textContent('.mergebox ul.conflicts li'), 'f.txt');
  assert.match(await page.textContent('.mergebox'), /1 commit behind/);
  assert.equal(await page.locator('#merge-button').count(), 0);
  await axe(page, 'conflicts');
  await shot(page, 'pulls-conflicts');
  // a forged merge post gets the merge engine's refusal
  const csrf = await page.inputValue('input[name=_csrf] >> nth=0');
  const r = await post(`/${a.name}/${name}/pull/${n}/merge`, { _csrf: csrf, method: 'merge' },
    await cookieHeader(a.ctx));
  assert.equal(r.status, 409);
  assert.match(r.text, /id="merge-error"[^>]*>[^<]*conflict/);
  await a.ctx.close();
});

test('branch protection: the refusal is shown with its message until a writer approves', async () => {
  const a = await person();
  const b = await person();
  const name = uniq('pt');
  const repo = await repoWithFiles(a.name, a.tok, name, { 'f.txt': 'x\n' });
  await collaborator(a.name, name, a.tok, b.name, 'write');
  const pr = await api('PUT', `/api/${a.name}/${name}/protections/main`, a.tok,
    { required_approvals: 1 });
  assert.ok(pr.status === 200 || pr.status === 201, pr.text);
  pushBranch(repo, 'guarded', { 'g.txt': 'g\n' });
  const n = await openPull(a.name, name, 'guarded', 'Guarded', a.tok);
  const page = await guarded(a.ctx);
  await visit(page, `/${a.name}/${name}/pull/${n}`);
  assert.match(await page.textContent('.mergebox'), /Requires 1 approving review/);
  assert.match(await page.textContent('#merge-error'), /approv/);
  assert.equal(await page.locator('#merge-button').count(), 0);
  await shot(page, 'pulls-protected');
  const csrf = await page.inputValue('input[name=_csrf] >> nth=0');
  const r = await post(`/${a.name}/${name}/pull/${n}/merge`, { _csrf: csrf, method: 'merge' },
    await cookieHeader(a.ctx));
  assert.equal(r.status, 409);
  assert.match(r.text, /id="merge-error"/);
  // the author cannot approve their own; the collaborator can
  await visit(page, `/${a.name}/${name}/pull/${n}/files`);
  await page.check('#ev-APPROVE');
  const own = await submit(page, 'button:has-text("Submit review")');
  assert.equal(own.status(), 403);
  assert.match(await page.textContent('#review-body-error'), /cannot approve your own pull request/);
  const pb = await guarded(b.ctx);
  await visit(pb, `/${a.name}/${name}/pull/${n}/files`);
  await pb.check('#ev-APPROVE');
  await submit(pb, 'button:has-text("Submit review")');
  await visit(page, `/${a.name}/${name}/pull/${n}`);
  assert.equal(await page.locator('#merge-error').count(), 0);
  await submit(page, '#merge-button');
  assert.match(await page.textContent('main'), /merged this pull request/);
  await a.ctx.close();
  await b.ctx.close();
});

test('hostile branch names, titles, bodies, paths and contents are shown inert', async () => {
  const a = await person({ bypassCSP: true });
  const name = uniq('xs');
  const repo = await repoWithFiles(a.name, a.tok, name, { 'ok.txt': 'ok\n' });
  const branch = `x${XSS}"onerror=${RLO}b`;
  const path = `dir/a${XSS.replace(/\//g, '_')}"onerror=x${RLO}.txt`;
  pushBranch(repo, branch, { [path]: `${XSS}\n<img src=x onerror=alert(2)>\n${RLO}evil\n` },
    `commit ${XSS}`);
  const page = await guarded(a.ctx);
  await visit(page, `/${a.name}/${name}/compare?base=main&head=${encodeURIComponent(branch)}`);
  assert.match(await page.textContent('main'), /commit <script>alert\(1\)<\/script>/);
  // the branch picker offers the name as it is, and picks it
  assert.equal(await page.inputValue('#head'), branch);
  assert.equal(await page.locator('#head option', { hasText: 'onerror=' }).count(), 1);
  await page.fill('#title', `T ${XSS} ${RLO}`);
  await page.fill('#body', `${XSS} <img src=x onerror=alert(3)> [link](javascript:alert(4))`);
  const made = await submit(page, 'button:has-text("Create pull request")');
  assert.equal(made.status(), 303, await page.textContent('main'));
  assert.match(page.url(), /\/pull\/1$/);
  assert.equal(await page.textContent('h2.pulltitle'), `T ${XSS} [U+202E] #1`.replace('[U+202E]',
    await page.textContent('h2.pulltitle .bidi')));
  assert.ok(await page.locator('h2.pulltitle .bidi').count() >= 1, 'bidi control shown');
  assert.match(await page.textContent('.pullhead'), /x<script>alert\(1\)<\/script>"onerror=/);
  assert.equal(await page.locator('main script, main img[onerror], a[href^="javascript:"]').count(), 0);
  await axe(page, 'hostile conversation');
  await visit(page, `/${a.name}/${name}/pull/1/files`);
  const main = await page.textContent('main');
  assert.ok(main.includes(`+${XSS}`), 'file content shown as text');
  assert.ok(main.includes('onerror=x'), 'path shown');
  assert.equal(await page.locator('main script, main img').count(), 0);
  assert.ok(await page.locator('tr td:nth-child(3) .bidi').count() >= 1);
  await shot(page, 'pulls-hostile');
  await a.ctx.close();
});

test('a private repository: anonymous and outsiders get 404, readers see and comment but cannot merge', async () => {
  const a = await person();
  const reader = await person();
  const outsider = await person();
  const writer = await person();
  const name = uniq('pv');
  const repo = await repoWithFiles(a.name, a.tok, name, { 'f.txt': 'f\n' }, { private: true });
  await collaborator(a.name, name, a.tok, reader.name, 'read');
  await collaborator(a.name, name, a.tok, writer.name, 'write');
  pushBranch(repo, 'topic', { 'f.txt': 'g\n' });
  const n = await openPull(a.name, name, 'topic', 'Topic', a.tok);
  const base = `/${a.name}/${name}`;
  const pages = [`${base}/pulls`, `${base}/compare?head=topic`, `${base}/pull/${n}`,
    `${base}/pull/${n}/commits`, `${base}/pull/${n}/files`];
  const anon = await context(browser);
  for (const [who, ctx] of [['anonymous', anon], ['outsider', outsider.ctx]]) {
    const p = await ctx.newPage();
    for (const path of pages) {
      await visit(p, path, 404);
      assert.doesNotMatch(await p.textContent('main'), /Topic/, `${who} ${path}`);
    }
  }
  const pr = await guarded(reader.ctx);
  for (const path of pages) await visit(pr, path);
  await visit(pr, `${base}/pull/${n}`);
  assert.equal(await pr.locator('#merge-button').count(), 0);
  assert.match(await pr.textContent('#merge-error'), /write/);
  await pr.fill('#comment-body', 'A reader speaks');
  const rc = await submit(pr, 'button:has-text("Comment")');
  assert.equal(rc.status(), 303);
  assert.match(await pr.textContent('main'), /A reader speaks/);
  const csrf = await pr.inputValue('input[name=_csrf] >> nth=0');
  const m = await post(`${base}/pull/${n}/merge`, { _csrf: csrf, method: 'merge' },
    await cookieHeader(reader.ctx));
  assert.equal(m.status, 403);
  assert.match(m.text, /id="merge-error"[^>]*>[^<]*write/);
  const pw = await guarded(writer.ctx);
  await visit(pw, `${base}/pull/${n}`);
  assert.equal(await pw.locator('#merge-button').count(), 1);
  // posting as anonymous: refused, nothing merged
  const an = await post(`${base}/pull/${n}/merge`, { method: 'merge' });
  assert.ok(an.status === 403 || an.status === 401 || an.status === 404, String(an.status));
  const still = await api('GET', `/api${base}/pulls/${n}`, a.tok);
  assert.equal(still.body.merged, false);
  for (const c of [anon, a.ctx, reader.ctx, outsider.ctx, writer.ctx]) await c.close();
});

test('forged forms are refused and change nothing; every form error has its status and message', async () => {
  const a = await person();
  const name = uniq('fe');
  const repo = await repoWithFiles(a.name, a.tok, name, { 'f.txt': 'f\n' });
  pushBranch(repo, 'topic', { 'f.txt': 'g\n' });
  git(repo.dir, 'push', '-q', repo.url, 'main:refs/heads/same');
  const n = await openPull(a.name, name, 'topic', 'Topic', a.tok);
  const base = `/${a.name}/${name}`;
  const cookie = await cookieHeader(a.ctx);
  for (const fields of [{ body: 'forged' }, { body: 'forged', _csrf: 'x'.repeat(43) }]) {
    const r = await post(`${base}/pull/${n}/comments`, fields, cookie);
    assert.equal(r.status, 403);
    assert.match(r.text, /the form has expired or was sent from another site/);
  }
  const tl = await api('GET', `/api${base}/issues/${n}/comments`, a.tok);
  assert.equal(tl.body.length, 0);

  const page = await guarded(a.ctx);
  // an empty comment
  await visit(page, `${base}/pull/${n}`);
  await page.evaluate(() => document.querySelector('#comment-body').removeAttribute('required'));
  const e1 = await submit(page, 'button:has-text("Comment")');
  assert.equal(e1.status(), 400);
  assert.equal(await page.textContent('#comment-body-error'), 'write a comment first');
  // an empty title on edit, the input kept
  await page.click('summary:has-text("Edit title")');
  await page.fill('#edit-title', '');
  await page.evaluate(() => document.querySelector('#edit-title').removeAttribute('required'));
  await page.fill('#edit-body', 'kept body');
  const e2 = await submit(page, 'details.edit button');
  assert.equal(e2.status(), 400);
  assert.match(await page.textContent('#edit-error'), /title/);
  assert.equal(await page.inputValue('#edit-body'), 'kept body');
  // compare: the same branch, no commits between, an open one already
  for (const [head, status, re] of [['main', 400, /same branch/], ['same', 400, /has no commits/],
    ['nope', 400, /does not exist/]]) {
    const r = await page.goto(`${base}/compare?base=main&head=${head}`);
    assert.equal(r.status(), status, await page.textContent('main'));
    assert.match(await page.textContent('#compare-error'), re);
  }
  await visit(page, `${base}/compare?base=main&head=topic`);
  assert.match(await page.textContent('.notice'), /already exists/);
  await page.fill('#title', 'Kept title');
  const e3 = await submit(page, 'button:has-text("Create pull request")');
  assert.equal(e3.status(), 409);
  assert.match(await page.textContent('#title-error'), /an open pull request for 'topic' into 'main' already exists/);
  assert.equal(await page.inputValue('#title'), 'Kept title');
  // an inline comment on a line that is not in the diff
  await visit(page, `${base}/pull/${n}/files?comment=f.txt:RIGHT:1`);
  await page.fill('#line-body', 'kept comment');
  await page.evaluate(() => { const f = document.querySelector('#line-body').form;
    f.action = f.action.replace(/RIGHT%3A1$/, 'RIGHT%3A99'); });
  const e4 = await submit(page, 'button:has-text("Add comment")');
  assert.equal(e4.status(), 400);
  assert.match(await page.textContent('#line-error'), /line 99/);
  // closing and reopening
  await visit(page, `${base}/pull/${n}`);
  await submit(page, 'button:has-text("Close pull request")');
  assert.equal(await page.textContent('.pullhead .badge'), 'closed');
  await submit(page, 'button:has-text("Reopen pull request")');
  assert.equal(await page.textContent('.pullhead .badge'), 'open');
  await a.ctx.close();
});

// Commits files on branch where it is (not from main) and pushes it.
function pushMore(repo, branch, files, message = `more on ${branch}`) {
  git(repo.dir, 'checkout', '-q', branch);
  for (const [p, c] of Object.entries(files)) writeFileSync(join(repo.dir, p), c);
  git(repo.dir, 'commit', '-qam', message);
  git(repo.dir, 'push', '-q', repo.url, `HEAD:refs/heads/${branch}`);
  const sha = git(repo.dir, 'rev-parse', 'HEAD').trim();
  git(repo.dir, 'checkout', '-q', 'main');
  return sha;
}

test('compare: branch pickers, base defaulting to the default branch, a GET form without JavaScript', async () => {
  const a = await person({ bypassCSP: true });
  const name = uniq('bp');
  const repo = await repoWithFiles(a.name, a.tok, name, { 'f.txt': 'f\n' });
  pushBranch(repo, 'develop', { 'd.txt': 'd\n' }, 'Start develop');
  pushBranch(repo, 'feature', { 'g.txt': 'g\n' }, 'Add g');
  const base = `/${a.name}/${name}`;
  const page = await guarded(a.ctx);
  await visit(page, `${base}/compare`);
  assert.equal(await page.inputValue('#base'), 'main');
  assert.equal(await page.inputValue('#head'), '');
  const offered = await page.$$eval('#head option', (os) => os.map((o) => o.value));
  assert.deepEqual(offered, ['', 'develop', 'feature', 'main']);
  assert.deepEqual(await page.$$eval('#base option', (os) => os.map((o) => o.value)),
    ['develop', 'feature', 'main']);
  assert.equal(await page.textContent('label[for="head"]'), 'Head');
  await axe(page, 'compare pickers');
  await shot(page, 'pulls-compare-pickers');
  await page.selectOption('#base', 'develop');
  await page.selectOption('#head', 'feature');
  await Promise.all([page.waitForURL(/\/compare\?/), page.click('button:has-text("Compare")')]);
  const q = new URL(page.url()).searchParams;
  assert.equal(q.get('base'), 'develop');
  assert.equal(q.get('head'), 'feature');
  assert.match(await page.textContent('main'), /Add g/);
  assert.match(await page.textContent('main'), /1 commit ahead, 1 behind develop/);
  assert.equal(await page.inputValue('#base'), 'develop');
  assert.equal(await page.inputValue('#head'), 'feature');

  // without JavaScript: the same form, the same result
  const nojs = await context(browser, { javaScriptEnabled: false });
  const pn = await nojs.newPage();
  await visit(pn, `${base}/compare`);
  assert.equal(await pn.inputValue('#base'), 'main');
  await pn.selectOption('#head', 'feature');
  await Promise.all([pn.waitForURL(/head=feature/), pn.click('button:has-text("Compare")')]);
  assert.match(await pn.textContent('main'), /1 commit ahead, 0 behind main/);
  assert.match(await pn.textContent('main'), /Sign in/);
  await nojs.close();

  // a name typed into the URL that is no branch stays shown, with the refusal
  const r = await page.goto(`${base}/compare?base=main&head=gone`);
  assert.equal(r.status(), 400);
  assert.equal(await page.inputValue('#head'), 'gone');
  assert.match(await page.textContent('#compare-error'), /does not exist/);
  await a.ctx.close();
});

test('an inline comment whose line a later push changes shows under outdated', async () => {
  const a = await person({ bypassCSP: true });
  const name = uniq('od');
  const repo = await repoWithFiles(a.name, a.tok, name, { 'f.txt': 'one\ntwo\nthree\nfour\n' });
  pushBranch(repo, 'topic', { 'f.txt': 'one\n2\nthree\nfour\n' }, 'Two as a digit');
  const n = await openPull(a.name, name, 'topic', 'Digits', a.tok);
  const base = `/${a.name}/${name}`;
  const page = await guarded(a.ctx);
  for (const [line, body] of [[2, 'Why a digit?'], [3, 'And three stays']]) {
    await visit(page, `${base}/pull/${n}/files?comment=f.txt:RIGHT:${line}`);
    await page.fill('#line-body', body);
    await submit(page, 'button:has-text("Add comment")');
  }
  assert.equal(await page.locator('section.outdated').count(), 0);
  assert.match(await page.textContent('tr#f0-R2 + tr.rcomments'), /Why a digit\?/);

  // the push changes line 2 again: that comment is outdated, line 3's follows
  pushMore(repo, 'topic', { 'f.txt': 'one\nII\nthree\nfour\n' }, 'Two as a numeral');
  await visit(page, `${base}/pull/${n}/files`);
  const out = page.locator('section.outdated');
  assert.equal(await out.count(), 1);
  assert.equal(await out.locator('h2').textContent(), 'Outdated comments');
  assert.match(await out.textContent(), /Why a digit\?/);
  assert.match(await out.textContent(), /f\.txt:2/);
  assert.match(await out.textContent(), /outdated/);
  assert.match(await out.locator('pre').textContent(), /\+2/);
  assert.doesNotMatch(await out.textContent(), /And three stays/);
  assert.doesNotMatch(await page.textContent('table.diff, main table'), /Why a digit\?/);
  assert.match(await page.textContent('tr#f0-R3 + tr.rcomments'), /And three stays/);
  const api1 = await api('GET', `/api${base}/pulls/${n}/comments`, a.tok);
  assert.deepEqual(api1.body.map((c) => [c.body, c.outdated]),
    [['Why a digit?', true], ['And three stays', false]]);
  await axe(page, 'files with outdated comments');
  await shot(page, 'pulls-outdated');
  await a.ctx.close();
});

test('a file whose diff is too large shows a message and the raw link instead', async () => {
  const a = await person({ bypassCSP: true });
  const name = uniq('tl');
  const repo = await repoWithFiles(a.name, a.tok, name, { 'small.txt': 'a\n' });
  const big = Array.from({ length: 5001 }, (_, i) => `line ${i}`).join('\n') + '\n';
  const head = pushBranch(repo, 'huge', { 'big.txt': big, 'small.txt': 'b\n' }, 'A big file');
  const n = await openPull(a.name, name, 'huge', 'Huge', a.tok);
  const base = `/${a.name}/${name}`;
  const page = await guarded(a.ctx);
  for (const path of [`${base}/pull/${n}/files`, `${base}/compare?base=main&head=huge`]) {
    await visit(page, path);
    const notice = page.locator('.notice', { hasText: 'Diff too large' });
    assert.equal(await notice.count(), 1, path);
    assert.match(await notice.textContent(), /Diff too large to show here \(5001 lines\)/);
    const link = notice.locator('a', { hasText: 'View the file raw' });
    assert.equal(await link.getAttribute('href'), `${base}/raw/${head}/big.txt`);
    // the small file beside it is shown in full
    assert.match(await page.textContent('main'), /\+b/);
    assert.doesNotMatch(await page.textContent('main'), /line 4999/);
  }
  await axe(page, 'diff too large');
  const raw = await page.goto(`${base}/raw/${head}/big.txt`);
  assert.equal(raw.status(), 200);
  assert.equal(await raw.text(), big);
  await a.ctx.close();
});
