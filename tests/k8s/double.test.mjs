// double.test.mjs — keeps the Kubernetes API double honest (node --test):
// it refuses what the API server refuses (objects failing the official
// schemas, with a 422 Status naming the fields; a second object of one
// name with 409 AlreadyExists; no token with 401), serves lists with label
// selectors, watches with 410 Gone, and runs a pod's containers as
// processes that share the pod's volumes but not each other's processes;
// what it serves (lists, Status objects, watch events) passes the schemas
// too.
// Each request opens its own connection (agent: false): a kept-alive socket
// the server closes while idle would fail a request for no fault of the
// double.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Status } from "@kubernetes-models/apimachinery/apis/meta/v1/Status";
import { WatchEvent } from "@kubernetes-models/apimachinery/apis/meta/v1/WatchEvent";
import { PodList } from "kubernetes-models/v1";

const here = path.dirname(new URL(import.meta.url).pathname);
let dbl, info, ca, dir;

before(async () => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-double-test-"));
	dbl = spawn("node", [path.join(here, "double.mjs"), "--port", "0", "--dir", dir, "--namespace", "t", "--bookmark-ms", "200", "--plue", "/bin/echo", "--image", "printer=/usr/bin/printf", "--restricted", "locked"], { stdio: ["ignore", "pipe", "inherit"] });
	info = await new Promise((resolve, reject) => {
		let out = "";
		dbl.stdout.on("data", (c) => {
			out += c;
			if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]));
		});
		dbl.on("exit", (code) => reject(new Error(`the double exited (${code})`)));
	});
	ca = fs.readFileSync(info.ca);
});

after(async () => {
	const exited = new Promise((resolve) => dbl.on("exit", resolve));
	dbl.kill("SIGTERM");
	await exited;
	fs.rmSync(dir, { recursive: true, force: true });
});

function call(method, p, body, { token = info.token } = {}) {
	return new Promise((resolve, reject) => {
		const headers = { "Content-Type": "application/json" };
		if (token) headers.Authorization = `Bearer ${token}`;
		const req = https.request(info.url + p, { method, headers, ca, agent: false }, (res) => {
			let text = "";
			res.on("data", (c) => (text += c));
			res.on("end", () => {
				let json = null;
				try {
					json = JSON.parse(text);
				} catch {}
				resolve({ status: res.statusCode, json, text });
			});
		});
		req.on("error", reject);
		if (body !== undefined) req.write(typeof body === "string" ? body : JSON.stringify(body));
		req.end();
	});
}

// the lines of a watch until stop(lines) is true
function watchUntil(p, stop) {
	return new Promise((resolve, reject) => {
		const req = https.request(info.url + p, { headers: { Authorization: `Bearer ${info.token}` }, ca, agent: false }, (res) => {
			let buf = "";
			const lines = [];
			res.on("data", (c) => {
				buf += c;
				let i;
				while ((i = buf.indexOf("\n")) >= 0) {
					lines.push(JSON.parse(buf.slice(0, i)));
					buf = buf.slice(i + 1);
				}
				if (stop(lines)) {
					req.destroy();
					resolve({ status: res.statusCode, lines });
				}
			});
			res.on("end", () => resolve({ status: res.statusCode, lines }));
		});
		req.on("error", (e) => (e.code === "ECONNRESET" ? null : reject(e)));
		req.end();
	});
}

const pods = "/api/v1/namespaces/t/pods";

function pod(name, containers, extra = {}) {
	return { apiVersion: "v1", kind: "Pod", metadata: { name, labels: { app: "t", ...(extra.labels || {}) } }, spec: { restartPolicy: "Never", containers, ...(extra.spec || {}) } };
}

async function waitPhase(name, phases) {
	for (let i = 0; i < 200; i++) {
		const r = await call("GET", `${pods}/${name}`);
		if (r.status === 200 && phases.includes(r.json.status.phase)) return r.json;
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`pod ${name} never reached ${phases}`);
}

test("a pod with a wrong type is refused with 422 naming the field", async () => {
	const r = await call("POST", pods, pod("bad-type", [{ name: "c", image: "i", args: "not-a-list" }]));
	assert.equal(r.status, 422);
	assert.equal(r.json.kind, "Status");
	assert.equal(r.json.reason, "Invalid");
	assert.equal(r.json.code, 422);
	assert.match(r.json.message, /^Pod "bad-type" is invalid: spec\.containers\[0\]\.args: must be array/);
	assert.deepEqual(r.json.details.causes.map((c) => c.field), ["spec.containers[0].args"]);
	assert.equal((await call("GET", `${pods}/bad-type`)).status, 404);
});

test("a container without a name is refused with 422", async () => {
	const r = await call("POST", pods, pod("no-name", [{ image: "i" }]));
	assert.equal(r.status, 422);
	assert.deepEqual(r.json.details.causes, [{ reason: "FieldValueRequired", message: "Required value", field: "spec.containers[0].name" }]);
});

test("labels must be strings, names RFC 1123", async () => {
	const r = await call("POST", pods, pod("n", [{ name: "c", image: "i" }], { labels: { n: 1 } }));
	assert.equal(r.status, 422);
	assert.match(r.json.message, /metadata\.labels\.n: must be string/);
	const r2 = await call("POST", pods, pod("Upper_Case", [{ name: "c", image: "i" }]));
	assert.equal(r2.status, 422);
	assert.match(r2.json.message, /metadata\.name: Invalid value: "Upper_Case"/);
});

test("a valid pod is created, a second of the same name is 409 AlreadyExists", async () => {
	const r = await call("POST", pods, pod("ok", [{ name: "c", image: "i", command: ["/bin/true"] }]));
	assert.equal(r.status, 201);
	assert.equal(r.json.metadata.namespace, "t");
	assert.match(r.json.metadata.resourceVersion, /^\d+$/);
	assert.match(r.json.metadata.uid, /^[0-9a-f-]{36}$/);
	const again = await call("POST", pods, pod("ok", [{ name: "c", image: "i" }]));
	assert.equal(again.status, 409);
	assert.equal(again.json.reason, "AlreadyExists");
	assert.equal(again.json.message, 'pods "ok" already exists');
	const done = await waitPhase("ok", ["Succeeded", "Failed"]);
	assert.equal(done.status.phase, "Succeeded");
	assert.equal(done.status.containerStatuses[0].state.terminated.exitCode, 0);
});

test("no token, a wrong token: 401", async () => {
	assert.equal((await call("GET", pods, undefined, { token: "" })).status, 401);
	const r = await call("GET", pods, undefined, { token: "nope" });
	assert.equal(r.status, 401);
	assert.equal(r.json.reason, "Unauthorized");
});

test("a secret's schema: data must be base64", async () => {
	const r = await call("POST", "/api/v1/namespaces/t/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: "%%%" } });
	assert.equal(r.status, 422);
	assert.match(r.json.message, /data\.k: must match format "byte"/);
});

test("list with a label selector; delete 200 then 404", async () => {
	for (const [n, pool] of [["sel-a", "standby"], ["sel-b", "cold"]])
		assert.equal((await call("POST", pods, pod(n, [{ name: "c", image: "i", command: ["/bin/true"] }], { labels: { "plue.dev/pool": pool } }))).status, 201);
	const r = await call("GET", `${pods}?labelSelector=${encodeURIComponent("app=t,plue.dev/pool=standby")}`);
	assert.equal(r.status, 200);
	assert.equal(r.json.kind, "PodList");
	assert.deepEqual(r.json.items.map((p) => p.metadata.name), ["sel-a"]);
	const not = await call("GET", `${pods}?labelSelector=${encodeURIComponent("plue.dev/pool!=standby,plue.dev/pool")}`);
	assert.deepEqual(not.json.items.map((p) => p.metadata.name), ["sel-b"]);
	await waitPhase("sel-a", ["Succeeded"]);
	const d = await call("DELETE", `${pods}/sel-a`);
	assert.equal(d.status, 200);
	assert.equal(d.json.metadata.name, "sel-a");
	for (let i = 0; i < 100 && (await call("GET", `${pods}/sel-a`)).status !== 404; i++) await new Promise((r) => setTimeout(r, 20));
	const gone = await call("DELETE", `${pods}/sel-a`);
	assert.equal(gone.status, 404);
	assert.equal(gone.json.reason, "NotFound");
});

test("a pod's containers share volumes and env from a secret, not processes", async () => {
	assert.equal((await call("POST", "/api/v1/namespaces/t/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "plue-runner" }, stringData: { "registration-secret": "s3cret" } })).status, 201);
	const mounts = [{ name: "workspace", mountPath: "/workspace" }, { name: "control", mountPath: "/run/plue" }];
	const p = pod("two", [
		{ name: "runner", image: "i", command: ["/bin/sh", "-c", "echo $(POD) $SECRET > /workspace/from-runner; sleep 30 & ps -eo args | grep -c '^sleep 3[0]$' > /workspace/seen-by-runner; wait"], env: [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }, { name: "SECRET", valueFrom: { secretKeyRef: { name: "plue-runner", key: "registration-secret" } } }], volumeMounts: mounts },
		{ name: "exec", image: "i", command: ["/bin/sh", "-c", "sleep 0.5; cat /workspace/from-runner; echo \"secret=[$SECRET]\"; cat /workspace/seen-by-runner; ps -eo args | grep -c '^sleep 3[0]$' || true"], volumeMounts: mounts },
	], { spec: { volumes: [{ name: "workspace", emptyDir: { sizeLimit: "1Gi" } }, { name: "control", emptyDir: { medium: "Memory" } }] } });
	assert.equal((await call("POST", pods, p)).status, 201);
	for (let i = 0; i < 200; i++) {
		const r = await call("GET", `${pods}/two`);
		const ex = r.json.status.containerStatuses?.find((c) => c.name === "exec");
		if (ex && ex.state.terminated) break;
		await new Promise((r) => setTimeout(r, 50));
	}
	const log = (await call("GET", `${pods}/two/log?container=exec`)).text.split("\n");
	assert.equal(log[0], "two s3cret");
	assert.equal(log[1], "secret=[]");
	assert.equal(log[2], "1", "the runner sees its own sleep");
	assert.equal(log[3], "0", "the exec container must not see the runner's sleep");
	const running = await call("GET", `${pods}/two`);
	assert.equal(running.json.status.phase, "Running");
	// delete: SIGTERM reaches the sleeping runner, the pod goes away
	const w = watchUntil(`${pods}?watch=1&resourceVersion=${running.json.metadata.resourceVersion}`, (ls) => ls.some((l) => l.type === "DELETED"));
	assert.equal((await call("DELETE", `${pods}/two?gracePeriodSeconds=5`)).status, 200);
	const { lines } = await w;
	const del = lines.find((l) => l.type === "DELETED").object;
	assert.equal(del.metadata.name, "two");
	assert.ok(del.metadata.deletionTimestamp);
	assert.equal(del.status.containerStatuses.find((c) => c.name === "runner").state.terminated.exitCode, 143);
});

test("a missing secret keeps the container waiting", async () => {
	const p = pod("nosecret", [{ name: "c", image: "i", command: ["/bin/true"], env: [{ name: "S", valueFrom: { secretKeyRef: { name: "absent", key: "k" } } }] }]);
	assert.equal((await call("POST", pods, p)).status, 201);
	let st;
	for (let i = 0; i < 100; i++) {
		st = (await call("GET", `${pods}/nosecret`)).json.status.containerStatuses?.[0]?.state;
		if (st && st.waiting && st.waiting.reason === "CreateContainerConfigError") break;
		await new Promise((r) => setTimeout(r, 20));
	}
	assert.deepEqual(st.waiting, { reason: "CreateContainerConfigError", message: 'secret "absent" not found' });
});

test("watch: ADDED from version 0, events after a version, 410 when forced or too old", async () => {
	const list = await call("GET", `${pods}?labelSelector=app%3Dw`);
	const rv = list.json.metadata.resourceVersion;
	const w = watchUntil(`${pods}?watch=1&allowWatchBookmarks=true&labelSelector=app%3Dw&resourceVersion=${rv}`, (ls) => ls.some((l) => l.type === "BOOKMARK") && ls.some((l) => l.type === "ADDED"));
	const p = pod("w1", [{ name: "c", image: "i", command: ["/bin/true"] }], { labels: { app: "w" } });
	assert.equal((await call("POST", pods, p)).status, 201);
	const { lines } = await w;
	assert.equal(lines.find((l) => l.type === "ADDED").object.metadata.name, "w1");
	assert.equal(lines.find((l) => l.type === "BOOKMARK").object.kind, "Pod");

	const zero = await watchUntil(`${pods}?watch=1&labelSelector=app%3Dw`, (ls) => ls.length >= 1);
	assert.equal(zero.lines[0].type, "ADDED");

	await fetchControl("POST", "/_double/gone");
	const g = await watchUntil(`${pods}?watch=1&resourceVersion=${rv}`, () => false);
	assert.equal(g.status, 200);
	assert.equal(g.lines.length, 1);
	assert.equal(g.lines[0].type, "ERROR");
	assert.equal(g.lines[0].object.code, 410);
	assert.equal(g.lines[0].object.reason, "Expired");

	await fetchControl("POST", "/_double/compact");
	const old = await watchUntil(`${pods}?watch=1&resourceVersion=${rv}`, () => false);
	assert.equal(old.lines[0].object.code, 410);
});

test("evict: the kubelet kills the pod, Failed with reason Evicted", async () => {
	const p = pod("ev", [{ name: "c", image: "i", command: ["/bin/sleep", "30"] }]);
	assert.equal((await call("POST", pods, p)).status, 201);
	await waitPhase("ev", ["Running"]);
	const r = await fetchControl("POST", "/_double/evict/t/ev");
	assert.equal(r.ok, true);
	const done = await waitPhase("ev", ["Failed"]);
	assert.equal(done.status.reason, "Evicted");
	assert.equal(done.status.containerStatuses[0].state.terminated.exitCode, 137);
});

async function logOf(name, container) {
	await waitPhase(name, ["Succeeded", "Failed"]);
	return (await call("GET", `${pods}/${name}/log?container=${container}`)).text;
}

test("the program: the image's binary with args, or command with plue replaced", async () => {
	const p = pod("prog", [
		{ name: "img", image: "printer", args: ["%s-%s", "$(WHO)", "$(NOPE)"], env: [{ name: "WHO", value: "a" }] },
		{ name: "cmd", image: "anything", command: ["plue", "runner"], args: ["--x"] },
		{ name: "sh", image: "anything", command: ["/bin/sh", "-c", "echo $$HOME"] },
	]);
	assert.equal((await call("POST", pods, p)).status, 201);
	assert.equal(await logOf("prog", "img"), "a-$(NOPE)");
	assert.equal(await logOf("prog", "cmd"), "runner --x\n");
	assert.equal(await logOf("prog", "sh"), "/\n");
	const r = await call("GET", `${pods}/prog/log`);
	assert.equal(r.status, 400);
	assert.match(r.json.message, /a container name must be specified for pod prog, choose one of: \[img cmd sh\]/);
});

test("runAsUser and runAsGroup are the process's uid and gid", { skip: process.getuid() !== 0 && "the double runs as root here only" }, async () => {
	const p = pod("uid", [{ name: "c", image: "i", command: ["/bin/sh", "-c", "id -u; id -g; touch /workspace/f && echo wrote"], volumeMounts: [{ name: "workspace", mountPath: "/workspace" }] }], { spec: { securityContext: { runAsUser: 4321, runAsGroup: 4322, runAsNonRoot: true }, volumes: [{ name: "workspace", emptyDir: {} }] } });
	assert.equal((await call("POST", pods, p)).status, 201);
	assert.equal(await logOf("uid", "c"), "4321\n4322\nwrote\n");
	const root = pod("nonroot", [{ name: "c", image: "i", command: ["/bin/true"], securityContext: { runAsUser: 0 } }], { spec: { securityContext: { runAsNonRoot: true } } });
	assert.equal((await call("POST", pods, root)).status, 201);
	let st;
	for (let i = 0; i < 100 && !(st && st.waiting && st.waiting.reason !== "ContainerCreating"); i++) {
		st = (await call("GET", `${pods}/nonroot`)).json.status.containerStatuses?.[0]?.state;
		await new Promise((r) => setTimeout(r, 20));
	}
	assert.equal(st.waiting.reason, "CreateContainerConfigError");
});

test("activeDeadlineSeconds: the pod is killed, Failed with DeadlineExceeded", async () => {
	const p = pod("deadline", [{ name: "c", image: "i", command: ["/bin/sleep", "30"] }], { spec: { activeDeadlineSeconds: 1 } });
	assert.equal((await call("POST", pods, p)).status, 201);
	const done = await waitPhase("deadline", ["Failed"]);
	assert.equal(done.status.reason, "DeadlineExceeded");
});

test("the Eviction API deletes the pod gracefully", async () => {
	const p = pod("evict-api", [{ name: "c", image: "i", command: ["/bin/sleep", "30"] }]);
	assert.equal((await call("POST", pods, p)).status, 201);
	await waitPhase("evict-api", ["Running"]);
	const r = await call("POST", `${pods}/evict-api/eviction`, { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "evict-api", namespace: "t" } });
	assert.equal(r.status, 201);
	let got;
	for (let i = 0; i < 200 && (got = await call("GET", `${pods}/evict-api`)).status !== 404; i++) await new Promise((r) => setTimeout(r, 20));
	assert.equal(got.status, 404);
	const report = await fetchControl("GET", "/_double/pods/t/evict-api");
	assert.equal(report.deleted, true);
	assert.equal(report.processes.c.signal, "SIGTERM");
	const t = report.timing;
	assert.ok(t.createdMs <= t.scheduledMs && t.scheduledMs <= report.processes.c.startedMs);
	assert.ok(report.processes.c.startedMs <= report.processes.c.exitedMs && report.processes.c.exitedMs <= t.deletedMs);
});

test("--restricted: Pod Security admission refuses what the restricted profile refuses", async () => {
	const locked = "/api/v1/namespaces/locked/pods";
	const bare = pod("bare", [{ name: "runner", image: "i", command: ["/bin/true"] }]);
	const r = await call("POST", locked, bare);
	assert.equal(r.status, 403);
	assert.equal(r.json.reason, "Forbidden");
	assert.equal(
		r.json.message,
		'pods "bare" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "runner" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "runner" must set securityContext.capabilities.drop=["ALL"]; only NET_BIND_SERVICE may be added), runAsNonRoot != true (pod or container "runner" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "runner" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
	);
	const csc = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
	const good = pod("good", [{ name: "runner", image: "i", command: ["/bin/true"], securityContext: csc }], { spec: { securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } }, volumes: [{ name: "w", emptyDir: {} }] } });
	assert.equal((await call("POST", locked, good)).status, 201);
	const host = pod("host", [{ name: "runner", image: "i", securityContext: csc }], { spec: { hostNetwork: true, securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, volumes: [{ name: "h", hostPath: { path: "/" } }] } });
	const h = await call("POST", locked, host);
	assert.equal(h.status, 403);
	assert.match(h.json.message, /host namespaces \(hostNetwork=true\), hostPath volumes \(volume "h"\)$/);
	// the same bare pod elsewhere is admitted
	assert.equal((await call("POST", pods, { ...bare, metadata: { name: "bare-elsewhere" } })).status, 201);
});

test("what the double serves passes the schemas too: lists, Status objects, watch events", async () => {
	const list = await call("GET", pods);
	assert.ok(list.json.items.length > 5);
	assert.ok(list.json.items.some((p) => p.status.containerStatuses && p.status.containerStatuses[0].state.terminated));
	new PodList(list.json).validate();
	for (const r of [await call("GET", `${pods}/absent`), await call("POST", pods, pod("ok", [{ name: "c", image: "i" }])), await call("POST", pods, pod("x", [{ image: "i" }])), await call("GET", pods, undefined, { token: "" })])
		new Status(r.json).validate();
	const w = await watchUntil(`${pods}?watch=1&allowWatchBookmarks=true`, (ls) => ls.some((l) => l.type === "BOOKMARK"));
	assert.ok(w.lines.length > 5);
	for (const ev of w.lines) new WatchEvent(ev).validate();
});

function fetchControl(method, p) {
	return new Promise((resolve, reject) => {
		const req = https.request(info.url + p, { method, ca, agent: false }, (res) => {
			let t = "";
			res.on("data", (c) => (t += c));
			res.on("end", () => resolve(JSON.parse(t)));
		});
		req.on("error", reject);
		req.end();
	});
}
