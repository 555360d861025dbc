// anthropic-double.mjs — a stand-in for the Anthropic Messages API that
// tests point a client at instead of the real provider. It speaks the real
// wire protocol — POST /v1/messages, streamed as server-sent events
// (message_start, content_block_start/delta/stop, message_delta,
// message_stop, ping, error) or answered whole as JSON — checks requests
// as the API does (x-api-key or a bearer token, anthropic-version, model, max_tokens,
// messages), and answers each request with the next reply of a script.
//
// Run:    node anthropic-double.mjs [--port N] [--script FILE]
//         prints "listening on PORT" once ready
// Import: const d = await startDouble({ port: 0 }); d.port; d.script([...]);
//         d.requests; d.reset(); await d.close();
//
// Control endpoints (for tests in other languages):
//   POST /_double/script    a JSON array of replies, queued after any left
//   POST /_double/reset     forget the queue and the recorded requests
//   GET  /_double/requests  the requests received so far, oldest first:
//                           {method, path, headers, body, closed_early}
//
// A reply (every member optional):
//   status        HTTP status (200); another status answers
//                 {"type":"error","error":error} with headers
//   headers       extra response headers, e.g. {"retry-after": "1"}
//   error         {type, message} of a non-200 answer or of error_after
//   content       blocks: {type:"text", text, chunks?} or
//                 {type:"tool_use", id, name, input, chunks?}; chunks are
//                 the deltas (text pieces or pieces of the input's JSON),
//                 by default the text split after each space and the
//                 input's JSON cut in three
//   stop_reason   "end_turn" (or "tool_use" when a tool_use block is there)
//   usage         {input_tokens, output_tokens, cache_creation_input_tokens,
//                  cache_read_input_tokens}
//   model, id     of the message
//   delay_ms      pause before each delta
//   error_after   send an `error` event (error, default overloaded_error)
//                 after that many deltas, then end the stream
//   drop_after    destroy the connection after that many deltas
//   malformed_after  send an event whose data is not JSON after that many
//                 deltas, then go on
//   drop          "before_headers": destroy the connection unanswered
import { mainIfRun, startServer } from './double-server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function apiError(res, status, type, message, headers = {}) {
	const body = JSON.stringify({
		type: 'error',
		error: { type, message },
		request_id: 'req_double_' + status,
	});
	res.writeHead(status, {
		'content-type': 'application/json',
		'request-id': 'req_double_' + status,
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
	return {
		input_tokens: 10,
		output_tokens: 5,
		cache_creation_input_tokens: 0,
		cache_read_input_tokens: 0,
		...(reply.usage ?? {}),
	};
}

function stopReasonOf(reply) {
	if (reply.stop_reason) return reply.stop_reason;
	return (reply.content ?? []).some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
}

// the message a non-streaming request gets
function wholeMessage(reply, body, n) {
	return {
		id: reply.id ?? `msg_double_${n}`,
		type: 'message',
		role: 'assistant',
		model: reply.model ?? body.model,
		content: (reply.content ?? []).map((b) =>
			b.type === 'text'
				? { type: 'text', text: b.text }
				: { type: 'tool_use', id: b.id, name: b.name, input: b.input ?? {} }),
		stop_reason: stopReasonOf(reply),
		stop_sequence: null,
		usage: usageOf(reply),
	};
}

async function stream(req, res, reply, body, n, rec) {
	res.writeHead(200, {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-cache',
		'request-id': `req_double_${n}`,
		...(reply.headers ?? {}),
	});
	// resolves once the event left for the socket: a drop comes after it
	let flushed = Promise.resolve();
	const send = (type, data) => {
		const text = `event: ${type}\ndata: ${typeof data === 'string' ? data : JSON.stringify({ type, ...data })}\n\n`;
		flushed = new Promise((resolve) => res.write(text, resolve));
	};
	const usage = usageOf(reply);
	send('message_start', {
		message: {
			id: reply.id ?? `msg_double_${n}`,
			type: 'message',
			role: 'assistant',
			model: reply.model ?? body.model,
			content: [],
			stop_reason: null,
			stop_sequence: null,
			usage: {
				input_tokens: usage.input_tokens,
				cache_creation_input_tokens: usage.cache_creation_input_tokens,
				cache_read_input_tokens: usage.cache_read_input_tokens,
				output_tokens: 1,
			},
		},
	});
	send('ping', {});
	let deltas = 0;
	// true when the stream must end here
	const checkpoint = async () => {
		if (reply.error_after === deltas) {
			send('error', { error: reply.error ?? { type: 'overloaded_error', message: 'Overloaded' } });
			res.end();
			return true;
		}
		if (reply.drop_after === deltas) {
			await flushed;
			res.socket.destroy();
			return true;
		}
		if (reply.malformed_after === deltas) send('content_block_delta', '{"type": "content_block_delta", "index": 0, "delta": ');
		return false;
	};
	const blocks = reply.content ?? [];
	for (let i = 0; i < blocks.length; i++) {
		const b = blocks[i];
		if (await checkpoint()) return;
		send('content_block_start', {
			index: i,
			content_block: b.type === 'text'
				? { type: 'text', text: '' }
				: { type: 'tool_use', id: b.id, name: b.name, input: {} },
		});
		for (const chunk of defaultChunks(b)) {
			if (reply.delay_ms) await sleep(reply.delay_ms);
			if (rec.closed_early) return;
			send('content_block_delta', {
				index: i,
				delta: b.type === 'text'
					? { type: 'text_delta', text: chunk }
					: { type: 'input_json_delta', partial_json: chunk },
			});
			deltas++;
			if (await checkpoint()) return;
		}
		send('content_block_stop', { index: i });
	}
	if (await checkpoint()) return;
	send('message_delta', {
		delta: { stop_reason: stopReasonOf(reply), stop_sequence: null },
		usage: { output_tokens: usage.output_tokens },
	});
	send('message_stop', {});
	res.end();
}

export function startDouble({ port = 0, host = '127.0.0.1', script = [] } = {}) {
	return startServer({ port, host, script, urlPath: '' }, async (req, res, { url, body, rec, next }) => {
		if (url.pathname !== '/v1/messages' || req.method !== 'POST')
			return apiError(res, 404, 'not_found_error', `Not found: ${req.method} ${url.pathname}`);
		if (!req.headers['x-api-key'] && !/^Bearer ./.test(req.headers.authorization ?? ''))
			return apiError(res, 401, 'authentication_error', 'x-api-key header is required');
		if (!req.headers['anthropic-version'])
			return apiError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
		if (typeof body !== 'object' || body === null)
			return apiError(res, 400, 'invalid_request_error', 'Request body is not valid JSON');
		for (const f of ['model', 'max_tokens', 'messages'])
			if (body[f] === undefined)
				return apiError(res, 400, 'invalid_request_error', `${f}: Field required`);
		const { reply, served } = next();
		if (!reply)
			return apiError(res, 500, 'api_error', 'the double has no scripted reply', { 'x-should-retry': 'false' });
		if (reply.drop === 'before_headers') {
			req.socket.destroy();
			return;
		}
		if (reply.status && reply.status !== 200)
			return apiError(res, reply.status, reply.error?.type ?? 'api_error',
				reply.error?.message ?? 'Internal server error', reply.headers);
		if (body.stream === true) {
			await stream(req, res, reply, body, served, rec);
			return;
		}
		res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_double_${served}`, ...(reply.headers ?? {}) });
		res.end(JSON.stringify(wholeMessage(reply, body, served)));
	});
}

await mainIfRun(import.meta, startDouble);
