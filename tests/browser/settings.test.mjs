// settings.test.mjs — the home page (signed out and in), a new repository,
// the account's settings (profile, tokens, SSH keys, sessions) and a
// repository's settings (description, visibility, default branch,
// collaborators, branch protection, secrets, webhooks, deletion): the flows through
// real forms, the refusals with their messages, who may see what, CSRF,
// escaping, axe and the pages without JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BASE, launch, context, register, token, api, git, repoWithFiles, uniq, shot, axe, visit, post,
  cookieHeader,
} from './lib.mjs';

const EVIL = '<script>alert(1)</script>"onerror=alert(2) javascript:alert(3) \u202Eevil';
// EVIL as a form control shows it: the bidi control replaced, nothing else
const EVIL_FIELD = EVIL; // a form field's value round-trips, bidi controls included

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

// A page that fails the test if any dialog opens (a script ran).
async function guarded(ctx) {
  const page = await ctx.newPage();
  page.on('dialog', (d) => { d.dismiss(); assert.fail(`a dialog opened: ${d.message()}`); });
  return page;
}

// Submits the form holding selector and waits for the POST's answer.
async function submit(page, selector) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click(selector),
  ]);
  await page.waitForLoadState();
  return resp;
}

// The CSRF field of the page at path, as ctx sees it.
async function csrf(ctx, path) {
  const page = await ctx.newPage();
  await page.goto(path);
  const v = await page.getAttribute('input[name="_csrf"]', 'value');
  await page.close();
  return v;
}

// A signed-in user with an API token: { ctx, name, tok }.
async function user(opts = {}) {
  const ctx = await context(browser, opts);
  const name = await register(ctx);
  return { ctx, name, tok: token(name) };
}

test('home signed out lists public repositories, never private ones', async () => {
  const a = await user();
  const pub = uniq('pub'), priv = uniq('priv');
  await repoWithFiles(a.name, a.tok, pub, { 'README.md': '# hi\n' }, { description: EVIL });
  await repoWithFiles(a.name, a.tok, priv, { 'README.md': '# secret\n' }, { private: true });
  for (const js of [true, false]) {
    const anon = await context(browser, { bypassCSP: true, javaScriptEnabled: js });
    const page = await guarded(anon);
    await visit(page, '/');
    const html = await page.content();
    assert.ok(await page.isVisible(`a[href="/${a.name}/${pub}"]`), 'the public repository');
    assert.ok(!html.includes(priv), 'no private repository');
    assert.ok(!html.includes('<script>alert(1)'), 'the description is escaped');
    assert.match(await page.textContent('main'), /<script>alert\(1\)<\/script>/);
    if (js) {
      await axe(page, 'home signed out');
      await shot(page, 'settings-home-public');
    }
    await anon.close();
  }
  // a cursor that is not one is refused
  const r = await fetch(`${BASE}/?cursor=nope`);
  assert.equal(r.status, 400);
  await a.ctx.close();
});

test('home signed in: repositories, activity, open issues, mentions', async () => {
  const a = await user({ bypassCSP: true });
  const b = await user();
  const mine = uniq('mine'), theirs = uniq('theirs');
  await repoWithFiles(a.name, a.tok, mine, { 'a.txt': 'a\n' });
  await repoWithFiles(b.name, b.tok, theirs, { 'b.txt': 'b\n' });
  // a's issue in b's public repository, b's mention of a, an issue in a's own
  let r = await api('POST', `/api/${b.name}/${theirs}/issues`, a.tok, { title: 'my open issue' });
  assert.equal(r.status, 201, r.text);
  r = await api('POST', `/api/${b.name}/${theirs}/issues`, b.tok,
    { title: 'please look', body: `hello @${a.name}` });
  assert.equal(r.status, 201, r.text);
  r = await api('POST', `/api/${a.name}/${mine}/issues`, a.tok, { title: `bug ${EVIL}` });
  assert.equal(r.status, 201, r.text);
  for (const js of [true, false]) {
    const ctx = js ? a.ctx : await context(browser, { javaScriptEnabled: false,
      storageState: await a.ctx.storageState() });
    const page = await guarded(ctx);
    await visit(page, '/');
    const activity = await page.textContent('ul[aria-labelledby="activity"]');
    assert.match(activity, /pushed to branch main in/);
    assert.match(activity, /opened issue #1 bug <script>alert\(1\)<\/script>/);
    assert.ok(await page.isVisible(`aside a[href="/${a.name}/${mine}"]`), 'own repository');
    const work = await page.textContent('ul[aria-labelledby="open-work"]');
    assert.match(work, /my open issue/);
    const mentions = await page.textContent('ul[aria-labelledby="mentions"]');
    assert.match(mentions, new RegExp(`${b.name} mentioned you in please look`));
    assert.ok(!(await page.content()).includes('<script>alert(1)'));
    if (js) {
      await axe(page, 'home signed in');
      await shot(page, 'settings-home');
    } else {
      await ctx.close();
    }
  }
  await a.ctx.close();
  await b.ctx.close();
});

test('a new repository through the form; refusals keep the input', async () => {
  const a = await user({ bypassCSP: true });
  const page = await guarded(a.ctx);
  await visit(page, '/new');
  await axe(page, 'new repository');
  await shot(page, 'settings-new');
  const name = uniq('made');
  await page.fill('#name', name);
  await page.fill('#description', 'made by hand');
  await page.check('#vis-private');
  await Promise.all([page.waitForURL(`${BASE}/${a.name}/${name}`),
    page.click('form[action="/new"] button')]);
  const r = await api('GET', `/api/repos/${a.name}/${name}`, a.tok);
  assert.equal(r.status, 200);
  assert.equal(r.body.private, true);
  assert.equal(r.body.description, 'made by hand');

  // the name taken: 409 beside the name, input kept
  await page.goto('/new');
  await page.fill('#name', name);
  await page.fill('#description', 'again');
  await page.check('#vis-private');
  let resp = await submit(page, 'form[action="/new"] button');
  assert.equal(resp.status(), 409);
  assert.match(await page.textContent('#name-error'), /already exists/);
  assert.equal(await page.inputValue('#name'), name);
  assert.equal(await page.inputValue('#description'), 'again');
  assert.ok(await page.isChecked('#vis-private'));
  // an invalid name: 400
  await page.fill('#name', 'no spaces here');
  resp = await submit(page, 'form[action="/new"] button');
  assert.equal(resp.status(), 400);
  assert.ok((await page.textContent('#name-error')).length > 0);
  assert.equal(await page.inputValue('#name'), 'no spaces here');
  await axe(page, 'new repository refused');
  // anonymous: sent to sign in
  const anon = await context(browser);
  const ap = await anon.newPage();
  await ap.goto('/new');
  assert.match(ap.url(), /\/login\?next=%2Fnew$/);
  await anon.close();
  await a.ctx.close();
});

test('profile: change the email, refusals beside the field', async () => {
  const a = await user({ bypassCSP: true });
  const page = await guarded(a.ctx);
  await visit(page, '/settings');
  assert.equal(await page.getAttribute('nav.subnav a[aria-current="page"]', 'href'), '/settings');
  await axe(page, 'profile');
  await shot(page, 'settings-profile');
  await page.fill('#email', 'me@example.com');
  await Promise.all([page.waitForURL(/\/settings\?saved=1$/), page.click('form[action="/settings"] button')]);
  assert.equal(await page.inputValue('#email'), 'me@example.com');
  await page.fill('#email', 'not an email');
  await page.evaluate(() => { document.querySelector('#email').type = 'text'; });
  const resp = await submit(page, 'form[action="/settings"] button');
  assert.equal(resp.status(), 400);
  assert.match(await page.textContent('#email-error'), /email/);
  assert.equal(await page.inputValue('#email'), 'not an email');
  await a.ctx.close();
});

test('tokens: shown once, work against the API, deleted are refused', async () => {
  const a = await user({ bypassCSP: true });
  const page = await guarded(a.ctx);
  await visit(page, '/settings/tokens');
  await axe(page, 'tokens');
  // no name: refused beside the field
  await page.evaluate(() => document.querySelector('#name').removeAttribute('required'));
  let resp = await submit(page, 'form[action="/settings/tokens"] button');
  assert.equal(resp.status(), 400);
  assert.match(await page.textContent('#name-error'), /name/);
  // no scope: refused beside the scopes
  await page.fill('#name', 'none');
  await page.uncheck('#scope-repo\\:read');
  resp = await submit(page, 'form[action="/settings/tokens"] button');
  assert.equal(resp.status(), 400);
  assert.match(await page.textContent('#scopes-error'), /at least one scope/);
  assert.equal(await page.inputValue('#name'), 'none');

  const tname = `ci ${EVIL}`;
  await page.fill('#name', tname);
  await page.check('#scope-repo\\:read');
  await page.check('#scope-user');
  resp = await submit(page, 'form[action="/settings/tokens"] button');
  assert.equal(resp.status(), 201);
  assert.equal(resp.headers()['cache-control'], 'no-store');
  const secret = await page.inputValue('#new-token');
  assert.ok(secret.length > 20);
  await shot(page, 'settings-token-created');
  await axe(page, 'token created');
  let r = await api('GET', '/api/auth/me', secret);
  assert.equal(r.status, 200);
  assert.equal(r.body.user.username, a.name);
  // shown once: the list does not carry it
  await visit(page, '/settings/tokens');
  assert.ok(!(await page.content()).includes(secret));
  assert.match(await page.textContent('table'), /<script>alert\(1\)<\/script>/);
  await shot(page, 'settings-tokens');
  await Promise.all([page.waitForURL(/saved=1/),
    page.click('tbody tr:has-text("alert(1)") button:has-text("Delete")')]);
  r = await api('GET', '/api/auth/me', secret);
  assert.equal(r.status, 401);
  await a.ctx.close();
});

test('SSH keys: add, refuse a duplicate and garbage, delete', async () => {
  const a = await user({ bypassCSP: true });
  const dir = mkdtempSync(join(tmpdir(), 'plue-key-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'laptop', '-f', join(dir, 'k')]);
  const pub = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
  const page = await guarded(a.ctx);
  await visit(page, '/settings/keys');
  await axe(page, 'keys');
  await page.fill('#key', pub);
  await Promise.all([page.waitForURL(/\/settings\/keys$/), page.click('form[action="/settings/keys"] button')]);
  assert.match(await page.textContent('table'), /laptop/);
  assert.match(await page.textContent('table'), /SHA256:/);
  await shot(page, 'settings-keys');
  // the same key again: 409 beside the key, the text kept
  await page.fill('#key', pub);
  let resp = await submit(page, 'form[action="/settings/keys"] button');
  assert.equal(resp.status(), 409);
  assert.ok((await page.textContent('#key-error')).length > 0);
  assert.equal(await page.inputValue('#key'), pub);
  // not a key: 400
  await page.fill('#key', `ssh-ed25519 ${EVIL}`);
  resp = await submit(page, 'form[action="/settings/keys"] button');
  assert.equal(resp.status(), 400);
  assert.ok((await page.textContent('#key-error')).length > 0);
  assert.equal(await page.inputValue('#key'), `ssh-ed25519 ${EVIL_FIELD}`);
  await axe(page, 'keys refused');
  await visit(page, '/settings/keys');
  await Promise.all([page.waitForURL(/saved=1/), page.click('button[aria-label="Delete key laptop"]')]);
  assert.match(await page.textContent('table'), /No keys yet/);
  const r = await api('GET', '/api/user/keys', a.tok);
  assert.deepEqual(r.body, []);
  await a.ctx.close();
});

test('sessions are listed; signing out everywhere ends the other browser too', async () => {
  const a = await user({ bypassCSP: true });
  const second = await context(browser);
  const p2 = await second.newPage();
  await p2.goto('/login');
  await p2.fill('#username', a.name);
  await p2.fill('#password', 'correct horse battery');
  await Promise.all([p2.waitForURL(`${BASE}/`), p2.click('form[action="/login"] button')]);
  const page = await guarded(a.ctx);
  await visit(page, '/settings/sessions');
  assert.equal(await page.locator('tbody tr').count(), 2);
  assert.equal(await page.locator('text=this browser').count(), 1);
  await axe(page, 'sessions');
  await shot(page, 'settings-sessions');
  // without JavaScript: the same table
  const nojs = await context(browser, { javaScriptEnabled: false, storageState: await a.ctx.storageState() });
  const pn = await nojs.newPage();
  await pn.goto('/settings/sessions');
  assert.equal(await pn.locator('tbody tr').count(), 2);
  await nojs.close();
  await Promise.all([page.waitForURL(/\/login$/), page.click('button:has-text("Sign out everywhere")')]);
  await p2.goto('/settings');
  assert.match(p2.url(), /\/login\?next=%2Fsettings$/);
  await second.close();
  await a.ctx.close();
});

// git push as user (name, token) of dir's HEAD to owner/repo's branch.
function push(dir, owner, repo, name, tok, branch) {
  const url = new URL(`/${owner}/${repo}.git`, BASE);
  url.username = name;
  url.password = tok;
  return git(dir, 'push', '-q', url.toString(), `HEAD:${branch}`);
}

test('repository settings: description, visibility, default branch, collaborators, protection, secrets, deletion', async () => {
  const a = await user({ bypassCSP: true });
  const b = await user();
  const repo = uniq('set');
  const { dir } = await repoWithFiles(a.name, a.tok, repo, { 'x.txt': 'x\n' });
  push(dir, a.name, repo, a.name, a.tok, 'dev');
  const base = `/${a.name}/${repo}/settings`;
  const page = await guarded(a.ctx);
  await visit(page, base);
  assert.equal(await page.getAttribute('nav.tabs a[aria-current="page"]', 'href'), base);
  await axe(page, 'repository settings');
  await shot(page, 'settings-repo');

  // description, visibility, default branch
  await page.fill('#description', EVIL);
  await page.check('#vis-private');
  await page.selectOption('#default_branch', 'dev');
  await Promise.all([page.waitForURL(/saved=1$/), page.click(`form[action="${base}"] button`)]);
  assert.equal(await page.inputValue('#description'), EVIL_FIELD);
  assert.ok(await page.isChecked('#vis-private'));
  let r = await api('GET', `/api/repos/${a.name}/${repo}`, a.tok);
  assert.equal(r.body.default_branch, 'dev');
  assert.equal(r.body.description, EVIL);
  assert.equal((await api('GET', `/api/repos/${a.name}/${repo}`)).status, 404, 'private to anonymous');
  const anon = await context(browser);
  const ap = await anon.newPage();
  assert.equal((await ap.goto(`/${a.name}/${repo}`)).status(), 404);
  await anon.close();

  // collaborators: b as reader, then writer
  await visit(page, `${base}/collaborators`);
  assert.equal(await page.getAttribute('nav.tabs a[aria-current="page"]', 'href'), base);
  await page.fill('#username', 'nobody-' + uniq('x'));
  let resp = await submit(page, `form[action="${base}/collaborators"] button`);
  assert.equal(resp.status(), 404);
  assert.match(await page.textContent('#username-error'), /not found/);
  await page.fill('#username', b.name);
  await page.selectOption('#new-role', 'read');
  await Promise.all([page.waitForURL(/saved=1$/), page.click(`form[action="${base}/collaborators"] button`)]);
  assert.match(await page.textContent('table'), new RegExp(b.name));
  await axe(page, 'collaborators');
  await shot(page, 'settings-collaborators');
  assert.equal((await api('GET', `/api/repos/${a.name}/${repo}`, b.tok)).status, 200, 'reader reads');
  assert.throws(() => push(dir, a.name, repo, b.name, b.tok, 'by-reader'), 'a reader cannot push');
  await page.selectOption('#role-0', 'write');
  await Promise.all([page.waitForURL(/saved=1$/), page.click('button:has-text("Change role")')]);
  assert.equal(await page.inputValue('#role-0'), 'write');
  push(dir, a.name, repo, b.name, b.tok, 'by-writer');
  await Promise.all([page.waitForURL(/saved=1$/), page.click(`button[aria-label="Remove ${b.name}"]`)]);
  assert.match(await page.textContent('table'), /No collaborators yet/);
  assert.equal((await api('GET', `/api/repos/${a.name}/${repo}`, b.tok)).status, 404, 'removed: gone');
  // removing someone who is not a collaborator: refused with a message
  const cookie = await cookieHeader(a.ctx);
  const tokn = await csrf(a.ctx, `${base}/collaborators`);
  const gone = await post(`${base}/collaborators/${b.name}/delete`, { _csrf: tokn }, cookie);
  assert.equal(gone.status, 404);
  assert.match(gone.text, /is not a collaborator/);

  // branch protection
  await visit(page, `${base}/branches`);
  await page.fill('#pattern', 'release/**');
  await page.fill('#required_approvals', '2');
  await page.fill('#contexts', `ci/build\n${EVIL}`);
  await Promise.all([page.waitForURL(/saved=1$/), page.click(`form[action="${base}/branches"] button`)]);
  assert.match(await page.textContent('table'), /release\/\*\*/);
  assert.match(await page.textContent('table'), /2 approving reviews/);
  r = await api('GET', `/api/${a.name}/${repo}/protections/release/**`, a.tok);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.required_status_contexts, ['ci/build', EVIL]);
  // edit: the form comes filled
  await page.click('a[aria-label="Edit rule release/**"]');
  assert.equal(await page.inputValue('#pattern'), 'release/**');
  assert.equal(await page.inputValue('#required_approvals'), '2');
  await page.fill('#required_approvals', '99');
  resp = await submit(page, `form[action="${base}/branches"] button`);
  assert.equal(resp.status(), 400);
  assert.match(await page.textContent('#required_approvals-error'), /required_approvals/);
  assert.equal(await page.inputValue('#required_approvals'), '99');
  assert.equal(await page.inputValue('#contexts'), `ci/build\n${EVIL_FIELD}`, 'the lines kept');
  await page.fill('#pattern', 'refs/heads/x');
  resp = await submit(page, `form[action="${base}/branches"] button`);
  assert.equal(resp.status(), 400);
  assert.ok((await page.textContent('#pattern-error')).length > 0);
  await axe(page, 'branch protection');
  await shot(page, 'settings-branches');
  await visit(page, `${base}/branches`);
  await page.fill('#pattern', 'main');
  await Promise.all([page.waitForURL(/saved=1$/), page.click(`form[action="${base}/branches"] button`)]);
  await Promise.all([page.waitForURL(/saved=1$/), page.click('button[aria-label="Delete rule main"]')]);
  assert.doesNotMatch(await page.textContent('table'), /\bmain\b/);
  assert.equal((await api('GET', `/api/${a.name}/${repo}/protections/main`, a.tok)).status, 404);

  // secrets: the value never comes back
  const value = 'v4lue-' + uniq('s');
  await visit(page, `${base}/secrets`);
  await page.fill('#name', 'DEPLOY_KEY');
  await page.fill('#value', value);
  await Promise.all([page.waitForURL(/saved=1$/), page.click(`form[action="${base}/secrets"] button`)]);
  assert.match(await page.textContent('table'), /DEPLOY_KEY/);
  await page.fill('#name', '1bad');
  await page.fill('#value', value);
  resp = await submit(page, `form[action="${base}/secrets"] button`);
  assert.equal(resp.status(), 400);
  assert.ok((await page.textContent('#name-error')).length > 0);
  assert.equal(await page.inputValue('#value'), '', 'a refused value is not written back');
  await axe(page, 'secrets');
  await shot(page, 'settings-secrets');
  await visit(page, `${base}/secrets`);
  await page.fill('#name', 'OTHER');
  await page.fill('#value', 'x');
  await Promise.all([page.waitForURL(/saved=1$/), page.click(`form[action="${base}/secrets"] button`)]);
  await Promise.all([page.waitForURL(/saved=1$/), page.click('button[aria-label="Delete secret OTHER"]')]);
  assert.deepEqual((await api('GET', `/api/${a.name}/${repo}/secrets`, a.tok)).body.map((x) => x.name),
    ['DEPLOY_KEY']);
  for (const p of ['', '/collaborators', '/branches', '/secrets', '/hooks']) {
    await page.goto(base + p);
    assert.ok(!(await page.content()).includes(value), `the value is not in ${p || 'general'}`);
  }

  // webhooks: a refused address keeps the input; the secret never shows
  await visit(page, `${base}/hooks`);
  await page.fill('#url', 'http://127.0.0.1:9/hook');
  await page.fill('#secret', 'hook-' + value);
  resp = await submit(page, `form[action="${base}/hooks"] button`);
  assert.equal(resp.status(), 400);
  assert.ok((await page.textContent('#url-error')).length > 0);
  assert.equal(await page.inputValue('#url'), 'http://127.0.0.1:9/hook');
  assert.equal(await page.inputValue('#secret'), '', 'a refused secret is not written back');
  await page.fill('#url', 'https://hooks.example.com/plue');
  await page.fill('#secret', 'hook-' + value);
  await page.check('input[name="events"][value="issues"]');
  await Promise.all([page.waitForURL(/saved=1$/), page.click(`form[action="${base}/hooks"] button`)]);
  assert.match(await page.textContent('table'), /https:\/\/hooks\.example\.com\/plue/);
  assert.match(await page.textContent('table'), /push, issues/);
  assert.ok(!(await page.content()).includes(value), 'the hook secret is not shown');
  await axe(page, 'webhooks');
  await shot(page, 'settings-hooks');
  await Promise.all([page.waitForURL(/saved=1$/),
    page.click('button[aria-label="Delete webhook https://hooks.example.com/plue"]')]);
  assert.match(await page.textContent('table'), /No webhooks yet/);

  // deletion: a wrong name is refused and deletes nothing
  await visit(page, base);
  await page.fill('#confirm', `${a.name}/not-${repo}`);
  resp = await submit(page, `form[action="${base}/delete"] button`);
  assert.equal(resp.status(), 400);
  assert.match(await page.textContent('#confirm-error'), /nothing was deleted/);
  assert.equal(await page.inputValue('#confirm'), `${a.name}/not-${repo}`);
  assert.equal((await api('GET', `/api/repos/${a.name}/${repo}`, a.tok)).status, 200);
  await page.fill('#confirm', `${a.name}/${repo}`);
  await Promise.all([page.waitForURL(`${BASE}/`), page.click(`form[action="${base}/delete"] button`)]);
  assert.equal((await api('GET', `/api/repos/${a.name}/${repo}`, a.tok)).status, 404);
  await a.ctx.close();
  await b.ctx.close();
});

test('who may see and use a repository\'s settings', async () => {
  const a = await user();
  const reader = await user();
  const writer = await user();
  const outsider = await user();
  const repo = uniq('authz');
  await repoWithFiles(a.name, a.tok, repo, { 'x.txt': 'x\n' }, { private: true, description: 'kept' });
  assert.equal((await api('PUT', `/api/repos/${a.name}/${repo}/collaborators/${reader.name}`, a.tok, { role: 'read' })).status, 200);
  assert.equal((await api('PUT', `/api/repos/${a.name}/${repo}/collaborators/${writer.name}`, a.tok, { role: 'write' })).status, 200);
  const base = `/${a.name}/${repo}/settings`;
  const pages = ['', '/collaborators', '/branches', '/secrets', '/hooks'];
  const anon = await context(browser);
  const ap = await anon.newPage();
  for (const p of pages) {
    await ap.goto(base + p);
    assert.match(ap.url(), /\/login\?next=/, `anonymous ${p}: sent to sign in`);
  }
  for (const [who, status] of [[outsider, 404], [reader, 403], [writer, 403]]) {
    const page = await who.ctx.newPage();
    for (const p of pages) {
      const resp = await page.goto(base + p);
      assert.equal(resp.status(), status, `${who.name} ${p}`);
      const html = await page.content();
      if (status === 404) assert.ok(!html.includes('kept'), 'nothing of the repository shows');
      else assert.match(await page.textContent('.error'), /admin/);
    }
    // a form they may not submit: refused, nothing changed
    const token = await csrf(who.ctx, '/settings');
    const r = await post(base, { _csrf: token, description: 'changed', visibility: 'public' },
      await cookieHeader(who.ctx));
    assert.equal(r.status, status);
    const d = await post(`${base}/delete`, { _csrf: token, confirm: `${a.name}/${repo}` },
      await cookieHeader(who.ctx));
    assert.equal(d.status, status);
    await page.close();
  }
  const after = await api('GET', `/api/repos/${a.name}/${repo}`, a.tok);
  assert.equal(after.body.description, 'kept');
  assert.equal(after.body.private, true);
  // the Settings tab is offered to admins only
  await anon.close();
  for (const u of [a, reader, writer, outsider]) await u.ctx.close();
});

test('every settings form refuses a post without its CSRF field', async () => {
  const a = await user();
  const repo = uniq('csrf');
  await repoWithFiles(a.name, a.tok, repo, { 'x.txt': 'x\n' }, { description: 'orig' });
  const cookie = await cookieHeader(a.ctx);
  const base = `/${a.name}/${repo}/settings`;
  const forms = [
    ['/new', { name: uniq('n') }],
    ['/settings', { username: a.name, email: 'x@example.com' }],
    ['/settings/tokens', { name: 't', scopes: 'repo:read' }],
    ['/settings/keys', { key: 'ssh-ed25519 AAAA' }],
    [base, { description: 'forged' }],
    [`${base}/delete`, { confirm: `${a.name}/${repo}` }],
    [`${base}/collaborators`, { username: a.name, role: 'read' }],
    [`${base}/branches`, { pattern: 'main' }],
    [`${base}/branches/delete`, { pattern: 'main' }],
    [`${base}/secrets`, { name: 'X', value: 'y' }],
    [`${base}/secrets/X/delete`, {}],
    [`${base}/hooks`, { url: 'https://hooks.example.com/x' }],
    [`${base}/hooks/1/delete`, {}],
    [`${base}/collaborators/${a.name}`, { role: 'write' }],
    [`${base}/collaborators/${a.name}/delete`, {}],
    ['/settings/tokens/1/delete', {}],
    ['/settings/keys/1/delete', {}],
    ['/logout-all', {}],
  ];
  for (const [path, fields] of forms) {
    for (const bad of [undefined, 'forged']) {
      const body = bad ? { ...fields, _csrf: bad } : fields;
      const r = await post(path, body, cookie);
      assert.equal(r.status, 403, `${path} ${bad || 'without'}`);
      assert.match(r.text, /the form has expired or was sent from another site/);
    }
  }
  const r = await api('GET', `/api/repos/${a.name}/${repo}`, a.tok);
  assert.equal(r.body.description, 'orig');
  assert.deepEqual((await api('GET', '/api/user/tokens', a.tok)).body.length, 1);
  assert.equal((await api('GET', `/api/${a.name}/${repo}/secrets`, a.tok)).body.length, 0);
  assert.equal((await api('GET', `/api/${a.name}/${repo}/hooks`, a.tok)).body.length, 0);
  const page = await a.ctx.newPage();
  await page.goto('/settings/sessions');
  assert.match(page.url(), /\/settings\/sessions$/, 'still signed in');
  await a.ctx.close();
});

test('the reading pages of settings without JavaScript', async () => {
  const a = await user();
  const repo = uniq('nojs');
  await repoWithFiles(a.name, a.tok, repo, { 'x.txt': 'x\n' });
  const ctx = await context(browser, { javaScriptEnabled: false, storageState: await a.ctx.storageState() });
  const page = await ctx.newPage();
  for (const p of ['/settings', '/settings/tokens', '/settings/keys', '/new',
    `/${a.name}/${repo}/settings`, `/${a.name}/${repo}/settings/collaborators`,
    `/${a.name}/${repo}/settings/branches`, `/${a.name}/${repo}/settings/secrets`,
    `/${a.name}/${repo}/settings/hooks`]) {
    await visit(page, p);
    assert.ok(await page.isVisible('main form button'), `${p}: its form`);
    assert.ok(await page.isVisible('main h1, main h2'), `${p}: its heading`);
  }
  // a form works without a script too
  await page.goto(`/${a.name}/${repo}/settings/secrets`);
  await page.fill('#name', 'NOJS');
  await page.fill('#value', 'v');
  await Promise.all([page.waitForURL(/saved=1$/), page.click('main form.stack button')]);
  assert.match(await page.textContent('table'), /NOJS/);
  await ctx.close();
  await a.ctx.close();
});
