/* config.c — flag and environment parsing (see config.h). */
#include "base/config.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config cfg;

#define COMMON                                                                                     \
	{ "data-dir", "PLUE_DATA_DIR",                                                             \
	  OPT_STR,    &cfg.data_dir,                                                               \
	  "./var",    "data directory: repositories, embedded PostgreSQL, server keys" },          \
		{ "database-url",                                                                  \
		  "PLUE_DATABASE_URL",                                                             \
		  OPT_STR,                                                                         \
		  &cfg.database_url,                                                               \
		  "",                                                                              \
		  "external PostgreSQL connection string (empty: run the embedded cluster)" },     \
		{ "pg-user", "PLUE_PG_USER",                                                       \
		  OPT_STR,   &cfg.pg_user,                                                         \
		  "plue",    "system user that runs the embedded cluster when started as root" },  \
		{ "log-level",    "PLUE_LOG_LEVEL", OPT_STR,                                       \
		  &cfg.log_level, "info",           "debug, info, warn or error" },                \
		{ "help", NULL, OPT_BOOL, &cfg.help, NULL, "print this help" }

const struct opt common_opts[] = { COMMON, { 0 } };

const struct opt serve_opts[] = {
	{ "listen", "PLUE_LISTEN", OPT_STR, &cfg.listen, "127.0.0.1", "address to listen on" },
	{ "port", "PLUE_PORT", OPT_INT, &cfg.port, "4000", "TCP port (0 picks a free one)" },
	{ "public-url", "PLUE_PUBLIC_URL", OPT_STR, &cfg.public_url, "",
	  "URL clients use to reach this server (default http://LISTEN:PORT)" },
	{ "workers", "PLUE_WORKERS", OPT_INT, &cfg.workers, "8",
	  "worker threads, each with one database connection" },
	{ "threads", "PLUE_THREADS", OPT_INT, &cfg.threads, "0",
	  "HTTP event threads (0: one per core)" },
	{ "max-connections", "PLUE_MAX_CONNECTIONS", OPT_INT, &cfg.max_connections, "1024",
	  "simultaneous connections" },
	{ "conn-memory-kb", "PLUE_CONN_MEMORY_KB", OPT_INT, &cfg.conn_memory_kb, "32",
	  "memory each connection keeps for its request headers and buffers, KiB (4..1024): "
	  "headers must fit in it; 8 halves what an idle watcher costs, 32 moves bodies in "
	  "bigger pieces" },
	{ "per-ip-limit", "PLUE_PER_IP_LIMIT", OPT_INT, &cfg.per_ip_limit, "256",
	  "simultaneous connections from one address" },
	{ "timeout", "PLUE_TIMEOUT", OPT_INT, &cfg.timeout, "120",
	  "seconds an idle connection is kept" },
	{ "cache-mb", "PLUE_CACHE_MB", OPT_INT, &cfg.cache_mb, "64",
	  "size of the in-process cache of immutable objects, MiB" },
	{ "warm-pool", "PLUE_WARM_POOL", OPT_INT, &cfg.warm_pool, "2",
	  "standby runners kept alive (local: child processes; kubernetes: standby pods)" },
	{ "runner-mode", "PLUE_RUNNER_MODE", OPT_STR, &cfg.runner_mode, "local",
	  "local or kubernetes" },
	{ "k8s-kubeconfig", "PLUE_K8S_KUBECONFIG", OPT_STR, &cfg.k8s_kubeconfig, "",
	  "kubernetes mode: kubeconfig file (empty: in-cluster service account)" },
	{ "k8s-namespace", "PLUE_K8S_NAMESPACE", OPT_STR, &cfg.k8s_namespace, "plue-runners",
	  "kubernetes mode: namespace of the runner pods" },
	{ "k8s-runner-image", "PLUE_K8S_RUNNER_IMAGE", OPT_STR, &cfg.k8s_runner_image, "",
	  "kubernetes mode: image of the runner pods (both containers)" },
	{ "k8s-runner-url", "PLUE_K8S_RUNNER_URL", OPT_STR, &cfg.k8s_runner_url, "",
	  "kubernetes mode: the server's URL as runner pods reach it" },
	{ "k8s-runner-cpu", "PLUE_K8S_RUNNER_CPU", OPT_STR, &cfg.k8s_runner_cpu, "2",
	  "kubernetes mode: CPU of a pod's steps (request = limit)" },
	{ "k8s-runner-memory", "PLUE_K8S_RUNNER_MEMORY", OPT_STR, &cfg.k8s_runner_memory, "4Gi",
	  "kubernetes mode: memory of a pod's steps (request = limit)" },
	{ "k8s-runner-storage", "PLUE_K8S_RUNNER_STORAGE", OPT_STR, &cfg.k8s_runner_storage, "10Gi",
	  "kubernetes mode: ephemeral storage of a pod's steps (request = limit)" },
	{ "k8s-runner-workspace", "PLUE_K8S_RUNNER_WORKSPACE", OPT_STR, &cfg.k8s_runner_workspace,
	  "8Gi", "kubernetes mode: size limit of a pod's workspace volume" },
	{ "k8s-runner-deadline", "PLUE_K8S_RUNNER_DEADLINE", OPT_INT, &cfg.k8s_runner_deadline,
	  "7200", "kubernetes mode: seconds a runner pod may live (activeDeadlineSeconds)" },
	{ "k8s-max-cold", "PLUE_K8S_MAX_COLD", OPT_INT, &cfg.k8s_max_cold, "16",
	  "kubernetes mode: pods made for waiting workloads that may be starting at once" },
	{ "sandbox", "PLUE_SANDBOX", OPT_STR, &cfg.sandbox, "auto",
	  "auto, gvisor, bwrap, none (development only) or pod (in a Kubernetes runner pod)" },
	{ "runner-secret", "PLUE_RUNNER_SECRET", OPT_STR, &cfg.runner_secret, "",
	  "registration secret for runners started elsewhere (default: made at start)" },
	{ "metrics-token", "PLUE_METRICS_TOKEN", OPT_STR, &cfg.metrics_token, "",
	  "bearer token that GET /metrics requires (empty: metrics are off)" },
	{ "webhook-allow-nets", "PLUE_WEBHOOK_ALLOW_NETS", OPT_STR, &cfg.webhook_allow_nets, "",
	  "comma-separated CIDRs that webhooks may reach although private (e.g. 10.1.0.0/16)" },
	{ "webhook-timeout-ms", "PLUE_WEBHOOK_TIMEOUT_MS", OPT_INT, &cfg.webhook_timeout_ms,
	  "10000", "time allowed for one webhook delivery attempt, milliseconds" },
	{ "webhook-retry-base-ms", "PLUE_WEBHOOK_RETRY_BASE_MS", OPT_INT,
	  &cfg.webhook_retry_base_ms, "10000",
	  "delay before a failed webhook delivery's first retry (then x3 each, at most 1 h)" },
	{ "register-limit", "PLUE_REGISTER_LIMIT", OPT_INT, &cfg.register_limit, "30",
	  "password registrations allowed per client address per hour" },
	{ "maintain-jobs", "PLUE_MAINTAIN_JOBS", OPT_INT, &cfg.maintain_jobs, "1",
	  "repositories maintained at once (repack, commit-graph; 0: no housekeeping)" },
	{ "maintain-debounce", "PLUE_MAINTAIN_DEBOUNCE", OPT_INT, &cfg.maintain_debounce, "60",
	  "seconds a repository must be quiet after a push before its housekeeping" },
	{ "maintain-interval", "PLUE_MAINTAIN_INTERVAL", OPT_INT, &cfg.maintain_interval, "86400",
	  "seconds between scheduled housekeeping runs of a repository" },
	{ "maintain-full-interval", "PLUE_MAINTAIN_FULL_INTERVAL", OPT_INT,
	  &cfg.maintain_full_interval, "604800",
	  "seconds between full repacks (bitmaps, pruning) of a repository" },
	{ "maintain-grace", "PLUE_MAINTAIN_GRACE", OPT_INT, &cfg.maintain_grace, "1209600",
	  "seconds an unreachable object is kept before housekeeping prunes it" },
	{ "pack-cache", "PLUE_PACK_CACHE", OPT_BOOL, &cfg.pack_cache, "true",
	  "serve identical fetches from a cache of generated packs (DATA/packcache)" },
	{ "pack-cache-mb", "PLUE_PACK_CACHE_MB", OPT_INT, &cfg.pack_cache_mb, "1024",
	  "bytes on disk the pack cache may hold, MiB (least recently used packs go first)" },
	{ "llm-provider", "PLUE_LLM_PROVIDER", OPT_STR, &cfg.llm_provider, "anthropic",
	  "model provider agents use: anthropic, or openai (any OpenAI-compatible server)" },
	{ "llm-base-url", "PLUE_LLM_BASE_URL", OPT_STR, &cfg.llm_base_url, "",
	  "the provider's base URL (empty: the provider's own; e.g. http://127.0.0.1:8080/v1)" },
	{ "llm-api-key", "PLUE_LLM_API_KEY", OPT_STR, &cfg.llm_api_key, "",
	  "the provider's API key; the server calls the model, runners never see it" },
	{ "llm-model", "PLUE_LLM_MODEL", OPT_STR, &cfg.llm_model, "claude-sonnet-4-20250514",
	  "the model of agent sessions and workflows that name none" },
	{ "agent-concurrency", "PLUE_AGENT_CONCURRENCY", OPT_INT, &cfg.agent_concurrency, "4",
	  "agent turns that may run at once in one repository" },
	{ "ssh-listen", "PLUE_SSH_LISTEN", OPT_STR, &cfg.ssh_listen, "",
	  "address for git over SSH (empty: no SSH server)" },
	{ "ssh-port", "PLUE_SSH_PORT", OPT_INT, &cfg.ssh_port, "2222",
	  "SSH port (0 picks a free one)" },
	{ "ssh-max-connections", "PLUE_SSH_MAX_CONNECTIONS", OPT_INT, &cfg.ssh_max_connections,
	  "64", "simultaneous SSH connections (one thread each)" },
	{ "ssh-per-ip-limit", "PLUE_SSH_PER_IP_LIMIT", OPT_INT, &cfg.ssh_per_ip_limit, "8",
	  "simultaneous SSH connections from one address" },
	{ "ssh-auth-tries", "PLUE_SSH_AUTH_TRIES", OPT_INT, &cfg.ssh_auth_tries, "6",
	  "failed authentication attempts before an SSH connection is closed" },
	{ "ssh-timeout", "PLUE_SSH_TIMEOUT", OPT_INT, &cfg.ssh_timeout, "120",
	  "seconds an idle SSH connection is kept (and the time allowed to log in)" },
	COMMON,
	{ 0 },
};

const struct opt runner_opts[] = {
	{ "server-url", "PLUE_SERVER_URL", OPT_STR, &cfg.server_url, "http://127.0.0.1:4000",
	  "server to register with" },
	{ "runner-secret", "PLUE_RUNNER_SECRET", OPT_STR, &cfg.runner_secret, "",
	  "pool registration secret" },
	{ "sandbox", "PLUE_SANDBOX", OPT_STR, &cfg.sandbox, "auto",
	  "auto, gvisor, bwrap, none (development only) or pod (in a Kubernetes runner pod)" },
	{ "standby", "PLUE_STANDBY", OPT_BOOL, &cfg.standby, "false",
	  "wait for workloads from the pool" },
	{ "runner-cache-mb", "PLUE_RUNNER_CACHE_MB", OPT_INT, &cfg.runner_cache_mb, "4096",
	  "bound on the checkout cache's bytes on disk, MiB (least recently used repositories "
	  "not in use go first)" },
	{ "name", "PLUE_RUNNER_NAME", OPT_STR, &cfg.runner_name, "",
	  "name the runner registers under (default: the host name; in a pod: the pod's name)" },
	COMMON,
	{ 0 },
};

const struct opt execd_opts[] = {
	{ "socket", "PLUE_EXECD_SOCKET", OPT_STR, &cfg.execd_socket, "/run/plue/execd.sock",
	  "Unix socket the runner connects to" },
	{ "log-level", "PLUE_LOG_LEVEL", OPT_STR, &cfg.log_level, "info",
	  "debug, info, warn or error" },
	{ "help", NULL, OPT_BOOL, &cfg.help, NULL, "print this help" },
	{ 0 },
};

static int set_opt(const struct opt *o, const char *val, const char *from)
{
	switch (o->type) {
	case OPT_STR: *(const char **)o->target = val; return 0;
	case OPT_INT: {
		char *end;
		long v = strtol(val, &end, 10);
		if (!*val || *end || v < 0 || v > 1 << 30) {
			fprintf(stderr, "error: %s: '%s' is not a non-negative number\n", from, val);
			return -1;
		}
		*(int *)o->target = (int)v;
		return 0;
	}
	case OPT_BOOL:
		if (!strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "yes")) {
			*(bool *)o->target = true;
		} else if (!strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "no") ||
			   !*val) {
			*(bool *)o->target = false;
		} else {
			fprintf(stderr, "error: %s: '%s' is not true or false\n", from, val);
			return -1;
		}
		return 0;
	}
	return -1;
}

int opts_parse(const struct opt *opts, int argc, char **argv, char ***rest, int *nrest)
{
	for (const struct opt *o = opts; o->flag; o++) {
		if (o->def && set_opt(o, o->def, o->flag))
			return -1;
		const char *ev = o->env ? getenv(o->env) : NULL;
		if (ev && set_opt(o, ev, o->env))
			return -1;
	}
	char **pos = xcalloc((size_t)argc + 1, sizeof(char *));
	int npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) || !a[2]) {
			pos[npos++] = argv[i];
			continue;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt *o;
		for (o = opts; o->flag; o++)
			if (strlen(o->flag) == nlen && !strncmp(o->flag, name, nlen))
				break;
		if (!o->flag) {
			fprintf(stderr, "error: unknown option '--%.*s'\n", (int)nlen, name);
			free(pos);
			return -1;
		}
		const char *val;
		if (eq) {
			val = eq + 1;
		} else if (o->type == OPT_BOOL) {
			val = "true";
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "error: option '--%s' needs a value\n", o->flag);
			free(pos);
			return -1;
		}
		if (set_opt(o, val, a)) {
			free(pos);
			return -1;
		}
	}
	*rest = pos;
	*nrest = npos;
	return 0;
}

void opts_usage(const char *usage, const struct opt *opts)
{
	printf("usage: %s\n\noptions (each also read from its environment variable):\n", usage);
	for (const struct opt *o = opts; o->flag; o++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s", o->flag, o->type == OPT_BOOL ? "" : " VALUE");
		printf("  %-26s %-22s %s", left, o->env ? o->env : "", o->help);
		if (o->def && *o->def && o->type != OPT_BOOL)
			printf(" (default %s)", o->def);
		printf("\n");
	}
}
