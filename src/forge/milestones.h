/* milestones.h — a repository's milestones: list (with open and closed
 * issue counts), read, create, edit (title, description, due date,
 * state), delete (its issues keep going without one). Numbers come from
 * the repository's counter, like issue numbers; titles are unique
 * ignoring case. Changes need write access to the repository's issues
 * (authz_repo_area with AREA_ISSUES) and write milestone.created /
 * edited / closed / opened / deleted. Every function returns 0 or ERR_*
 * with the message in *f->err. */
#ifndef PLUE_FORGE_MILESTONES_H
#define PLUE_FORGE_MILESTONES_H

#include "forge/issues.h"

#define MILESTONE_DESC_MAX 10000 /* bytes */

/* A due date: "YYYY-MM-DD" (a longer ISO 8601 timestamp is cut to its
 * date), a real calendar day; *out is the date. ERR_INVALID
 * "invalid_date". */
int milestone_due_check(const char **out, struct forge *f, const char *due);

/* repo's milestones in state ("open" or NULL: open, "closed", "all"), by
 * due date (none last) then number, at most 1000, as API JSON into *out
 * (new reference). ERR_INVALID "invalid_filter" for another state. Needs
 * read access. */
int milestones_list(json_t **out, struct forge *f, const struct repo *repo, const char *state);
/* Milestone `number` (the URL text) as API JSON. Needs read access;
 * ERR_NOTFOUND "milestone N not found in 'o/r'". */
int milestone_read(json_t **out, struct forge *f, const struct repo *repo, const char *number);

/* A milestone's fields; NULL: the default (create: description "",
 * state "open", no due date) or unchanged (update). due_set with due NULL
 * clears the due date. */
struct milestone_fields {
	const char *title;
	const char *description;
	const char *state; /* "open" or "closed" */
	bool due_set;
	const char *due;
};
/* Creates a milestone (title required) with the next number; *out its
 * API JSON. ERR_EXISTS "milestone 'x' already exists in 'o/r'". */
int milestone_create(json_t **out, struct forge *f, const struct repo *repo,
		     const struct milestone_fields *in);
/* Changes milestone `number`: closing sets closed_at; the event is
 * milestone.closed / .opened when the state changed, else .edited. *out
 * its API JSON after. */
int milestone_update(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		     const struct milestone_fields *in);
/* Deletes milestone `number` (its issues lose it) with milestone.deleted. */
int milestone_delete(struct forge *f, const struct repo *repo, const char *number);

#endif
