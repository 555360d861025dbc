// double.test.mjs — proves the model double speaks the Anthropic Messages
// protocol: the official SDK (@anthropic-ai/sdk, pinned in package.json)
// is pointed at it and must stream the text, parse the tool input, read the
// usage and stop reason, retry a 429 and a 529, and turn a mid-stream
// `error` event into its APIError — exactly as it does against the API.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startDouble } from './anthropic-double.mjs';

let double, client;

before(async () => {
	double = await startDouble();
	client = new Anthropic({ apiKey: 'sk-double-test', baseURL: double.url });
});
after(() => double.close());
beforeEach(() => double.reset());

const ask = { model: 'claude-double', max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] };

test('text streams as several deltas, with usage and stop reason', async () => {
	double.script([{
		content: [{ type: 'text', text: 'Hello from the double.' }],
		usage: { input_tokens: 12, output_tokens: 7, cache_creation_input_tokens: 3, cache_read_input_tokens: 4 },
	}]);
	const deltas = [];
	const s = client.messages.stream(ask);
	s.on('text', (d) => deltas.push(d));
	const m = await s.finalMessage();
	assert.deepEqual(deltas, ['Hello ', 'from ', 'the ', 'double.']);
	assert.equal(m.content[0].type, 'text');
	assert.equal(m.content[0].text, 'Hello from the double.');
	assert.equal(m.stop_reason, 'end_turn');
	assert.equal(m.model, 'claude-double');
	assert.deepEqual(
		[m.usage.input_tokens, m.usage.output_tokens, m.usage.cache_creation_input_tokens, m.usage.cache_read_input_tokens],
		[12, 7, 3, 4]);
	const r = double.requests[0];
	assert.equal(r.headers['x-api-key'], 'sk-double-test');
	assert.equal(r.headers['anthropic-version'], '2023-06-01');
	assert.equal(r.body.stream, true);
});

test('a tool_use block arrives with its input parsed from input_json_delta chunks', async () => {
	const input = { path: 'src/main.c', lines: [1, 20], deep: { ok: true } };
	double.script([{
		content: [
			{ type: 'text', text: 'Reading it.' },
			{ type: 'tool_use', id: 'toolu_01', name: 'read_file', input },
		],
	}]);
	const m = await client.messages.stream({
		...ask,
		tools: [{ name: 'read_file', description: 'read a file', input_schema: { type: 'object' } }],
	}).finalMessage();
	assert.equal(m.stop_reason, 'tool_use');
	assert.equal(m.content[1].type, 'tool_use');
	assert.equal(m.content[1].id, 'toolu_01');
	assert.equal(m.content[1].name, 'read_file');
	assert.deepEqual(m.content[1].input, input);
	assert.equal(double.requests[0].body.tools[0].name, 'read_file');
});

test('a non-streaming request gets the whole message', async () => {
	double.script([{ content: [{ type: 'text', text: 'Whole.' }], usage: { output_tokens: 2 } }]);
	const m = await client.messages.create(ask);
	assert.equal(m.content[0].text, 'Whole.');
	assert.equal(m.usage.output_tokens, 2);
	assert.equal(m.stop_reason, 'end_turn');
	assert.notEqual(double.requests[0].body.stream, true);
});

test('the SDK retries a 429 that says retry-after', async () => {
	double.script([
		{ status: 429, headers: { 'retry-after': '0.05' }, error: { type: 'rate_limit_error', message: 'Slow down' } },
		{ content: [{ type: 'text', text: 'After the wait.' }] },
	]);
	const m = await client.messages.stream(ask).finalMessage();
	assert.equal(m.content[0].text, 'After the wait.');
	assert.equal(double.requests.length, 2);
	assert.equal(double.requests[1].headers['x-stainless-retry-count'], '1');
});

test('the SDK retries a 529 overloaded and gives up after its retries', async () => {
	const overloaded = { status: 529, headers: { 'retry-after-ms': '10' }, error: { type: 'overloaded_error', message: 'Overloaded' } };
	double.script([overloaded, { content: [{ type: 'text', text: 'ok' }] }]);
	assert.equal((await client.messages.stream(ask).finalMessage()).content[0].text, 'ok');
	double.reset();
	double.script([overloaded, overloaded, overloaded]);
	await assert.rejects(client.messages.stream(ask).finalMessage(), (e) => {
		assert.ok(e instanceof Anthropic.APIError);
		assert.equal(e.status, 529);
		assert.equal(e.error.error.type, 'overloaded_error');
		return true;
	});
	assert.equal(double.requests.length, 3);
});

test('x-should-retry: false stops the SDK from retrying a 500', async () => {
	double.script([{ status: 500, headers: { 'x-should-retry': 'false' }, error: { type: 'api_error', message: 'Internal' } }]);
	await assert.rejects(client.messages.stream(ask).finalMessage(), (e) => e.status === 500);
	assert.equal(double.requests.length, 1);
});

test('a mid-stream error event surfaces as the SDK APIError after the first text', async () => {
	double.script([{ content: [{ type: 'text', text: 'one two three four' }], error_after: 2 }]);
	const deltas = [];
	const s = client.messages.stream(ask);
	s.on('text', (d) => deltas.push(d));
	await assert.rejects(s.finalMessage(), (e) => {
		assert.ok(e instanceof Anthropic.APIError);
		assert.equal(e.error.error.type, 'overloaded_error');
		assert.match(e.message, /Overloaded/);
		return true;
	});
	assert.deepEqual(deltas, ['one ', 'two ']);
	assert.equal(double.requests.length, 1);
});

test('a connection dropped mid-stream is an error for the SDK, not a message', async () => {
	double.script([{ content: [{ type: 'text', text: 'a b c d' }], drop_after: 1 }]);
	await assert.rejects(client.messages.stream(ask).finalMessage());
});

test('the double answers like the API to a request without its headers or fields', async () => {
	const res = await fetch(`${double.url}/v1/messages`, { method: 'POST', body: '{}' });
	assert.equal(res.status, 401);
	assert.equal((await res.json()).error.type, 'authentication_error');
	await assert.rejects(client.messages.create({ messages: [] }), (e) => {
		assert.equal(e.status, 400);
		assert.equal(e.error.error.type, 'invalid_request_error');
		return true;
	});
});
