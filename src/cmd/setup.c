/* setup.c — start-up shared by the subcommands that use the database:
 * options, data directory, server key, embedded or external PostgreSQL,
 * migrations. */
#include "cmd/cmd.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"

#include <errno.h>
#include <git2.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool embedded;

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -1;
	return 0;
}

/* DATA/server.key holds 32 random bytes (hex), created on first start.
 * Replicas may start together on one data directory: the key is written
 * whole to a file of this process's own, then linked into place (link
 * fails when another won the race, whose key is then read), so no replica
 * reads a half-written key or keeps one of its own. */
static int read_server_key(const char *path, bool *missing)
{
	char hex[65] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*missing = fd < 0 && errno == ENOENT;
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, hex, 64);
	close(fd);
	if (n == 64 && hex_decode(cfg.server_key, hex, 32) == 0)
		return 0;
	log_error("server key '%s' is damaged", path);
	return -1;
}

static int load_server_key(void)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/server.key", cfg.data_abs);
	bool missing = false;
	int rc = read_server_key(path, &missing);
	if (rc == 0 || !missing)
		return rc;
	char hex[65] = { 0 };
	random_bytes(cfg.server_key, 32);
	hex_encode(hex, cfg.server_key, 32);
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, hex, 64) != 64 || fsync(fd)) {
		log_error("cannot write server key '%s': %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	rc = link(tmp, path);
	int saved = errno;
	unlink(tmp);
	if (rc == 0)
		return 0;
	if (saved != EEXIST) {
		log_error("cannot write server key '%s': %s", path, strerror(saved));
		return -1;
	}
	return read_server_key(path, &missing); /* another replica's, written whole */
}

/* Everything after option parsing; 0 or 1. */
static int setup_env(void)
{
	enum log_level lvl;
	if (log_parse_level(&lvl, cfg.log_level)) {
		fprintf(stderr, "error: unknown log level '%s'\n", cfg.log_level);
		return 1;
	}
	log_set_level(lvl);
	git_libgit2_init();
	if (mkdir_p(cfg.data_dir, 0755)) {
		log_error("cannot create data directory '%s': %s", cfg.data_dir, strerror(errno));
		return 1;
	}
	char abs[PATH_MAX];
	if (!realpath(cfg.data_dir, abs)) {
		log_error("cannot resolve data directory '%s'", cfg.data_dir);
		return 1;
	}
	cfg.data_abs = xstrdup(abs);
	char repos[PATH_MAX];
	snprintf(repos, sizeof(repos), "%s/repos", abs);
	if (mkdir_p(repos, 0700)) {
		log_error("cannot create '%s': %s", repos, strerror(errno));
		return 1;
	}
	if (load_server_key())
		return 1;

	struct err e = { 0 };
	if (cfg.database_url && *cfg.database_url) {
		db_set_conninfo(cfg.database_url);
	} else {
		char *ci = NULL;
		if (pg_embedded_start(abs, cfg.pg_user, &ci, &e)) {
			log_error("%s", e.msg);
			return 1;
		}
		embedded = true;
		db_set_conninfo(ci);
		free(ci);
	}
	PGconn *c = db_connect(&e);
	if (!c) {
		log_error("%s", e.msg);
		cmd_teardown();
		return 1;
	}
	int rc = db_migrate(c, &e);
	PQfinish(c);
	if (rc) {
		log_error("%s", e.msg);
		cmd_teardown();
		return 1;
	}
	return 0;
}

int cmd_setup(const char *usage, const struct opt *opts, int argc, char **argv, char ***rest,
	      int *nrest)
{
	if (opts_parse(opts, argc, argv, rest, nrest))
		return 1;
	if (cfg.help) {
		opts_usage(usage, opts);
		free(*rest);
		*rest = NULL;
		return 3;
	}
	int rc = setup_env();
	if (rc) {
		free(*rest);
		*rest = NULL;
	}
	return rc;
}

void cmd_teardown(void)
{
	if (embedded)
		pg_embedded_stop();
	embedded = false;
}

int cmd_migrate(int argc, char **argv)
{
	char **rest;
	int nrest;
	int rc = cmd_setup("plue migrate [options]", common_opts, argc, argv, &rest, &nrest);
	if (rc)
		return rc == 3 ? 0 : rc;
	free(rest);
	printf("migrations applied\n");
	cmd_teardown();
	return 0;
}
