// issues.test.mjs — the issue pages: opening an issue through the form,
// commenting, labels (made on the labels page), a milestone, an assignee,
// reactions (on the issue and on its comments), editing, closing and reopening, each seen on the issue page
// and in its timeline; the list's filters and pagination; the pages
// without JavaScript; axe; hostile titles, bodies, label names and
// milestone titles; who may see and do what on a private repository;
// CSRF; and every refusal of the forms with its status and message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, register, token, api, git, repoWithFiles, uniq, shot, axe, visit, post, cookieHeader } from './lib.mjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const EVIL = '<script>alert(1)</script>"onerror=alert(2) \u202Egnp.exe';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

// A signed-in user with a context, a page that fails on any dialog, and
// an API token.
async function user(opts = {}) {
  const ctx = await context(browser, { bypassCSP: true, ...opts });
  const name = await register(ctx);
  const page = await ctx.newPage();
  page.on('dialog', (d) => { throw new Error(`a dialog opened: ${d.message()}`); });
  return { ctx, page, name, tok: token(name) };
}

async function newRepo(u, opts = {}) {
  const name = uniq('iss');
  const r = await api('POST', '/api/repos', u.tok, { name, private: !!opts.private });
  assert.equal(r.status, 201, r.text);
  return `/${u.name}/${name}`;
}

// The CSRF field of the page's first form.
async function csrf(page) {
  return page.getAttribute('input[name="_csrf"]', 'value');
}

// A form post outside the browser, its HTML's entities decoded for the
// assertions on messages.
async function send(path, fields, cookie) {
  const r = await post(path, fields, cookie);
  return { ...r, text: r.text.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>').replace(/&amp;/g, '&') };
}

// Clicks a form's button and waits for the response to its POST.
async function submit(page, selector) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click(selector),
  ]);
  await page.waitForLoadState();
  return resp;
}

test('reactions on comments: react, see the count, take it back; others see the count', async () => {
  const u = await user();
  const other = await user();
  const repo = await newRepo(u);
  await api('POST', `/api${repo}/issues`, u.tok, { title: 'Reacted' });
  const c1 = (await api('POST', `/api${repo}/issues/1/comments`, u.tok, { body: 'first' })).body.id;
  const c2 = (await api('POST', `/api${repo}/issues/1/comments`, u.tok, { body: 'second' })).body.id;
  const { page } = u;
  await visit(page, `${repo}/issues/1`);
  const btn = (id, what) => `#comment-${id} button.reaction[aria-label^="${what}"]`;
  let r = await submit(page, btn(c1, 'rocket'));
  assert.equal(r.status(), 303);
  assert.equal(new URL(page.url()).hash, `#comment-${c1}`);
  assert.equal(await page.getAttribute(btn(c1, 'rocket'), 'aria-pressed'), 'true');
  assert.match(await page.textContent(btn(c1, 'rocket')), /1/);
  // only that comment's: the other comment and the issue stay untouched
  assert.equal(await page.getAttribute(btn(c2, 'rocket'), 'aria-pressed'), 'false');
  assert.doesNotMatch(await page.textContent(btn(c2, 'rocket')), /\d/);
  assert.equal(await page.getAttribute('#issue-body button.reaction[aria-label^="rocket"]', 'aria-pressed'), 'false');
  const list = await api('GET', `/api${repo}/issues/comments/${c1}/reactions`, u.tok);
  assert.deepEqual(list.body.map((x) => [x.user, x.content]), [[u.name, 'rocket']]);

  // someone else reacts the same: two, theirs pressed on their page only
  await visit(other.page, `${repo}/issues/1`);
  assert.equal(await other.page.getAttribute(btn(c1, 'rocket'), 'aria-pressed'), 'false');
  await submit(other.page, btn(c1, 'rocket'));
  assert.equal(await other.page.getAttribute(btn(c1, 'rocket'), 'aria-label'), 'rocket, 2');
  assert.equal(await other.page.getAttribute(btn(c1, 'rocket'), 'aria-pressed'), 'true');
  await axe(other.page, 'issue page with comment reactions');

  // taken back: one left, not pressed
  await visit(page, `${repo}/issues/1`);
  assert.equal(await page.getAttribute(btn(c1, 'rocket'), 'aria-label'), 'rocket, 2');
  await submit(page, btn(c1, 'rocket'));
  assert.equal(await page.getAttribute(btn(c1, 'rocket'), 'aria-pressed'), 'false');
  assert.equal(await page.getAttribute(btn(c1, 'rocket'), 'aria-label'), 'rocket, 1');

  // read without signing in and without JavaScript: the counts, no forms
  const anon = await context(browser, { javaScriptEnabled: false });
  const ap = await anon.newPage();
  await visit(ap, `${repo}/issues/1`);
  assert.match(await ap.textContent(`#comment-${c1} .reactions span.reaction[title="rocket"]`), /1/);
  assert.equal(await ap.locator(`#comment-${c1} .reactions form`).count(), 0);
  assert.equal(await ap.locator(`#comment-${c2} .reactions`).count(), 0);
  await anon.close();

  // an unknown reaction is refused beside that comment; taking back one
  // never given is a 404 with its message
  const c = await cookieHeader(u.ctx);
  const tok = await csrf(page);
  r = await send(`${repo}/issues/comments/${c1}/reactions`, { _csrf: tok, content: 'poop' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, new RegExp(`id="comment-${c1}-reactions-error"`));
  assert.match(r.text, /reaction 'poop' is not one of/);
  r = await send(`${repo}/issues/comments/${c2}/reactions`, { _csrf: tok, content: 'eyes', op: 'remove' }, c);
  assert.equal(r.status, 404);
  assert.match(r.text, /you have no 'eyes' reaction on comment/);
  r = await send(`${repo}/issues/comments/999999/reactions`, { _csrf: tok, content: 'eyes' }, c);
  assert.equal(r.status, 404);
  // without the CSRF field: refused, nothing changes
  r = await send(`${repo}/issues/comments/${c2}/reactions`, { content: 'eyes' }, c);
  assert.equal(r.status, 403);
  r = await send(`${repo}/issues/comments/${c2}/reactions`, { _csrf: 'wrong', content: 'eyes' }, c);
  assert.equal(r.status, 403);
  assert.equal((await api('GET', `/api${repo}/issues/comments/${c2}/reactions`, u.tok)).body.length, 0);

  // a private repository: an outsider's reaction is a 404, nothing added
  const priv = await newRepo(u, { private: true });
  await api('POST', `/api${priv}/issues`, u.tok, { title: 'Hidden' });
  const pc = (await api('POST', `/api${priv}/issues/1/comments`, u.tok, { body: 'secret' })).body.id;
  await visit(other.page, '/');
  r = await send(`${priv}/issues/comments/${pc}/reactions`,
    { _csrf: await csrf(other.page), content: 'heart' }, await cookieHeader(other.ctx));
  assert.equal(r.status, 404);
  assert.equal((await api('GET', `/api${priv}/issues/comments/${pc}/reactions`, u.tok)).body.length, 0);
  await u.ctx.close();
  await other.ctx.close();
});

test('an issue through the pages: open, comment, label, milestone, assignee, react, edit, close, reopen', async () => {
  const u = await user();
  const { page } = u;
  const repo = await newRepo(u);

  // a label made on the labels page, a milestone on the milestones page
  await visit(page, `${repo}/labels`);
  await page.click('summary:has-text("New label")');
  await page.fill('#new-name', 'bug');
  await page.fill('#new-description', 'something is wrong');
  assert.equal((await submit(page, 'button:has-text("Create label")')).status(), 303);
  assert.equal(await page.textContent('table.labels td a.label'), 'bug');
  await axe(page, 'labels');
  await shot(page, 'issues-labels');
  await visit(page, `${repo}/milestones`);
  await page.click('summary:has-text("New milestone")');
  await page.fill('#new-title', 'v1.0');
  await page.fill('#new-due', '2031-05-01');
  await submit(page, 'button:has-text("Create milestone")');
  assert.equal(await page.textContent('ul.milestones h3 a'), 'v1.0');
  assert.match(await page.textContent('ul.milestones'), /Due 2031-05-01/);
  await axe(page, 'milestones');
  await shot(page, 'issues-milestones');

  // open an issue through the form
  await visit(page, `${repo}/issues`);
  await page.click('a:has-text("New issue")');
  await axe(page, 'new issue');
  await shot(page, 'issues-new');
  await page.fill('#title', 'The first issue');
  await page.fill('#body', 'It **breaks** when @nobody does #1');
  await submit(page, 'button:has-text("Open issue")');
  assert.equal(new URL(page.url()).pathname, `${repo}/issues/1`);
  assert.equal(await page.textContent('.issuehead .title'), 'The first issue');
  assert.equal(await page.textContent('.issuehead .badge'), 'open');
  assert.equal(await page.textContent('#issue-body .markdown strong'), 'breaks');

  // comment
  await page.fill('#comment-body', 'A comment with `code`');
  await submit(page, 'button:has-text("Comment")');
  assert.match(await page.textContent('.timeline .comment .markdown'), /A comment with code/);

  // label, milestone, assignee from the sidebar
  await page.click('summary:has-text("Edit labels")');
  await page.check('aside input[name="label"][value="bug"]');
  await submit(page, 'button:has-text("Set labels")');
  assert.equal(await page.textContent('aside .labels a.label'), 'bug');
  assert.match(await page.textContent('.timeline'), /added the bug label/);
  await page.click('summary:has-text("Set milestone")');
  await page.selectOption('aside select#milestone', { label: 'v1.0' });
  await submit(page, 'button:has-text("Set milestone")');
  assert.match(await page.textContent('aside'), /v1\.0/);
  assert.match(await page.textContent('.timeline'), /added this to the milestone v1\.0/);
  await page.click('aside a:has-text("v1.0")');
  assert.equal(await page.textContent('ul.issues a.title'), 'The first issue');
  await page.goBack();
  await page.click('summary:has-text("Edit assignees")');
  await page.fill('aside #assignees', u.name);
  await submit(page, 'button:has-text("Set assignees")');
  assert.match(await page.textContent('.timeline'), new RegExp(`assigned ${u.name}`));

  // react, then take it back
  await submit(page, '#issue-body button.reaction[aria-label^="heart"]');
  assert.equal(await page.getAttribute('#issue-body button.reaction[aria-label^="heart"]', 'aria-pressed'), 'true');
  assert.match(await page.textContent('#issue-body button.reaction[aria-label^="heart"]'), /1/);
  await submit(page, '#issue-body button.reaction[aria-label^="+1"]');
  await submit(page, '#issue-body button.reaction[aria-label^="+1"]');
  assert.equal(await page.getAttribute('#issue-body button.reaction[aria-label^="+1"]', 'aria-pressed'), 'false');

  // edit the title
  await page.click('summary:has-text("Edit title and description")');
  await page.fill('#edit-title', 'The renamed issue');
  await submit(page, 'form[action$="/issues/1"] button:has-text("Save")');
  assert.equal(await page.textContent('.issuehead .title'), 'The renamed issue');
  assert.match(await page.textContent('.timeline'), /changed the title from The first issue to The renamed issue/);

  // close and reopen
  await submit(page, 'button:has-text("Close issue")');
  assert.equal(await page.textContent('.issuehead .badge'), 'closed');
  assert.match(await page.textContent('.timeline'), /closed this/);
  await axe(page, 'issue page');
  await shot(page, 'issues-issue');
  await submit(page, 'button:has-text("Reopen issue")');
  assert.equal(await page.textContent('.issuehead .badge'), 'open');
  assert.match(await page.textContent('.timeline'), /reopened this/);

  // close with a comment
  await page.fill('#comment-body', 'Done here');
  await submit(page, 'button:has-text("Close with comment")');
  assert.equal(await page.textContent('.issuehead .badge'), 'closed');

  // edit and delete one's comment
  const cid = await page.getAttribute('.timeline .comment', 'id');
  await page.click(`#${cid} summary:has-text("Edit comment")`);
  await page.fill(`#${cid}-body`, 'An edited comment');
  await submit(page, `#${cid} button:has-text("Save comment")`);
  assert.match(await page.textContent(`#${cid}`), /An edited comment/);
  assert.match(await page.textContent(`#${cid}`), /\(edited\)/);
  await submit(page, `#${cid} button:has-text("Delete comment")`);
  assert.equal(await page.locator(`#${cid}`).count(), 0);

  // the timeline in order, as the API has it
  const tl = await api('GET', `/api${repo}/issues/1/timeline`, u.tok);
  const kinds = tl.body.map((e) => e.event);
  const order = ['labeled', 'milestoned', 'assigned', 'renamed', 'closed', 'reopened', 'commented', 'closed'];
  let at = -1;
  for (const k of order) { at = kinds.indexOf(k, at + 1); assert.ok(at >= 0, `${k} in ${kinds}`); }
  // the page shows the events in the same order
  const shown = await page.$$eval('.timeline > li', (els) => els.map((e) => e.textContent));
  assert.ok(shown.findIndex((t) => /added the bug label/.test(t)) < shown.findIndex((t) => /renamed|changed the title/.test(t)));

  // the list: the closed tab counts it, the label filters to it
  await visit(page, `${repo}/issues?state=closed`);
  assert.match(await page.textContent('.subtabs a[aria-current="page"]'), /Closed \(1\)/);
  await axe(page, 'issue list');
  await shot(page, 'issues-list');
  await page.click('ul.issues a.label:has-text("bug")');
  assert.equal(new URL(page.url()).searchParams.get('label'), 'bug');
  await u.ctx.close();
});

test('the list: state tabs, filters kept, pagination, pull requests left out', async () => {
  const u = await user();
  const other = await user();
  const { page } = u;
  const rname = uniq('list');
  const repo = `/${u.name}/${rname}`;
  const g = await repoWithFiles(u.name, u.tok, rname, { 'README.md': 'hello\n' });
  git(g.dir, 'checkout', '-q', '-b', 'feature');
  writeFileSync(join(g.dir, 'f.txt'), 'more\n');
  git(g.dir, 'add', '-A');
  git(g.dir, 'commit', '-q', '-m', 'feature');
  git(g.dir, 'push', '-q', g.url, 'feature');
  const a = (m, p, b) => api(m, `/api${repo}${p}`, u.tok, b);
  const pr = await a('POST', '/pulls', { title: 'A pull request', head: 'feature', base: 'main' });
  assert.equal(pr.status, 201, pr.text);
  assert.equal((await a('POST', '/labels', { name: 'needle', color: 'ff0000' })).status, 201);
  assert.equal((await a('POST', '/milestones', { title: 'M1' })).status, 201);
  for (let i = 1; i <= 32; i++) {
    const body = { title: `Issue number ${i}` };
    if (i % 5 === 0) body.labels = ['needle'];
    if (i % 7 === 0) body.milestone = 1;
    if (i % 8 === 0) body.assignees = [u.name];
    assert.equal((await a('POST', '/issues', body)).status, 201);
  }
  assert.equal((await a('PATCH', '/issues/3', { state: 'closed' })).status, 200);
  const o = await api('POST', `/api${repo}/issues`, other.tok, { title: 'From the other one' });
  assert.equal(o.status, 201);

  await visit(page, `${repo}/issues`);
  assert.match(await page.textContent('.subtabs a[aria-current="page"]'), /Open \(32\)/);
  assert.doesNotMatch(await page.content(), /A pull request/);
  assert.match(await page.textContent('.subtabs'), /Closed \(1\)/);
  assert.equal(await page.locator('ul.issues > li.issue').count(), 30);
  await page.click('a[rel="next"]');
  assert.equal(await page.locator('ul.issues > li.issue').count(), 2);
  assert.equal(await page.locator('a[rel="next"]').count(), 0);
  assert.match(await page.textContent('ul.issues'), /Issue number 1\b/);

  // filters through the GET form, kept across the tabs
  await visit(page, `${repo}/issues`);
  await page.selectOption('#f-label', 'needle');
  await Promise.all([page.waitForURL(/label=needle/), page.click('form.filters button')]);
  assert.equal(await page.locator('ul.issues > li.issue').count(), 6);
  assert.equal(await page.inputValue('#f-label'), 'needle');
  assert.match(await page.getAttribute('.subtabs a:has-text("Closed")', 'href'), /label=needle/);
  await page.selectOption('#f-milestone', { label: 'M1' });
  await Promise.all([page.waitForURL(/milestone=1/), page.click('form.filters button')]);
  const titles = await page.$$eval('ul.issues a.title', (els) => els.map((e) => e.textContent));
  assert.deepEqual(titles, []);
  await visit(page, `${repo}/issues?milestone=1`);
  assert.deepEqual(await page.$$eval('ul.issues a.title', (els) => els.map((e) => e.textContent)),
    ['Issue number 28', 'Issue number 21', 'Issue number 14', 'Issue number 7']);
  await visit(page, `${repo}/issues?assignee=${u.name}`);
  assert.equal(await page.locator('ul.issues > li.issue').count(), 4);
  assert.equal(await page.inputValue('#f-assignee'), u.name);
  await visit(page, `${repo}/issues?author=${other.name}`);
  assert.deepEqual(await page.$$eval('ul.issues a.title', (els) => els.map((e) => e.textContent)), ['From the other one']);
  await visit(page, `${repo}/issues?state=closed`);
  assert.deepEqual(await page.$$eval('ul.issues a.title', (els) => els.map((e) => e.textContent)), ['Issue number 2']);
  // a filter naming nothing: 400 and the message beside the form
  await visit(page, `${repo}/issues?label=nope`, 400);
  assert.match(await page.textContent('#filter-error'), /label 'nope'/);
  await visit(page, `${repo}/issues?author=nobody-${uniq('x')}`, 400);
  assert.match(await page.textContent('#filter-error'), /does not exist/);
  await visit(page, `${repo}/issues?state=sideways`, 400);
  assert.match(await page.textContent('.error-page'), /state 'sideways' is not one of open, closed, all/);
  // state=all (the milestone links of the issue page): both, no tab selected
  await visit(page, `${repo}/issues?state=all&milestone=1`);
  assert.equal(await page.locator('ul.issues > li.issue').count(), 4);
  assert.equal(await page.locator('.subtabs a[aria-current]').count(), 0);

  // a pull request is an issue in the data, not in this list
  const all = await a('GET', '/issues?state=all&limit=100');
  assert.equal(all.body.length, 34);
  assert.equal(all.body.filter((i) => i.pull_request).length, 1);
  await visit(page, `${repo}/issues?author=${u.name}`);
  assert.match(await page.textContent('.subtabs a[aria-current="page"]'), /Open \(31\)/);
  assert.doesNotMatch(await page.content(), /A pull request/);
  await u.ctx.close();
  await other.ctx.close();
});

test('the pages without JavaScript show the same and their forms work', async () => {
  const u = await user({ javaScriptEnabled: false });
  const { page } = u;
  const repo = await newRepo(u);
  const a = (m, p, b) => api(m, `/api${repo}${p}`, u.tok, b);
  await a('POST', '/labels', { name: 'plain', color: '00ff00' });
  await a('POST', '/milestones', { title: 'Later' });
  await a('POST', '/issues', { title: 'No script needed', body: 'Just *HTML*', labels: ['plain'], milestone: 1 });
  await visit(page, `${repo}/issues`);
  assert.equal(await page.textContent('ul.issues a.title'), 'No script needed');
  assert.equal(await page.textContent('ul.issues a.label'), 'plain');
  await visit(page, `${repo}/issues/1`);
  assert.equal(await page.textContent('#issue-body .markdown em'), 'HTML');
  assert.match(await page.textContent('aside'), /Later/);
  await page.fill('#comment-body', 'Posted without a script');
  await submit(page, 'button:has-text("Comment")');
  assert.match(await page.textContent('.timeline'), /Posted without a script/);
  await page.click('summary:has-text("Edit labels")');
  await page.uncheck('aside input[name="label"][value="plain"]');
  await submit(page, 'button:has-text("Set labels")');
  assert.match(await page.textContent('.timeline'), /removed the plain label/);
  await visit(page, `${repo}/labels`);
  assert.equal(await page.textContent('table.labels a.label'), 'plain');
  await visit(page, `${repo}/milestones`);
  assert.equal(await page.textContent('ul.milestones h3 a'), 'Later');
  await visit(page, `${repo}/issues/new`);
  assert.equal(await page.isVisible('#title'), true);
  await u.ctx.close();
});

test('hostile titles, bodies, labels and milestones stay inert', async () => {
  const u = await user();
  const { page } = u;
  const repo = await newRepo(u);
  const a = (m, p, b) => api(m, `/api${repo}${p}`, u.tok, b);
  const label = '<b>x</b>"onmouseover=alert(3)';
  assert.equal((await a('POST', '/labels', { name: label, color: 'abcdef' })).status, 201, 'label');
  assert.equal((await a('POST', '/milestones', { title: EVIL, description: '<img src=x onerror=alert(4)>' })).status, 201);
  const body = `[click](javascript:alert(5)) <img src=x onerror=alert(6)> <script>alert(7)</script> \u202Eabc`;
  const r = await a('POST', '/issues', { title: EVIL, body, labels: [label], milestone: 1 });
  assert.equal(r.status, 201, r.text);
  await a('POST', '/issues/1/comments', { body: `${body} again` });
  await a('PATCH', '/issues/1', { title: `${EVIL} 2` });
  for (const path of [`${repo}/issues`, `${repo}/issues/1`, `${repo}/labels`, `${repo}/milestones`,
    `${repo}/issues?label=${encodeURIComponent(label)}`]) {
    await visit(page, path);
    assert.equal(await page.locator('script:not([src])').count(), 0, `${path}: no inline script`);
    assert.equal(await page.locator('[onerror], [onmouseover]').count(), 0, `${path}: no handler`);
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0, `${path}: no javascript: link`);
  }
  await visit(page, `${repo}/issues/1`);
  assert.match(await page.textContent('.issuehead .title'), /<script>alert\(1\)<\/script>"onerror=alert\(2\)/);
  assert.equal(await page.locator('.issuehead .title .bidi').count(), 1, 'the bidi control is shown, not applied');
  assert.equal(await page.locator('#issue-body .markdown .bidi').count(), 1, 'in the body too');
  assert.match(await page.textContent('#issue-body .markdown'), /\[U\+202E\]abc/);
  assert.equal(await page.locator('.timeline .comment .markdown .bidi').count(), 1, 'and in comments');
  assert.match(await page.textContent('aside .labels'), /<b>x<\/b>"onmouseover=alert\(3\)/);
  assert.match(await page.textContent('aside'), /<script>alert\(1\)<\/script>/);
  assert.match(await page.textContent('.timeline'), /changed the title from <script>/);
  await axe(page, 'hostile issue page');
  await shot(page, 'issues-hostile');
  await visit(page, `${repo}/issues`);
  assert.match(await page.textContent('ul.issues a.title'), /<script>alert\(1\)<\/script>/);

  // the edit form gives back exactly what is stored: saving it unchanged
  // changes nothing, the bidi control and the markup included
  await visit(page, `${repo}/issues/1`);
  await page.click('summary:has-text("Edit title and description")');
  assert.equal(await page.inputValue('#edit-body'), body);
  assert.equal(await page.inputValue('#edit-title'), `${EVIL} 2`);
  await submit(page, 'form[action$="/issues/1"] button:has-text("Save")');
  const after = await a('GET', '/issues/1');
  assert.equal(after.body.body, body, 'the body round-trips through the edit form');
  assert.equal(after.body.title, `${EVIL} 2`, 'and the title');
  await u.ctx.close();
});

test('a private repository: who sees, who may act', async () => {
  const owner = await user();
  const reader = await user();
  const writer = await user();
  const outsider = await user();
  const repo = await newRepo(owner, { private: true });
  const [, o, n] = repo.split('/');
  assert.equal((await api('PUT', `/api/repos/${o}/${n}/collaborators/${reader.name}`, owner.tok, { role: 'read' })).status < 300, true);
  assert.equal((await api('PUT', `/api/repos/${o}/${n}/collaborators/${writer.name}`, owner.tok, { role: 'write' })).status < 300, true);
  await api('POST', `/api${repo}/labels`, owner.tok, { name: 'triage' });
  await api('POST', `/api${repo}/issues`, owner.tok, { title: 'Private matter' });

  // anonymous and outsiders: 404 pages everywhere
  const anon = await context(browser);
  const ap = await anon.newPage();
  for (const path of [`${repo}/issues`, `${repo}/issues/1`, `${repo}/labels`, `${repo}/milestones`]) {
    await visit(ap, path, 404);
    assert.doesNotMatch(await ap.content(), /Private matter/);
    await visit(outsider.page, path, 404);
    assert.doesNotMatch(await outsider.page.content(), /Private matter/);
  }
  await anon.close();
  await visit(outsider.page, '/');
  const oc = await csrf(outsider.page);
  const r0 = await send(`${repo}/issues/1/comments`, { _csrf: oc, body: 'sneaky' }, await cookieHeader(outsider.ctx));
  assert.equal(r0.status, 404);

  // a reader reads and comments, but may not label or close others' issues
  await visit(reader.page, `${repo}/issues/1`);
  assert.equal(await reader.page.locator('summary:has-text("Edit labels")').count(), 0);
  assert.equal(await reader.page.locator('button:has-text("Close issue")').count(), 0);
  await reader.page.fill('#comment-body', 'A reader speaks');
  assert.equal((await submit(reader.page, 'button:has-text("Comment")')).status(), 303);
  assert.match(await reader.page.textContent('.timeline'), /A reader speaks/);
  const rc = await cookieHeader(reader.ctx);
  const tokr = await csrf(reader.page);
  const r1 = await send(`${repo}/issues/1/labels`, { _csrf: tokr, labels_set: '1', label: 'triage' }, rc);
  assert.equal(r1.status, 403);
  assert.match(r1.text, /id="labels-error">only the author or a writer may edit issue/);
  const r2 = await send(`${repo}/issues/1/state`, { _csrf: tokr, state: 'closed' }, rc);
  assert.equal(r2.status, 403);
  assert.match(r2.text, /only the author or a writer may close or reopen issue/);
  const r3 = await send(`${repo}/labels`, { _csrf: tokr, name: 'mine' }, rc);
  assert.equal(r3.status, 403);
  assert.match(r3.text, /write access/);
  await visit(reader.page, `${repo}/labels`);
  assert.equal(await reader.page.locator('summary:has-text("New label")').count(), 0);
  // the reader's own issue they may close
  await visit(reader.page, `${repo}/issues/new`);
  await reader.page.fill('#title', 'A reader asks');
  await submit(reader.page, 'button:has-text("Open issue")');
  assert.equal(await reader.page.locator('select#milestone').count(), 0, 'no writer fields');
  await submit(reader.page, 'button:has-text("Close issue")');
  assert.equal(await reader.page.textContent('.issuehead .badge'), 'closed');

  // a writer may
  await visit(writer.page, `${repo}/issues/1`);
  await writer.page.click('summary:has-text("Edit labels")');
  await writer.page.check('aside input[name="label"][value="triage"]');
  assert.equal((await submit(writer.page, 'button:has-text("Set labels")')).status(), 303);
  assert.match(await writer.page.textContent('.timeline'), /added the triage label/);
  await submit(writer.page, 'button:has-text("Close issue")');
  assert.equal(await writer.page.textContent('.issuehead .badge'), 'closed');
  for (const u of [owner, reader, writer, outsider]) await u.ctx.close();
});

test('forms without the CSRF field, or with a wrong one, are refused and change nothing', async () => {
  const u = await user();
  const repo = await newRepo(u);
  await api('POST', `/api${repo}/issues`, u.tok, { title: 'Guarded' });
  const cookie = await cookieHeader(u.ctx);
  for (const [path, fields] of [
    [`${repo}/issues`, { title: 'forged' }],
    [`${repo}/issues/1/comments`, { body: 'forged' }],
    [`${repo}/issues/1/state`, { state: 'closed' }],
    [`${repo}/labels`, { name: 'forged' }],
  ]) {
    for (const c of [undefined, 'x'.repeat(43)]) {
      const r = await send(path, c ? { ...fields, _csrf: c } : fields, cookie);
      assert.equal(r.status, 403, path);
      assert.match(r.text, /the form has expired or was sent from another site/);
    }
  }
  const is = await api('GET', `/api${repo}/issues/1`, u.tok);
  assert.equal(is.body.state, 'open');
  assert.equal(is.body.comments, 0);
  assert.equal((await api('GET', `/api${repo}/issues?state=all`, u.tok)).body.length, 1);
  assert.equal((await api('GET', `/api${repo}/labels`, u.tok)).body.length, 0);
  await u.ctx.close();
});

test('every refusal of the forms: status, message beside the form, input kept', async () => {
  const u = await user();
  const { page } = u;
  const repo = await newRepo(u);
  await api('POST', `/api${repo}/labels`, u.tok, { name: 'taken' });

  // new issue: empty title, too long a title, too large a body, unknown label
  await visit(page, `${repo}/issues/new`);
  await page.fill('#title', '   ');
  await page.fill('#body', 'kept body');
  await page.$eval('#title', (e) => e.removeAttribute('required'));
  let r = await submit(page, 'button:has-text("Open issue")');
  assert.equal(r.status(), 400);
  assert.match(await page.textContent('#title-error'), /title/);
  assert.equal(await page.inputValue('#body'), 'kept body');
  await page.$eval('#title', (e) => e.removeAttribute('maxlength'));
  await page.fill('#title', 'x'.repeat(300));
  r = await submit(page, 'button:has-text("Open issue")');
  assert.equal(r.status(), 400);
  assert.match(await page.textContent('#title-error'), /256/);
  const c = await cookieHeader(u.ctx);
  const tok = await csrf(page);
  r = await send(`${repo}/issues`, { _csrf: tok, title: 'big', body: 'y'.repeat(70000) }, c);
  assert.equal(r.status, 413);
  assert.match(r.text, /id="body-error"/);
  r = await send(`${repo}/issues`, { _csrf: tok, title: 'labelled', labels_set: '1', label: 'nope' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /label 'nope'/);
  r = await send(`${repo}/issues`, { _csrf: tok, title: 'assigned', assignees: 'nobody-at-all-here' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /user 'nobody-at-all-here' does not exist/);
  r = await send(`${repo}/issues`, { _csrf: tok, title: 'milestoned', milestone: '9' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /milestone/);
  assert.equal((await api('GET', `/api${repo}/issues?state=all`, u.tok)).body.length, 0, 'nothing opened');

  // the issue page: empty comment, empty title edit, unknown reaction
  await api('POST', `/api${repo}/issues`, u.tok, { title: 'Target' });
  await visit(page, `${repo}/issues/1`);
  r = await submit(page, 'button:has-text("Comment")');
  assert.equal(r.status(), 400);
  assert.match(await page.textContent('#comment-error'), /body/);
  r = await send(`${repo}/issues/1`, { _csrf: tok, title: '', body: 'new body kept' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /id="edit-error"/);
  assert.match(r.text, /new body kept/);
  r = await send(`${repo}/issues/1/reactions`, { _csrf: tok, content: 'poop' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /reaction/);
  r = await send(`${repo}/issues/1/state`, { _csrf: tok, state: 'sideways' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /state 'sideways' is not one of open, closed/);
  r = await send(`${repo}/issues/99/comments`, { _csrf: tok, body: 'lost' }, c);
  assert.equal(r.status, 404);
  const missing = await page.goto(`${repo}/issues/99`);
  assert.equal(missing.status(), 404);

  // labels: empty name, bad colour, a taken name
  await visit(page, `${repo}/labels`);
  r = await send(`${repo}/labels`, { _csrf: tok, name: '', color: '#ff0000' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /id="new-error"/);
  r = await send(`${repo}/labels`, { _csrf: tok, name: 'fine', color: 'red' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /colou?r/);
  await page.click('summary:has-text("New label")');
  await page.fill('#new-name', 'Taken');
  r = await submit(page, 'button:has-text("Create label")');
  assert.equal(r.status(), 409);
  assert.match(await page.textContent('#new-error'), /label 'Taken' already exists/);
  assert.equal(await page.inputValue('#new-name'), 'Taken');
  r = await send(`${repo}/labels/edit`, { _csrf: tok, label: 'nope', row: '0', name: 'x' }, c);
  assert.equal(r.status, 404);

  // milestones: an impossible date, a taken title
  await api('POST', `/api${repo}/milestones`, u.tok, { title: 'Only' });
  r = await send(`${repo}/milestones`, { _csrf: tok, title: 'Dated', due_on: '2030-02-31' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /id="new-error"/);
  assert.match(r.text, /value="Dated"/);
  r = await send(`${repo}/milestones`, { _csrf: tok, title: 'only' }, c);
  assert.equal(r.status, 409);
  assert.match(r.text, /already exists/);
  r = await send(`${repo}/milestones/1`, { _csrf: tok, title: '' }, c);
  assert.equal(r.status, 400);
  assert.match(r.text, /id="edit-1-error"/);
  await u.ctx.close();
});
