/* store.h — where bare repositories live on disk: DATA/repos/<id>.git.
 * Keyed by id, so user-chosen names never reach the filesystem and a
 * rename touches no directory. */
#ifndef PLUE_STORE_H
#define PLUE_STORE_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

/* The configuration every push runs `git receive-pack` with, as
 * "key=value" strings for `git -c`, ending with NULL (static, read-only).
 * Objects are checked with git's fsck; the historic quirks that popular
 * public histories contain and that git and libgit2 read fine (zero-padded
 * tree modes, malformed time zones and author lines) are warnings shown to
 * the pusher, everything else git checks refuses the push. Given on the
 * command line, it overrides each repository's own config, so repositories
 * created before it changed follow it too. Every push is stored as a pack
 * (receive.unpackLimit=1: loose objects would race with housekeeping, see
 * store.c). git's automatic gc is off in pushes: housekeeping is the
 * server's (git/maintain.h). */
extern const char *const repo_store_receive_config[];

/* Absolute path of repository id (arena-owned). */
const char *repo_store_path(struct arena *a, int64_t id);
/* Creates the bare repository with HEAD → refs/heads/<default_branch>.
 * Removes anything it made if it fails. */
int repo_store_create(int64_t id, const char *default_branch, struct err *e);
/* Removes the repository's directory tree; 0 or ERR_INTERNAL. */
int repo_store_delete(int64_t id, struct err *e);

#endif
