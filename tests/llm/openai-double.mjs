// openai-double.mjs — a stand-in for an OpenAI-compatible chat-completions
// server (api.openai.com, llama.cpp's server, vLLM, Ollama's /v1) that tests
// point a client at instead of a real one. It speaks the wire protocol —
// POST /v1/chat/completions, streamed as `data: {chunk}` lines ended by
// `data: [DONE]`, or answered whole as JSON — checks requests as the API
// does (model, messages; a malformed Authorization header), and answers
// each request with the next reply of a script. Like those servers it needs
// no key: a request without Authorization is served.
//
// Run:    node openai-double.mjs [--port N] [--script FILE]
//         prints "listening on PORT" once ready
// Import: const d = await startDouble({ port: 0 }); d.port; d.url (with /v1);
//         d.script([...]); d.requests; d.reset(); await d.close();
//
// Control endpoints (for tests in other languages), as anthropic-double.mjs:
//   POST /_double/script    a JSON array of replies, queued after any left
//   POST /_double/reset     forget the queue and the recorded requests
//   GET  /_double/requests  the requests received so far, oldest first:
//                           {method, path, headers, body, closed_early}
//
// A reply (every member optional):
//   status        HTTP status (200); another status answers
//                 {"error": {message, type, param, code}} with headers
//   headers       extra response headers, e.g. {"retry-after": "1"}
//   error         {message, type, code} of a non-200 answer or of error_after
//   content       blocks, as the Anthropic double takes them:
//                 {type:"text", text, chunks?} or
//                 {type:"tool_use", id, name, input, chunks?}; chunks are
//                 the delta.content pieces or the pieces of the arguments'
//                 JSON, by default the text split after each space and the
//                 arguments cut in three
//   interleave    send the tool calls' fragments in turn (0, 1, 0, 1, ...)
//                 instead of one call after the other
//   finish_reason "stop" (or "tool_calls" when a tool_use block is there)
//   usage         {prompt_tokens, completion_tokens, cached_tokens}; sent
//                 in a last chunk with empty choices when the request asked
//                 stream_options.include_usage
//   model, id     of the completion
//   lenient       leave out what local servers leave out: the chunks' id,
//                 model, created and object, the tool calls' index and
//                 type; the usage rides on the finishing chunk (llama.cpp)
//   no_done       end the body without data: [DONE]
//   delay_ms      pause before each delta
//   error_after   send an error chunk {"error": ...} (default server_error)
//                 after that many deltas, then end the stream
//   drop_after    destroy the connection after that many deltas
//   malformed_after  send a chunk that is not JSON after that many deltas,
//                 then go on
//   drop          "before_headers": destroy the connection unanswered
import { mainIfRun, startServer } from './double-server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function apiError(res, status, error = {}, headers = {}) {
	const body = JSON.stringify({
		error: {
			message: error.message ?? 'The server had an error while processing your request.',
			type: error.type ?? 'server_error',
			param: null,
			code: error.code ?? null,
		},
	});
	res.writeHead(status, {
		'content-type': 'application/json',
		'x-request-id': 'req_double_' + status,
		...headers,
	});
	res.end(body);
}

function defaultChunks(block) {
	if (block.chunks) return block.chunks;
	if (block.type === 'text') return block.text.match(/[^ ]+ ?| /g) ?? [''];
	const json = JSON.stringify(block.input ?? {});
	const third = Math.ceil(json.length / 3);
	return [json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)];
}

function usageOf(reply) {
	const u = { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0, ...(reply.usage ?? {}) };
	return {
		prompt_tokens: u.prompt_tokens,
		completion_tokens: u.completion_tokens,
		total_tokens: u.prompt_tokens + u.completion_tokens,
		prompt_tokens_details: { cached_tokens: u.cached_tokens },
	};
}

const tools = (reply) => (reply.content ?? []).filter((b) => b.type === 'tool_use');

function finishOf(reply) {
	return reply.finish_reason ?? (tools(reply).length ? 'tool_calls' : 'stop');
}

// the completion a non-streaming request gets
function whole(reply, body, n) {
	const text = (reply.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('');
	const calls = tools(reply).map((b) => ({
		id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
	}));
	return {
		id: reply.id ?? `chatcmpl-double-${n}`,
		object: 'chat.completion',
		created: Math.floor(Date.now() / 1000),
		model: reply.model ?? body.model,
		choices: [{
			index: 0,
			message: { role: 'assistant', content: text || null, ...(calls.length ? { tool_calls: calls } : {}) },
			logprobs: null,
			finish_reason: finishOf(reply),
		}],
		usage: usageOf(reply),
	};
}

// the deltas of a reply, in the order they are sent: text pieces, and each
// tool call's first fragment (id, name) then its arguments' pieces
function deltasOf(reply) {
	const out = [];
	const calls = [];
	for (const b of reply.content ?? []) {
		if (b.type === 'text') {
			for (const c of defaultChunks(b)) out.push({ content: c });
			continue;
		}
		const index = calls.length;
		const frags = [{ index, id: b.id, type: 'function', function: { name: b.name, arguments: '' } }];
		for (const c of defaultChunks(b)) frags.push({ index, function: { arguments: c } });
		calls.push(frags);
	}
	if (reply.interleave) {
		for (let i = 0; calls.some((f) => i < f.length); i++)
			for (const f of calls) if (i < f.length) out.push({ tool_calls: [f[i]] });
	} else {
		for (const f of calls) for (const x of f) out.push({ tool_calls: [x] });
	}
	if (reply.lenient)
		for (const d of out)
			for (const tc of d.tool_calls ?? []) {
				delete tc.index;
				delete tc.type;
			}
	return out;
}

async function stream(req, res, reply, body, n, rec) {
	res.writeHead(200, {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-cache',
		'x-request-id': `req_double_${n}`,
		...(reply.headers ?? {}),
	});
	const base = reply.lenient ? {} : {
		id: reply.id ?? `chatcmpl-double-${n}`,
		object: 'chat.completion.chunk',
		created: Math.floor(Date.now() / 1000),
		model: reply.model ?? body.model,
	};
	const wantUsage = body.stream_options?.include_usage === true;
	// resolves once the chunk left for the socket: a drop comes after it
	let flushed = Promise.resolve();
	const send = (data) => {
		const text = `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
		flushed = new Promise((resolve) => res.write(text, resolve));
	};
	const chunk = (delta, finish = null, extra = {}) => send({
		...base,
		choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
		...(wantUsage && !reply.lenient ? { usage: null } : {}),
		...extra,
	});
	chunk({ role: 'assistant', content: '' });
	let deltas = 0;
	// true when the stream must end here
	const checkpoint = async () => {
		if (reply.error_after === deltas) {
			send({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null, ...(reply.error ?? {}) } });
			res.end();
			return true;
		}
		if (reply.drop_after === deltas) {
			await flushed;
			res.socket.destroy();
			return true;
		}
		if (reply.malformed_after === deltas) send('{"choices": [{"index": 0, "delta": ');
		return false;
	};
	if (await checkpoint()) return;
	for (const d of deltasOf(reply)) {
		if (reply.delay_ms) await sleep(reply.delay_ms);
		if (rec.closed_early) return;
		chunk(d);
		deltas++;
		if (await checkpoint()) return;
	}
	const usage = usageOf(reply);
	if (reply.lenient) {
		chunk({}, finishOf(reply), { usage });
	} else {
		chunk({}, finishOf(reply));
		if (wantUsage) send({ ...base, choices: [], usage });
	}
	if (!reply.no_done) send('[DONE]');
	res.end();
}

export function startDouble({ port = 0, host = '127.0.0.1', script = [] } = {}) {
	return startServer({ port, host, script, urlPath: '/v1' }, async (req, res, { url, body, rec, next }) => {
		if (url.pathname !== '/v1/chat/completions' || req.method !== 'POST')
			return apiError(res, 404, { type: 'invalid_request_error', message: `Invalid URL (${req.method} ${url.pathname})` });
		if (req.headers.authorization !== undefined && !/^Bearer ./.test(req.headers.authorization))
			return apiError(res, 401, { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided' });
		if (typeof body !== 'object' || body === null)
			return apiError(res, 400, { type: 'invalid_request_error', message: 'We could not parse the JSON body of your request.' });
		if (typeof body.model !== 'string')
			return apiError(res, 400, { type: 'invalid_request_error', message: 'you must provide a model parameter' });
		if (!Array.isArray(body.messages) || body.messages.length === 0)
			return apiError(res, 400, { type: 'invalid_request_error', message: "Missing required parameter: 'messages'." });
		const { reply, served } = next();
		if (!reply)
			return apiError(res, 500, { message: 'the double has no scripted reply' }, { 'x-should-retry': 'false' });
		if (reply.drop === 'before_headers') {
			req.socket.destroy();
			return;
		}
		if (reply.status && reply.status !== 200)
			return apiError(res, reply.status, reply.error, reply.headers);
		if (body.stream === true) {
			await stream(req, res, reply, body, served, rec);
			return;
		}
		res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_double_${served}`, ...(reply.headers ?? {}) });
		res.end(JSON.stringify(whole(reply, body, served)));
	});
}

await mainIfRun(import.meta, startDouble);
