// lib.mjs — what the browser tests share: Debian's chromium through
// playwright-core, accounts made through the pages, the JSON API and git
// for fixtures, axe-core in the page, screenshots, and the checks every
// page must pass. The server is run.sh's (PLUE_BASE).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = process.env.PLUE_BASE;
assert.ok(BASE, 'PLUE_BASE must name the server (run.sh)');
const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
let seq = 0;

// A unique name for a fixture: prefix, the process id and a counter.
export function uniq(prefix) {
  return `${prefix}${process.pid % 100000}x${++seq}`;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// A browser context; opts go to newContext (javaScriptEnabled: false for
// the no-script checks). Page errors and failed requests are collected.
export async function context(browser, opts = {}) {
  const ctx = await browser.newContext({ baseURL: BASE, ...opts });
  ctx.setDefaultTimeout(15000);
  return ctx;
}

// Registers a new account through the form, leaving ctx signed in. Returns
// the name.
export async function register(ctx, name = uniq('u'), password = 'correct horse battery') {
  const page = await ctx.newPage();
  await page.goto('/register');
  await page.fill('#username', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('button:has-text("Create account")')]);
  await page.close();
  return name;
}

// A full-scope API token for user name (the operator's command line).
export function token(name) {
  return execFileSync(process.env.PLUE, ['admin', 'create-token', name, '--scopes',
    'repo:read,repo:write,user'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

// The JSON API: { status, body }.
export async function api(method, path, tok, body) {
  const headers = {};
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(BASE + path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body: json, text, headers: r.headers };
}

// git with a fresh HOME-less config, in dir.
export function git(dir, ...args) {
  return execFileSync('git', ['-c', 'user.name=Test User', '-c', 'user.email=test@example.com',
    '-c', 'init.defaultBranch=main', ...args], { cwd: dir, encoding: 'utf8',
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

// Creates owner/name through the API and pushes files ({path: content})
// as one commit on main. Returns { dir, sha, url }.
export async function repoWithFiles(owner, tok, name, files, opts = {}) {
  const r = await api('POST', '/api/repos', tok, { name, private: !!opts.private,
    description: opts.description || '' });
  assert.equal(r.status, 201, r.text);
  const dir = mkdtempSync(join(tmpdir(), 'plue-browser-'));
  git(dir, 'init', '-q');
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', opts.message || 'first commit');
  const url = new URL(`/${owner}/${name}.git`, BASE);
  url.username = owner;
  url.password = tok;
  git(dir, 'push', '-q', url.toString(), 'HEAD:main');
  const sha = git(dir, 'rev-parse', 'HEAD').trim();
  return { dir, sha, url: url.toString() };
}

// Saves a screenshot of the page as SHOTS/name.png.
export async function shot(page, name) {
  if (!process.env.SHOTS) return;
  await page.screenshot({ path: join(process.env.SHOTS, `${name}.png`), fullPage: true });
}

// Runs axe-core in the page (in a context made with bypassCSP: the page's
// own policy refuses injected scripts, as it should) and fails on serious
// or critical violations.
export async function axe(page, what) {
  await page.addScriptTag({ path: AXE });
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  });
  assert.deepEqual(res, [], `axe on ${what}`);
}

// Every page: no script error, CSP and nosniff headers. Wraps goto.
export async function visit(page, path, status = 200) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const resp = await page.goto(path);
  assert.equal(resp.status(), status, `${path}: status`);
  const h = resp.headers();
  assert.match(h['content-security-policy'] || '', /script-src 'self'/, `${path}: CSP`);
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.deepEqual(errors, [], `${path}: script errors`);
  return resp;
}

// A form post outside the browser (for refusals a browser would not
// send): application/x-www-form-urlencoded fields, optional cookie.
export async function post(path, fields, cookie) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (cookie) headers.Cookie = cookie;
  const r = await fetch(BASE + path, { method: 'POST', headers, redirect: 'manual',
    body: new URLSearchParams(fields).toString() });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

// The cookies of ctx as one Cookie header.
export async function cookieHeader(ctx) {
  return (await ctx.cookies(BASE)).map((c) => `${c.name}=${c.value}`).join('; ');
}
