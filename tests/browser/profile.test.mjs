// profile.test.mjs — a person's page (/:owner): their repositories and
// their recent activity, each as the viewer may see it (a private
// repository and what happened in it only for its owner and
// collaborators); the page without JavaScript; axe; hostile names and
// titles shown inert; an unknown person is a 404 page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, register, token, api, repoWithFiles, uniq, shot, axe, visit } from './lib.mjs';

const EVIL = '<script>alert(1)</script>"onerror=alert(2) \u202Egnp.exe';
// how it reads on a page: the bidi control is shown, not applied
const SHOWN = EVIL.split('\u202E')[0];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

// A page that fails the test if anything opens a dialog (a script ran).
async function guarded(ctx) {
  const page = await ctx.newPage();
  page.on('dialog', (d) => { d.dismiss(); assert.fail(`a dialog opened: ${d.message()}`); });
  return page;
}

async function person(opts = {}) {
  const ctx = await context(browser, opts);
  const name = await register(ctx);
  return { ctx, name, tok: token(name) };
}

// The repository names and the activity lines a profile page shows.
async function profile(page) {
  return {
    repos: await page.$$eval('ul[aria-labelledby="repositories"] li a strong', (els) => els.map((e) => e.textContent)),
    activity: await page.$$eval('ul[aria-labelledby="activity"] li', (els) => els.map((e) => e.textContent)),
  };
}

test('a profile: repositories and activity as the viewer may see them', async () => {
  const owner = await person({ bypassCSP: true });
  const reader = await person();
  const outsider = await person();
  const pub = uniq('pub');
  const priv = uniq('priv');
  await repoWithFiles(owner.name, owner.tok, pub, { 'README.md': '# open\n' },
    { description: 'An open one' });
  await repoWithFiles(owner.name, owner.tok, priv, { 'README.md': '# secret\n' }, { private: true });
  let r = await api('PUT', `/api/repos/${owner.name}/${priv}/collaborators/${reader.name}`, owner.tok,
    { role: 'read' });
  assert.ok(r.status >= 200 && r.status < 300, r.text);
  r = await api('POST', `/api/${owner.name}/${pub}/issues`, owner.tok, { title: `Open ${EVIL}` });
  assert.equal(r.status, 201, r.text);
  r = await api('POST', `/api/${owner.name}/${priv}/issues`, owner.tok, { title: 'Secret plan' });
  assert.equal(r.status, 201, r.text);
  // someone else's doing in the public repository is not the owner's activity
  r = await api('POST', `/api/${owner.name}/${pub}/issues`, outsider.tok, { title: 'By another' });
  assert.equal(r.status, 201, r.text);
  const path = `/${owner.name}`;

  // the owner: both repositories, the private one marked, all of their activity
  const po = await guarded(owner.ctx);
  await visit(po, path);
  let seen = await profile(po);
  assert.deepEqual(seen.repos.sort(), [priv, pub].sort());
  assert.equal(await po.locator('ul[aria-labelledby="repositories"] li', { hasText: priv })
    .locator('.badge', { hasText: 'private' }).count(), 1);
  assert.match(await po.textContent('ul[aria-labelledby="repositories"]'), /An open one/);
  assert.match(await po.textContent('h2#repositories'), /\(2\)/);
  assert.ok(seen.activity.some((t) => /opened issue #1 Secret plan/.test(t)), seen.activity.join('\n'));
  assert.ok(seen.activity.some((t) => t.includes(`opened issue #1 Open ${SHOWN}`)), seen.activity.join('\n'));
  assert.ok(seen.activity.some((t) => new RegExp(`pushed to branch main in ${owner.name}/${priv}`).test(t)));
  assert.ok(seen.activity.every((t) => !/By another/.test(t)));
  assert.ok(seen.activity.every((t) => t.startsWith(owner.name)));
  // hostile titles are text: no element made of them
  assert.equal(await po.locator('main script, main [onerror]').count(), 0);
  assert.ok(await po.locator('main .bidi').count() >= 1, 'the bidi control shown, not applied');
  // the links lead to the issue and the repository
  await Promise.all([po.waitForURL(new RegExp(`/${priv}/issues/1$`)),
    po.click(`ul[aria-labelledby="activity"] a:has-text("Secret plan")`)]);
  await visit(po, path);
  await axe(po, 'profile');
  await shot(po, 'profile');

  // a read collaborator sees the private repository and its activity
  const pr = await guarded(reader.ctx);
  await visit(pr, path);
  seen = await profile(pr);
  assert.deepEqual(seen.repos.sort(), [priv, pub].sort());
  assert.ok(seen.activity.some((t) => /Secret plan/.test(t)));

  // an outsider and anyone anonymous: neither the private repository nor what happened in it
  const anon = await context(browser);
  for (const [who, ctx] of [['outsider', outsider.ctx], ['anonymous', anon]]) {
    const p = await guarded(ctx);
    await visit(p, path);
    seen = await profile(p);
    assert.deepEqual(seen.repos, [pub], who);
    assert.doesNotMatch(await p.textContent('main'), new RegExp(`${priv}|Secret plan|secret`), who);
    assert.ok(seen.activity.some((t) => t.includes(`Open ${SHOWN}`)), who);
    assert.ok(seen.activity.some((t) => new RegExp(`pushed to branch main in ${owner.name}/${pub}`).test(t)), who);
    assert.match(await p.textContent('h2#repositories'), /\(1\)/);
  }

  // without JavaScript: the same page
  const nojs = await context(browser, { javaScriptEnabled: false });
  const pn = await nojs.newPage();
  await visit(pn, path);
  const pa = await guarded(anon);
  await visit(pa, path);
  assert.deepEqual(await profile(pn), await profile(pa));
  assert.equal(await pn.locator('main a').count(), await pa.locator('main a').count());
  await nojs.close();

  // someone with nothing yet: the lists say so
  const fresh = await person();
  await visit(pa, `/${fresh.name}`);
  assert.match(await pa.textContent('ul[aria-labelledby="repositories"]'), /No repositories you can see/);
  assert.match(await pa.textContent('ul[aria-labelledby="activity"]'), /No recent activity you can see/);

  // nobody by that name: the 404 page
  await visit(pa, `/${uniq('nobody')}`, 404);
  for (const c of [anon, owner.ctx, reader.ctx, outsider.ctx, fresh.ctx]) await c.close();
});
