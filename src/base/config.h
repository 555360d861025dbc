/* config.h — settings from flags and PLUE_* environment variables.
 * Precedence: flag, then environment, then the default. Every flag has an
 * environment variable; `plue CMD --help` prints the table. */
#ifndef PLUE_CONFIG_H
#define PLUE_CONFIG_H

#include <stdbool.h>

struct config {
	const char *listen;       /* PLUE_LISTEN */
	int port;                 /* PLUE_PORT */
	const char *data_dir;     /* PLUE_DATA_DIR: repositories, database, keys */
	const char *database_url; /* PLUE_DATABASE_URL: external PostgreSQL; empty = embedded */
	const char *public_url;   /* PLUE_PUBLIC_URL: how clients reach this server */
	int workers;              /* PLUE_WORKERS: worker threads = database connections */
	int threads;              /* PLUE_THREADS: HTTP event threads */
	int max_connections;      /* PLUE_MAX_CONNECTIONS */
	int conn_memory_kb;       /* PLUE_CONN_MEMORY_KB: libmicrohttpd's pool per connection */
	int per_ip_limit;         /* PLUE_PER_IP_LIMIT */
	int timeout;              /* PLUE_TIMEOUT: idle connection timeout, seconds */
	int cache_mb;             /* PLUE_CACHE_MB: object cache size */
	const char *log_level;    /* PLUE_LOG_LEVEL */
	int warm_pool;            /* PLUE_WARM_POOL: standby runners (local mode) */
	const char *runner_mode;  /* PLUE_RUNNER_MODE: local | kubernetes */
	/* kubernetes runner mode (queue/pool_k8s.c) */
	const char *k8s_kubeconfig;       /* PLUE_K8S_KUBECONFIG: empty = in-cluster */
	const char *k8s_namespace;        /* PLUE_K8S_NAMESPACE: the runner pods' */
	const char *k8s_runner_image;     /* PLUE_K8S_RUNNER_IMAGE */
	const char *k8s_runner_url;       /* PLUE_K8S_RUNNER_URL: the server as pods reach it */
	const char *k8s_runner_cpu;       /* PLUE_K8S_RUNNER_CPU: the steps' (a quantity) */
	const char *k8s_runner_memory;    /* PLUE_K8S_RUNNER_MEMORY */
	const char *k8s_runner_storage;   /* PLUE_K8S_RUNNER_STORAGE: ephemeral-storage */
	const char *k8s_runner_workspace; /* PLUE_K8S_RUNNER_WORKSPACE: emptyDir sizeLimit */
	int k8s_runner_deadline;          /* PLUE_K8S_RUNNER_DEADLINE: activeDeadlineSeconds */
	int k8s_max_cold;                 /* PLUE_K8S_MAX_COLD: cold pods starting at once */
	const char *sandbox;              /* PLUE_SANDBOX: auto | gvisor | bwrap | none */
	const char *pg_user;    /* PLUE_PG_USER: system user for the embedded cluster when root */
	const char *server_url; /* PLUE_SERVER_URL: runner → server */
	const char *runner_secret; /* PLUE_RUNNER_SECRET: pool registration secret */
	/* git over SSH (ssh/ssh.h) */
	const char *ssh_listen;    /* PLUE_SSH_LISTEN: address; empty = no SSH */
	int ssh_port;              /* PLUE_SSH_PORT */
	int ssh_max_connections;   /* PLUE_SSH_MAX_CONNECTIONS */
	int ssh_per_ip_limit;      /* PLUE_SSH_PER_IP_LIMIT */
	int ssh_auth_tries;        /* PLUE_SSH_AUTH_TRIES: failed attempts per connection */
	int ssh_timeout;           /* PLUE_SSH_TIMEOUT: idle seconds, also the login grace */
	const char *metrics_token; /* PLUE_METRICS_TOKEN: bearer for GET /metrics; empty = off */
	/* outgoing webhooks (queue/webhooks.h) */
	const char *webhook_allow_nets; /* PLUE_WEBHOOK_ALLOW_NETS: CIDRs hooks may reach anyway */
	int webhook_timeout_ms;         /* PLUE_WEBHOOK_TIMEOUT_MS: per attempt */
	int webhook_retry_base_ms;      /* PLUE_WEBHOOK_RETRY_BASE_MS: first retry delay, then x3 */
	int register_limit; /* PLUE_REGISTER_LIMIT: registrations per address per hour */
	/* repository housekeeping (git/maintain.h) */
	int maintain_jobs;          /* PLUE_MAINTAIN_JOBS: runs at once; 0 = no scheduler */
	int maintain_debounce;      /* PLUE_MAINTAIN_DEBOUNCE: quiet seconds after a push */
	int maintain_interval;      /* PLUE_MAINTAIN_INTERVAL: seconds between scheduled runs */
	int maintain_full_interval; /* PLUE_MAINTAIN_FULL_INTERVAL: seconds between full repacks */
	int maintain_grace;         /* PLUE_MAINTAIN_GRACE: unreachable objects kept, seconds */
	/* pack cache for identical fetches (git/packcache.h) */
	bool pack_cache;   /* PLUE_PACK_CACHE: serve identical fetches from DATA/packcache */
	int pack_cache_mb; /* PLUE_PACK_CACHE_MB: bound on the cache's bytes on disk, MiB */
	/* agents (queue/agent.h): the model provider the server calls for runners */
	const char *llm_provider; /* PLUE_LLM_PROVIDER: anthropic | openai */
	const char *llm_base_url; /* PLUE_LLM_BASE_URL: empty = the provider's */
	const char *llm_api_key;  /* PLUE_LLM_API_KEY: never logged, never sent to a runner */
	const char *llm_model;    /* PLUE_LLM_MODEL: the model of sessions that name none */
	int agent_concurrency;    /* PLUE_AGENT_CONCURRENCY: agent turns at once per repository */
	bool standby;             /* runner --standby */
	int runner_cache_mb; /* PLUE_RUNNER_CACHE_MB: bound on the runner's checkout cache, MiB */
	const char *runner_name;  /* PLUE_RUNNER_NAME: runners.host; a pod's name */
	const char *execd_socket; /* PLUE_EXECD_SOCKET: `plue execd`'s socket */
	bool help;
	/* derived at start-up, not options */
	const char *data_abs;         /* absolute data directory */
	unsigned char server_key[32]; /* DATA/server.key: signs sessions, seals secrets */
};

extern struct config cfg;

enum opt_type { OPT_STR, OPT_INT, OPT_BOOL };

struct opt {
	const char *flag; /* "port" for --port */
	const char *env;  /* "PLUE_PORT" */
	enum opt_type type;
	void *target;     /* const char **, int *, bool * */
	const char *def;  /* default as text (NULL: none) */
	const char *help;
};

/* Applies defaults, then the environment, then argv (--flag value,
 * --flag=value, --bool). Leaves positional arguments in argv order in
 * rest and nrest. Returns 0, or -1 after printing the problem to stderr. */
int opts_parse(const struct opt *opts, int argc, char **argv, char ***rest, int *nrest);
void opts_usage(const char *usage, const struct opt *opts);

/* The option tables of the subcommands. */
extern const struct opt serve_opts[];
extern const struct opt runner_opts[];
extern const struct opt common_opts[];
extern const struct opt execd_opts[];

#endif
