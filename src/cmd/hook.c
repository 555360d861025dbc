/* hook.c — `plue hook pre-receive`: the git hook that enforces branch
 * protection on pushes. `plue serve` writes DATA/hooks/pre-receive (a
 * two-line script that execs this binary) and runs receive-pack with
 * core.hooksPath pointing there and PLUE_REPO_ID, PLUE_PUSHER_ID and
 * PLUE_DB in its environment (and PLUE_AGENT_PUSH for an agent's task
 * token, which pushes only to branches under plue/ that no rule
 * protects). git feeds the hook one "old new ref" line per update; a
 * non-zero exit refuses the whole push and git shows the
 * hook's stderr to the pusher as "remote: ..." lines.
 *
 * The pushed objects are still in git's quarantine directory while the
 * hook runs; git points GIT_OBJECT_DIRECTORY and
 * GIT_ALTERNATE_OBJECT_DIRECTORIES at it, and libgit2 honours them when
 * the repository is opened with GIT_REPOSITORY_OPEN_FROM_ENV. */
#include "cmd/cmd.h"
#include "forge/protection.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse(const char *branch, const char *patterns, const char *why)
{
	fprintf(stderr, "error: branch '%s' is protected (rule '%s'): %s\n", branch, patterns, why);
	return 1;
}

/* 1 when new_hex contains old_hex (a fast-forward), 0 when not, -1 on error. */
static int is_fast_forward(git_repository *repo, const char *old_hex, const char *new_hex)
{
	git_oid o, n;
	if (git_oid_fromstr(&o, old_hex) < 0 || git_oid_fromstr(&n, new_hex) < 0)
		return -1;
	if (git_oid_equal(&o, &n))
		return 1;
	int rc = git_graph_descendant_of(repo, &n, &o);
	return rc < 0 ? -1 : rc;
}

/* One ref update of the push: "old new REF". */
struct ref_update {
	char old_hex[41], new_hex[41];
	const char *ref;    /* arena */
	const char *branch; /* REF without refs/heads/, NULL for other refs */
};

/* The ref updates on stdin into *out (xrealloc'd; the caller frees). */
static size_t updates_read(struct ref_update **out, struct arena *a)
{
	char *line = NULL;
	size_t cap = 0, n = 0, ucap = 0;
	*out = NULL;
	while (getline(&line, &cap, stdin) > 0) {
		size_t len = strcspn(line, "\n");
		line[len] = '\0';
		if (len < 83 || line[40] != ' ' || line[81] != ' ')
			continue;
		const char *ref = line + 82;
		if (n == ucap) {
			ucap = ucap ? 2 * ucap : 8;
			*out = xrealloc(*out, ucap * sizeof(**out));
		}
		struct ref_update *u = &(*out)[n++];
		memcpy(u->old_hex, line, 40);
		u->old_hex[40] = '\0';
		memcpy(u->new_hex, line + 41, 40);
		u->new_hex[40] = '\0';
		u->ref = arena_strdup(a, ref);
		/* tags and other refs are not protected */
		u->branch = strncmp(ref, "refs/heads/", 11) ? NULL : u->ref + 11;
	}
	free(line);
	return n;
}

/* An agent's push (PLUE_AGENT_PUSH) creates and updates branches under
 * AGENT_PREFIX and nothing else: whatever its model was told, main, tags
 * and deletions are refused here. 0, or 1 with the refusal written. */
#define AGENT_PREFIX "refs/heads/plue/"
static int agent_ref_check(const struct ref_update *u)
{
	if (strncmp(u->ref, AGENT_PREFIX, strlen(AGENT_PREFIX)) || !u->ref[strlen(AGENT_PREFIX)]) {
		fprintf(stderr,
			"error: an agent may only push to branches under 'plue/' (refusing '%.200s')\n",
			u->ref);
		return 1;
	}
	if (!strcmp(u->new_hex, SHA1_ZERO)) {
		fprintf(stderr, "error: an agent may not delete branches (refusing '%.200s')\n",
			u->ref);
		return 1;
	}
	return 0;
}

static int pre_receive(void)
{
	const char *rid = getenv("PLUE_REPO_ID"), *conninfo = getenv("PLUE_DB");
	int64_t repo_id = 0;
	if (!rid || parse_i64(rid, 1, INT64_MAX, &repo_id) || !conninfo) {
		fprintf(stderr, "error: plue hook: not started by plue serve\n");
		return 1;
	}
	PGconn *db = PQconnectdb(conninfo);
	git_repository *repo = NULL;
	struct arena *a = arena_new();
	struct err e = { 0 };
	struct ref_update *ups = NULL;
	int status = 0;
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr,
			"error: cannot check branch protection: the database is unavailable\n");
		status = 1;
		goto done;
	}
	size_t nall = updates_read(&ups, a), n = 0;
	bool agent = getenv("PLUE_AGENT_PUSH") != NULL;
	for (size_t i = 0; i < nall; i++)
		if (agent && agent_ref_check(&ups[i]))
			status = 1;
	if (status)
		goto done;
	/* every branch's rules with one query; they bind whoever pushes: no
	 * identity is needed to read them */
	struct protection *prots = arena_alloc(a, (nall + 1) * sizeof(*prots));
	const char **branches = arena_alloc(a, (nall + 1) * sizeof(*branches));
	struct ref_update **bups = arena_alloc(a, (nall + 1) * sizeof(*bups));
	for (size_t i = 0; i < nall; i++)
		if (ups[i].branch) {
			bups[n] = &ups[i];
			branches[n++] = ups[i].branch;
		}
	if (!n)
		goto done;
	struct forge f = { .db = db, .arena = a, .err = &e, .who = &(struct auth){ 0 } };
	if (protection_get_many(prots, &f, repo_id, n, branches)) {
		fprintf(stderr, "error: cannot check branch protection: %s\n", e.msg);
		status = 1;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const char *old_hex = bups[i]->old_hex, *new_hex = bups[i]->new_hex,
			   *branch = branches[i];
		const struct protection *p = &prots[i];
		if (!p->any)
			continue;
		if (agent) { /* not even a new one: its rule is a person's to relax */
			status = refuse(branch, p->patterns, "an agent never pushes to it");
			continue;
		}
		bool deleting = !strcmp(new_hex, SHA1_ZERO), creating = !strcmp(old_hex, SHA1_ZERO);
		if (deleting) {
			if (p->no_deletion)
				status = refuse(branch, p->patterns, "it cannot be deleted");
			continue;
		}
		if (creating)
			continue; /* a new branch has nothing to lose */
		if (protection_needs_pull(p)) {
			status = refuse(branch, p->patterns,
					"changes must be merged through a pull request "
					"(approving reviews or passing statuses are required)");
			continue;
		}
		if (!p->no_force_push)
			continue;
		if (!repo &&
		    git_repository_open_ext(&repo, ".", GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
			const git_error *ge = git_error_last();
			fprintf(stderr, "error: cannot check branch protection: %s\n",
				ge ? ge->message : "cannot open the repository");
			status = 1;
			break;
		}
		int ff = is_fast_forward(repo, old_hex, new_hex);
		if (ff < 0) {
			fprintf(stderr,
				"error: cannot check branch protection: cannot read commits\n");
			status = 1;
			break;
		}
		if (!ff)
			status = refuse(branch, p->patterns, "force pushes are not allowed");
	}
done:
	free(ups);
	git_repository_free(repo);
	arena_free(a);
	PQfinish(db);
	return status;
}

int cmd_hook(int argc, char **argv)
{
	if (argc == 1 && !strcmp(argv[0], "pre-receive")) {
		git_libgit2_init();
		int rc = pre_receive();
		git_libgit2_shutdown();
		return rc;
	}
	bool help = argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
	fprintf(help ? stdout : stderr,
		"usage: plue hook pre-receive\n\n"
		"Run by git during a push to a plue server (DATA/hooks/pre-receive): reads\n"
		"\"old new ref\" lines on stdin and refuses updates that branch protection\n"
		"forbids. Needs PLUE_REPO_ID, PLUE_PUSHER_ID and PLUE_DB, which plue serve sets.\n");
	return help ? 0 : 2;
}

int hook_install(const char *data_dir, struct err *e)
{
	char exe[PATH_MAX], dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return err_set(e, ERR_INTERNAL, NULL, "cannot find the plue binary: %s",
			       strerror(errno));
	exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s/hooks", data_dir);
	snprintf(path, sizeof(path), "%s/pre-receive", dir);
	snprintf(tmp, sizeof(tmp), "%s/.pre-receive.%d", dir, (int)getpid());
	if (mkdir(dir, 0755) && errno != EEXIST)
		return err_set(e, ERR_INTERNAL, NULL, "cannot create '%s': %s", dir, strerror(errno));
	/* the path inside single quotes, each quote as '\'' */
	struct buf s = BUF_INIT;
	buf_adds(&s, "#!/bin/sh\nexec '");
	for (const char *p = exe; *p; p++)
		if (*p == '\'')
			buf_adds(&s, "'\\''");
		else
			buf_addch(&s, *p);
	buf_adds(&s, "' hook pre-receive\n");
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	bool ok = fd >= 0 && write(fd, s.ptr, s.len) == (ssize_t)s.len && fchmod(fd, 0755) == 0;
	if (fd >= 0 && close(fd))
		ok = false;
	if (!ok || rename(tmp, path)) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
	buf_release(&s);
	return rc;
}
