// deploy.test.mjs — deploy/ checked with real tools: both overlays
// rendered by `kubectl kustomize` and every object validated against the
// official Kubernetes schemas (kubernetes-models), the runner-side
// security read from the rendered objects, the Terraform parsed by HCL's
// own parser (@cdktf/hcl2json), the Dockerfiles by a Dockerfile parser
// (dockerfile-ast), the deploy workflow by `plue workflow lint`. Each check
// is also run on a broken copy and must fail.
//
// Environment: KUBECTLS, the kubectl binaries to render with (space
// separated, default "kubectl"; with two, their renderings must agree);
// PLUE, the plue binary (for the workflow lint).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { DockerfileParser } from "dockerfile-ast";
import * as C from "./checks.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const deploy = path.join(root, "deploy");
const kubectls = (process.env.KUBECTLS || "kubectl").split(/\s+/).filter(Boolean);
const overlays = { staging: { replicas: 2 }, production: { replicas: 3 } };

function render(dir, kubectl = kubectls[0]) {
	const r = spawnSync(kubectl, ["kustomize", dir], { encoding: "utf8" });
	if (r.status !== 0) throw new Error(`${kubectl} kustomize ${dir}: ${r.stderr.trim() || r.error}`);
	const docs = YAML.parseAllDocuments(r.stdout);
	for (const d of docs) if (d.errors.length) throw new Error(`${dir}: ${d.errors[0].message}`);
	return docs.map((d) => d.toJS()).filter((o) => o !== null);
}

const key = (o) => `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
const copy = (x) => structuredClone(x);
const rendered = {};
for (const env of Object.keys(overlays)) rendered[env] = render(path.join(deploy, "k8s/overlays", env));

async function terraform(dir = path.join(deploy, "terraform")) {
	const tf = {};
	for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".tf")).sort()) {
		const j = await parseHcl(f, fs.readFileSync(path.join(dir, f), "utf8"));
		for (const [top, v] of Object.entries(j)) {
			tf[top] ??= {};
			for (const [k, w] of Object.entries(v))
				tf[top][k] = typeof w === "object" && !Array.isArray(w) ? { ...(tf[top][k] ?? {}), ...w } : w;
		}
	}
	const vars = {};
	for (const env of Object.keys(overlays))
		vars[env] = await parseHcl(`${env}.tfvars`, fs.readFileSync(path.join(dir, `${env}.tfvars`), "utf8"));
	return { tf, vars };
}

// the problems of one check, with a broken copy that must show a problem
function expectFails(problems, pattern) {
	assert.ok(problems.length > 0, `the broken copy passed (wanted a problem like ${pattern})`);
	assert.ok(
		problems.some((p) => pattern.test(p)),
		`no problem like ${pattern} among:\n  ${problems.join("\n  ")}`,
	);
}

const dep = (objs) => C.find(objs, "Deployment", "plue", "plue-server")[0];
const server = (objs) => dep(objs).spec.template.spec.containers.find((c) => c.name === "server");
const runnerPolicy = (objs) => C.find(objs, "NetworkPolicy", "plue-runners", "plue-runner")[0];

// ---- rendering and schemas ----------------------------------------------

for (const [env, want] of Object.entries(overlays)) {
	test(`${env}: renders, every object valid against the official schemas`, async () => {
		const objs = rendered[env];
		assert.ok(objs.length >= 15, `only ${objs.length} objects`);
		assert.deepEqual(await C.schemaProblems(objs), []);
		assert.equal(dep(objs).spec.replicas, want.replicas);
	});
	for (const k of kubectls.slice(1))
		test(`${env}: ${k} renders the same objects`, () => {
			const a = Object.fromEntries(rendered[env].map((o) => [key(o), o]));
			const b = Object.fromEntries(render(path.join(deploy, "k8s/overlays", env), k).map((o) => [key(o), o]));
			assert.deepEqual(b, a);
		});
	test(`${env}: runner namespace, NetworkPolicies, RBAC, server, secrets`, () => {
		const objs = rendered[env];
		assert.deepEqual(
			[
				...C.namespaceProblems(objs),
				...C.networkPolicyProblems(objs),
				...C.rbacProblems(objs),
				...C.serverProblems(objs, want),
				...C.secretProblems(objs),
			],
			[],
		);
	});
}

test("base: renders and validates", async () => {
	const objs = render(path.join(deploy, "k8s/base"));
	assert.deepEqual(await C.schemaProblems(objs), []);
	assert.equal(C.find(objs, "RuntimeClass", null, "gvisor")[0].handler, "runsc");
});

test("a manifest that does not render fails", () => {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plue-deploy-"));
	try {
		fs.cpSync(path.join(deploy, "k8s"), tmp, { recursive: true });
		const f = path.join(tmp, "overlays/staging/server.yaml");
		fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace("name: plue-server\n  namespace: plue\nspec:\n  replicas", "name: no-such-deployment\n  namespace: plue\nspec:\n  replicas"));
		assert.throws(() => render(path.join(tmp, "overlays/staging")), /kustomize/);
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
});

test("schemas: a wrong type, an unknown field, an unknown kind each fail", async () => {
	const base = rendered.staging;
	let o = copy(base);
	dep(o).spec.replicas = "two";
	expectFails(await C.schemaProblems(o), /replicas must be integer/);
	o = copy(base);
	server(o).securityContext.readOnlyRootFileSystem = true;
	expectFails(await C.schemaProblems(o), /unknown field .*readOnlyRootFileSystem/);
	o = copy(base);
	o.push({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } });
	expectFails(await C.schemaProblems(o), /no official schema for example.com\/v1\/Widget/);
	o = copy(base);
	o.push({ apiVersion: "v1", kind: "Deployment", metadata: { name: "d" } });
	expectFails(await C.schemaProblems(o), /no official schema for v1\/Deployment/);
});

// ---- the runners' side ---------------------------------------------------

test("namespace: Pod Security below restricted fails", () => {
	for (const mode of ["enforce", "audit", "warn"]) {
		const o = copy(rendered.production);
		C.find(o, "Namespace", null, "plue-runners")[0].metadata.labels[`pod-security.kubernetes.io/${mode}`] = "baseline";
		expectFails(C.namespaceProblems(o), new RegExp(`${mode} is not restricted`));
	}
});

test("network policies: every widening fails", () => {
	const cases = [
		[(o) => (runnerPolicy(o).spec.ingress = [{}]), /allows ingress/],
		[(o) => runnerPolicy(o).spec.egress.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ port: 443 }] }), /ipBlock 0.0.0.0\/0/],
		[(o) => runnerPolicy(o).spec.egress.push({ ports: [{ port: 443 }] }), /without 'to'/],
		[(o) => delete runnerPolicy(o).spec.egress[0].ports, /without ports/],
		[(o) => (runnerPolicy(o).spec.egress[0].ports[0].port = 5432), /not TCP\/4000 alone/],
		[(o) => (runnerPolicy(o).spec.egress[1].ports[0].port = 5353), /DNS on UDP\/5353/],
		[(o) => delete runnerPolicy(o).spec.egress[0].to[0].namespaceSelector, /without namespaceSelector/],
		[(o) => (runnerPolicy(o).spec.egress[0].to[0].podSelector = {}), /not recognise|also selects runner/],
		[(o) => (runnerPolicy(o).spec.podSelector.matchLabels["app.kubernetes.io/name"] = "runner"), /no NetworkPolicy selects runner pods/],
		[(o) => (runnerPolicy(o).spec.policyTypes = ["Egress"]), /must name Ingress and Egress/],
		[(o) => (C.find(o, "NetworkPolicy", "plue-runners", "default-deny")[0].spec.podSelector = { matchLabels: { a: "b" } }), /no default-deny/],
		[(o) => (dep(o).spec.template.metadata.labels["app.kubernetes.io/name"] = "plue"), /do not carry the labels/],
		[(o) => runnerPolicy(o).spec.egress.splice(1, 1), /cannot reach kube-dns/],
	];
	for (const [mutate, pattern] of cases) {
		const o = copy(rendered.staging);
		mutate(o);
		expectFails(C.networkPolicyProblems(o), pattern);
	}
});

test("rbac: any other verb, resource or grant fails", () => {
	const role = (o) => C.find(o, "Role", "plue-runners", "plue-pool-keeper")[0];
	const cases = [
		[(o) => role(o).rules[0].verbs.push("patch"), /verbs .*patch/],
		[(o) => role(o).rules[0].verbs.pop(), /verbs create,get,list,watch, not/],
		[(o) => role(o).rules[0].resources.push("secrets"), /resources \["pods","secrets"\]/],
		[(o) => role(o).rules.push({ apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }), /2 rules/],
		[(o) => o.push({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "x" }, rules: [] }), /cluster-wide/],
		[(o) => (C.find(o, "RoleBinding", "plue-runners", "plue-pool-keeper")[0].metadata.namespace = "plue"), /outside plue-runners/],
	];
	for (const [mutate, pattern] of cases) {
		const o = copy(rendered.staging);
		mutate(o);
		expectFails(C.rbacProblems(o), pattern);
	}
});

test("server: probes, security context, settings and secrets by reference", () => {
	const env = (o, name) => server(o).env.find((e) => e.name === name);
	const cases = [
		[(o) => (server(o).readinessProbe.httpGet.path = "/"), /readinessProbe does not GET \/api\/health/],
		[(o) => delete server(o).livenessProbe, /livenessProbe/],
		[(o) => (server(o).livenessProbe.httpGet.port = 8080), /livenessProbe is not on port 4000/],
		[(o) => (server(o).securityContext.readOnlyRootFilesystem = false), /root filesystem is not read-only/],
		[(o) => (server(o).securityContext.allowPrivilegeEscalation = true), /allowPrivilegeEscalation/],
		[(o) => (server(o).securityContext.capabilities = { add: ["NET_ADMIN"] }), /not all dropped/],
		[(o) => (server(o).securityContext.capabilities.add = ["NET_BIND_SERVICE"]), /adds capabilities/],
		[(o) => (dep(o).spec.template.spec.initContainers[0].securityContext.capabilities.add = ["SYS_ADMIN"]), /init container .* adds/],
		[(o) => { delete server(o).securityContext.runAsNonRoot; delete dep(o).spec.template.spec.securityContext.runAsNonRoot; }, /runAsNonRoot/],
		[(o) => { delete server(o).securityContext.seccompProfile; delete dep(o).spec.template.spec.securityContext.seccompProfile; }, /seccomp profile is unset/],
		[(o) => (env(o, "PLUE_RUNNER_SECRET").valueFrom.secretKeyRef.key = "secret"), /PLUE_RUNNER_SECRET comes from plue-runner\/secret/],
		[(o) => { const e = env(o, "PLUE_DATABASE_URL"); delete e.valueFrom; e.value = "postgresql://plue:pw@db/plue"; }, /PLUE_DATABASE_URL does not come from a Secret/],
		[(o) => server(o).env.push({ name: "PLUE_METRICS_TOKEN", value: "t" }), /PLUE_METRICS_TOKEN is written/],
		[(o) => (C.find(o, "ConfigMap", "plue", "plue-server")[0].data.PLUE_RUNNER_MODE = "local"), /PLUE_RUNNER_MODE is not 'kubernetes'/],
		[(o) => (server(o).volumeMounts = server(o).volumeMounts.filter((m) => m.mountPath !== "/tmp")), /nothing writable is mounted at \/tmp/],
		[(o) => (C.find(o, "PersistentVolumeClaim", "plue")[0].spec.accessModes = ["ReadWriteOnce"]), /not ReadWriteMany/],
		[(o) => (dep(o).spec.replicas = 1), /1 replicas, not 2/],
		[(o) => (C.find(o, "PodDisruptionBudget", "plue")[0].spec.minAvailable = 2), /minAvailable 2 with 2 replicas/],
		[(o) => delete C.find(o, "Ingress", "plue")[0].metadata.annotations["nginx.ingress.kubernetes.io/proxy-buffering"], /proxy-buffering/],
		[(o) => (dep(o).spec.template.spec.hostNetwork = true), /host namespace/],
	];
	for (const [mutate, pattern] of cases) {
		const o = copy(rendered.staging);
		mutate(o);
		expectFails(C.serverProblems(o, overlays.staging), pattern);
	}
});

test("secrets: a Secret with data, a secret in a ConfigMap fail", () => {
	let o = copy(rendered.staging);
	o.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "plue-runner", namespace: "plue" }, stringData: { "registration-secret": "x" } });
	expectFails(C.secretProblems(o), /carries data/);
	o = copy(rendered.staging);
	C.find(o, "ConfigMap", "plue", "plue-server")[0].data.PLUE_LLM_API_KEY = "sk-x";
	expectFails(C.secretProblems(o), /PLUE_LLM_API_KEY looks like a secret/);
});

// ---- Terraform, and what ties it to the manifests ------------------------

test("terraform: GKE with a tainted gVisor pool, Cloud SQL 15, Filestore", async () => {
	const { tf, vars } = await terraform();
	assert.deepEqual(C.terraformProblems(tf, vars), []);
	const taint = C.runnerTaint(tf);
	assert.deepEqual(taint, { key: "plue.dev/runner", value: "true", effect: "NO_SCHEDULE" });
	for (const env of Object.keys(overlays)) {
		assert.deepEqual(C.runtimeClassProblems(rendered[env], taint), []);
		// the images come from the environment's registry (outputs.tf)
		const reg = `${vars[env].region}-docker.pkg.dev/${vars[env].project}/plue/`;
		assert.equal(server(rendered[env]).image, `${reg}plue-server:deploy-tag`);
		const cm = C.find(rendered[env], "ConfigMap", "plue", "plue-server")[0];
		assert.equal(cm.data.PLUE_K8S_RUNNER_IMAGE, `${reg}plue-runner:deploy-tag`);
	}
	// the repository volume is the share Terraform names in DNS
	const pv = C.find(rendered.production, "PersistentVolume", null, "plue-repositories")[0];
	const rec = Object.values(tf.resource.google_dns_record_set)[0][0];
	assert.equal(`${pv.spec.nfs.server}.`, rec.name);
	const share = tf.resource.google_filestore_instance.repositories[0].file_shares[0].name;
	assert.equal(pv.spec.nfs.path, `/${share}`);
});

test("terraform: a broken file, a missing taint, another version each fail", async () => {
	await assert.rejects(parseHcl("bad.tf", 'resource "google_container_cluster" "x" {'), /Unclosed configuration block/);
	const { tf, vars } = await terraform();
	const runners = (t) => t.resource.google_container_node_pool.runners[0].node_config[0];
	const cases = [
		[(t) => delete runners(t).taint, /no taint plue.dev\/runner=true:NO_SCHEDULE/],
		[(t) => (runners(t).taint[0].effect = "PREFER_NO_SCHEDULE"), /no taint/],
		[(t) => delete runners(t).sandbox_config, /0 node pools with sandbox_type gvisor/],
		[(t) => (t.resource.google_sql_database_instance.plue[0].database_version = "POSTGRES_14"), /POSTGRES_14, not POSTGRES_15/],
		[(t) => (t.resource.google_sql_database_instance.plue[0].settings[0].ip_configuration[0].ipv4_enabled = true), /private IP/],
		[(t) => (t.resource.google_container_cluster.plue[0].location = "europe-west1-b"), /not a region/],
		[(t) => (t.resource.google_container_cluster.plue[0].private_cluster_config[0].enable_private_nodes = false), /not private/],
		[(t) => delete t.resource.google_container_cluster.plue[0].workload_identity_config, /workload identity/],
		[(t) => delete t.variable.region, /var.region is used but not declared/],
	];
	for (const [mutate, pattern] of cases) {
		const t = copy(tf);
		mutate(t);
		expectFails(C.terraformProblems(t, vars), pattern);
	}
	const v = copy(vars);
	v.production.sql_high_availability = false;
	expectFails(C.terraformProblems(tf, v), /sql_high_availability/);
	const t = copy(tf);
	runners(t).taint[0].key = "runner";
	expectFails(C.runtimeClassProblems(rendered.staging, C.runnerTaint(t)), /nodeSelector does not ask for runner=true/);
});

// ---- Dockerfiles ---------------------------------------------------------

const dockerfiles = ["Dockerfile.server", "Dockerfile.runner"];
const readDocker = (f) => fs.readFileSync(path.join(deploy, "docker", f), "utf8");

test("dockerfiles: multi-stage, pinned, slim, non-root, no secrets", () => {
	for (const f of dockerfiles) assert.deepEqual(C.dockerfileProblems(f, DockerfileParser.parse(readDocker(f))), []);
});

test("dockerfiles: each rule fails on a broken copy", () => {
	const cases = [
		[(s) => s.replace("USER 10001:10001", "USER root"), /USER 'root' is not a numeric non-root uid/],
		[(s) => s.replace("USER 10001:10001", "USER 0"), /USER '0'/],
		[(s) => s.replace(/^USER .*$/m, ""), /final stage has no USER/],
		[(s) => s.replace("FROM debian:bookworm-slim", "FROM debian"), /FROM debian is not pinned/],
		[(s) => s.replace("FROM debian:bookworm AS build", "FROM debian:latest AS build"), /not pinned/],
		[(s) => s.replace("FROM debian:bookworm AS build", "FROM debian:bookworm"), /no stage name/],
		[(s) => s.replace("FROM debian:bookworm-slim", "FROM debian:bookworm"), /final stage is not debian:bookworm-slim/],
		[(s) => s.replace(/^USER /m, "ENV PLUE_RUNNER_SECRET=abc\nUSER "), /ENV PLUE_RUNNER_SECRET puts a secret/],
		[(s) => s.replace(/^USER /m, "ARG GITHUB_TOKEN\nUSER "), /ARG GITHUB_TOKEN puts a secret/],
		[(s) => s.replaceAll("--from=build", "--from=builder"), /COPY --from=builder names no earlier stage/],
		[(s) => s.replace(/^FROM debian:bookworm AS build[\s\S]*?(?=^FROM )/m, ""), /not a multi-stage build/],
	];
	for (const f of dockerfiles)
		for (const [mutate, pattern] of cases) {
			const s = mutate(readDocker(f));
			expectFails(C.dockerfileProblems(f, DockerfileParser.parse(s)), pattern);
		}
});

// ---- the deploy workflow -------------------------------------------------

test("workflow: .plue/workflows/deploy.yaml passes plue workflow lint", (t) => {
	const plue = process.env.PLUE;
	if (!plue) return t.skip("PLUE is not set (make deploy sets it)");
	const wf = path.join(root, ".plue/workflows/deploy.yaml");
	const ok = spawnSync(plue, ["workflow", "lint", wf], { encoding: "utf8" });
	assert.equal(ok.status, 0, ok.stderr + ok.stdout);
	assert.match(ok.stdout, /deploy\.yaml: ok/);
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plue-deploy-"));
	try {
		const bad = path.join(tmp, "deploy.yaml");
		fs.writeFileSync(bad, fs.readFileSync(wf, "utf8").replace("needs: [build]\n    if:", "needs: [bild]\n    if:"));
		const r = spawnSync(plue, ["workflow", "lint", bad], { encoding: "utf8" });
		assert.notEqual(r.status, 0);
		assert.match(r.stderr + r.stdout, /deploy\.yaml:\d+:\d+: .*bild/);
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	// the staging job runs on main, production on a tag, both after build
	const doc = YAML.parse(fs.readFileSync(wf, "utf8"));
	assert.deepEqual(doc.jobs.build.needs, ["test"]);
	assert.deepEqual(doc.jobs.staging.needs, ["build"]);
	assert.deepEqual(doc.jobs.production.needs, ["build"]);
	assert.match(doc.jobs.staging.if, /refs\/heads\/main/);
	assert.match(doc.jobs.production.if, /refs\/tags\/v/);
});

test("apply.sh refuses a bad environment or tag before touching a cluster", () => {
	const sh = path.join(deploy, "scripts/apply.sh");
	let r = spawnSync("bash", [sh, "qa", "abc"], { encoding: "utf8" });
	assert.equal(r.status, 2);
	assert.match(r.stderr, /unknown environment 'qa'/);
	r = spawnSync("bash", [sh, "staging", "a b;rm"], { encoding: "utf8" });
	assert.equal(r.status, 2);
	assert.match(r.stderr, /invalid image tag 'a b;rm'/);
	// the tag substitution reaches every image
	const out = execFileSync(kubectls[0], ["kustomize", path.join(deploy, "k8s/overlays/staging")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
	const replaced = out.replace(/:deploy-tag$/gm, ":0123abc");
	assert.ok(!replaced.includes("deploy-tag"));
	assert.equal((replaced.match(/:0123abc$/gm) ?? []).length, 3);
});

// ---- a runner pod, as the manifests expect the pool keeper to make it ----

const runnerPod = () => YAML.parse(fs.readFileSync(new URL("./fixtures/runner-pod.yaml", import.meta.url), "utf8"));

test("runner pod: the reference pod is valid, restricted, selected, schedulable", async () => {
	const pod = runnerPod();
	assert.deepEqual(await C.schemaProblems([pod]), []);
	assert.deepEqual(C.runnerPodProblems(pod), []);
	for (const env of Object.keys(overlays)) {
		const pols = C.find(rendered[env], "NetworkPolicy", "plue-runners").filter((p) => C.selects(p.spec.podSelector, pod.metadata.labels));
		assert.deepEqual(pols.map((p) => p.metadata.name).sort(), ["default-deny", "plue-runner"]);
		// the RuntimeClass's node selector merges with the pod's without conflict
		const rc = C.find(rendered[env], "RuntimeClass", null, "gvisor")[0];
		for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {}))
			if (k in rc.scheduling.nodeSelector) assert.equal(rc.scheduling.nodeSelector[k], v);
	}
	const cold = runnerPod();
	cold.metadata.labels["plue.dev/pool"] = "cold";
	cold.metadata.labels["plue.dev/workload"] = "17";
	assert.deepEqual(C.runnerPodProblems(cold), []);
});

test("runner pod: each missing protection fails", () => {
	const c = (pod, name) => pod.spec.containers.find((x) => x.name === name);
	const cases = [
		[(p) => delete p.spec.runtimeClassName, /runtimeClassName is not gvisor/],
		[(p) => (p.spec.automountServiceAccountToken = true), /service-account token/],
		[(p) => delete p.spec.activeDeadlineSeconds, /activeDeadlineSeconds/],
		[(p) => (p.spec.restartPolicy = "OnFailure"), /restartPolicy/],
		[(p) => (p.spec.shareProcessNamespace = true), /process namespace/],
		[(p) => (c(p, "exec").securityContext.readOnlyRootFilesystem = false), /container exec: the root filesystem/],
		[(p) => (c(p, "runner").securityContext.capabilities.drop = []), /container runner: capabilities/],
		[(p) => { delete p.spec.securityContext.seccompProfile; }, /seccomp/],
		[(p) => delete c(p, "exec").resources.limits["ephemeral-storage"], /no ephemeral-storage limit/],
		[(p) => delete p.spec.volumes[0].emptyDir.sizeLimit, /workspace emptyDir with a sizeLimit/],
		[(p) => delete p.spec.volumes[1].emptyDir.medium, /control emptyDir in memory/],
		[(p) => c(p, "exec").env = [{ name: "S", valueFrom: { secretKeyRef: { name: "plue-runner", key: "registration-secret" } } }], /exec container reads a Secret/],
		[(p) => (c(p, "runner").env[1] = { name: "PLUE_RUNNER_SECRET", value: "abc" }), /does not read plue-runner|is a value/],
		[(p) => p.spec.volumes.push({ name: "host", hostPath: { path: "/" } }), /volume host is not allowed/],
		[(p) => (p.metadata.labels["app.kubernetes.io/name"] = "runner"), /are not a runner pod's/],
		[(p) => (p.metadata.labels["plue.dev/pool"] = "cold"), /cold pod without plue.dev\/workload/],
		[(p) => (c(p, "exec").args = ["execd"]), /does not run plue execd --socket/],
		[(p) => (p.spec.securityContext.runAsNonRoot = false), /runAsNonRoot is not true/],
	];
	for (const [mutate, pattern] of cases) {
		const p = runnerPod();
		mutate(p);
		expectFails(C.runnerPodProblems(p), pattern);
	}
});
