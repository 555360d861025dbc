// worker.js — Plue's edge cache: a Cloudflare Worker in front of the
// server replicas' load balancer (ORIGIN_URL). Every request is forwarded
// to the origin; a copy of some answers is kept in the data centre's cache
// (caches.default) so that the next reader is served without reaching Plue.
//
// What it caches: GET answers with status 200 whose Cache-Control says
// `public` and gives a lifetime (`s-maxage`, else `max-age`), for that
// long but never longer than MAX_TTL, when they carry a Content-Length of
// at most 32 MiB; keyed on the full URL (scheme, host, path and query) and
// on the request headers the answer names in Vary. HEAD is answered from a
// cached GET. In Plue that is the SHA-addressed trees, blobs, raw files,
// commits and history (`public, max-age=31536000, immutable`: a URL that
// names an object id names the same bytes forever) and, for 5 s, what
// names a branch (`public, max-age=5`: refs, branch lists, a repository's
// front page).
//
// Why that is safe: Plue marks everything a reader may not share as
// `private` (any private repository's content, even immutable), `no-store`
// or `no-cache` (pages that name the caller, the API's mutable records,
// tokens, settings), and answers 404 to an anonymous reader of a private
// repository; the worker keeps nothing so marked. What it did keep of a
// repository that is then made private stays until MAX_TTL is over (a
// day in wrangler.toml), or until the zone or those URLs are purged.
//
// What it never does: read or write the cache for a request that carries
// a Cookie or an Authorization header (the answer may depend on who asks;
// it is passed straight through), keep an answer that sets a cookie, is
// `private`, `no-store` or `no-cache`, or says `Vary: *`; buffer a body:
// git smart HTTP (info/refs, git-upload-pack, git-receive-pack, pushes of
// any size) and Server-Sent Events streams (run and session logs) go
// through as streams, in both directions, without ever touching the
// cache; follow a redirect (the client sees Plue's, e.g. a branch URL sent
// to its commit's URL); forward hop-by-hop headers either way.
//
// Every answer carries X-Plue-Edge: HIT (from the cache), MISS (from the
// origin, through the cache rules) or BYPASS (passed through, never
// cached).

// RFC 9110 §7.6.1: meaningful for one connection only, never forwarded
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
  'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

// Request headers a cached variant may be keyed on: the answer's Vary
// naming anything else (or more than VARY_MAX of these) is not cached.
const VARY_KEYABLE = new Set(['accept', 'accept-encoding', 'accept-language', 'origin']);
const VARY_MAX = 4;
// The largest answer kept, and only with a Content-Length: the copy for
// the cache is a tee of the client's stream, and a tee holds in memory
// what its slower reader has not read yet (a Worker has 128 MB).
const KEEP_MAX_BYTES = 32 << 20;
// The marker stored under a URL whose answer varies: which request
// headers pick its variant.
const VARY_INDEX = 'X-Plue-Edge-Vary';
// The query parameter that names a variant in its cache key; a request
// that carries it itself is never cached, so it cannot collide with one.
const VARIANT_PARAM = '__plue_edge_variant';
// The stored copy's own Cache-Control is its edge lifetime; the origin's,
// which the clients get, is kept beside it under this name.
const ORIGIN_CC = 'X-Plue-Edge-Cache-Control';

export default {
  async fetch(request, env, ctx) {
    const cfg = configOf(env);
    if (cfg instanceof Response) return cfg;
    if (bypassReason(request)) return finish(await forward(request, cfg.origin), 'BYPASS');

    const cache = caches.default;
    const hit = await lookup(cache, request);
    if (hit) return answerFromCache(request, hit);

    const res = await forward(request, cfg.origin);
    const ttl = request.method === 'GET' ? Math.min(storableTtl(res), cfg.maxTtl) : 0;
    if (ttl > 0) ctx.waitUntil(store(cache, request, res.clone(), ttl).catch(() => {}));
    return finish(res, 'MISS');
  },
};

// The settings (wrangler.toml's vars): ORIGIN_URL, the origin's base URL;
// MAX_TTL, optional, the most seconds the edge keeps any answer (it bounds
// how long the public copies of a repository made private outlive the
// change, short of a purge). Returns { origin, maxTtl }, or an answer
// saying what is wrong.
function configOf(env) {
  let origin;
  try {
    origin = new URL(env.ORIGIN_URL);
  } catch {
    origin = null;
  }
  if (!origin || (origin.protocol !== 'http:' && origin.protocol !== 'https:') ||
      origin.search || origin.hash)
    return misconfigured(`ORIGIN_URL is not an http(s) URL without a query: '${env.ORIGIN_URL}'`);
  const raw = env.MAX_TTL;
  let maxTtl = Infinity;
  if (raw !== undefined && raw !== '') {
    if (!/^[0-9]{1,10}$/.test(String(raw)) || Number(raw) < 1)
      return misconfigured(`MAX_TTL is not a positive number of seconds: '${raw}'`);
    maxTtl = Number(raw);
  }
  return { origin, maxTtl };
}

function misconfigured(message) {
  return new Response(`edge: ${message}\n`, { status: 502, headers: {
    'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store',
    'X-Plue-Edge': 'BYPASS' } });
}

// Why the request must not touch the cache, or null when it may.
function bypassReason(request) {
  const url = new URL(request.url);
  if (request.method !== 'GET' && request.method !== 'HEAD') return 'method';
  if (request.headers.has('Authorization')) return 'authorization';
  if (request.headers.has('Cookie')) return 'cookie';
  if (isGit(url)) return 'git';
  if (isStream(request, url)) return 'stream';
  if (request.headers.has('Range')) return 'range';
  if (url.searchParams.has(VARIANT_PARAM)) return 'reserved';
  const cc = directives(request.headers.get('Cache-Control'));
  if (cc.has('no-store')) return 'no-store';
  return null;
}

// Git smart HTTP: the ref advertisement and the two RPCs.
function isGit(url) {
  const p = url.pathname;
  return (p.endsWith('/info/refs') && url.searchParams.has('service')) ||
    p.endsWith('/git-upload-pack') || p.endsWith('/git-receive-pack');
}

// Server-Sent Events: Plue's streams live at .../stream.
function isStream(request, url) {
  return url.pathname.endsWith('/stream') ||
    (request.headers.get('Accept') || '').includes('text/event-stream');
}

// Forwards the request to the origin: same method, path, query, headers
// (less hop-by-hop) and body, the body as a stream. Redirects come back to
// the client as they are; an origin that cannot be reached is a 502.
async function forward(request, origin) {
  const url = new URL(request.url);
  const target = new URL(origin);
  target.pathname = joinPath(origin.pathname, url.pathname);
  target.search = url.search;
  const headers = stripHopByHop(new Headers(request.headers));
  const init = { method: request.method, headers, redirect: 'manual' };
  if (request.body !== null && request.method !== 'GET' && request.method !== 'HEAD')
    init.body = request.body;
  try {
    return await fetch(target.toString(), init);
  } catch (e) {
    return new Response(`edge: cannot reach the origin: ${e.message}\n`, { status: 502,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
  }
}

function joinPath(base, path) {
  return base.endsWith('/') ? base + path.slice(1) : base + path;
}

// Removes the hop-by-hop headers, and those the Connection header names.
function stripHopByHop(headers) {
  const named = (headers.get('Connection') || '').split(',').map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const h of [...HOP_BY_HOP, ...named]) headers.delete(h);
  return headers;
}

// The response's Cache-Control as a map of directive → value ('' when
// it has none), names lowercased.
function directives(value) {
  const out = new Map();
  for (const part of (value || '').split(',')) {
    const m = /^\s*([A-Za-z-]+)\s*(?:=\s*"?([^",]*)"?)?\s*$/.exec(part);
    if (m) out.set(m[1].toLowerCase(), m[2] === undefined ? '' : m[2]);
  }
  return out;
}

// How many seconds the origin's answer may be kept by a shared cache: 0
// when it may not be kept at all.
function storableTtl(res) {
  if (res.status !== 200) return 0;
  if (res.headers.has('Set-Cookie')) return 0;
  const cc = directives(res.headers.get('Cache-Control'));
  if (!cc.has('public')) return 0;
  for (const d of ['private', 'no-store', 'no-cache']) if (cc.has(d)) return 0;
  if ((res.headers.get('Content-Type') || '').startsWith('text/event-stream')) return 0;
  if (varyNames(res) === null) return 0;
  const length = res.headers.get('Content-Length');
  if (length === null || !/^[0-9]{1,12}$/.test(length) || Number(length) > KEEP_MAX_BYTES) return 0;
  const age = cc.has('s-maxage') ? cc.get('s-maxage') : cc.get('max-age');
  if (age === undefined || !/^[0-9]{1,10}$/.test(age)) return 0;
  return Number(age);
}

// The request headers the answer varies on (lowercased, sorted), [] when
// it does not vary, null when it varies on something the cache cannot
// key on (Vary: *, a header outside VARY_KEYABLE).
function varyNames(res) {
  const v = res.headers.get('Vary');
  if (!v) return [];
  const names = [...new Set(v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))];
  if (names.length > VARY_MAX || names.some((n) => !VARY_KEYABLE.has(n))) return null;
  return names.sort();
}

// The cache key of the URL (always a GET: HEAD is answered from it).
function urlKey(request) {
  return new Request(request.url, { method: 'GET' });
}

// The key of one variant: the URL's key with the varying header values
// in an extra query parameter, which the origin never sees.
function variantKey(request, names) {
  const url = new URL(request.url);
  const values = names.map((n) => `${n}:${request.headers.get(n) || ''}`).join('\n');
  url.searchParams.append(VARIANT_PARAM, values);
  return new Request(url.toString(), { method: 'GET' });
}

// The cached answer for the request, or null.
async function lookup(cache, request) {
  const first = await cache.match(urlKey(request));
  if (!first) return null;
  const index = first.headers.get(VARY_INDEX);
  if (index === null) return first;
  await first.body?.cancel();
  return (await cache.match(variantKey(request, index.split(',')))) || null;
}

// Keeps res (a copy the client does not read) for ttl seconds: the copy
// says so in its Cache-Control, which the runtime's cache obeys, and keeps
// the origin's beside it for the clients. An answer that varies is stored
// under its variant's key, with an index under the URL's key naming the
// headers that pick the variant.
async function store(cache, request, res, ttl) {
  const headers = stripHopByHop(new Headers(res.headers));
  headers.delete('X-Plue-Edge');
  headers.set('X-Plue-Edge-Stored', String(Date.now()));
  headers.set(ORIGIN_CC, headers.get('Cache-Control'));
  headers.set('Cache-Control', `public, max-age=${ttl}`);
  const copy = new Response(res.body, { status: res.status, headers });
  const names = varyNames(res);
  if (names.length === 0) return cache.put(urlKey(request), copy);
  const index = new Response(null, { status: 200, headers: {
    'Cache-Control': `public, max-age=${ttl}`, [VARY_INDEX]: names.join(',') } });
  await cache.put(variantKey(request, names), copy);
  await cache.put(urlKey(request), index);
}

// An answer from the cache: HEAD gets the headers alone, a matching
// If-None-Match a 304, and Age says how long it has been kept.
function answerFromCache(request, hit) {
  const headers = new Headers(hit.headers);
  const stored = Number(headers.get('X-Plue-Edge-Stored'));
  headers.delete('X-Plue-Edge-Stored');
  if (headers.has(ORIGIN_CC)) headers.set('Cache-Control', headers.get(ORIGIN_CC));
  headers.delete(ORIGIN_CC);
  headers.delete('CF-Cache-Status');
  if (stored > 0) headers.set('Age', String(Math.max(0, Math.floor((Date.now() - stored) / 1000))));
  headers.set('X-Plue-Edge', 'HIT');
  const etag = headers.get('ETag');
  const inm = request.headers.get('If-None-Match');
  if (etag && inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    hit.body?.cancel();
    headers.delete('Content-Length');
    return new Response(null, { status: 304, headers });
  }
  if (request.method === 'HEAD') {
    hit.body?.cancel();
    return new Response(null, { status: hit.status, headers });
  }
  return new Response(hit.body, { status: hit.status, headers });
}

// The origin's answer, unchanged but for hop-by-hop headers and the
// X-Plue-Edge mark; the body is the origin's stream, never read here.
function finish(res, mark) {
  const headers = stripHopByHop(new Headers(res.headers));
  headers.set('X-Plue-Edge', mark);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}
