// double-server.mjs — the plumbing the model doubles share
// (anthropic-double.mjs, openai-double.mjs): the HTTP server, the queue of
// scripted replies, the log of requests heard, the control endpoints
//   POST /_double/script   (a JSON array of replies, queued)
//   POST /_double/reset    (forget the queue and the log)
//   GET  /_double/requests (the log: {method, path, headers, body, closed_early})
// and the command line (--port, --script). A double gives serve(), called
// for every other request as serve(req, res, {url, body, rec, next}) where
// next() takes the next scripted reply and returns {reply, served}.
import http from 'node:http';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

function readBody(req) {
	return new Promise((resolve, reject) => {
		const parts = [];
		req.on('data', (c) => parts.push(c));
		req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
		req.on('error', reject);
	});
}

export async function startServer({ port = 0, host = '127.0.0.1', script = [], urlPath = '' }, serve) {
	const queue = [...script];
	const requests = [];
	let served = 0;
	const next = () => {
		const reply = queue.shift();
		served++;
		return { reply, served };
	};

	const server = http.createServer(async (req, res) => {
		const url = new URL(req.url, 'http://double');
		const text = await readBody(req);
		if (url.pathname === '/_double/script' && req.method === 'POST') {
			queue.push(...JSON.parse(text));
			res.writeHead(204).end();
			return;
		}
		if (url.pathname === '/_double/reset' && req.method === 'POST') {
			queue.length = 0;
			requests.length = 0;
			res.writeHead(204).end();
			return;
		}
		if (url.pathname === '/_double/requests' && req.method === 'GET') {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify(requests));
			return;
		}
		let body;
		try {
			body = JSON.parse(text);
		} catch {
			body = text;
		}
		const rec = { method: req.method, path: url.pathname, headers: req.headers, body, closed_early: false };
		requests.push(rec);
		res.on('close', () => {
			if (!res.writableFinished) rec.closed_early = true;
		});
		await serve(req, res, { url, body, rec, next });
	});
	// the test's connections end with it
	server.keepAliveTimeout = 1000;
	await new Promise((resolve) => server.listen(port, host, resolve));
	return {
		port: server.address().port,
		url: `http://${host}:${server.address().port}${urlPath}`,
		requests,
		script: (replies) => queue.push(...replies),
		reset: () => {
			queue.length = 0;
			requests.length = 0;
		},
		close: () => {
			server.closeAllConnections();
			return new Promise((resolve) => server.close(resolve));
		},
	};
}

// Runs startDouble from the command line when meta (the double's
// import.meta) is the program's: prints "listening on PORT".
export async function mainIfRun(meta, startDouble) {
	if (meta.url !== pathToFileURL(process.argv[1]).href) return;
	const arg = (name) => {
		const i = process.argv.indexOf(name);
		return i > 0 ? process.argv[i + 1] : undefined;
	};
	const script = arg('--script') ? JSON.parse(fs.readFileSync(arg('--script'), 'utf8')) : [];
	const d = await startDouble({ port: Number(arg('--port') ?? 0), script });
	process.stdout.write(`listening on ${d.port}\n`);
	const stop = () => d.close().then(() => process.exit(0));
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}
