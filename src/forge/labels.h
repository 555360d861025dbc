/* labels.h — a repository's labels: list, read, create, edit, delete.
 * Names are unique ignoring case; deleting a label takes it off every
 * issue in the same transaction as its event. Changes need write access
 * to the repository's issues (authz_repo_area with AREA_ISSUES: a
 * workflow's task token with issues: write may) and write
 * label.created / label.edited / label.deleted. Every function returns 0
 * or ERR_* with the message in *f->err. */
#ifndef PLUE_FORGE_LABELS_H
#define PLUE_FORGE_LABELS_H

#include "forge/issues.h"

#define LABEL_NAME_MAX 50  /* characters */
#define LABEL_DESC_MAX 200 /* bytes */

/* A name: trimmed, 1..LABEL_NAME_MAX characters, no commas (lists use
 * them) or control characters; *out is the trimmed copy. ERR_INVALID
 * "invalid_label". */
int label_name_check(const char **out, struct forge *f, const char *name);
/* A colour: six hex digits, with or without '#'; *out is the digits in
 * lowercase. ERR_INVALID "invalid_color". */
int label_color_check(const char **out, struct forge *f, const char *color);

/* Every label of repo by name (at most 1000) as API JSON [{id, name,
 * color, description, open_issues, closed_issues, url}] into *out (new
 * reference). Needs read access. */
int labels_list(json_t **out, struct forge *f, const struct repo *repo);
/* Label `name` (ignoring case) as API JSON. Needs read access;
 * ERR_NOTFOUND "label 'x' not found in 'o/r'". */
int label_read(json_t **out, struct forge *f, const struct repo *repo, const char *name);

/* A label's fields; NULL: the default (create: color "ededed",
 * description "") or unchanged (update). */
struct label_fields {
	const char *name;
	const char *color;
	const char *description;
};
/* Creates a label (name required); *out its API JSON. ERR_EXISTS "label
 * 'x' already exists in 'o/r'". */
int label_create(json_t **out, struct forge *f, const struct repo *repo,
		 const struct label_fields *in);
/* Changes label `name`; label.edited (with changes) only when something
 * changed. *out its API JSON after. */
int label_update(json_t **out, struct forge *f, const struct repo *repo, const char *name,
		 const struct label_fields *in);
/* Deletes label `name` and takes it off every issue; label.deleted names
 * the issues' numbers. */
int label_delete(struct forge *f, const struct repo *repo, const char *name);

#endif
