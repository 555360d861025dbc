/* admin.c — `plue admin`: create users and tokens from the command line
 * (the first user of a new server is made here; prints the token once),
 * and run a repository's housekeeping now (git/maintain.h). */
#include "cmd/cmd.h"
#include "auth/auth.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/forge.h"
#include "forge/users.h"
#include "git/maintain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *admin_usage =
	"plue admin create-user USERNAME [--admin] [--scopes LIST] [options]\n"
	"       plue admin create-token USERNAME [--scopes LIST] [--name NAME] [options]\n"
	"       plue admin repo-maintain OWNER/REPO [--full] [options]\n"
	"       plue admin set-admin USERNAME [--revoke] [options]\n"
	"\n"
	"  --scopes LIST   comma-separated: repo:read, repo:write, user, admin\n"
	"                  (default repo:read,repo:write,user)\n"
	"  --admin         make the user a site administrator\n"
	"  --full          repo-maintain: a full repack (bitmaps, pruning) whatever is due";

static const char *scopes_opt, *name_opt;
static bool admin_flag, full_flag, revoke_flag;

/* Who acts from the command line: the operator, a site administrator. */
static const struct auth admin_who = { .is_admin = true, .scopes = SCOPE_ALL };

static const struct opt admin_opts[] = {
	{ "scopes", NULL, OPT_STR, &scopes_opt, "repo:read,repo:write,user", "token scopes" },
	{ "name", NULL, OPT_STR, &name_opt, "cli", "token name" },
	{ "admin", NULL, OPT_BOOL, &admin_flag, "false", "site administrator (create-user)" },
	{ "revoke", NULL, OPT_BOOL, &revoke_flag, "false", "take the role away (set-admin)" },
	{ "full", NULL, OPT_BOOL, &full_flag, "false", "full repack (repo-maintain)" },
	{ "maintain-grace", "PLUE_MAINTAIN_GRACE", OPT_INT, &cfg.maintain_grace, "1209600",
	  "seconds an unreachable object is kept before it is pruned (repo-maintain)" },
	{ "maintain-full-interval", "PLUE_MAINTAIN_FULL_INTERVAL", OPT_INT,
	  &cfg.maintain_full_interval, "604800", "seconds between full repacks (repo-maintain)" },
	{ "data-dir", "PLUE_DATA_DIR", OPT_STR, &cfg.data_dir, "./var", "data directory" },
	{ "database-url", "PLUE_DATABASE_URL", OPT_STR, &cfg.database_url, "",
	  "external PostgreSQL (empty: embedded)" },
	{ "pg-user", "PLUE_PG_USER", OPT_STR, &cfg.pg_user, "plue", "embedded cluster user" },
	{ "log-level", "PLUE_LOG_LEVEL", OPT_STR, &cfg.log_level, "warn", "log level" },
	{ "help", NULL, OPT_BOOL, &cfg.help, NULL, "print this help" },
	{ 0 },
};

/* `repo-maintain OWNER/REPO`: runs housekeeping now, waiting for a run
 * already going on; prints the result as JSON on stdout. Exit status 0
 * when every step succeeded, 1 otherwise. */
static int repo_maintain(const char *full_name)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	int rc = 1;
	PGconn *db = NULL;
	const char *slash = strchr(full_name, '/');
	if (!slash || slash == full_name || !slash[1] || strchr(slash + 1, '/')) {
		err_set(&e, ERR_INVALID, NULL, "'%.200s' is not OWNER/REPO", full_name);
		goto fail;
	}
	const char *owner = arena_strndup(a, full_name, (size_t)(slash - full_name));
	if (!(db = db_connect(&e)))
		goto fail;
	struct forge f = { .db = db, .arena = a, .err = &e, .who = &admin_who };
	struct repo *repo;
	if (repo_load(&repo, &f, owner, slash + 1))
		goto fail;
	struct maintain_result mr;
	if (maintain_repo_run(db, repo->id, "admin", full_flag, true, cfg.maintain_grace,
			      cfg.maintain_full_interval, &mr, &e))
		goto fail;
	json_t *o = json_pack("{s:s,s:b,s:I,s:o,s:o}", "status",
			      mr.ok ? (mr.tasks ? "ok" : "nothing_to_do") : "failed", "ok", mr.ok,
			      "duration_ms", (json_int_t)mr.duration_ms, "before",
			      maintain_stats_json(&mr.before), "after",
			      maintain_stats_json(&mr.after));
	json_object_set_new(o, "tasks", maintain_tasks_json(mr.tasks));
	json_object_set_new(o, "error", mr.ok ? json_null() : json_string(mr.error));
	char *out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	printf("%s\n", out);
	free(out);
	if (!mr.ok)
		fprintf(stderr, "error: %s\n", mr.error);
	rc = mr.ok ? 0 : 1;
	goto done;
fail:
	fprintf(stderr, "error: %s\n", e.msg);
done:
	if (db)
		PQfinish(db);
	arena_free(a);
	return rc;
}

/* `set-admin USERNAME`: makes an existing account (the first one
 * registered through the pages, say) a site administrator, or, with
 * --revoke, an ordinary account again. */
static int set_admin(const char *user)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	int rc = 1;
	PGconn *db = db_connect(&e);
	if (!db)
		goto done;
	struct forge f = { .db = db, .arena = a, .err = &e, .who = &admin_who };
	if (user_admin_set(&f, user, !revoke_flag))
		goto done;
	fprintf(stderr, "%s is %s a site administrator\n", user, revoke_flag ? "no longer" : "now");
	rc = 0;
done:
	if (rc)
		fprintf(stderr, "plue admin: %s\n", e.msg);
	if (db)
		PQfinish(db);
	arena_free(a);
	return rc;
}

int cmd_admin(int argc, char **argv)
{
	char **rest;
	int nrest;
	int rc = cmd_setup(admin_usage, admin_opts, argc, argv, &rest, &nrest);
	if (rc)
		return rc == 3 ? 0 : rc;
	rc = 1;
	struct arena *a = arena_new();
	struct err e = { 0 };
	PGconn *db = NULL;
	unsigned scopes;
	if (nrest == 2 && !strcmp(rest[0], "repo-maintain")) {
		rc = repo_maintain(rest[1]);
		goto done;
	}
	if (nrest == 2 && !strcmp(rest[0], "set-admin")) {
		rc = set_admin(rest[1]);
		goto done;
	}
	if (nrest != 2 || (strcmp(rest[0], "create-user") && strcmp(rest[0], "create-token"))) {
		fprintf(stderr, "usage: %s\n", admin_usage);
		rc = 2;
		goto done;
	}
	const char *user = rest[1];
	if (scopes_parse(scopes_opt, &scopes, &e))
		goto fail;
	db = db_connect(&e);
	if (!db)
		goto fail;
	struct forge f = { .db = db, .arena = a, .err = &e, .who = &admin_who };
	int64_t uid;
	if (!strcmp(rest[0], "create-user") ? user_create(&uid, &f, user, admin_flag)
					    : user_id_find(&uid, &f, user))
		goto fail;
	const char *secret;
	if (token_create(db, a, &e, uid, name_opt, scopes, NULL, &secret, NULL))
		goto fail;
	if (!strcmp(rest[0], "create-user"))
		fprintf(stderr, "created user '%s'%s\n", user, admin_flag ? " (site admin)" : "");
	fprintf(stderr, "token (shown once, scopes %s):\n", scopes_opt);
	printf("%s\n", secret);
	rc = 0;
	goto done;
fail:
	fprintf(stderr, "error: %s\n", e.msg);
done:
	arena_free(a);
	if (db)
		PQfinish(db);
	free(rest);
	cmd_teardown();
	return rc;
}
