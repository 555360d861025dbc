// siwe.test.mjs — Sign-In with Ethereum against a running plue server
// (PLUE_BASE), done the way a browser dapp does it: wallets from ethers,
// messages built by the siwe package's SiweMessage.prepareMessage(), signed
// with wallet.signMessage (EIP-191 personal_sign). Checks the sign-ins the
// server must accept and, for each way a sign-in can be wrong, the status,
// error code and message it must answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SiweMessage } from 'siwe';
import { Wallet } from 'ethers';

const BASE = process.env.PLUE_BASE;
assert.ok(BASE, 'PLUE_BASE must name the server');
const DOMAIN = new URL(BASE).host; // what window.location.host would be
const ORIGIN = new URL(BASE).origin;
const HOUR = 3600 * 1000;

async function newNonce() {
  const r = await fetch(`${BASE}/api/auth/siwe/nonce`, { method: 'POST' });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.match(body.nonce, /^[0-9a-f]{32}$/);
  assert.equal(body.domain, DOMAIN);
  assert.equal(body.uri, ORIGIN);
  return body.nonce;
}

// A message as a dapp builds it; over overrides fields.
function build(wallet, nonce, over = {}) {
  return new SiweMessage({
    domain: DOMAIN,
    address: wallet.address,
    statement: 'Sign in to Plue.',
    uri: ORIGIN,
    version: '1',
    chainId: 1,
    nonce,
    issuedAt: new Date().toISOString(),
    ...over,
  }).prepareMessage();
}

async function verify(message, signature) {
  const r = await fetch(`${BASE}/api/auth/siwe/verify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ message, signature }),
  });
  return { status: r.status, body: await r.json(), cookie: r.headers.get('set-cookie') };
}

async function accepted(wallet, message) {
  const res = await verify(message, await wallet.signMessage(message));
  assert.ok(res.status === 200 || res.status === 201, `status ${res.status}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.user.eth_address, wallet.address);
  assert.match(res.cookie, /^plue_session=ey[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
  assert.equal(res.body.csrf_token.length, 43);
  return res;
}

async function refused(message, signature, status, code, messagePart) {
  const res = await verify(message, signature);
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code, JSON.stringify(res.body));
  assert.ok(res.body.error.message.includes(messagePart),
    `message '${res.body.error.message}' lacks '${messagePart}'`);
  assert.equal(res.cookie, null, 'a refused sign-in sets no cookie');
}

// ---- accepted ----

test('first sign-in creates the account, the cookie is a session, the second finds it', async () => {
  const w = Wallet.createRandom();
  const first = await accepted(w, build(w, await newNonce()));
  assert.equal(first.status, 201);
  assert.equal(first.body.user.username, w.address.toLowerCase());
  assert.equal(first.body.user.has_password, false);

  const cookie = first.cookie.split(';')[0];
  const me = await fetch(`${BASE}/api/auth/me`, { headers: { Cookie: cookie } });
  assert.equal(me.status, 200);
  const mine = await me.json();
  assert.equal(mine.via, 'session');
  assert.equal(mine.user.id, first.body.user.id);
  assert.equal(mine.csrf_token, first.body.csrf_token);

  // the user picks a name; signing in again keeps it
  const name = `wallet${Date.now() % 1000000}`;
  const patch = await fetch(`${BASE}/api/user`, {
    method: 'PATCH',
    headers: { Cookie: cookie, 'X-CSRF-Token': mine.csrf_token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: name }),
  });
  assert.equal(patch.status, 200);
  const again = await accepted(w, build(w, await newNonce()));
  assert.equal(again.status, 200);
  assert.equal(again.body.user.id, first.body.user.id);
  assert.equal(again.body.user.username, name);
});

for (const chainId of [1, 10, 137, 8453, 11155111]) {
  test(`chain id ${chainId}`, async () => {
    const w = Wallet.createRandom();
    await accepted(w, build(w, await newNonce(), { chainId }));
  });
}

test('no statement', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce(), { statement: undefined });
  assert.ok(msg.includes(`${w.address}\n\n\nURI: `));
  await accepted(w, msg);
});

test('resources, request id, expiration in the future, not-before in the past', async () => {
  const w = Wallet.createRandom();
  await accepted(w, build(w, await newNonce(), {
    resources: ['ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/',
      `${ORIGIN}/api/repos`],
    requestId: 'req-7f3a',
    expirationTime: new Date(Date.now() + HOUR).toISOString(),
    notBefore: new Date(Date.now() - HOUR).toISOString(),
  }));
});

test('a uri under the origin', async () => {
  const w = Wallet.createRandom();
  await accepted(w, build(w, await newNonce(), { uri: `${ORIGIN}/login?next=%2F` }));
});

test('a refused attempt does not burn the nonce', async () => {
  const w = Wallet.createRandom(), other = Wallet.createRandom();
  const msg = build(w, await newNonce());
  await refused(msg, await other.signMessage(msg), 401, 'siwe_bad_signature', 'signature was made by');
  await accepted(w, msg);
});

// ---- refused ----

test('wrong domain', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce(), { domain: 'evil.example' });
  await refused(msg, await w.signMessage(msg), 401, 'siwe_domain_mismatch',
    `siwe message is for domain 'evil.example', not '${DOMAIN}'`);
});

test('same host, another port', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce(), { domain: `${new URL(BASE).hostname}:1` });
  await refused(msg, await w.signMessage(msg), 401, 'siwe_domain_mismatch', 'is for domain');
});

test('wrong uri scheme', async () => {
  const w = Wallet.createRandom();
  const uri = ORIGIN.replace(/^http/, 'ftp');
  const msg = build(w, await newNonce(), { uri });
  await refused(msg, await w.signMessage(msg), 401, 'siwe_bad_uri', `uri '${uri}' is not http or https`);
});

test('uri of another site', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce(), { uri: 'https://evil.example/' });
  await refused(msg, await w.signMessage(msg), 401, 'siwe_bad_uri', `is not under '${ORIGIN}'`);
  const msg2 = build(w, await newNonce(), { uri: `${ORIGIN}0/` });
  await refused(msg2, await w.signMessage(msg2), 401, 'siwe_bad_uri', 'is not under');
});

test('wrong version', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce()).replace('\nVersion: 1\n', '\nVersion: 2\n');
  await refused(msg, await w.signMessage(msg), 400, 'siwe_bad_version', "'2'");
});

test('expired', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce(), {
    issuedAt: new Date(Date.now() - 2 * HOUR).toISOString(),
    expirationTime: new Date(Date.now() - HOUR).toISOString(),
  });
  await refused(msg, await w.signMessage(msg), 401, 'siwe_expired', 'siwe message expired at');
});

test('not yet valid', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce(), { notBefore: new Date(Date.now() + HOUR).toISOString() });
  await refused(msg, await w.signMessage(msg), 401, 'siwe_not_yet_valid', 'is not valid before');
});

test('issued in the future', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce(), { issuedAt: new Date(Date.now() + HOUR).toISOString() });
  await refused(msg, await w.signMessage(msg), 401, 'siwe_not_yet_valid', 'issued in the future');
});

test('unknown nonce', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, 'f00dfeedf00dfeedf00dfeedf00dfeed');
  await refused(msg, await w.signMessage(msg), 401, 'siwe_unknown_nonce',
    "nonce 'f00dfeedf00dfeedf00dfeedf00dfeed' was not issued by this server");
});

test('reused nonce (a replayed sign-in)', async () => {
  const w = Wallet.createRandom();
  const nonce = await newNonce();
  const msg = build(w, nonce);
  const sig = await w.signMessage(msg);
  await accepted(w, msg);
  await refused(msg, sig, 401, 'siwe_nonce_used', `nonce '${nonce}' was already used`);
  // nor by another wallet with its own message
  const v = Wallet.createRandom();
  const msg2 = build(v, nonce);
  await refused(msg2, await v.signMessage(msg2), 401, 'siwe_nonce_used', 'was already used');
});

test('concurrent replays: exactly one wins', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce());
  const sig = await w.signMessage(msg);
  const results = await Promise.all([1, 2, 3, 4].map(() => verify(msg, sig)));
  const ok = results.filter((r) => r.status === 200 || r.status === 201);
  assert.equal(ok.length, 1, JSON.stringify(results.map((r) => r.status)));
  for (const r of results.filter((x) => !ok.includes(x)))
    assert.equal(r.body.error.code, 'siwe_nonce_used');
});

test('signature by another key', async () => {
  const w = Wallet.createRandom(), other = Wallet.createRandom();
  const msg = build(w, await newNonce());
  await refused(msg, await other.signMessage(msg), 401, 'siwe_bad_signature',
    `signature was made by '${other.address}', not by '${w.address}'`);
});

test('message edited after signing', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce());
  const sig = await w.signMessage(msg);
  await refused(msg.replace('Sign in to Plue.', 'Sign in to Plue!'), sig, 401,
    'siwe_bad_signature', 'signature was made by');
  await refused(msg.replace('Chain ID: 1', 'Chain ID: 5'), sig, 401, 'siwe_bad_signature',
    'signature was made by');
});

test('address not EIP-55 checksummed', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce()).replace(w.address, w.address.toLowerCase());
  await refused(msg, await w.signMessage(msg), 401, 'siwe_bad_address', w.address.toLowerCase());
});

test('truncated signature', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce());
  const sig = await w.signMessage(msg);
  await refused(msg, sig.slice(0, -2), 401, 'siwe_bad_signature', 'signature');
  await refused(msg, sig.slice(0, 66), 401, 'siwe_bad_signature', 'signature');
});

test('malformed signature', async () => {
  const w = Wallet.createRandom();
  const msg = build(w, await newNonce());
  const sig = await w.signMessage(msg);
  await refused(msg, 'hello', 401, 'siwe_bad_signature', 'signature');
  await refused(msg, sig.slice(2), 401, 'siwe_bad_signature', 'signature');
  await refused(msg, `0x${'zz'.repeat(65)}`, 401, 'siwe_bad_signature', 'signature');
  await refused(msg, `${sig.slice(0, -2)}1d`, 401, 'siwe_bad_signature', 'signature'); // v = 29
});

test("an address's default name already taken by another account", async () => {
  const w = Wallet.createRandom();
  // an administrator made an account under that name before the wallet came
  execFileSync(process.env.PLUE, ['admin', 'create-user', w.address.toLowerCase()], { stdio: 'ignore' });
  const msg = build(w, await newNonce());
  await refused(msg, await w.signMessage(msg), 409, 'username_taken',
    `username '${w.address.toLowerCase()}' is taken by another account`);
});

test('garbage text', async () => {
  const w = Wallet.createRandom();
  await refused('hello world', await w.signMessage('hello world'), 400, 'siwe_malformed', 'siwe message');
  await refused('', '0x00', 400, 'siwe_malformed', 'siwe message is empty');
  const msg = build(w, await newNonce()).replaceAll('\n', '\r\n');
  await refused(msg, await w.signMessage(msg), 400, 'siwe_malformed', 'carriage return');
});
