// openai-double.test.mjs — proves the chat-completions double speaks the
// protocol: the official SDK (openai, pinned in package.json) is pointed at
// it and must stream each fixture of openai-fixtures.json — text deltas,
// tool calls with parsed arguments, usage, finish reason — as the fixture
// expects (test_openai.c holds the C client to the same expectations),
// read a non-streaming completion, retry a 429 and a 500, and raise its
// APIError for error answers and mid-stream error chunks.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import OpenAI from 'openai';
import { startDouble } from './openai-double.mjs';

const fixtures = JSON.parse(fs.readFileSync(new URL('./openai-fixtures.json', import.meta.url), 'utf8'));
let double, client;

before(async () => {
	double = await startDouble();
	client = new OpenAI({ apiKey: 'sk-double-test', baseURL: double.url, maxRetries: 2 });
});
after(() => double.close());
beforeEach(() => double.reset());

const ask = { model: 'gpt-double', messages: [{ role: 'user', content: 'hi' }] };
const tools = [{ type: 'function', function: { name: 'read_file', parameters: { type: 'object' } } }];

// what the SDK makes of a streamed reply, in the fixtures' terms
async function streamed(params) {
	const s = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
	const got = { deltas: [], text: '', calls: [], finish_reason: null, usage: null };
	for await (const chunk of s) {
		if (chunk.usage) got.usage = chunk.usage;
		const c = chunk.choices[0];
		if (!c) continue;
		if (c.delta?.content) {
			got.deltas.push(c.delta.content);
			got.text += c.delta.content;
		}
		for (const tc of c.delta?.tool_calls ?? []) {
			const call = (got.calls[tc.index] ??= { id: '', name: '', args: '' });
			if (tc.id) call.id = tc.id;
			if (tc.function?.name) call.name = tc.function.name;
			call.args += tc.function?.arguments ?? '';
		}
		if (c.finish_reason) got.finish_reason = c.finish_reason;
	}
	got.tool_calls = got.calls.map((c) => ({ id: c.id, name: c.name, arguments: JSON.parse(c.args) }));
	return got;
}

for (const f of fixtures) {
	test(`fixture: ${f.name}`, async () => {
		double.script([f.reply]);
		const got = await streamed({ ...ask, tools });
		assert.deepEqual(got.deltas, f.expect.deltas);
		assert.equal(got.text, f.expect.text);
		assert.deepEqual(got.tool_calls, f.expect.tool_calls);
		assert.equal(got.finish_reason, f.expect.finish_reason);
		assert.equal(got.usage.prompt_tokens, f.expect.usage.prompt_tokens);
		assert.equal(got.usage.completion_tokens, f.expect.usage.completion_tokens);
		assert.equal(got.usage.prompt_tokens_details.cached_tokens, f.expect.usage.cached_tokens);
		const r = double.requests[0];
		assert.equal(r.headers.authorization, 'Bearer sk-double-test');
		assert.equal(r.body.stream, true);
		assert.equal(r.body.tools[0].function.name, 'read_file');
	});
}

test('the SDK stream helper assembles the parallel tool calls', async () => {
	const f = fixtures.find((x) => x.name.startsWith('two parallel'));
	double.script([f.reply]);
	const c = await client.chat.completions.stream({ ...ask, tools }).finalChatCompletion();
	const calls = c.choices[0].message.tool_calls;
	assert.deepEqual(calls.map((t) => [t.id, t.function.name, JSON.parse(t.function.arguments)]),
		f.expect.tool_calls.map((t) => [t.id, t.name, t.arguments]));
	assert.equal(c.choices[0].finish_reason, 'tool_calls');
});

test('a non-streaming request gets the whole completion', async () => {
	double.script([fixtures[1].reply]);
	const c = await client.chat.completions.create(ask);
	assert.equal(c.choices[0].message.content, 'Reading it.');
	assert.equal(c.choices[0].message.tool_calls[0].function.name, 'read_file');
	assert.equal(c.choices[0].finish_reason, 'tool_calls');
	assert.equal(c.usage.completion_tokens, 5);
	assert.notEqual(double.requests[0].body.stream, true);
});

test('the SDK retries a 429 that says retry-after', async () => {
	double.script([
		{ status: 429, headers: { 'retry-after': '0.05' }, error: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached' } },
		{ content: [{ type: 'text', text: 'After the wait.' }] },
	]);
	const got = await streamed(ask);
	assert.equal(got.text, 'After the wait.');
	assert.equal(double.requests.length, 2);
	assert.equal(double.requests[1].headers['x-stainless-retry-count'], '1');
});

test('the SDK retries a 500 and gives up after its retries with an APIError', async () => {
	const broken = { status: 500, headers: { 'retry-after-ms': '10' } };
	double.script([broken, broken, broken]);
	await assert.rejects(streamed(ask), (e) => {
		assert.ok(e instanceof OpenAI.APIError);
		assert.equal(e.status, 500);
		assert.equal(e.type, 'server_error');
		return true;
	});
	assert.equal(double.requests.length, 3);
});

test('a 401 surfaces as the SDK AuthenticationError', async () => {
	double.script([{ status: 401, error: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided' } }]);
	await assert.rejects(streamed(ask), (e) => {
		assert.ok(e instanceof OpenAI.AuthenticationError);
		assert.equal(e.code, 'invalid_api_key');
		return true;
	});
	assert.equal(double.requests.length, 1);
});

test('a mid-stream error chunk surfaces as the SDK APIError after the first text', async () => {
	double.script([{ content: [{ type: 'text', text: 'one two three four' }], error_after: 2 }]);
	const deltas = [];
	await assert.rejects(async () => {
		const s = await client.chat.completions.create({ ...ask, stream: true });
		for await (const chunk of s) if (chunk.choices[0]?.delta?.content) deltas.push(chunk.choices[0].delta.content);
	}, (e) => {
		assert.ok(e instanceof OpenAI.APIError);
		assert.match(e.message, /server had an error/);
		return true;
	});
	assert.deepEqual(deltas, ['one ', 'two ']);
	assert.equal(double.requests.length, 1);
});

test('a malformed chunk is an error for the SDK', async () => {
	double.script([{ content: [{ type: 'text', text: 'a b' }], malformed_after: 1 }]);
	await assert.rejects(streamed(ask));
});

test('a connection dropped mid-stream is an error for the SDK', async () => {
	double.script([{ content: [{ type: 'text', text: 'a b c d' }], drop_after: 1 }]);
	await assert.rejects(streamed(ask));
});

test('the double answers like the API to a request without model or messages', async () => {
	await assert.rejects(client.chat.completions.create({ messages: [] }), (e) => {
		assert.equal(e.status, 400);
		assert.equal(e.type, 'invalid_request_error');
		return true;
	});
	const res = await fetch(`${double.url}/chat/completions`, {
		method: 'POST', body: '{"model":"m","messages":[{"role":"user","content":"x"}]}', headers: { authorization: 'Basic x' },
	});
	assert.equal(res.status, 401);
	assert.equal((await res.json()).error.code, 'invalid_api_key');
});
