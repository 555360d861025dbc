// sse-lib.js — reading Server-Sent Events in the integration scripts' node
// helpers (they are written into the test's directory: they load this file
// through $SSE_LIB, which lib.sh exports).
//
//   const { sseEvents } = require(process.env.SSE_LIB);
//   sseEvents(res, (id, event, data) => { ... });
//
// Calls the function for each event of an http.IncomingMessage's body that
// has an `id:` (keepalive comments have none), in order, with the id as a
// number, the event type and the data line (a string, or null). Returning
// true stops reading the rest of what has arrived.
exports.sseEvents = function (res, onEvent) {
	let buf = "";
	res.setEncoding("utf8");
	res.on("data", (d) => {
		buf += d;
		let j;
		while ((j = buf.indexOf("\n\n")) >= 0) {
			const block = buf.slice(0, j);
			buf = buf.slice(j + 2);
			let id = null, ev = null, data = null;
			for (const l of block.split("\n")) {
				if (l.startsWith("id: ")) id = +l.slice(4);
				else if (l.startsWith("event: ")) ev = l.slice(7);
				else if (l.startsWith("data: ")) data = l.slice(6);
			}
			if (id !== null && onEvent(id, ev, data) === true) return;
		}
	});
};
