// checks.mjs — the checks of deploy/, as pure functions: each takes parsed
// objects (rendered Kubernetes objects, Terraform as JSON, a parsed
// Dockerfile) and returns the list of problems it finds, one sentence
// each, empty when all is well. deploy.test.mjs runs them on the real tree
// and on broken copies, so each is seen to fail.

// ---- Kubernetes schemas --------------------------------------------------

const modules = new Map();

// The kubernetes-models module for an apiVersion ("v1", "apps/v1"), or
// null when the package has none.
async function modelModule(apiVersion) {
	if (typeof apiVersion !== "string" || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion))
		return null;
	if (!modules.has(apiVersion)) {
		let m = null;
		try {
			m = await import(`kubernetes-models/${apiVersion}`);
		} catch {
			m = null;
		}
		modules.set(apiVersion, m);
	}
	return modules.get(apiVersion);
}

// A copy of v whose objects record which properties the schema's
// validator reads. The validators kubernetes-models compiles read each
// property their schema names and enumerate the keys of maps, so a key of
// an inspected object that was never read is a field the schema does not
// have: a typo the schema's additionalProperties would let through, and
// that the API server would drop or refuse.
function track(v, path, nodes) {
	if (Array.isArray(v)) return v.map((x, i) => track(x, `${path}[${i}]`, nodes));
	if (!v || typeof v !== "object") return v;
	const node = { path, keys: Object.keys(v), read: new Set(), touched: false, enumerated: false };
	nodes.push(node);
	const inner = {};
	for (const k of node.keys) inner[k] = track(v[k], `${path}.${k}`, nodes);
	const note = (k) => {
		if (typeof k === "string") {
			node.touched = true;
			node.read.add(k);
		}
	};
	return new Proxy(inner, {
		get(t, k) {
			note(k);
			return t[k];
		},
		has(t, k) {
			note(k);
			return k in t;
		},
		ownKeys(t) {
			node.enumerated = true;
			return Reflect.ownKeys(t);
		},
	});
}

function objName(o) {
	const ns = o?.metadata?.namespace ? `${o.metadata.namespace}/` : "";
	return `${o?.kind ?? "?"} ${ns}${o?.metadata?.name ?? "?"}`;
}

// Every object against the official schema of its apiVersion and kind;
// an apiVersion or kind the package does not know is a problem.
export async function schemaProblems(objects) {
	const out = [];
	for (const o of objects) {
		const m = await modelModule(o?.apiVersion);
		const cls = m && typeof o?.kind === "string" ? m[o.kind] : undefined;
		if (typeof cls !== "function" || cls.apiVersion !== o.apiVersion || cls.kind !== o.kind) {
			out.push(`${objName(o)}: no official schema for ${o?.apiVersion}/${o?.kind}`);
			continue;
		}
		const nodes = [];
		try {
			cls.prototype.validate.call(track(o, "", nodes));
		} catch (e) {
			out.push(`${objName(o)}: ${String(e.message).split("\n")[0]}`);
			continue;
		}
		for (const n of nodes) {
			if (n.enumerated || !n.touched) continue;
			for (const k of n.keys)
				if (!n.read.has(k)) out.push(`${objName(o)}: unknown field ${n.path}.${k}`);
		}
	}
	return out;
}

// ---- helpers ------------------------------------------------------------

export function find(objects, kind, namespace, name) {
	return objects.filter(
		(o) =>
			o.kind === kind &&
			(namespace === undefined || (o.metadata?.namespace ?? null) === namespace) &&
			(name === undefined || o.metadata?.name === name),
	);
}

// Whether a LabelSelector (matchLabels and matchExpressions) selects labels.
export function selects(sel, labels) {
	if (!sel) return false;
	labels = labels ?? {};
	for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
	for (const e of sel.matchExpressions ?? []) {
		const has = Object.hasOwn(labels, e.key);
		const vals = e.values ?? [];
		const ok =
			e.operator === "In"
				? has && vals.includes(labels[e.key])
				: e.operator === "NotIn"
					? !has || !vals.includes(labels[e.key])
					: e.operator === "Exists"
						? has
						: e.operator === "DoesNotExist"
							? !has
							: false;
		if (!ok) return false;
	}
	return true;
}

// The fixed labels of runner pods (common to every part of the issue): a
// warm one and one made for a waiting workload.
export const runnerPods = [
	{
		"app.kubernetes.io/name": "plue-runner",
		"app.kubernetes.io/part-of": "plue",
		"plue.dev/pool": "standby",
	},
	{
		"app.kubernetes.io/name": "plue-runner",
		"app.kubernetes.io/part-of": "plue",
		"plue.dev/pool": "cold",
		"plue.dev/workload": "42",
	},
];
export const serverPodLabels = {
	"app.kubernetes.io/name": "plue-server",
	"app.kubernetes.io/part-of": "plue",
};

// ---- the runners' namespace ---------------------------------------------

export function namespaceProblems(objects) {
	const out = [];
	const ns = find(objects, "Namespace", null, "plue-runners")[0];
	if (!ns) return ["no Namespace plue-runners"];
	const l = ns.metadata.labels ?? {};
	for (const mode of ["enforce", "audit", "warn"])
		if (l[`pod-security.kubernetes.io/${mode}`] !== "restricted")
			out.push(`Namespace plue-runners: pod-security.kubernetes.io/${mode} is not restricted`);
	if (!find(objects, "Namespace", null, "plue").length) out.push("no Namespace plue");
	return out;
}

// ---- NetworkPolicies ----------------------------------------------------

function portSet(ports) {
	return (ports ?? []).map((p) => `${p.protocol ?? "TCP"}/${p.port}${p.endPort ? `-${p.endPort}` : ""}`);
}

// What one egress peer lets a runner pod reach, or a problem.
function classifyPeer(peer, serverNs, dnsNs) {
	if (peer.ipBlock) return { problem: `an ipBlock ${peer.ipBlock.cidr}` };
	if (!peer.namespaceSelector)
		return { problem: "a peer without namespaceSelector (the runners' own namespace)" };
	if (!peer.podSelector) return { problem: "a peer without podSelector (every pod of a namespace)" };
	if (selects(peer.namespaceSelector, serverNs) && selects(peer.podSelector, serverPodLabels)) {
		// it must select nothing but the server pods there
		if (selects(peer.podSelector, { "app.kubernetes.io/name": "plue-runner" }))
			return { problem: "a peer that also selects runner pods" };
		return { to: "server" };
	}
	if (
		selects(peer.namespaceSelector, dnsNs) &&
		selects(peer.podSelector, { "k8s-app": "kube-dns" }) &&
		Object.keys(peer.podSelector.matchLabels ?? {}).includes("k8s-app")
	)
		return { to: "dns" };
	return { problem: `a peer the checks do not recognise: ${JSON.stringify(peer)}` };
}

// The runner pods may receive nothing and reach only the server pods on TCP
// 4000 and kube-dns on 53; plue-runners has a default deny.
export function networkPolicyProblems(objects) {
	const out = [];
	const nsLabels = (name) => ({
		"kubernetes.io/metadata.name": name,
		...(find(objects, "Namespace", null, name)[0]?.metadata?.labels ?? {}),
	});
	const serverNs = nsLabels("plue");
	const dnsNs = nsLabels("kube-system");
	const pols = find(objects, "NetworkPolicy", "plue-runners");
	if (
		!pols.some(
			(p) =>
				Object.keys(p.spec?.podSelector ?? { x: 1 }).length === 0 &&
				["Ingress", "Egress"].every((t) => (p.spec.policyTypes ?? []).includes(t)) &&
				!(p.spec.ingress ?? []).length &&
				!(p.spec.egress ?? []).length,
		)
	)
		out.push("plue-runners has no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)");
	for (const labels of runnerPods) {
		const mine = pols.filter((p) => selects(p.spec?.podSelector, labels));
		const named = JSON.stringify(labels);
		if (!mine.some((p) => Object.keys(p.spec.podSelector ?? {}).length))
			out.push(`no NetworkPolicy selects runner pods ${named} by their labels`);
		let server = false;
		const dns = new Set();
		for (const p of mine) {
			const n = `NetworkPolicy ${p.metadata.name}`;
			const types = p.spec.policyTypes ?? [];
			if (!types.includes("Ingress") || !types.includes("Egress"))
				out.push(`${n}: policyTypes must name Ingress and Egress`);
			if ((p.spec.ingress ?? []).length) out.push(`${n}: allows ingress to runner pods`);
			for (const rule of p.spec.egress ?? []) {
				if (!(rule.to ?? []).length) {
					out.push(`${n}: an egress rule without 'to' allows every destination`);
					continue;
				}
				const ports = portSet(rule.ports);
				if (!ports.length) {
					out.push(`${n}: an egress rule without ports allows every port`);
					continue;
				}
				for (const peer of rule.to) {
					const c = classifyPeer(peer, serverNs, dnsNs);
					if (c.problem) {
						out.push(`${n}: egress to ${c.problem}`);
						continue;
					}
					if (c.to === "server") {
						if (ports.length !== 1 || ports[0] !== "TCP/4000")
							out.push(`${n}: egress to the servers on ${ports.join(", ")}, not TCP/4000 alone`);
						else server = true;
					} else {
						for (const pt of ports)
							if (pt === "UDP/53" || pt === "TCP/53") dns.add(pt);
							else out.push(`${n}: egress to DNS on ${pt}`);
					}
				}
			}
		}
		if (!server) out.push(`runner pods ${named} cannot reach the servers on TCP/4000`);
		if (dns.size !== 2) out.push(`runner pods ${named} cannot reach kube-dns on UDP/53 and TCP/53`);
	}
	// the server pods the policy lets runners reach are the Deployment's
	const dep = find(objects, "Deployment", "plue", "plue-server")[0];
	if (dep && !selects({ matchLabels: serverPodLabels }, dep.spec?.template?.metadata?.labels))
		out.push("the server Deployment's pods do not carry the labels the runners' NetworkPolicy allows");
	return out;
}

// ---- RBAC ---------------------------------------------------------------

export const poolKeeperVerbs = ["create", "delete", "get", "list", "watch"];

// The server's ServiceAccount holds one Role in plue-runners: pods, the five
// verbs, nothing else; and nothing cluster-wide.
export function rbacProblems(objects) {
	const out = [];
	for (const k of ["ClusterRole", "ClusterRoleBinding"])
		for (const o of find(objects, k)) out.push(`${objName(o)}: no cluster-wide grants are wanted`);
	if (!find(objects, "ServiceAccount", "plue", "plue-server").length)
		out.push("no ServiceAccount plue/plue-server");
	const bindings = find(objects, "RoleBinding").filter((b) =>
		(b.subjects ?? []).some(
			(s) => s.kind === "ServiceAccount" && s.name === "plue-server" && s.namespace === "plue",
		),
	);
	if (!bindings.length) out.push("no RoleBinding grants plue/plue-server anything");
	for (const b of bindings) {
		const n = objName(b);
		if (b.metadata.namespace !== "plue-runners") out.push(`${n}: grants outside plue-runners`);
		if (b.roleRef?.kind !== "Role") {
			out.push(`${n}: binds a ${b.roleRef?.kind}, not a Role`);
			continue;
		}
		const role = find(objects, "Role", b.metadata.namespace, b.roleRef.name)[0];
		if (!role) {
			out.push(`${n}: its Role '${b.roleRef.name}' is not in the manifests`);
			continue;
		}
		const rules = role.rules ?? [];
		if (rules.length !== 1) out.push(`${objName(role)}: ${rules.length} rules, not one`);
		for (const r of rules) {
			if (JSON.stringify(r.apiGroups) !== '[""]') out.push(`${objName(role)}: apiGroups ${JSON.stringify(r.apiGroups)}`);
			if (JSON.stringify(r.resources) !== '["pods"]') out.push(`${objName(role)}: resources ${JSON.stringify(r.resources)}`);
			if (r.resourceNames || r.nonResourceURLs) out.push(`${objName(role)}: resourceNames or nonResourceURLs`);
			const verbs = [...(r.verbs ?? [])].sort();
			if (JSON.stringify(verbs) !== JSON.stringify(poolKeeperVerbs))
				out.push(`${objName(role)}: verbs ${verbs.join(",")}, not ${poolKeeperVerbs.join(",")}`);
		}
	}
	return out;
}

// ---- the server ---------------------------------------------------------

const secretName = /SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE|DATABASE_URL|CREDENTIAL/i;

function containerPort(c, port) {
	if (typeof port === "number") return port;
	return (c.ports ?? []).find((p) => p.name === port)?.containerPort;
}

function securityProblems(name, pod, c, init) {
	const out = [];
	const sc = c.securityContext ?? {};
	const psc = pod.securityContext ?? {};
	if (sc.allowPrivilegeEscalation !== false) out.push(`${name}: allowPrivilegeEscalation is not false`);
	if (sc.privileged) out.push(`${name}: privileged`);
	if (sc.readOnlyRootFilesystem !== true) out.push(`${name}: the root filesystem is not read-only`);
	if (!(sc.capabilities?.drop ?? []).includes("ALL")) out.push(`${name}: capabilities are not all dropped`);
	const add = sc.capabilities?.add ?? [];
	if (init ? add.some((a) => a !== "CHOWN") : add.length)
		out.push(`${name}: adds capabilities ${add.join(",")}`);
	if (!init) {
		const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
		const uid = sc.runAsUser ?? psc.runAsUser;
		if (nonRoot !== true) out.push(`${name}: runAsNonRoot is not true`);
		if (uid === 0) out.push(`${name}: runs as uid 0`);
	}
	const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
	if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
		out.push(`${name}: seccomp profile is ${seccomp ?? "unset"}, not RuntimeDefault`);
	return out;
}

// The server Deployment: replicas, probes on /api/health, security
// contexts, settings from the ConfigMap, secrets by reference, and the
// volumes a read-only root filesystem needs.
export function serverProblems(objects, { replicas }) {
	const out = [];
	const dep = find(objects, "Deployment", "plue", "plue-server")[0];
	if (!dep) return ["no Deployment plue/plue-server"];
	const n = "Deployment plue-server";
	if (dep.spec.replicas !== replicas) out.push(`${n}: ${dep.spec.replicas} replicas, not ${replicas}`);
	const pod = dep.spec.template.spec;
	if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push(`${n}: shares a host namespace`);
	const server = (pod.containers ?? []).find((c) => c.name === "server");
	if (!server) return [...out, `${n}: no container 'server'`];
	for (const c of pod.containers ?? []) out.push(...securityProblems(`${n} container ${c.name}`, pod, c, false));
	for (const c of pod.initContainers ?? [])
		out.push(...securityProblems(`${n} init container ${c.name}`, pod, c, true));
	for (const probe of ["readinessProbe", "livenessProbe"]) {
		const h = server[probe]?.httpGet;
		if (!h || h.path !== "/api/health") out.push(`${n}: ${probe} does not GET /api/health`);
		else if (containerPort(server, h.port) !== 4000) out.push(`${n}: ${probe} is not on port 4000`);
	}
	// settings: the ConfigMap named by envFrom, then env
	const settings = {};
	for (const ef of server.envFrom ?? []) {
		if (ef.secretRef) continue;
		const cm = find(objects, "ConfigMap", "plue", ef.configMapRef?.name)[0];
		if (!cm) out.push(`${n}: its ConfigMap '${ef.configMapRef?.name}' is not in the manifests`);
		for (const [k, v] of Object.entries(cm?.data ?? {})) settings[k] = { value: v, from: "configmap" };
	}
	for (const e of server.env ?? []) settings[e.name] = e.valueFrom ? { ref: e.valueFrom } : { value: e.value };
	const want = {
		PLUE_RUNNER_MODE: "kubernetes",
		PLUE_K8S_NAMESPACE: "plue-runners",
		PLUE_LISTEN: "0.0.0.0",
		PLUE_PORT: "4000",
	};
	for (const [k, v] of Object.entries(want))
		if (settings[k]?.value !== v) out.push(`${n}: ${k} is not '${v}'`);
	for (const k of ["PLUE_K8S_RUNNER_IMAGE", "PLUE_K8S_RUNNER_URL", "PLUE_DATA_DIR"])
		if (!settings[k]?.value) out.push(`${n}: ${k} is not set`);
	const secretRefs = {
		PLUE_DATABASE_URL: null,
		PLUE_RUNNER_SECRET: { name: "plue-runner", key: "registration-secret" },
		PLUE_LLM_API_KEY: null,
	};
	for (const [k, ref] of Object.entries(secretRefs)) {
		const s = settings[k]?.ref?.secretKeyRef;
		if (!s) out.push(`${n}: ${k} does not come from a Secret`);
		else if (ref && (s.name !== ref.name || s.key !== ref.key))
			out.push(`${n}: ${k} comes from ${s.name}/${s.key}, not ${ref.name}/${ref.key}`);
	}
	for (const [k, s] of Object.entries(settings))
		if (secretName.test(k) && s.value !== undefined)
			out.push(`${n}: ${k} is written in the manifests instead of read from a Secret`);
	// the server writes under its data directory and /tmp only
	const mounts = Object.fromEntries((server.volumeMounts ?? []).map((m) => [m.mountPath, m]));
	const dataDir = settings.PLUE_DATA_DIR?.value;
	for (const p of [dataDir, "/tmp"])
		if (p && (!mounts[p] || mounts[p].readOnly)) out.push(`${n}: nothing writable is mounted at ${p}`);
	const dataVol = (pod.volumes ?? []).find((v) => v.name === mounts[dataDir]?.name);
	const claim = dataVol?.persistentVolumeClaim?.claimName;
	const pvc = find(objects, "PersistentVolumeClaim", "plue", claim)[0];
	if (!pvc) out.push(`${n}: the data directory is not a PersistentVolumeClaim of the manifests`);
	else if (!(pvc.spec.accessModes ?? []).includes("ReadWriteMany"))
		out.push(`PersistentVolumeClaim ${claim}: not ReadWriteMany, so replicas cannot share it`);
	if (!(server.resources?.requests && server.resources?.limits?.memory))
		out.push(`${n}: no resource requests or memory limit`);
	// around it: the disruption budget, the Service, the Ingress
	const podLabels = dep.spec.template.metadata?.labels;
	const pdb = find(objects, "PodDisruptionBudget", "plue").find((p) => selects(p.spec.selector, podLabels));
	if (!pdb) out.push("no PodDisruptionBudget covers the server pods");
	else if (!(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < replicas))
		out.push(`PodDisruptionBudget ${pdb.metadata.name}: minAvailable ${pdb.spec.minAvailable} with ${replicas} replicas`);
	const svc = find(objects, "Service", "plue").find((s) => selects({ matchLabels: s.spec.selector }, podLabels));
	if (!svc) out.push("no Service selects the server pods");
	const ing = find(objects, "Ingress", "plue")[0];
	if (!ing) out.push("no Ingress");
	else {
		const a = ing.metadata.annotations ?? {};
		for (const [k, v] of [
			["nginx.ingress.kubernetes.io/proxy-buffering", "off"],
			["nginx.ingress.kubernetes.io/proxy-request-buffering", "off"],
		])
			if (a[k] !== v) out.push(`Ingress ${ing.metadata.name}: ${k} is not '${v}' (SSE and pushes must stream)`);
		if (!(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600))
			out.push(`Ingress ${ing.metadata.name}: proxy-read-timeout under 600 s`);
		const backends = (ing.spec.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.backend?.service?.name);
		if (!svc || !backends.length || backends.some((b) => b !== svc.metadata.name))
			out.push(`Ingress ${ing.metadata.name}: does not send everything to the server Service`);
	}
	return out;
}

// No Secret in the manifests carries a value, and no ConfigMap holds
// something named like a secret.
export function secretProblems(objects) {
	const out = [];
	for (const s of find(objects, "Secret"))
		if (Object.keys(s.data ?? {}).length || Object.keys(s.stringData ?? {}).length)
			out.push(`${objName(s)}: carries data; secrets are made outside the repository`);
	for (const c of find(objects, "ConfigMap"))
		for (const k of Object.keys(c.data ?? {}))
			if (secretName.test(k)) out.push(`${objName(c)}: ${k} looks like a secret`);
	return out;
}

// RuntimeClass gvisor: runsc (or GKE Sandbox's gvisor), and it keeps its
// pods on the runner nodes Terraform labels and taints (taint below).
export function runtimeClassProblems(objects, taint) {
	const out = [];
	const rc = find(objects, "RuntimeClass", null, "gvisor")[0];
	if (!rc) return ["no RuntimeClass gvisor"];
	if (!["runsc", "gvisor"].includes(rc.handler)) out.push(`RuntimeClass gvisor: handler '${rc.handler}'`);
	if (rc.scheduling?.nodeSelector?.[taint.key] !== taint.value)
		out.push(`RuntimeClass gvisor: nodeSelector does not ask for ${taint.key}=${taint.value}`);
	const effect = { NO_SCHEDULE: "NoSchedule", NO_EXECUTE: "NoExecute", PREFER_NO_SCHEDULE: "PreferNoSchedule" }[taint.effect];
	if (
		!(rc.scheduling?.tolerations ?? []).some(
			(t) => t.key === taint.key && t.value === taint.value && t.effect === effect && t.operator === "Equal",
		)
	)
		out.push(`RuntimeClass gvisor: no toleration of ${taint.key}=${taint.value}:${effect}`);
	return out;
}

// ---- Terraform ----------------------------------------------------------

const one = (x) => (Array.isArray(x) ? x[0] : x);

// The runner pool's taint, from the parsed Terraform (or undefined).
export function runnerTaint(tf) {
	for (const [, blocks] of Object.entries(tf.resource?.google_container_node_pool ?? {})) {
		const nc = one(one(blocks)?.node_config);
		if (one(nc?.sandbox_config)?.sandbox_type === "gvisor") return one(nc.taint);
	}
	return undefined;
}

// tf: every .tf file parsed and merged; vars: each tfvars file parsed, by name.
export function terraformProblems(tf, vars) {
	const out = [];
	const res = (type) => Object.entries(tf.resource?.[type] ?? {}).map(([name, b]) => [name, one(b)]);
	const clusters = res("google_container_cluster");
	if (clusters.length !== 1) out.push(`${clusters.length} GKE clusters, not one`);
	for (const [name, c] of clusters) {
		if (!/^\$\{var\.region\}$|^[a-z]+-[a-z]+[0-9]$/.test(c.location ?? ""))
			out.push(`google_container_cluster.${name}: location '${c.location}' is not a region`);
		if (one(c.private_cluster_config)?.enable_private_nodes !== true)
			out.push(`google_container_cluster.${name}: nodes are not private`);
		if (!one(c.workload_identity_config)?.workload_pool)
			out.push(`google_container_cluster.${name}: no workload identity`);
		if (c.datapath_provider !== "ADVANCED_DATAPATH" && one(c.network_policy)?.enabled !== true)
			out.push(`google_container_cluster.${name}: NetworkPolicies are not enforced`);
	}
	const pools = res("google_container_node_pool");
	const gvisor = pools.filter(([, p]) => one(one(p.node_config)?.sandbox_config)?.sandbox_type === "gvisor");
	if (gvisor.length !== 1) out.push(`${gvisor.length} node pools with sandbox_type gvisor, not one`);
	for (const [name, p] of gvisor) {
		const nc = one(p.node_config);
		const taints = nc.taint ?? [];
		const t = taints.find((x) => x.key === "plue.dev/runner");
		if (!t || t.value !== "true" || t.effect !== "NO_SCHEDULE")
			out.push(`google_container_node_pool.${name}: no taint plue.dev/runner=true:NO_SCHEDULE`);
		if (nc.labels?.["plue.dev/runner"] !== "true")
			out.push(`google_container_node_pool.${name}: no label plue.dev/runner=true`);
		if (one(nc.workload_metadata_config)?.mode !== "GKE_METADATA")
			out.push(`google_container_node_pool.${name}: pods could reach the node's metadata credentials`);
	}
	if (!pools.some(([, p]) => !one(one(p.node_config)?.sandbox_config)))
		out.push("no node pool for the servers (one without the gVisor sandbox)");
	const sql = res("google_sql_database_instance");
	if (sql.length !== 1) out.push(`${sql.length} Cloud SQL instances, not one`);
	for (const [name, s] of sql) {
		if (s.database_version !== "POSTGRES_15")
			out.push(`google_sql_database_instance.${name}: database_version ${s.database_version}, not POSTGRES_15`);
		const st = one(s.settings);
		const ip = one(st?.ip_configuration);
		if (ip?.ipv4_enabled !== false || !ip?.private_network)
			out.push(`google_sql_database_instance.${name}: not on a private IP only`);
		if (one(st?.backup_configuration)?.enabled !== true)
			out.push(`google_sql_database_instance.${name}: backups are off`);
		if (!String(st?.availability_type ?? "").includes("REGIONAL"))
			out.push(`google_sql_database_instance.${name}: cannot be made highly available`);
	}
	if (vars.production?.sql_high_availability !== true) out.push("production.tfvars: sql_high_availability is not true");
	if (!res("google_filestore_instance").length) out.push("no Filestore instance for the repositories");
	// every var.X is declared, every tfvars key is a variable
	const declared = new Set(Object.keys(tf.variable ?? {}));
	const used = new Set([...JSON.stringify(tf).matchAll(/var\.([A-Za-z_][A-Za-z0-9_-]*)/g)].map((m) => m[1]));
	for (const u of used) if (!declared.has(u)) out.push(`var.${u} is used but not declared`);
	for (const [f, v] of Object.entries(vars))
		for (const k of Object.keys(v)) if (!declared.has(k)) out.push(`${f}.tfvars: '${k}' is not a variable`);
	return out;
}

// ---- Dockerfiles ---------------------------------------------------------

// d: a parsed Dockerfile (dockerfile-ast). Every stage FROM an image named
// with a tag that is not "latest" and no variables, build stages named, a
// final stage on bookworm-slim running as a numeric non-root user, no
// secrets in ENV or ARG, COPY --from only of earlier stages.
export function dockerfileProblems(name, d) {
	const out = [];
	const froms = d.getFROMs();
	if (froms.length < 2) out.push(`${name}: ${froms.length} stage(s), not a multi-stage build`);
	const stages = [];
	for (const f of froms) {
		const img = f.getImageName();
		const tag = f.getImageTag();
		if (!img || /\$/.test(f.getArgumentsContent() ?? "")) out.push(`${name}: FROM '${f.getArgumentsContent()}' is not a fixed image`);
		else if (!tag || tag === "latest") out.push(`${name}: FROM ${img} is not pinned to a tag`);
		if (!f.getBuildStage()) out.push(`${name}: FROM ${img}:${tag} has no stage name`);
		stages.push(f.getBuildStage());
	}
	const last = froms.at(-1);
	if (last && `${last.getImageName()}:${last.getImageTag()}` !== "debian:bookworm-slim")
		out.push(`${name}: the final stage is not debian:bookworm-slim`);
	const insts = d.getInstructions();
	const lastFrom = last ? insts.indexOf(last) : 0;
	const finalInsts = insts.slice(lastFrom + 1);
	const users = finalInsts.filter((i) => i.getKeyword() === "USER");
	const user = users.at(-1)?.getArgumentsContent()?.trim();
	if (!user) out.push(`${name}: the final stage has no USER`);
	else {
		const [u, g] = user.split(":");
		if (!/^[0-9]+$/.test(u) || u === "0" || g === "0" || u === "root")
			out.push(`${name}: the final stage's USER '${user}' is not a numeric non-root uid`);
	}
	for (const i of insts) {
		const k = i.getKeyword();
		if (k === "ENV" || k === "ARG") {
			const names =
				k === "ENV" ? i.getProperties().map((p) => p.getName()) : [i.getProperty()?.getName()].filter(Boolean);
			for (const nm of names) if (secretName.test(nm)) out.push(`${name}: ${k} ${nm} puts a secret in the image`);
		}
		if (k === "COPY") {
			const from = i.getFromFlag?.()?.getValue();
			if (from && !stages.slice(0, froms.filter((f) => insts.indexOf(f) < insts.indexOf(i)).length).includes(from))
				out.push(`${name}: COPY --from=${from} names no earlier stage`);
		}
	}
	const runs = insts.filter((i) => i.getKeyword() === "RUN").map((i) => i.getArgumentsContent() ?? "");
	if (!runs.some((r) => r.includes("scripts/deps.sh build")))
		out.push(`${name}: the build stage does not install scripts/deps.sh's build packages`);
	const ep = finalInsts.find((i) => i.getKeyword() === "ENTRYPOINT")?.getArgumentsContent();
	if (!ep || !/^\[\s*"plue"\s*\]$/.test(ep.trim())) out.push(`${name}: ENTRYPOINT is not ["plue"]`);
	return out;
}

// ---- runner pods ---------------------------------------------------------

const restrictedVolumes = ["emptyDir", "configMap", "secret", "projected", "downwardAPI", "persistentVolumeClaim", "ephemeral", "csi"];

// A runner pod as the pool keeper builds it (src/k8s), against what the
// manifests expect of it: the fixed labels (so the NetworkPolicies select
// it), gVisor, Pod Security "restricted", no service-account token, one
// workload then gone, limits (the namespace's ResourceQuota requires them),
// the two containers and their shared volumes, and the registration secret
// only in the runner container. kind: "standby" or "cold".
export function runnerPodProblems(pod) {
	const out = [];
	const n = `runner pod ${pod?.metadata?.name ?? pod?.metadata?.generateName ?? "?"}`;
	const l = pod?.metadata?.labels ?? {};
	if (pod?.metadata?.namespace && pod.metadata.namespace !== "plue-runners")
		out.push(`${n}: namespace ${pod.metadata.namespace}, not plue-runners`);
	if (!runnerPods.some((r) => selects({ matchLabels: r }, { ...l, "plue.dev/workload": "42" })))
		out.push(`${n}: labels ${JSON.stringify(l)} are not a runner pod's`);
	if (l["plue.dev/pool"] === "cold" && !/^[0-9]+$/.test(l["plue.dev/workload"] ?? ""))
		out.push(`${n}: a cold pod without plue.dev/workload`);
	const s = pod?.spec ?? {};
	if (s.runtimeClassName !== "gvisor") out.push(`${n}: runtimeClassName is not gvisor`);
	if (s.restartPolicy !== "Never") out.push(`${n}: restartPolicy is not Never`);
	if (s.automountServiceAccountToken !== false) out.push(`${n}: mounts a service-account token`);
	if (!(s.activeDeadlineSeconds > 0)) out.push(`${n}: no activeDeadlineSeconds`);
	if (s.hostNetwork || s.hostPID || s.hostIPC || s.shareProcessNamespace)
		out.push(`${n}: shares a host or process namespace`);
	if (s.nodeSelector && s.nodeSelector["plue.dev/runner"] !== undefined && s.nodeSelector["plue.dev/runner"] !== "true")
		out.push(`${n}: nodeSelector plue.dev/runner is not "true"`);
	for (const v of s.volumes ?? [])
		if (!restrictedVolumes.some((t) => v[t])) out.push(`${n}: volume ${v.name} is not allowed by Pod Security restricted`);
	const vol = (name) => (s.volumes ?? []).find((v) => v.name === name);
	if (!vol("workspace")?.emptyDir?.sizeLimit) out.push(`${n}: no workspace emptyDir with a sizeLimit`);
	if (vol("control")?.emptyDir?.medium !== "Memory") out.push(`${n}: no control emptyDir in memory`);
	const cs = s.containers ?? [];
	const names = cs.map((c) => c.name).sort();
	if (JSON.stringify(names) !== '["exec","runner"]') out.push(`${n}: containers ${names.join(",")}, not exec and runner`);
	for (const c of [...cs, ...(s.initContainers ?? [])]) {
		const cn = `${n} container ${c.name}`;
		out.push(...securityProblems(cn, s, c, false));
		const uid = c.securityContext?.runAsUser ?? s.securityContext?.runAsUser;
		if (uid === undefined) out.push(`${cn}: no runAsUser (the image's USER is not checked by the kubelet if not numeric)`);
		for (const r of ["cpu", "memory", "ephemeral-storage"])
			if (!c.resources?.limits?.[r]) out.push(`${cn}: no ${r} limit`);
		const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
		if (cs.includes(c) && (mounts.workspace !== "/workspace" || mounts.control !== "/run/plue"))
			out.push(`${cn}: does not mount workspace at /workspace and control at /run/plue`);
	}
	const runner = cs.find((c) => c.name === "runner");
	const exec = cs.find((c) => c.name === "exec");
	const reg = (runner?.env ?? []).find((e) => e.valueFrom?.secretKeyRef?.name === "plue-runner");
	if (runner && (!reg || reg.valueFrom.secretKeyRef.key !== "registration-secret"))
		out.push(`${n}: the runner container does not read plue-runner/registration-secret`);
	if (exec) {
		if ((exec.env ?? []).some((e) => e.valueFrom?.secretKeyRef) || (exec.envFrom ?? []).some((e) => e.secretRef))
			out.push(`${n}: the exec container reads a Secret`);
		if ((exec.volumeMounts ?? []).some((m) => vol(m.name)?.secret || vol(m.name)?.projected))
			out.push(`${n}: the exec container mounts a secret or a projected volume`);
		const cmd = [...(exec.command ?? []), ...(exec.args ?? [])].join(" ");
		if (!/\bexecd\b.*--socket \/run\/plue\/execd\.sock/.test(cmd))
			out.push(`${n}: the exec container does not run plue execd --socket /run/plue/execd.sock`);
	}
	for (const c of cs)
		for (const e of c.env ?? [])
			if (secretName.test(e.name) && e.value !== undefined) out.push(`${n}: ${e.name} is a value, not a Secret reference`);
	return out;
}
