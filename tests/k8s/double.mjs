// double.mjs — a Kubernetes API server double for the tests (never part of
// the product). It speaks the real REST paths over HTTPS with a bearer
// token, refuses every object that fails the official schemas (the
// kubernetes-models package, the same OpenAPI the API server publishes),
// and "runs" the pods it is given: each container is a local process in
// its own bubblewrap, so that a pod made by Plue's pool keeper starts the
// real `plue runner` and `plue execd`.
//
// Usage:
//   node tests/k8s/double.mjs --port 0 --dir DIR [--token T] [--plue BIN]
//        [--image IMAGE=BIN]... [--namespace NS] [--window N]
//        [--bookmark-ms MS] [--no-limits] [--restricted NS]...
// prints one JSON line on stdout, then serves until SIGTERM/SIGINT:
//   {"url":"https://127.0.0.1:PORT","port":PORT,"ca":"DIR/ca.crt",
//    "kubeconfig":"DIR/kubeconfig","token":"…","dir":"DIR",
//    "serviceaccount":"DIR/serviceaccount","pid":…}
// DIR keeps the CA, the server's certificate, the token and the last
// resourceVersion, so a double restarted on the same DIR and port is the
// same server to its clients (its objects are gone: it has no etcd, and
// its watch window starts after the last version it handed out, so a
// client resuming from an older version gets 410 Gone and relists).
// Files it writes in DIR:
//   kubeconfig           token + certificate-authority-data (inline)
//   kubeconfig-files     tokenFile + certificate-authority (paths)
//   kubeconfig-cert      a client certificate and key (-data), no token
//   serviceaccount/      token, ca.crt, namespace: the in-cluster layout
//   pods/NS/NAME/        per pod: volumes/<volume>/ and <container>.log
//
// From bash, tests/k8s/lib.sh wraps all this (k8s_double_start, k8s_api,
// k8s_ctl, k8s_json, k8s_pods, k8s_double_stop); by hand:
//   d=$(mktemp -d); node tests/k8s/double.mjs --port 0 --dir "$d" \
//       --plue "$PLUE" > "$d/out" & until [ -s "$d/out" ]; do sleep 0.1; done
//   url=$(jq -r .url "$d/out"); ca=$(jq -r .ca "$d/out")
//   tok=$(jq -r .token "$d/out")
//   k() { curl -sS --cacert "$ca" -H "Authorization: Bearer $tok" "$@"; }
//   k "$url/api/v1/namespaces/plue-runners/pods?labelSelector=plue.dev/pool=standby"
//   c() { curl -sS --cacert "$ca" "$@"; }      # control: no token needed
//   c -X POST "$url/_double/evict/plue-runners/NAME"
//
// REST (namespaced kinds of any group kubernetes-models knows: pods,
// secrets, configmaps, services, apps/v1 deployments, …; the plural is
// the kind in lower case + "s"):
//   POST   /api/v1/namespaces/NS/pods          201 | 409 AlreadyExists |
//                                              422 Invalid (schema errors)
//   GET    /api/v1/namespaces/NS/pods[/NAME]   list (labelSelector: a=b,
//                                              a==b, a!=b, a, !a) or one
//   DELETE /api/v1/namespaces/NS/pods/NAME     200 with the object | 404;
//          ?gracePeriodSeconds=N or a DeleteOptions body
//   GET    …/pods?watch=1&resourceVersion=RV&allowWatchBookmarks=true
//          chunked JSON lines {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|
//          ERROR","object":…}; no RV (or "0"): the current objects as
//          ADDED first; RV older than the window: an ERROR event with a
//          410 Status (reason Expired), then the stream ends
//   GET    /api/v1/namespaces/NS/pods/NAME/log?container=C  its output
//   POST   /api/v1/namespaces/NS/pods/NAME/eviction  (policy/v1 Eviction:
//          a graceful delete, as the API server does)
//   Every request needs "Authorization: Bearer TOKEN" or the client
//   certificate from kubeconfig-cert; else 401.
//   --restricted NS: pods created in NS must pass Pod Security admission's
//   "restricted" profile, as in a namespace labelled
//   pod-security.kubernetes.io/enforce=restricted; else 403 Forbidden with
//   the admission's message (`violates PodSecurity "restricted:latest":
//   ...`). The checks: hostNetwork/PID/IPC, privileged, hostPath and other
//   volume types, hostPort, allowPrivilegeEscalation=false,
//   capabilities drop ALL (add only NET_BIND_SERVICE), runAsNonRoot=true,
//   runAsUser != 0, seccompProfile RuntimeDefault or Localhost.
//
// Control (no auth; JSON in and out):
//   GET  /_double/requests         {"requests":[{method,path,query,status,
//                                  auth}],"counts":{"POST /api/…":n}}
//   POST /_double/reset            forgets the requests heard
//   POST /_double/gone             the next watch gets an ERROR 410 event;
//                                  body {"http":true}: an HTTP 410 instead
//   POST /_double/compact          drops the event window: any watch from
//                                  an older version gets 410
//   POST /_double/cut              ends every open watch stream (a dropped
//                                  connection)
//   POST /_double/fail             body {"status":503,"count":2,
//                                  "method":"GET","path":"substring"}: the
//                                  next matching requests get that status
//   POST /_double/evict/NS/NAME    the kubelet's eviction: the containers
//                                  are killed, phase Failed, reason Evicted
//   GET  /_double/pods/NS/NAME     the pod, its processes (pid, argv, uid,
//                                  exit code, signal), limits applied or
//                                  only recorded, log paths, volume dirs,
//                                  notes (what was not modelled), times
//                                  (epoch ms: timing.createdMs, scheduledMs,
//                                  deletedMs; processes.C.startedMs,
//                                  exitedMs: the double's own overhead is
//                                  startedMs - createdMs); a deleted pod's
//                                  last report, "deleted":true
//   GET  /_double/pods             every pod, the same
//
// Scheduling: a created pod is Pending, then each container starts as
// `bwrap` with the host's directories read-only, /dev, /proc, a fresh /tmp
// and /run, its own PID and IPC namespaces (containers of a pod cannot see
// each other's processes), the pod's emptyDir volumes (one directory per
// pod, mode 0777 like the kubelet's) bound read-write at each mountPath,
// the network shared with the host (podIP 127.0.0.1). The program: without
// `command`, the binary for the image (--image IMAGE=BIN, else --plue or
// $PLUE) with `args`; with `command`, command[0] is replaced by that binary
// when its basename is "plue", else run as named. Environment: value,
// valueFrom secretKeyRef / configMapKeyRef (objects created through the
// double; a missing one keeps the container Waiting with
// CreateContainerConfigError, as the kubelet does), fieldRef
// metadata.name/namespace/uid, status.podIP, spec.nodeName; envFrom; and
// $(VAR) references in command and args. securityContext runAsUser and
// runAsGroup (pod or container) become the process's uid/gid when the
// double runs as root (bwrap then runs unprivileged in a user namespace);
// runAsNonRoot with uid 0 is refused like the kubelet does.
// resources.limits.memory becomes RLIMIT_DATA (prlimit: the process's
// writable private memory, closer to a cgroup's limit than RLIMIT_AS,
// which reserved but unused address space would exhaust; --no-limits turns
// it off); cpu and ephemeral-storage are recorded, not enforced.
// restartPolicy Never: the pod ends Succeeded (every exit code 0) or
// Failed; Always/OnFailure: the container is restarted after 1 s.
// activeDeadlineSeconds: the pod is killed, Failed, DeadlineExceeded.
// DELETE sets deletionTimestamp (MODIFIED), sends SIGTERM to each
// container's process group, SIGKILL after the grace period, then removes
// the pod (DELETED). Not modelled: init containers, probes, image pulls,
// node affinity and taints, cpu throttling, network policy.

import { spawn, execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";

// ---- options ----------------------------------------------------------

function parseArgs(argv) {
	const o = {
		port: 0,
		dir: "",
		token: "",
		plue: process.env.PLUE || "",
		images: {},
		namespace: "default",
		window: 200,
		bookmarkMs: 2000,
		limits: true,
		host: "127.0.0.1",
		restricted: new Set(),
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const next = () => {
			if (i + 1 >= argv.length) die(`option '${a}' needs a value`);
			return argv[++i];
		};
		if (a === "--port") o.port = Number(next());
		else if (a === "--dir") o.dir = next();
		else if (a === "--token") o.token = next();
		else if (a === "--plue") o.plue = next();
		else if (a === "--image") {
			const v = next();
			const eq = v.indexOf("=");
			if (eq <= 0) die(`--image wants IMAGE=BINARY, not '${v}'`);
			o.images[v.slice(0, eq)] = v.slice(eq + 1);
		} else if (a === "--namespace") o.namespace = next();
		else if (a === "--window") o.window = Number(next());
		else if (a === "--bookmark-ms") o.bookmarkMs = Number(next());
		else if (a === "--no-limits") o.limits = false;
		else if (a === "--host") o.host = next();
		else if (a === "--restricted") o.restricted.add(next());
		else die(`unknown option '${a}'`);
	}
	if (!o.dir) die("--dir DIR is required");
	if (!Number.isInteger(o.port) || o.port < 0) die("--port wants a number");
	return o;
}

function die(msg) {
	process.stderr.write(`k8s double: ${msg}\n`);
	process.exit(2);
}

const opt = parseArgs(process.argv.slice(2));
try {
	await import("kubernetes-models/v1");
} catch (e) {
	die(`cannot load kubernetes-models (npm ci in tests/k8s, or tests/k8s/run.sh): ${e.message}`);
}
fs.mkdirSync(opt.dir, { recursive: true });
const DIR = path.resolve(opt.dir);
// containers may run as another user: they must reach their volumes below
// DIR (the keys in it stay 0600)
fs.chmodSync(DIR, 0o711);

// ---- certificates, token, kubeconfigs ----------------------------------

function openssl(...args) {
	execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function ensurePki() {
	const f = (n) => path.join(DIR, n);
	if (!fs.existsSync(f("ca.crt"))) {
		openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
			"/CN=plue-k8s-double-ca", "-keyout", f("ca.key"), "-out", f("ca.crt"));
		fs.writeFileSync(f("san.ext"),
			"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
		openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kubernetes", "-keyout",
			f("server.key"), "-out", f("server.csr"));
		openssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"),
			"-CAcreateserial", "-days", "30", "-extfile", f("san.ext"), "-out", f("server.crt"));
		fs.writeFileSync(f("client.ext"), "extendedKeyUsage=clientAuth\n");
		openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=plue-pool-keeper", "-keyout",
			f("client.key"), "-out", f("client.csr"));
		openssl("x509", "-req", "-in", f("client.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"),
			"-CAcreateserial", "-days", "30", "-extfile", f("client.ext"), "-out", f("client.crt"));
	}
	for (const k of ["ca.key", "server.key", "client.key"]) fs.chmodSync(f(k), 0o600);
	let token = opt.token;
	if (!token && fs.existsSync(f("token"))) token = fs.readFileSync(f("token"), "utf8").trim();
	if (!token) token = "k8s-double-" + randomBytes(18).toString("hex");
	fs.writeFileSync(f("token"), token + "\n", { mode: 0o600 });
	return token;
}

const TOKEN = ensurePki();
const CA = fs.readFileSync(path.join(DIR, "ca.crt"));

function writeClientFiles(url) {
	const b64 = (n) => fs.readFileSync(path.join(DIR, n)).toString("base64");
	const kubeconfig = (cluster, user) =>
		[
			"apiVersion: v1",
			"kind: Config",
			"clusters:",
			"- name: double",
			"  cluster:",
			`    server: ${url}`,
			...cluster.map((l) => `    ${l}`),
			"users:",
			"- name: keeper",
			"  user:",
			...user.map((l) => `    ${l}`),
			"contexts:",
			"- name: other",
			"  context:",
			"    cluster: nowhere",
			"    user: nobody",
			"- name: double",
			"  context:",
			"    cluster: double",
			"    user: keeper",
			`    namespace: ${opt.namespace}`,
			"current-context: double",
			"",
		].join("\n");
	const secret = { mode: 0o600 };
	fs.writeFileSync(path.join(DIR, "kubeconfig"),
		kubeconfig([`certificate-authority-data: ${b64("ca.crt")}`], [`token: ${TOKEN}`]), secret);
	fs.writeFileSync(path.join(DIR, "kubeconfig-files"),
		kubeconfig([`certificate-authority: ${path.join(DIR, "ca.crt")}`],
			[`tokenFile: ${path.join(DIR, "token")}`]), secret);
	fs.writeFileSync(path.join(DIR, "kubeconfig-cert"),
		kubeconfig([`certificate-authority-data: ${b64("ca.crt")}`],
			[`client-certificate-data: ${b64("client.crt")}`,
			 `client-key-data: ${b64("client.key")}`]), secret);
	const sa = path.join(DIR, "serviceaccount");
	fs.mkdirSync(sa, { recursive: true, mode: 0o700 });
	fs.writeFileSync(path.join(sa, "token"), TOKEN, secret);
	fs.copyFileSync(path.join(DIR, "ca.crt"), path.join(sa, "ca.crt"));
	fs.writeFileSync(path.join(sa, "namespace"), opt.namespace);
}

// ---- kinds and schemas -------------------------------------------------

// plural -> { kind, apiVersion, Model } for a group/version, loaded from
// kubernetes-models on first use
const kindCache = new Map();

function pluralOf(kind) {
	const k = kind.toLowerCase();
	if (k.endsWith("s")) return k + "es";
	if (k.endsWith("y")) return k.slice(0, -1) + "ies";
	return k + "s";
}

async function kindsOf(groupVersion) {
	if (kindCache.has(groupVersion)) return kindCache.get(groupVersion);
	let mod = null;
	try {
		mod = await import(`kubernetes-models/${groupVersion}`);
	} catch {
		mod = null;
	}
	const kinds = new Map();
	if (mod) {
		for (const [name, Model] of Object.entries(mod)) {
			if (typeof Model !== "function" || !/^[A-Z]/.test(name) || name.startsWith("IoK8s"))
				continue;
			let probe;
			try {
				probe = new Model({});
			} catch {
				continue;
			}
			if (!probe.kind || !probe.apiVersion || probe.kind.endsWith("List")) continue;
			kinds.set(pluralOf(probe.kind), { kind: probe.kind, apiVersion: probe.apiVersion, Model });
		}
	}
	kindCache.set(groupVersion, kinds);
	return kinds;
}

// The API server's field path of an ajv instancePath: /spec/containers/0/name
// -> spec.containers[0].name
function fieldPath(instancePath) {
	let out = "";
	for (const part of instancePath.split("/").slice(1)) {
		if (/^\d+$/.test(part)) out += `[${part}]`;
		else out += (out ? "." : "") + part.replace(/~1/g, "/").replace(/~0/g, "~");
	}
	return out;
}

// [] or the causes, as the API server lists them in a 422 Status
function validate(kind, obj) {
	const causes = [];
	try {
		new kind.Model(obj).validate();
	} catch (err) {
		const errors = Array.isArray(err.errors) ? err.errors : [];
		for (const e of errors) {
			let field = fieldPath(e.instancePath || "");
			let reason = "FieldValueInvalid";
			let message = e.message || "invalid value";
			if (e.keyword === "required") {
				field = (field ? field + "." : "") + e.params.missingProperty;
				reason = "FieldValueRequired";
				message = "Required value";
			} else if (e.keyword === "type") {
				reason = "FieldValueTypeInvalid";
			}
			causes.push({ reason, message, field });
		}
		if (!causes.length) causes.push({ reason: "FieldValueInvalid", message: String(err.message), field: "" });
	}
	const md = obj.metadata || {};
	if (!md.name && !md.generateName)
		causes.push({ reason: "FieldValueRequired", message: "name or generateName is required", field: "metadata.name" });
	if (md.name && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(md.name))
		causes.push({
			reason: "FieldValueInvalid",
			message: `Invalid value: "${md.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
			field: "metadata.name",
		});
	if (kind.kind === "Pod" && obj.spec && Array.isArray(obj.spec.containers)) {
		const names = new Set();
		obj.spec.containers.forEach((c, i) => {
			if (c && typeof c.name === "string") {
				if (names.has(c.name))
					causes.push({ reason: "FieldValueDuplicate", message: `Duplicate value: "${c.name}"`, field: `spec.containers[${i}].name` });
				names.add(c.name);
			}
			if (c && c.image === undefined)
				causes.push({ reason: "FieldValueRequired", message: "Required value", field: `spec.containers[${i}].image` });
		});
		if (!obj.spec.containers.length)
			causes.push({ reason: "FieldValueRequired", message: "Required value", field: "spec.containers" });
	}
	return causes;
}

// Pod Security admission, profile "restricted" (the checks of
// k8s.io/pod-security-admission, in its order and words): [] or the
// violations, each "what (details)".
function podSecurityRestricted(pod) {
	const spec = pod.spec || {};
	const psc = spec.securityContext || {};
	const all = [...(spec.initContainers || []), ...(spec.containers || []), ...(spec.ephemeralContainers || [])];
	const names = (cs) => cs.map((c) => `"${c.name}"`).join(", ");
	const one = (cs, what) => `${cs.length === 1 ? "container" : "containers"} ${names(cs)} ${what}`;
	const out = [];
	const hostNs = ["hostNetwork", "hostPID", "hostIPC"].filter((f) => spec[f]);
	if (hostNs.length) out.push(`host namespaces (${hostNs.map((f) => `${f}=true`).join(", ")})`);
	const priv = all.filter((c) => c.securityContext && c.securityContext.privileged);
	if (priv.length) out.push(`privileged (${one(priv, "must not set securityContext.privileged=true")})`);
	const hostPath = (spec.volumes || []).filter((v) => v.hostPath);
	if (hostPath.length) out.push(`hostPath volumes (${hostPath.length === 1 ? "volume" : "volumes"} ${hostPath.map((v) => `"${v.name}"`).join(", ")})`);
	const ports = all.filter((c) => (c.ports || []).some((p) => p.hostPort));
	if (ports.length) out.push(`hostPort (${one(ports, "uses hostPorts")})`);
	const allowed = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
	const badVol = (spec.volumes || []).filter((v) => !v.hostPath && !Object.keys(v).some((k) => allowed.includes(k)));
	if (badVol.length) out.push(`restricted volume types (${badVol.map((v) => `volume "${v.name}" uses ${Object.keys(v).filter((k) => k !== "name").join(", ")}`).join("; ")})`);
	const esc = all.filter((c) => !c.securityContext || c.securityContext.allowPrivilegeEscalation !== false);
	if (esc.length) out.push(`allowPrivilegeEscalation != false (${one(esc, "must set securityContext.allowPrivilegeEscalation=false")})`);
	const caps = all.filter((c) => {
		const cp = (c.securityContext && c.securityContext.capabilities) || {};
		return !(cp.drop || []).includes("ALL") || (cp.add || []).some((a) => a !== "NET_BIND_SERVICE");
	});
	if (caps.length) out.push(`unrestricted capabilities (${one(caps, 'must set securityContext.capabilities.drop=["ALL"]; only NET_BIND_SERVICE may be added')})`);
	const nonRoot = all.filter((c) => {
		const v = c.securityContext && c.securityContext.runAsNonRoot;
		return v === false || (v !== true && psc.runAsNonRoot !== true);
	});
	if (nonRoot.length) out.push(`runAsNonRoot != true (pod or ${one(nonRoot, "must set securityContext.runAsNonRoot=true")})`);
	const root = all.filter((c) => (c.securityContext && c.securityContext.runAsUser === 0));
	if (psc.runAsUser === 0) out.push("runAsUser=0 (pod must not set runAsUser=0)");
	if (root.length) out.push(`runAsUser=0 (${one(root, "must not set runAsUser=0")})`);
	const okSeccomp = (sp) => sp && (sp.type === "RuntimeDefault" || sp.type === "Localhost");
	const sec = all.filter((c) => {
		const sp = c.securityContext && c.securityContext.seccompProfile;
		return sp ? !okSeccomp(sp) : !okSeccomp(psc.seccompProfile);
	});
	if (sec.length) out.push(`seccompProfile (pod or ${one(sec, 'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')})`);
	return out;
}

// ---- state -------------------------------------------------------------

const rvFile = path.join(DIR, "resource-version");
let rv = fs.existsSync(rvFile) ? Number(fs.readFileSync(rvFile, "utf8")) || 0 : 0;
rv += 1000; // a restarted double never hands out a version twice
const store = new Map(); // "group/version|ns|plural|name" -> object
let events = []; // { rv, type, key, gvp, ns, obj } of the window
let windowStart = rv + 1; // versions below this are gone
const watchers = new Set();
const requests = [];
let forceGone = null; // null | "event" | "http"
const failures = []; // { status, count, method, path }
const pods = new Map(); // key -> runtime state of a pod
const finished = new Map(); // key -> the last report of a deleted pod

function nextRv() {
	rv += 1;
	fs.writeFile(rvFile, String(rv), () => {});
	return rv;
}

function keyOf(gv, ns, plural, name) {
	return `${gv}|${ns}|${plural}|${name}`;
}

const clone = (o) => JSON.parse(JSON.stringify(o));

// Stores obj (already versioned) and tells the watchers.
function emit(type, gv, plural, obj, old) {
	const ev = { rv: Number(obj.metadata.resourceVersion), type, gv, plural, ns: obj.metadata.namespace, obj: clone(obj), old: old ? clone(old) : null };
	events.push(ev);
	if (events.length > opt.window) {
		const dropped = events.splice(0, events.length - opt.window);
		windowStart = dropped[dropped.length - 1].rv + 1;
	}
	for (const w of watchers) w.send(ev);
}

function put(type, gv, plural, obj) {
	const key = keyOf(gv, obj.metadata.namespace, plural, obj.metadata.name);
	const old = store.get(key);
	obj.metadata.resourceVersion = String(nextRv());
	if (type === "DELETED") store.delete(key);
	else store.set(key, obj);
	emit(type, gv, plural, obj, old);
}

// ---- label selectors ---------------------------------------------------

// null when s cannot be parsed; else a predicate over a labels object
function parseSelector(s) {
	if (!s) return () => true;
	const terms = [];
	for (const raw of s.split(",")) {
		const t = raw.trim();
		if (!t) continue;
		let m;
		if ((m = /^([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/.exec(t)))
			terms.push(m[2] === "!=" ? (l) => l[m[1]] !== m[3] : (l) => l[m[1]] === m[3]);
		else if ((m = /^!([A-Za-z0-9._/-]+)$/.exec(t))) terms.push((l) => !(m[1] in l));
		else if ((m = /^([A-Za-z0-9._/-]+)$/.exec(t))) terms.push((l) => m[1] in l);
		else if ((m = /^([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t))) {
			const set = new Set(m[3].split(",").map((x) => x.trim()).filter(Boolean));
			terms.push(m[2] === "in" ? (l) => set.has(l[m[1]]) : (l) => !set.has(l[m[1]]));
		} else return null;
	}
	return (labels) => terms.every((f) => f(labels || {}));
}

// ---- HTTP helpers ------------------------------------------------------

function status(code, reason, message, details) {
	const s = { kind: "Status", apiVersion: "v1", metadata: {}, status: code < 400 ? "Success" : "Failure", message, reason, code };
	if (details) s.details = details;
	return s;
}

function reply(res, code, obj) {
	const body = JSON.stringify(obj);
	res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
	res.end(body);
	res.plueStatus = code;
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
		req.on("error", reject);
	});
}

function parseJson(text) {
	try {
		return { ok: true, value: JSON.parse(text) };
	} catch (e) {
		return { ok: false, error: e.message };
	}
}

// ---- pods: the "kubelet" -------------------------------------------------

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const NODE = "double-node";
const HIDDEN = new Set(["proc", "dev", "tmp", "run", "sys"]);

function podDir(ns, name) {
	return path.join(DIR, "pods", ns, name);
}

function binaryFor(image) {
	return opt.images[image] || opt.plue || null;
}

function quantityBytes(q) {
	if (q === undefined || q === null) return null;
	const m = /^([0-9.]+)([EPTGMK]i?|[eEmk])?$/.exec(String(q));
	if (!m) return null;
	const mult = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, m: 1e-3 };
	return Math.floor(Number(m[1]) * (m[2] ? mult[m[2]] : 1));
}

// The container's environment, or { error } naming what is missing.
function containerEnv(pod, c) {
	const ns = pod.metadata.namespace;
	// what the kubelet gives every container before the pod's own env
	const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOSTNAME: pod.metadata.name, HOME: "/", KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(listenPort) };
	const dataOf = (kindPlural, name) => store.get(keyOf("v1", ns, kindPlural, name));
	const decode = (o, key) => {
		if (o.data && key in o.data) return o.metadata && kindPluralOf(o) === "secrets" ? Buffer.from(o.data[key], "base64").toString("utf8") : o.data[key];
		return undefined;
	};
	for (const from of c.envFrom || []) {
		const ref = from.secretRef || from.configMapRef;
		const plural = from.secretRef ? "secrets" : "configmaps";
		const o = dataOf(plural, ref.name);
		if (!o) {
			if (ref.optional) continue;
			return { error: `${plural === "secrets" ? "secret" : "configmap"} "${ref.name}" not found` };
		}
		for (const k of Object.keys(o.data || {})) env[(from.prefix || "") + k] = decode(o, k);
	}
	for (const e of c.env || []) {
		if (e.valueFrom) {
			const vf = e.valueFrom;
			const ref = vf.secretKeyRef || vf.configMapKeyRef;
			if (ref) {
				const plural = vf.secretKeyRef ? "secrets" : "configmaps";
				const o = dataOf(plural, ref.name);
				const v = o ? decode(o, ref.key) : undefined;
				if (v === undefined) {
					if (ref.optional) continue;
					return { error: o ? `couldn't find key ${ref.key} in ${plural === "secrets" ? "Secret" : "ConfigMap"} ${ns}/${ref.name}` : `${plural === "secrets" ? "secret" : "configmap"} "${ref.name}" not found` };
				}
				env[e.name] = v;
			} else if (vf.fieldRef) {
				const fp = vf.fieldRef.fieldPath;
				const fields = { "metadata.name": pod.metadata.name, "metadata.namespace": ns, "metadata.uid": pod.metadata.uid, "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1", "spec.nodeName": NODE, "spec.serviceAccountName": pod.spec.serviceAccountName || "default" };
				if (!(fp in fields)) return { error: `unsupported fieldRef ${fp}` };
				env[e.name] = fields[fp];
			} else return { error: `unsupported valueFrom for ${e.name}` };
		} else env[e.name] = expand(e.value || "", env);
	}
	return { env };
}

function kindPluralOf(o) {
	return o.kind ? pluralOf(o.kind) : "";
}

// $(VAR) as the kubelet expands it in command, args and env values
function expand(s, env) {
	return String(s).replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name) => {
		if (m === "$$") return "$";
		return name in env ? env[name] : m;
	});
}

function containerStatusOf(rt, c) {
	return rt.statuses.get(c.name);
}

function podPhaseUpdate(key) {
	const rt = pods.get(key);
	const pod = store.get(key);
	if (!rt || !pod) return;
	const next = clone(pod);
	next.status = next.status || {};
	next.status.containerStatuses = pod.spec.containers.map((c) => clone(containerStatusOf(rt, c)));
	const states = next.status.containerStatuses.map((s) => s.state);
	const allTerminated = states.every((s) => s.terminated);
	const anyRunning = states.some((s) => s.running);
	if (rt.evicted && !live(rt).length) {
		next.status.phase = "Failed";
		next.status.reason = rt.evicted.reason;
		next.status.message = rt.evicted.message;
	} else if (allTerminated && (pod.spec.restartPolicy === "Never" || (pod.spec.restartPolicy === "OnFailure" && states.every((s) => s.terminated.exitCode === 0)))) {
		next.status.phase = states.every((s) => s.terminated.exitCode === 0) ? "Succeeded" : "Failed";
	} else if (anyRunning || (allTerminated && rt.started)) {
		next.status.phase = "Running";
	}
	const ready = states.every((s) => s.running) && !rt.evicted;
	next.status.conditions = [
		{ type: "PodScheduled", status: "True", lastTransitionTime: rt.scheduledAt },
		{ type: "Initialized", status: "True", lastTransitionTime: rt.scheduledAt },
		{ type: "ContainersReady", status: ready ? "True" : "False", lastTransitionTime: now() },
		{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: now() },
	];
	if (JSON.stringify(next.status) !== JSON.stringify(pod.status)) put("MODIFIED", "v1", "pods", next);
	maybeFinishDelete(key);
}

function schedule(key) {
	const pod = store.get(key);
	const ns = pod.metadata.namespace;
	const name = pod.metadata.name;
	const dir = podDir(ns, name);
	const rt = { key, dir, timing: { createdMs: pod.plueCreatedMs, scheduledMs: Date.now() }, procs: new Map(), statuses: new Map(), scheduledAt: now(), started: false, evicted: null, deleting: false, graceTimer: null, deadlineTimer: null, volumes: {}, notes: [] };
	pods.set(key, rt);
	fs.mkdirSync(path.join(dir, "volumes"), { recursive: true, mode: 0o755 });
	for (let d = path.join(dir, "volumes"); d.startsWith(DIR + "/"); d = path.dirname(d)) fs.chmodSync(d, 0o755);
	for (const v of pod.spec.volumes || []) {
		const vd = path.join(dir, "volumes", v.name);
		fs.mkdirSync(vd, { recursive: true });
		fs.chmodSync(vd, 0o777);
		// the kubelet hands a volume to the pod's fsGroup (setgid, group rw)
		const fsGroup = pod.spec.securityContext && pod.spec.securityContext.fsGroup;
		if (fsGroup !== undefined && process.getuid && process.getuid() === 0) {
			fs.chownSync(vd, 0, fsGroup);
			fs.chmodSync(vd, 0o2777);
		}
		rt.volumes[v.name] = vd;
		if (!v.emptyDir) rt.notes.push(`volume ${v.name}: only emptyDir is modelled; an empty directory stands in`);
		else if (v.emptyDir.sizeLimit) rt.notes.push(`volume ${v.name}: sizeLimit ${v.emptyDir.sizeLimit} recorded, not enforced`);
	}
	for (const c of pod.spec.containers)
		rt.statuses.set(c.name, { name: c.name, image: c.image, imageID: "", ready: false, started: false, restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } });
	const scheduled = clone(pod);
	scheduled.spec.nodeName = NODE;
	scheduled.status = { phase: "Pending", hostIP: "127.0.0.1", podIP: "127.0.0.1", podIPs: [{ ip: "127.0.0.1" }], startTime: now(), qosClass: qosOf(pod), conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: rt.scheduledAt }], containerStatuses: pod.spec.containers.map((c) => clone(rt.statuses.get(c.name))) };
	put("MODIFIED", "v1", "pods", scheduled);
	if (pod.spec.activeDeadlineSeconds)
		rt.deadlineTimer = setTimeout(() => killPod(key, { reason: "DeadlineExceeded", message: `Pod was active on the node longer than the specified deadline` }), pod.spec.activeDeadlineSeconds * 1000);
	setImmediate(() => {
		for (const c of pod.spec.containers) startContainer(key, c);
		podPhaseUpdate(key);
	});
}

function qosOf(pod) {
	const cs = pod.spec.containers;
	const has = (c, w) => c.resources && c.resources[w] && (c.resources[w].cpu || c.resources[w].memory);
	if (cs.every((c) => has(c, "limits") && c.resources.limits.cpu && c.resources.limits.memory && (!c.resources.requests || ((!c.resources.requests.cpu || c.resources.requests.cpu === c.resources.limits.cpu) && (!c.resources.requests.memory || c.resources.requests.memory === c.resources.limits.memory)))))
		return "Guaranteed";
	if (cs.some((c) => has(c, "limits") || has(c, "requests"))) return "Burstable";
	return "BestEffort";
}

function bwrapArgs(pod, c, rt) {
	const args = [];
	for (const ent of fs.readdirSync("/", { withFileTypes: true })) {
		if (HIDDEN.has(ent.name)) continue;
		const p = "/" + ent.name;
		if (ent.isSymbolicLink()) args.push("--symlink", fs.readlinkSync(p), p);
		else if (ent.isDirectory()) args.push("--ro-bind", p, p);
	}
	args.push("--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run");
	for (const m of c.volumeMounts || []) {
		const vd = rt.volumes[m.name];
		if (!vd) continue;
		args.push(m.readOnly ? "--ro-bind" : "--bind", vd, m.mountPath);
	}
	// the double's own files (a plue binary in /tmp, say) stay reachable,
	// also under a volume mounted over their directory (a pod's /tmp)
	for (const p of rt.extraRo || []) args.push("--ro-bind", p, p);
	args.push("--unshare-pid", "--unshare-ipc", "--die-with-parent", "--hostname", pod.metadata.name, "--unshare-uts");
	args.push("--chdir", c.workingDir || "/");
	return args;
}

function startContainer(key, c) {
	const rt = pods.get(key);
	const pod = store.get(key);
	if (!rt || !pod || rt.deleting || rt.evicted) return;
	const st = rt.statuses.get(c.name);
	const fail = (reason, message) => {
		st.state = { waiting: { reason, message } };
		rt.notes.push(`container ${c.name}: ${reason}: ${message}`);
		podPhaseUpdate(key);
	};
	const envr = containerEnv(pod, c);
	if (envr.error) return fail("CreateContainerConfigError", envr.error);
	const env = envr.env;
	const sc = Object.assign({}, pod.spec.securityContext || {}, c.securityContext || {});
	let uid = sc.runAsUser;
	const gid = sc.runAsGroup ?? uid;
	if (sc.runAsNonRoot && uid === 0)
		return fail("CreateContainerConfigError", "container's runAsUser breaks non-root policy");
	if (sc.runAsNonRoot && uid === undefined) {
		rt.notes.push(`container ${c.name}: runAsNonRoot without runAsUser: the image's user is not known here; running as 65532`);
		uid = 65532;
	}
	const cmd = (c.command || []).map((a) => expand(a, env));
	const args = (c.args || []).map((a) => expand(a, env));
	let argv;
	if (cmd.length) {
		argv = [...cmd, ...args];
		if (path.basename(argv[0]) === "plue") {
			const bin = binaryFor(c.image);
			if (!bin) return fail("CreateContainerError", "no plue binary: start the double with --plue or PLUE");
			argv[0] = bin;
		}
	} else {
		const bin = binaryFor(c.image);
		if (!bin) return fail("CreateContainerError", `no binary for image ${c.image}: start the double with --image or --plue`);
		argv = [bin, ...args];
	}
	rt.extraRo = [];
	const prog = path.resolve(argv[0]);
	if (argv[0].startsWith("/") && HIDDEN.has(prog.split("/")[1]) && fs.existsSync(prog)) rt.extraRo.push(prog);
	const limits = (c.resources && c.resources.limits) || {};
	const applied = {};
	const recorded = {};
	let wrapper = [];
	const mem = quantityBytes(limits.memory);
	if (mem && opt.limits) {
		wrapper = ["prlimit", `--data=${mem}`, "--"];
		applied.memory = `RLIMIT_DATA ${mem}`;
	} else if (limits.memory) recorded.memory = limits.memory;
	if (limits.cpu) recorded.cpu = limits.cpu;
	if (limits["ephemeral-storage"]) recorded["ephemeral-storage"] = limits["ephemeral-storage"];
	const full = [...wrapper, "bwrap", ...bwrapArgs(pod, c, rt), "--", ...argv];
	const logPath = path.join(rt.dir, `${c.name}.log`);
	const logFd = fs.openSync(logPath, "a");
	const spawnOpts = { env, stdio: ["ignore", logFd, logFd], detached: true };
	const asRoot = process.getuid && process.getuid() === 0;
	if (asRoot && uid !== undefined) {
		spawnOpts.uid = uid;
		spawnOpts.gid = gid ?? uid;
	} else if (uid !== undefined) rt.notes.push(`container ${c.name}: runAsUser ${uid} recorded (the double is not root)`);
	let child;
	try {
		child = spawn(full[0], full.slice(1), spawnOpts);
	} catch (e) {
		fs.closeSync(logFd);
		return fail("CreateContainerError", e.message);
	}
	fs.closeSync(logFd);
	const proc = { startedMs: Date.now(), exitedMs: null, pid: child.pid, argv, uid: spawnOpts.uid ?? process.getuid(), gid: spawnOpts.gid ?? process.getgid(), limits: { applied, recorded }, log: logPath, exitCode: null, signal: null, child };
	rt.procs.set(c.name, proc);
	rt.started = true;
	const startedAt = now();
	st.state = { running: { startedAt } };
	st.started = true;
	st.ready = true;
	st.containerID = `double://${child.pid}`;
	// a program that cannot start (no bwrap, say) emits "error" and maybe
	// no "exit": either ends the container once
	const exited = (code, signal) => {
		if (!proc.child) return;
		proc.exitedMs = Date.now();
		proc.exitCode = code ?? 128 + (signalNumber(signal) || 9);
		proc.signal = signal;
		proc.child = null;
		st.ready = false;
		st.started = false;
		const exitCode = proc.exitCode;
		const reason = rt.evicted ? (rt.evicted.reason === "Evicted" ? "Error" : rt.evicted.reason) : signal === "SIGKILL" && mem ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
		st.state = { terminated: { exitCode, reason, startedAt, finishedAt: now(), containerID: st.containerID, ...(signal ? { signal: signalNumber(signal) } : {}) } };
		st.lastState = {};
		podPhaseUpdate(key);
		const pol = pod.spec.restartPolicy || "Always";
		if (!rt.deleting && !rt.evicted && (pol === "Always" || (pol === "OnFailure" && exitCode !== 0)))
			setTimeout(() => {
				st.restartCount++;
				startContainer(key, c);
				podPhaseUpdate(key);
			}, 1000);
	};
	child.on("error", (e) => {
		fs.appendFileSync(logPath, `k8s double: cannot start ${full[0]}: ${e.message}\n`);
		exited(127, null);
	});
	child.on("exit", exited);
}

function signalNumber(sig) {
	return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 }[sig] || 0;
}

function live(rt) {
	return [...rt.procs.values()].filter((p) => p.child);
}

function signalAll(rt, sig) {
	for (const p of live(rt)) {
		try {
			process.kill(-p.pid, sig);
		} catch {
			try {
				process.kill(p.pid, sig);
			} catch {}
		}
	}
}

// the kubelet ends a pod on its own: eviction, active deadline
function killPod(key, why) {
	const rt = pods.get(key);
	if (!rt || rt.evicted || rt.deleting) return false;
	rt.evicted = why;
	clearTimeout(rt.deadlineTimer);
	signalAll(rt, "SIGKILL");
	for (const [name, st] of rt.statuses)
		if (!st.state.running && !st.state.terminated) st.state = { terminated: { exitCode: 137, reason: "ContainerStatusUnknown", finishedAt: now() } };
	podPhaseUpdate(key);
	return true;
}

function maybeFinishDelete(key) {
	const rt = pods.get(key);
	const pod = store.get(key);
	if (!rt || !pod || !rt.deleting || live(rt).length) return;
	clearTimeout(rt.graceTimer);
	clearTimeout(rt.deadlineTimer);
	rt.timing.deletedMs = Date.now();
	finished.set(key, { ...podReport(key), deleted: true });
	pods.delete(key);
	const gone = clone(pod);
	put("DELETED", "v1", "pods", gone);
}

function deletePod(key, grace) {
	const pod = store.get(key);
	let rt = pods.get(key);
	if (!rt) {
		put("DELETED", "v1", "pods", clone(pod));
		return;
	}
	if (rt.deleting) {
		if (grace === 0) signalAll(rt, "SIGKILL");
		return;
	}
	rt.deleting = true;
	const next = clone(pod);
	next.metadata.deletionTimestamp = now();
	next.metadata.deletionGracePeriodSeconds = grace;
	put("MODIFIED", "v1", "pods", next);
	if (!live(rt).length) return maybeFinishDelete(key);
	if (grace === 0) signalAll(rt, "SIGKILL");
	else {
		signalAll(rt, "SIGTERM");
		rt.graceTimer = setTimeout(() => signalAll(rt, "SIGKILL"), grace * 1000);
	}
}

// ---- watches -------------------------------------------------------------

function watch(req, res, q, gv, plural, ns) {
	const match = parseSelector(q.get("labelSelector"));
	if (!match) return reply(res, 400, status(400, "BadRequest", `unable to parse requirement: ${q.get("labelSelector")}`));
	const nameSel = (q.get("fieldSelector") || "").match(/^metadata\.name=(.*)$/);
	const fits = (o) => (!ns || o.metadata.namespace === ns) && match(o.metadata.labels) && (!nameSel || o.metadata.name === nameSel[1]);
	const from = q.get("resourceVersion");
	const bookmarks = q.get("allowWatchBookmarks") === "true" || q.get("allowWatchBookmarks") === "1";
	const kind = q.kindInfo;
	if (forceGone === "http") {
		forceGone = null;
		return reply(res, 410, status(410, "Expired", `too old resource version: ${from} (${rv})`));
	}
	res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
	res.plueStatus = 200;
	const line = (o) => res.write(JSON.stringify(o) + "\n");
	const gone = () => {
		line({ type: "ERROR", object: status(410, "Expired", `too old resource version: ${from} (${windowStart - 1})`) });
		res.end();
	};
	if (forceGone === "event") {
		forceGone = null;
		return gone();
	}
	if (!from || from === "0") {
		for (const [k, o] of store) if (k.startsWith(`${gv}|`) && k.split("|")[2] === plural && fits(o)) line({ type: "ADDED", object: o });
	} else {
		const n = Number(from);
		if (!Number.isFinite(n) || n + 1 < windowStart) return gone();
		for (const ev of events) if (ev.rv > n && ev.gv === gv && ev.plural === plural) sendEvent(ev);
	}
	function sendEvent(ev) {
		const is = fits(ev.obj);
		const was = ev.old ? fits(ev.old) : false;
		let type = ev.type;
		if (type === "MODIFIED" && is !== was) type = is ? "ADDED" : "DELETED";
		else if (type === "DELETED" ? !(is || was) : !is) return;
		line({ type, object: ev.obj });
	}
	const w = {
		send: (ev) => {
			if (ev.gv === gv && ev.plural === plural) sendEvent(ev);
		},
		cut: () => res.destroy(),
	};
	watchers.add(w);
	const timer = bookmarks
		? setInterval(() => line({ type: "BOOKMARK", object: { kind: kind.kind, apiVersion: kind.apiVersion, metadata: { resourceVersion: String(rv) } } }), opt.bookmarkMs)
		: null;
	const timeout = q.get("timeoutSeconds") ? setTimeout(() => res.end(), Number(q.get("timeoutSeconds")) * 1000) : null;
	const done = () => {
		watchers.delete(w);
		clearInterval(timer);
		clearTimeout(timeout);
	};
	res.on("close", done);
	req.on("close", done);
}

// ---- REST ----------------------------------------------------------------

function authorized(req) {
	const h = req.headers.authorization || "";
	if (h === `Bearer ${TOKEN}`) return "token";
	if (req.socket.authorized) return "certificate";
	return null;
}

async function rest(req, res, url) {
	const q = url.searchParams;
	// /api/v1/... or /apis/GROUP/VERSION/...
	let m = /^\/api\/v1(\/.*)?$/.exec(url.pathname);
	let gv, rest_;
	if (m) {
		gv = "v1";
		rest_ = m[1] || "";
	} else if ((m = /^\/apis\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname))) {
		gv = `${m[1]}/${m[2]}`;
		rest_ = m[3] || "";
	} else if (url.pathname === "/version") {
		return reply(res, 200, { major: "1", minor: "31", gitVersion: "v1.31.0-plue-double", platform: "linux/amd64" });
	} else return reply(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
	const parts = rest_.split("/").filter(Boolean).map(decodeURIComponent);
	let ns = null, plural, name = null, sub = null;
	if (parts[0] === "namespaces" && parts.length >= 3) {
		ns = parts[1];
		plural = parts[2];
		name = parts[3] || null;
		sub = parts[4] || null;
		if (parts.length > 5) return reply(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
	} else if (parts.length === 1) plural = parts[0];
	else return reply(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
	const kinds = await kindsOf(gv);
	const kind = kinds.get(plural);
	if (!kind) return reply(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
	q.kindInfo = kind;
	const method = req.method;
	const body = method === "POST" || method === "DELETE" ? await readBody(req) : "";

	if (sub) {
		const key = keyOf(gv, ns, plural, name);
		if (plural === "pods" && sub === "log" && method === "GET") {
			const pod = store.get(key);
			if (!pod) return reply(res, 404, status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" }));
			const cname = q.get("container") || (pod.spec.containers.length === 1 ? pod.spec.containers[0].name : null);
			if (!cname) return reply(res, 400, status(400, "BadRequest", `a container name must be specified for pod ${name}, choose one of: [${pod.spec.containers.map((c) => c.name).join(" ")}]`));
			const f = path.join(podDir(ns, name), `${cname}.log`);
			const text = fs.existsSync(f) ? fs.readFileSync(f) : Buffer.alloc(0);
			res.writeHead(200, { "Content-Type": "text/plain" });
			res.plueStatus = 200;
			return res.end(text);
		}
		if (plural === "pods" && sub === "eviction" && method === "POST") {
			if (!store.get(key)) return reply(res, 404, status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" }));
			deletePod(key, store.get(key).spec.terminationGracePeriodSeconds ?? 30);
			return reply(res, 201, status(201, "", "", undefined));
		}
		return reply(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
	}

	if (method === "GET" && !name) {
		if (q.get("watch") === "1" || q.get("watch") === "true") return watch(req, res, q, gv, plural, ns);
		const match = parseSelector(q.get("labelSelector"));
		if (!match) return reply(res, 400, status(400, "BadRequest", `unable to parse requirement: ${q.get("labelSelector")}`));
		const items = [];
		for (const [k, o] of store) {
			const [kgv, kns, kpl] = k.split("|");
			if (kgv === gv && kpl === plural && (!ns || kns === ns) && match(o.metadata.labels)) items.push(o);
		}
		items.sort((a, b) => (a.metadata.namespace + "/" + a.metadata.name).localeCompare(b.metadata.namespace + "/" + b.metadata.name));
		return reply(res, 200, { kind: kind.kind + "List", apiVersion: kind.apiVersion, metadata: { resourceVersion: String(rv) }, items });
	}
	if (!ns) return reply(res, 405, status(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`));
	const key = name ? keyOf(gv, ns, plural, name) : null;
	if (method === "GET") {
		const o = store.get(key);
		if (!o) return reply(res, 404, status(404, "NotFound", `${plural} "${name}" not found`, { name, kind: plural }));
		return reply(res, 200, o);
	}
	if (method === "POST" && !name) {
		const p = parseJson(body);
		if (!p.ok || typeof p.value !== "object" || p.value === null || Array.isArray(p.value))
			return reply(res, 400, status(400, "BadRequest", `the body of the request was in an unknown format: ${p.ok ? "not an object" : p.error}`));
		const obj = p.value;
		if (obj.kind !== kind.kind || obj.apiVersion !== kind.apiVersion)
			return reply(res, 400, status(400, "BadRequest", `the API version in the data (${obj.apiVersion}) does not match the expected API version (${kind.apiVersion}) or the kind (${obj.kind}) is not ${kind.kind}`));
		obj.metadata = obj.metadata || {};
		if (obj.metadata.namespace && obj.metadata.namespace !== ns)
			return reply(res, 400, status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"));
		const causes = validate(kind, obj);
		if (causes.length) {
			const shown = obj.metadata.name || obj.metadata.generateName || "";
			const msg = `${kind.kind} "${shown}" is invalid: ` + causes.map((c) => (c.field ? `${c.field}: ` : "") + c.message).join(", ");
			return reply(res, 422, status(422, "Invalid", msg, { name: shown, kind: kind.kind, causes }));
		}
		if (kind.kind === "Pod" && opt.restricted.has(ns)) {
			const v = podSecurityRestricted(obj);
			if (v.length) {
				const shown = obj.metadata.name || obj.metadata.generateName || "";
				return reply(res, 403, status(403, "Forbidden", `pods "${shown}" is forbidden: violates PodSecurity "restricted:latest": ${v.join(", ")}`, { name: shown, kind: "pods" }));
			}
		}
		if (!obj.metadata.name) obj.metadata.name = obj.metadata.generateName + randomBytes(3).toString("hex").slice(0, 5);
		const k = keyOf(gv, ns, plural, obj.metadata.name);
		if (store.has(k))
			return reply(res, 409, status(409, "AlreadyExists", `${plural} "${obj.metadata.name}" already exists`, { name: obj.metadata.name, kind: plural }));
		obj.metadata.namespace = ns;
		obj.metadata.uid = randomUUID();
		obj.metadata.creationTimestamp = now();
		if (kind.kind === "Secret" && obj.stringData) {
			obj.data = obj.data || {};
			for (const [sk, sv] of Object.entries(obj.stringData)) obj.data[sk] = Buffer.from(sv).toString("base64");
			delete obj.stringData;
		}
		if (kind.kind === "Pod") {
			obj.spec.restartPolicy = obj.spec.restartPolicy || "Always";
			obj.spec.terminationGracePeriodSeconds = obj.spec.terminationGracePeriodSeconds ?? 30;
			obj.spec.dnsPolicy = obj.spec.dnsPolicy || "ClusterFirst";
			obj.spec.schedulerName = obj.spec.schedulerName || "default-scheduler";
			obj.status = { phase: "Pending", qosClass: qosOf(obj) };
		}
		put("ADDED", gv, plural, obj);
		const created = clone(obj);
		Object.defineProperty(obj, "plueCreatedMs", { value: Date.now(), enumerable: false, writable: true });
		if (kind.kind === "Pod") setImmediate(() => store.has(k) && schedule(k));
		return reply(res, 201, created);
	}
	if (method === "DELETE" && name) {
		const o = store.get(key);
		if (!o) return reply(res, 404, status(404, "NotFound", `${plural} "${name}" not found`, { name, kind: plural }));
		let grace = q.has("gracePeriodSeconds") ? Number(q.get("gracePeriodSeconds")) : null;
		if (body.trim()) {
			const p = parseJson(body);
			if (!p.ok) return reply(res, 400, status(400, "BadRequest", `the body of the request was in an unknown format: ${p.error}`));
			if (p.value && p.value.gracePeriodSeconds !== undefined) grace = p.value.gracePeriodSeconds;
		}
		if (grace !== null && (!Number.isInteger(grace) || grace < 0))
			return reply(res, 400, status(400, "BadRequest", `invalid gracePeriodSeconds: ${grace}`));
		if (kind.kind === "Pod") {
			const phase = o.status && o.status.phase;
			const g = grace ?? o.spec.terminationGracePeriodSeconds ?? 30;
			deletePod(key, phase === "Succeeded" || phase === "Failed" ? 0 : g);
			return reply(res, 200, store.get(key) || o);
		}
		put("DELETED", gv, plural, clone(o));
		return reply(res, 200, o);
	}
	return reply(res, 405, status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
}

// ---- control -------------------------------------------------------------

function podReport(key) {
	const pod = store.get(key);
	const rt = pods.get(key);
	const out = { pod: pod || null, processes: {}, volumes: rt ? rt.volumes : {}, notes: rt ? rt.notes : [], timing: rt ? rt.timing : {} };
	if (rt)
		for (const [name, p] of rt.procs)
			out.processes[name] = { startedMs: p.startedMs, exitedMs: p.exitedMs, pid: p.pid, argv: p.argv, uid: p.uid, gid: p.gid, running: !!p.child, exitCode: p.exitCode, signal: p.signal, limits: p.limits, log: p.log };
	return out;
}

async function control(req, res, url) {
	const parts = url.pathname.split("/").filter(Boolean).slice(1).map(decodeURIComponent);
	const body = req.method === "POST" ? await readBody(req) : "";
	const json = body.trim() ? parseJson(body) : { ok: true, value: {} };
	if (!json.ok) return reply(res, 400, { error: `body: ${json.error}` });
	const args = json.value || {};
	const what = `${req.method} ${parts[0] || ""}`;
	if (what === "GET requests") {
		const counts = {};
		for (const r of requests) counts[`${r.method} ${r.path}`] = (counts[`${r.method} ${r.path}`] || 0) + 1;
		return reply(res, 200, { requests, counts });
	}
	if (what === "POST reset") {
		requests.length = 0;
		failures.length = 0;
		forceGone = null;
		return reply(res, 200, { ok: true });
	}
	if (what === "POST gone") {
		forceGone = args.http ? "http" : "event";
		return reply(res, 200, { ok: true, resourceVersion: String(rv) });
	}
	if (what === "POST compact") {
		events = [];
		windowStart = rv + 1;
		return reply(res, 200, { ok: true, resourceVersion: String(rv) });
	}
	if (what === "POST cut") {
		const n = watchers.size;
		for (const w of [...watchers]) w.cut();
		return reply(res, 200, { ok: true, cut: n });
	}
	if (what === "POST fail") {
		const f = { status: Number(args.status || 503), count: Number(args.count || 1), method: args.method || null, path: args.path || null };
		failures.push(f);
		return reply(res, 200, { ok: true });
	}
	if (what === "POST evict" && parts.length === 3) {
		const key = keyOf("v1", parts[1], "pods", parts[2]);
		if (!store.has(key)) return reply(res, 404, { error: `no pod ${parts[1]}/${parts[2]}` });
		const ok = killPod(key, { reason: "Evicted", message: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 20Mi." });
		return reply(res, 200, { ok, pod: store.get(key) });
	}
	if (what === "GET pods" && parts.length === 3) {
		const key = keyOf("v1", parts[1], "pods", parts[2]);
		if (!store.has(key) && !pods.has(key)) {
			if (finished.has(key)) return reply(res, 200, finished.get(key));
			return reply(res, 404, { error: `no pod ${parts[1]}/${parts[2]}` });
		}
		return reply(res, 200, podReport(key));
	}
	if (what === "GET pods" && parts.length === 1) {
		const out = [];
		for (const k of store.keys()) if (k.split("|")[2] === "pods") out.push(podReport(k));
		return reply(res, 200, { pods: out });
	}
	return reply(res, 404, { error: `no control endpoint ${req.method} ${url.pathname}` });
}

// ---- the server ------------------------------------------------------------

const server = https.createServer(
	{
		key: fs.readFileSync(path.join(DIR, "server.key")),
		cert: fs.readFileSync(path.join(DIR, "server.crt")),
		ca: CA,
		requestCert: true,
		rejectUnauthorized: false,
	},
	async (req, res) => {
		const url = new URL(req.url, "https://double");
		if (url.pathname.startsWith("/_double/")) {
			try {
				await control(req, res, url);
			} catch (e) {
				reply(res, 500, { error: String(e && e.stack || e) });
			}
			return;
		}
		const auth = authorized(req);
		const rec = { method: req.method, path: url.pathname, query: url.search.slice(1), status: 0, auth: auth || "none" };
		requests.push(rec);
		res.on("finish", () => (rec.status = res.plueStatus || res.statusCode));
		res.on("close", () => (rec.status = rec.status || res.plueStatus || res.statusCode));
		if (!auth) return reply(res, 401, status(401, "Unauthorized", "Unauthorized"));
		const fi = failures.findIndex((f) => f.count > 0 && (!f.method || f.method === req.method) && (!f.path || url.pathname.includes(f.path)));
		if (fi >= 0) {
			const f = failures[fi];
			if (--f.count === 0) failures.splice(fi, 1);
			await readBody(req);
			const reasons = { 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout" };
			return reply(res, f.status, status(f.status, reasons[f.status] || "InternalError", `injected failure ${f.status}`));
		}
		try {
			await rest(req, res, url);
		} catch (e) {
			process.stderr.write(`k8s double: ${e && e.stack || e}\n`);
			if (!res.headersSent) reply(res, 500, status(500, "InternalError", String(e && e.message || e)));
			else res.destroy();
		}
	},
);
server.keepAliveTimeout = 5000;

let listenPort = 0;
server.listen(opt.port, opt.host, () => {
	const port = server.address().port;
	listenPort = port;
	const url = `https://${opt.host}:${port}`;
	writeClientFiles(url);
	process.stdout.write(
		JSON.stringify({ url, port, ca: path.join(DIR, "ca.crt"), kubeconfig: path.join(DIR, "kubeconfig"), token: TOKEN, dir: DIR, serviceaccount: path.join(DIR, "serviceaccount"), pid: process.pid }) + "\n",
	);
});

function shutdown() {
	for (const rt of pods.values()) signalAll(rt, "SIGKILL");
	for (const w of [...watchers]) w.cut();
	server.close();
	setTimeout(() => process.exit(0), 100).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
