/* reactions.h — emoji reactions (reaction_names in forge/issues.h: +1 -1
 * laugh hooray confused heart rocket eyes) on issues, pull requests and
 * comments: list, add (once per user and content), remove one's own.
 * Adding and removing write reaction.created / reaction.deleted.
 *
 * What a reaction is on: issue `number` of the repository, or, when
 * comment_id (the URL text) is not NULL, that comment (number is then
 * ignored). A number or comment that does not exist is ERR_NOTFOUND. */
#ifndef PLUE_FORGE_REACTIONS_H
#define PLUE_FORGE_REACTIONS_H

#include "forge/issues.h"

/* content is one of reaction_names: 0, or ERR_INVALID "invalid_reaction". */
int reaction_check(struct forge *f, const char *content);

/* The reactions on the target, oldest first (at most 1000), only those of
 * content when not NULL, as API JSON [{id, user, content, created_at}]
 * into *out (new reference). Needs read access. 0 or ERR_*. */
int reactions_list(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		   const char *comment_id, const char *content);

/* Adds f->who's reaction content to the target (f->who must be able to
 * take part). Giving one again changes nothing. *out: the reaction as API
 * JSON (new reference); *out_created: whether it is new. ERR_CONFLICT
 * when it was removed again before it could be read. 0 or ERR_*. */
int reaction_add(json_t **out, bool *out_created, struct forge *f, const struct repo *repo,
		 const char *number, const char *comment_id, const char *content);

/* Removes f->who's reaction content from the target (a signed-in
 * reader may, even where taking part is restricted): ERR_NOTFOUND "you
 * have no 'x' reaction on ..." when there is none. 0 or ERR_*. */
int reaction_remove(struct forge *f, const struct repo *repo, const char *number,
		    const char *comment_id, const char *content);

/* The reactions on the comments of issue `is` of repo whose ids are the
 * n in ids (a timeline page's), in one query, into *out (new reference):
 * an object keyed by comment id (decimal) of {"counts": {total_count,
 * "+1": n, ...} as a comment's "reactions", "mine": [content, ...] (f->who's
 * own, [] when anonymous)}. Comments without reactions, and ids that are
 * not the issue's comments, are left out. Needs read access. 0 or ERR_*. */
int reactions_of_comments(json_t **out, struct forge *f, const struct repo *repo,
			  const struct issue *is, const int64_t *ids, size_t n);

#endif
