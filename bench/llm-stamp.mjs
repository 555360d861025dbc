// llm-stamp.mjs — the model provider of bench/agents.sh: an Anthropic
// Messages server (POST /v1/messages, streamed as the real API streams it)
// whose replies are chosen by the conversation's last user text, so that
// any number of sessions can use it at once without a script:
//
//   "stream K D"       K text deltas, D ms apart, each "~t=<ns> " stamped
//                      with the wall clock (CLOCK_REALTIME, nanoseconds)
//                      the moment it is written: the watcher subtracts it
//                      from its own clock on receipt
//   "sleep MARK"       one run_command tool call, `exec -a MARK sleep 300`
//   "step TOOL K"      K rounds of one tool call each (read_file of
//                      README.md, or run_command `echo step`), then text;
//                      for each it keeps the time from its reply's last
//                      delta to the request that brings the tool's result
//   anything else      the text "ok"
//
//   GET  /_bench/steps   {read_file: [ms...], run_command: [ms...]}
//   POST /_bench/reset   forgets them
//
// Run: node llm-stamp.mjs   (prints "listening on PORT")
import http from 'node:http';
import { performance } from 'node:perf_hooks';

// The wall clock in nanoseconds to a microsecond or better: performance.now()
// is monotonic and fine, Date.now() is the wall clock in whole
// milliseconds; the offset between them is taken at the instant Date.now()
// steps to its next millisecond.
const offsetMs = (() => {
	const start = Date.now();
	let now;
	while ((now = Date.now()) === start);
	return now - performance.now();
})();
const wallNs = () => BigInt(Math.round((offsetMs + performance.now()) * 1e6));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const steps = { read_file: [], run_command: [] };
const ended = new Map(); // tool_use id -> [tool, ms when its reply's last delta left]
let nextId = 0;

function textOf(content) {
	if (typeof content === 'string') return content;
	return (content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('');
}

// what to answer: {text: [deltas], delay} or {tool: {name, input}}
function plan(messages) {
	let command = '', results = 0;
	for (let i = messages.length - 1; i >= 0; i--) {
		const m = messages[i];
		if (m.role !== 'user') continue;
		const blocks = typeof m.content === 'string' ? [] : m.content ?? [];
		results += blocks.filter((b) => b.type === 'tool_result').length;
		command = textOf(m.content).trim();
		if (command) break;
	}
	const w = command.split(/\s+/);
	if (w[0] === 'stream') return { stamped: Number(w[1]) || 1, delay: Number(w[2]) || 0 };
	if (w[0] === 'sleep' && results === 0)
		return { tool: { name: 'run_command', input: { command: `exec -a ${w[1]} sleep 300` } } };
	if (w[0] === 'step' && results < (Number(w[2]) || 1)) {
		const input = w[1] === 'read_file' ? { path: 'README.md' } : { command: 'echo step' };
		return { tool: { name: w[1], input } };
	}
	return { text: ['ok'] };
}

async function stream(res, body, p) {
	res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
	const send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
	const id = `msg_bench_${++nextId}`;
	const usage = { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
	send('message_start', {
		message: { id, type: 'message', role: 'assistant', model: body.model, content: [],
			stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
	});
	let stop = 'end_turn';
	if (p.tool) {
		const tid = `toolu_bench_${nextId}`;
		send('content_block_start', { index: 0, content_block: { type: 'tool_use', id: tid, name: p.tool.name, input: {} } });
		send('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(p.tool.input) } });
		ended.set(tid, [p.tool.name, performance.now()]);
		send('content_block_stop', { index: 0 });
		stop = 'tool_use';
	} else {
		send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
		const n = p.stamped ?? p.text.length;
		for (let i = 0; i < n; i++) {
			if (p.delay) await sleep(p.delay);
			if (res.destroyed) return;
			const text = p.stamped ? `~t=${wallNs()} ` : p.text[i];
			send('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
		}
		send('content_block_stop', { index: 0 });
	}
	send('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 5 } });
	send('message_stop', {});
	res.end();
}

const server = http.createServer((req, res) => {
	const parts = [];
	req.on('data', (c) => parts.push(c));
	req.on('end', () => {
		const t = performance.now();
		const url = new URL(req.url, 'http://double');
		if (url.pathname === '/_bench/steps') {
			res.writeHead(200, { 'content-type': 'application/json' });
			return res.end(JSON.stringify(steps));
		}
		if (url.pathname === '/_bench/reset') {
			steps.read_file.length = steps.run_command.length = 0;
			return res.writeHead(204).end();
		}
		let body;
		try {
			body = JSON.parse(Buffer.concat(parts).toString('utf8'));
		} catch {
			res.writeHead(400, { 'content-type': 'application/json' });
			return res.end('{"type":"error","error":{"type":"invalid_request_error","message":"not JSON"}}');
		}
		// a tool's result coming back: the step's overhead ends here
		const last = body.messages?.[body.messages.length - 1];
		for (const b of (typeof last?.content === 'string' ? [] : last?.content ?? [])) {
			const e = b.type === 'tool_result' && ended.get(b.tool_use_id);
			if (e) {
				steps[e[0]]?.push(t - e[1]);
				ended.delete(b.tool_use_id);
			}
		}
		stream(res, body, plan(body.messages ?? [])).catch(() => res.destroy());
	});
});
server.on("connection", (s) => s.setNoDelay(true));
server.keepAliveTimeout = 60000;
server.maxConnections = 100000;
server.listen(0, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
