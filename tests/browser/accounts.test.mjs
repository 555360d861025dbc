// accounts.test.mjs — signing up, in (password and Ethereum wallet) and
// out through the pages; the refusals a person can meet (wrong password,
// a taken name, a forged form) with their messages; the pages without
// JavaScript; axe on each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { BASE, launch, context, register, uniq, shot, axe, visit, post, cookieHeader } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test('register, sign out, sign in with the password, refusals keep the input', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const page = await ctx.newPage();
  await visit(page, '/register');
  await axe(page, 'register');
  await shot(page, 'register');
  const name = await register(ctx);
  await visit(page, '/');
  assert.equal(await page.textContent('header.site a[href="/' + name + '"]'), name);
  await axe(page, 'home (signed in)');
  await shot(page, 'home');

  await page.click('header.site button:has-text("Sign out")');
  await page.waitForURL(`${BASE}/`);
  assert.equal(await page.locator('header.site a[href="/login"]').count(), 1);

  // a wrong password: 401, the message beside the form, the name kept
  const resp1 = await visit(page, '/login');
  assert.ok(resp1);
  await axe(page, 'login');
  await shot(page, 'login');
  await page.fill('#username', name);
  await page.fill('#password', 'not the password');
  const [r401] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click('form[action="/login"] button')]);
  assert.equal(r401.status(), 401);
  assert.match(await page.textContent('#login-error'), /incorrect username or password/);
  assert.equal(await page.inputValue('#username'), name);

  await page.fill('#password', 'correct horse battery');
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('form[action="/login"] button')]);
  assert.equal(await page.textContent('header.site a[href="/' + name + '"]'), name);

  // a taken name: 409 beside the username field, the input kept
  const other = await context(browser);
  const p2 = await other.newPage();
  await p2.goto('/register');
  await p2.fill('#username', name);
  await p2.fill('#email', 'x@example.com');
  await p2.fill('#password', 'correct horse battery');
  const [r409] = await Promise.all([p2.waitForResponse((r) => r.request().method() === 'POST'),
    p2.click('form[action="/register"] button')]);
  assert.equal(r409.status(), 409);
  assert.equal(await p2.textContent('#username-error'), `username '${name}' is taken`);
  assert.equal(await p2.inputValue('#username'), name);
  assert.equal(await p2.inputValue('#email'), 'x@example.com');
  await other.close();
  await ctx.close();
});

test('a next= that leaves the site is not followed', async () => {
  const ctx = await context(browser);
  const name = await register(ctx);
  const page = await ctx.newPage();
  // signed in already: /login redirects to next, never off the site
  const r = await page.goto('/login?next=//evil.example/x');
  assert.equal(new URL(page.url()).host, new URL(BASE).host);
  assert.equal(r.status(), 200);
  assert.equal(await page.textContent('header.site a[href="/' + name + '"]'), name);
  await ctx.close();
});

test('forms without the CSRF field, or from another site, are refused and change nothing', async () => {
  const ctx = await context(browser);
  const name = await register(ctx);
  const cookie = await cookieHeader(ctx);
  // the session cookie alone does not sign out
  const r = await post('/logout', { _csrf: 'forged' }, cookie);
  assert.equal(r.status, 403);
  assert.match(r.text, /the form has expired or was sent from another site/);
  assert.match(r.headers.get('content-type'), /text\/html/);
  const page = await ctx.newPage();
  await page.goto('/');
  assert.equal(await page.textContent('header.site a[href="/' + name + '"]'), name, 'still signed in');
  // login CSRF: a cross-site form carries no pre-session cookie
  const l = await post('/login', { username: name, password: 'correct horse battery', _csrf: 'x'.repeat(32) });
  assert.equal(l.status, 403);
  assert.equal(l.headers.get('set-cookie'), null, 'no session was opened');
  const g = await post('/register', { username: uniq('v'), password: 'correct horse battery' });
  assert.equal(g.status, 403);
  await ctx.close();
});

test('sign in with Ethereum through an EIP-1193 wallet', async () => {
  const wallet = Wallet.createRandom();
  const ctx = await context(browser);
  const signed = [];
  await ctx.exposeFunction('__plueWallet', async (method, params) => {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [wallet.address.toLowerCase()];
    if (method === 'eth_chainId') return '0x1';
    if (method === 'personal_sign') {
      const msg = Buffer.from(params[0].slice(2), 'hex').toString('utf8');
      signed.push(msg);
      return wallet.signMessage(msg);
    }
    throw new Error(`unsupported ${method}`);
  });
  await ctx.addInitScript(() => {
    window.ethereum = { request: ({ method, params }) => window.__plueWallet(method, params || []) };
  });
  const page = await ctx.newPage();
  await visit(page, '/login?next=/');
  await page.click('#siwe');
  await page.waitForSelector(`header.site a[href="/${wallet.address.toLowerCase()}"]`);
  assert.equal(signed.length, 1);
  assert.match(signed[0], new RegExp(`^${new URL(BASE).host} wants you to sign in with your Ethereum account:\\n${wallet.address}\\n`));
  assert.match(signed[0], /\nURI: http:\/\/127\.0\.0\.1:\d+\nVersion: 1\nChain ID: 1\nNonce: [0-9a-f]{32}\n/);
  await ctx.close();
});

test('without a wallet the button says so', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await visit(page, '/login');
  await page.click('#siwe');
  await page.waitForFunction(() => document.getElementById('siwe-status').textContent.length > 0);
  assert.match(await page.textContent('#siwe-status'), /no Ethereum wallet/);
  await ctx.close();
});

test('the sign-in pages without JavaScript', async () => {
  const ctx = await context(browser, { javaScriptEnabled: false });
  const page = await ctx.newPage();
  await visit(page, '/login');
  assert.equal(await page.isVisible('#siwe'), false, 'the wallet button needs a script');
  assert.equal(await page.isVisible('form[action="/login"] button'), true);
  const name = await register(ctx);
  await page.goto('/');
  assert.equal(await page.textContent('header.site a[href="/' + name + '"]'), name);
  await ctx.close();
});

test('unknown addresses are a 404 page; /api ones the API error', async () => {
  const ctx = await context(browser, { bypassCSP: true });
  const page = await ctx.newPage();
  await visit(page, '/nobody-here/nothing/at/all', 404);
  assert.match(await page.textContent('h2'), /404/);
  await axe(page, '404 page');
  await shot(page, 'not-found');
  const r = await fetch(`${BASE}/api/nothing-here`);
  assert.equal(r.status, 404);
  assert.deepEqual(await r.json(), { error: { code: 'no_route', message: "no route for '/api/nothing-here'" } });
  await ctx.close();
});
