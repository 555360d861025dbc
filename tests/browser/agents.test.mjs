// agents.test.mjs — the Agents pages: the list and the "New session"
// form (a refused one keeps its input and says why beside the field), a
// session's page following its stream live (the message sent appears; a
// turn whose model call fails ends on the page, error shown, without a
// reload; the model's text and a tool call with its output arrive live;
// the Abort button shows while a turn runs and stops it), rename, archive
// and restore, delete after typing the title; who sees what, and who
// acts on a workflow run's session and who only reads it; the axe
// check and screenshots. The model provider is the Anthropic double that
// run.sh starts (PLUE_LLM_DOUBLE), scripted here reply by reply.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, context, register, token, api, repoWithFiles, uniq, shot, axe, visit,
  post, cookieHeader } from './lib.mjs';

const DOUBLE = process.env.PLUE_LLM_DOUBLE;
assert.ok(DOUBLE, 'PLUE_LLM_DOUBLE must name the model double (run.sh)');

// Queues replies on the model double (tests/llm/anthropic-double.mjs).
async function script(replies) {
  const r = await fetch(`${DOUBLE}/_double/script`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(replies) });
  assert.equal(r.status, 204);
}

async function reset() {
  assert.equal((await fetch(`${DOUBLE}/_double/reset`, { method: 'POST' })).status, 204);
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test('a session from the form to its end: live turn, abort state, rename, archive, delete', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const alice = await register(ctx);
  const tok = token(alice);
  const name = uniq('agents');
  await repoWithFiles(alice, tok, name, { 'README.md': '# agents\n' });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const list = `/${alice}/${name}/sessions`;

  await visit(page, list);
  assert.equal(await page.textContent('.tabs a[aria-current="page"]'), 'Agents');
  assert.match(await page.textContent('main'), /No sessions yet/);
  // the default tools are checked, the writing ones are not
  assert.equal(await page.isChecked('#tool-read_file'), true);
  assert.equal(await page.isChecked('#tool-run_command'), true);
  assert.ok(await page.inputValue('#model'), 'the default model is shown');
  await axe(page, 'agents list');
  await shot(page, 'agents-list');

  // refused: an empty title; the message sits beside the field, input kept
  await page.fill('#title', '');
  await page.fill('#system', 'Be brief <b>.');
  await page.uncheck('#tool-run_command');
  await page.click('button:has-text("Start session")');
  assert.match(await page.textContent('#title-error'), /title/);
  assert.equal(await page.inputValue('#system'), 'Be brief <b>.');
  assert.equal(await page.isChecked('#tool-run_command'), false);
  assert.equal(await page.isChecked('#tool-read_file'), true);

  // created: 303 to the session's page
  const title = 'Fix <the> README';
  await page.fill('#title', title);
  await Promise.all([page.waitForURL(/\/sessions\/\d+$/),
    page.click('button:has-text("Start session")')]);
  const url = page.url();
  const id = Number(url.match(/sessions\/(\d+)$/)[1]);
  assert.equal(await page.textContent('#session-title'), title);
  assert.match(await page.textContent('main'), /No messages yet/);
  const s = await api('GET', `/api/sessions/${id}`, tok);
  assert.equal(s.status, 200);
  assert.equal(s.body.system, 'Be brief <b>.');
  assert.equal(s.body.tools.includes('run_command'), false);
  assert.equal(await page.isHidden('#abort-form'), true, 'no Abort while idle');
  await axe(page, 'a new session');

  // send: the user's message appears; the turn runs and ends with the
  // model call's error (the double has no reply scripted) shown live, no
  // reload
  await reset();
  await page.waitForFunction(() => /live/.test(document.getElementById('session-live').textContent));
  await page.fill('#content', 'Hello *agent*');
  await Promise.all([page.waitForURL(url), page.click('#send')]);
  assert.match(await page.textContent('#messages'), /Hello/);
  const navs = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navs.push(f.url()); });
  await page.waitForFunction(() => document.getElementById('session').dataset.turns === '1',
    null, { timeout: 120000 });
  assert.deepEqual(navs, [], 'the turn ended without a reload');
  assert.match(await page.textContent('#session-error'), /no scripted reply/);
  assert.equal(await page.getAttribute('#session-status', 'data-status'), 'idle');
  assert.equal(await page.isHidden('#abort-form'), true, 'Abort hidden after the turn');
  assert.equal(await page.isDisabled('#content'), false, 'the form is enabled again');
  assert.equal(await page.textContent('#send-legend'), 'Your message');
  assert.match(await page.textContent('#messages .msg-assistant .msg-error'), /no scripted reply/);
  await shot(page, 'agents-session');

  // reloaded: the same conversation from the server, the error kept
  await visit(page, url);
  assert.match(await page.textContent('#messages'), /Hello/);
  assert.equal(await page.locator('#messages em').textContent(), 'agent', 'Markdown rendered');
  assert.match(await page.textContent('#messages'), /no scripted reply/);
  await axe(page, 'a session after a turn');

  // abort when nothing runs: not an error, back to the page
  const csrf = await page.inputValue('#abort-form input[name=_csrf]');
  const ab = await post(`${url.replace(BASE, '')}/abort`, { _csrf: csrf }, await cookieHeader(ctx));
  assert.equal(ab.status, 303);

  // rename: an empty title is refused beside the field
  await page.click('#manage summary');
  await page.fill('#new-title', '');
  await page.click('#rename-form button');
  assert.match(await page.textContent('#new-title-error'), /title/);
  await page.fill('#new-title', 'Renamed');
  await Promise.all([page.waitForURL(url), page.click('#rename-form button')]);
  assert.equal(await page.textContent('#session-title'), 'Renamed');

  // archive: gone from the list, under Archived; restore brings it back
  await page.click('#manage summary');
  await Promise.all([page.waitForURL(url), page.click('#archive-form button')]);
  assert.match(await page.textContent('main'), /This session is archived/);
  assert.equal(await page.isDisabled('#content'), true);
  await visit(page, list);
  assert.doesNotMatch(await page.textContent('main'), /Renamed/);
  await visit(page, `${list}?archived=true`);
  assert.match(await page.textContent('table.sessions'), /Renamed/);
  await page.click('a:has-text("Renamed")');
  await page.click('#manage summary');
  await Promise.all([page.waitForURL(url), page.click('#archive-form button:has-text("Restore")')]);
  await visit(page, list);
  assert.match(await page.textContent('table.sessions'), /Renamed/);

  // delete: the title must be typed
  await visit(page, url);
  await page.click('#manage summary');
  await page.fill('#confirm', 'wrong');
  await page.click('#delete-form button');
  assert.match(await page.textContent('#confirm-error'), /title/);
  await page.fill('#confirm', 'Renamed');
  await Promise.all([page.waitForURL(`${BASE}${list}`), page.click('#delete-form button')]);
  assert.match(await page.textContent('main'), /No sessions yet/);
  assert.equal((await api('GET', `/api/sessions/${id}`, tok)).status, 404);
  assert.deepEqual(errors, [], 'no script errors');
  await ctx.close();
});

test('text and a tool call arrive live; Abort stops a running turn', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const alice = await register(ctx);
  const tok = token(alice);
  const name = uniq('agents');
  await repoWithFiles(alice, tok, name, { 'README.md': 'Hello from the <README>.\n' });
  const s = await api('POST', `/api/${alice}/${name}/sessions`, tok, { title: 'live' });
  assert.equal(s.status, 201, s.text);
  const url = `/${alice}/${name}/sessions/${s.body.id}`;
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await visit(page, url);
  await page.waitForFunction(() => /live/.test(document.getElementById('session-live').textContent));
  await reset();
  await script([
    { content: [{ type: 'text', text: 'Let me read the README.' },
      { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'README.md' } }],
    delay_ms: 20 },
    { content: [{ type: 'text', text: 'It says **hello** <img src=x>.' }], delay_ms: 20,
      usage: { input_tokens: 120, output_tokens: 9 } },
  ]);
  await page.fill('#content', 'What does the README say?');
  await Promise.all([page.waitForURL(`${BASE}${url}`), page.click('#send')]);
  const navs = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navs.push(f.url()); });
  await page.waitForFunction(() => document.getElementById('session').dataset.turns === '1',
    null, { timeout: 120000 });
  assert.deepEqual(navs, [], 'the turn arrived without a reload');
  const text = await page.textContent('#messages');
  assert.match(text, /Let me read the README\./);
  assert.match(text, /It says \*\*hello\*\* <img src=x>\./, 'live text is shown as text');
  assert.match(await page.textContent('#tool-toolu_1 summary'), /read_file\s+done in \d+ ms/);
  assert.match(await page.textContent('#tool-toolu_1 .tool-input'), /"path": "README.md"/);
  assert.match(await page.textContent('#tool-toolu_1 .tool-output'), /Hello from the <README>\./);
  assert.match(await page.textContent('#messages'), /120 in · 9 out/);
  assert.equal(await page.isHidden('#abort-form'), true);
  await page.click('#tool-toolu_1 summary');
  await axe(page, 'a session with a tool call');
  await shot(page, 'agents-tool-call');
  // the same after a reload, rendered by the server
  await visit(page, url);
  await page.click('#tool-toolu_1 summary');
  assert.match(await page.textContent('#tool-toolu_1 .tool-output'), /Hello from the <README>\./);
  assert.equal(await page.locator('#messages .msg-assistant strong').last().textContent(), 'hello',
    'Markdown after a reload');
  assert.equal(await page.locator('#messages img').count(), 0, 'no raw HTML from the model');

  // a slow reply: Abort shows while it streams, the form is disabled;
  // pressing it ends the turn, the partial message marked aborted
  await page.waitForFunction(() => /live/.test(document.getElementById('session-live').textContent));
  await script([{ content: [{ type: 'text', text: Array.from({ length: 300 }, (_, i) => `w${i} `).join('') }],
    delay_ms: 100 }]);
  await page.fill('#content', 'Talk slowly');
  await Promise.all([page.waitForURL(`${BASE}${url}`), page.click('#send')]);
  await page.waitForFunction(() => /w3 /.test(document.getElementById('messages').textContent),
    null, { timeout: 60000 });
  assert.equal(await page.isVisible('#abort-form'), true, 'Abort while the turn runs');
  assert.equal(await page.isDisabled('#content'), true, 'no second message while it runs');
  assert.equal(await page.getAttribute('#session-status', 'data-status'), 'running');
  await shot(page, 'agents-running');
  // a page opened mid-reply shows the reply's text so far, once
  const late = await ctx.newPage();
  await visit(late, url);
  await late.waitForFunction(() => /w0 /.test(document.getElementById('messages').textContent),
    null, { timeout: 30000 });
  const seen = await late.textContent('#messages');
  assert.equal((seen.match(/(^|\s)w1 /g) || []).length, 1, 'the first words, replayed once');
  await late.close();
  await Promise.all([page.waitForURL(`${BASE}${url}`), page.click('#abort')]);
  await page.waitForFunction(() => document.getElementById('session-status').dataset.status === 'idle',
    null, { timeout: 60000 });
  assert.equal(await page.isHidden('#abort-form'), true);
  await visit(page, url);
  assert.match(await page.textContent('#messages .msg-assistant:last-child .msg-status'), /aborted/);
  assert.equal(await page.isDisabled('#content'), false);
  assert.deepEqual(errors, [], 'no script errors');
  await ctx.close();
});

test('who sees a session: signed out, another person, another repository', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const alice = await register(ctx);
  const tok = token(alice);
  const name = uniq('agents');
  await repoWithFiles(alice, tok, name, { 'README.md': 'x\n' });
  const other = uniq('agents');
  await repoWithFiles(alice, tok, other, { 'README.md': 'y\n' });
  const s = await api('POST', `/api/${alice}/${name}/sessions`, tok, { title: 'mine' });
  assert.equal(s.status, 201, s.text);
  const id = s.body.id;
  const page = await ctx.newPage();
  await visit(page, `/${alice}/${name}/sessions/${id}`);
  // another repository's address: not found
  await visit(page, `/${alice}/${other}/sessions/${id}`, 404);
  await visit(page, `/${alice}/${name}/sessions/99999999`, 404);

  const anon = await context(browser, { bypassCSP: true });
  const ap = await anon.newPage();
  await visit(ap, `/${alice}/${name}/sessions`);
  assert.match(await ap.textContent('#signin-prompt'), /Sign in/);
  assert.equal(await ap.locator('#new-session').count(), 0);
  await axe(ap, 'agents signed out');
  await visit(ap, `/${alice}/${name}/sessions/${id}`, 404);
  await anon.close();

  const bctx = await context(browser, { bypassCSP: true });
  await register(bctx);
  const bp = await bctx.newPage();
  await visit(bp, `/${alice}/${name}/sessions`);
  assert.doesNotMatch(await bp.textContent('main'), /mine/);
  await visit(bp, `/${alice}/${name}/sessions/${id}`, 404);
  // a forged post to another's session: 404, nothing sent
  await bp.goto('/');
  const csrf = await bp.inputValue('input[name=_csrf]');
  const r = await post(`/${alice}/${name}/sessions/${id}/messages`, { _csrf: csrf, content: 'hi' },
    await cookieHeader(bctx));
  assert.equal(r.status, 404);
  const m = await api('GET', `/api/sessions/${id}/messages`, tok);
  assert.equal(m.body.messages.length, 0);
  await bctx.close();
  await ctx.close();
});

test('a workflow run\'s session: its starter acts on it, another reader only reads', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const alice = await register(ctx);
  const tok = token(alice);
  const name = uniq('agents');
  await repoWithFiles(alice, tok, name, { 'README.md': 'x\n', '.plue/workflows/ask.yaml':
    'name: Ask\non:\n  workflow_dispatch: {}\nmode: agent\nagent:\n' +
    '  model: claude-sonnet-4-20250514\n  prompt: Say hello.\n  tools: [read_file]\n' });
  await reset();
  await script([{ content: [{ type: 'text', text: 'Hello from the run.' }] }]);
  const d = await api('POST', `/api/${alice}/${name}/workflows/ask.yaml/dispatch`, tok,
    { ref: 'main' });
  assert.equal(d.status, 202, d.text);
  let sid;
  for (const end = Date.now() + 60000; !sid; await new Promise((r) => setTimeout(r, 100))) {
    const l = await api('GET', `/api/${alice}/${name}/sessions`, tok);
    sid = l.body.sessions.find((x) => x.run_id != null)?.id;
    assert.ok(sid || Date.now() < end, 'the run started a session');
  }
  const url = `/${alice}/${name}/sessions/${sid}`;
  const page = await ctx.newPage();
  await visit(page, url);
  assert.equal(await page.locator('#send-form').count(), 1, 'its starter has the forms');
  assert.equal(await page.locator('#manage').count(), 1);

  const bctx = await context(browser, { bypassCSP: true });
  await register(bctx);
  const bp = await bctx.newPage();
  await visit(bp, url);
  assert.match(await bp.textContent('#messages'), /Say hello\./, 'a reader sees the conversation');
  assert.equal(await bp.locator('#send-form').count(), 0, 'a reader has no forms');
  assert.equal(await bp.locator('#abort-form').count(), 0);
  assert.equal(await bp.locator('#manage').count(), 0);
  await bctx.close();
  await ctx.close();
});
