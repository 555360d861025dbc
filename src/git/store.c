/* store.c — bare repositories on disk (see store.h). */
#include "git/store.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <ftw.h>
#include <git2.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *repo_store_path(struct arena *a, int64_t id)
{
	return arena_printf(a, "%s/repos/%lld.git", cfg.data_abs, (long long)id);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int rm_tree(const char *path)
{
	if (access(path, F_OK) != 0)
		return 0;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Every id is git's fsck message id (`git help fsck`, FSCK MESSAGES); the
 * table in docs/api.md, "Objects a push may contain", gives the evidence
 * and the reason for each. Only metadata quirks that real public histories
 * contain and that both git and libgit2 read become warnings; paths, links
 * and structure keep git's strict checks. git warns about an unknown id and
 * goes on, so a newer or older git never refuses a push over this list. */
const char *const repo_store_receive_config[] = {
	"receive.fsckObjects=true",
	"receive.fsck.zeroPaddedFilemode=warn",
	"receive.fsck.badTimezone=warn",
	"receive.fsck.missingSpaceBeforeDate=warn",
	"receive.fsck.missingSpaceBeforeEmail=warn",
	"receive.fsck.missingNameBeforeEmail=warn",
	"receive.fsck.badName=warn",
	/* every push is kept as a pack, never as loose objects: moving a loose
	 * object out of the quarantine into objects/XX/ races with
	 * housekeeping's prune-packed and prune, which remove an emptied
	 * objects/XX/ (the push would be refused "unable to migrate objects to
	 * permanent storage"); packs land in objects/pack/, which stays, and
	 * geometric repacking folds the small ones */
	"receive.unpackLimit=1",
	/* housekeeping is the server's (git/maintain.h), never a push's */
	"receive.autogc=false",
	"gc.auto=0",
	NULL,
};

int repo_store_create(int64_t id, const char *default_branch, struct err *e)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/repos/%lld.git", cfg.data_abs, (long long)id);
	char head[512];
	snprintf(head, sizeof(head), "refs/heads/%s", default_branch);
	git_repository_init_options o = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT |
		  GIT_REPOSITORY_INIT_MKPATH;
	o.initial_head = head;
	git_repository *repo = NULL;
	if (git_repository_init_ext(&repo, path, &o) < 0) {
		const git_error *ge = git_error_last();
		log_error("cannot create repository %s: %s", path, ge ? ge->message : "?");
		rm_tree(path);
		return err_set(e, ERR_INTERNAL, "storage_error",
			       "cannot create the repository on disk");
	}
	/* receive-pack settings: reject broken objects (the rules that apply
	 * are repo_store_receive_config, given on receive-pack's command line,
	 * which overrides this); let pushes of any size through the server's
	 * own streaming */
	git_config *c = NULL;
	if (git_repository_config(&c, repo) == 0) {
		git_config_set_bool(c, "receive.fsckObjects", 1);
		git_config_set_bool(c, "http.receivepack", 1);
		git_config_set_bool(c, "uploadpack.allowFilter", 1);
		git_config_set_bool(c, "uploadpack.allowAnySHA1InWant", 0);
		git_config_free(c);
	}
	git_repository_free(repo);
	return 0;
}

int repo_store_delete(int64_t id, struct err *e)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/repos/%lld.git", cfg.data_abs, (long long)id);
	if (rm_tree(path)) {
		log_error("cannot remove %s: %s", path, strerror(errno));
		return err_set(e, ERR_INTERNAL, "storage_error",
			       "cannot remove the repository from disk");
	}
	return 0;
}
