/* markdown.h — GitHub-flavoured Markdown to safe HTML (cmark-gfm with the
 * table, tasklist, autolink and strikethrough extensions), and the
 * @mention / #123 references a body contains. Raw HTML never passes
 * through and dangerous link schemes (javascript:, vbscript:, file:, data:)
 * are dropped. References are found on the parsed document's text nodes,
 * so nothing inside code spans, code blocks or existing links counts. */
#ifndef PLUE_MARKDOWN_H
#define PLUE_MARKDOWN_H

#include <stdbool.h>
#include <stddef.h>

/* At most this many distinct mentions and issue references are taken from
 * one body; the rest are ignored (and not linked). */
#define MD_MAX_REFS 50

/* The references a body makes, outside code and links. */
struct md_refs {
	char *mentions[MD_MAX_REFS];   /* usernames as written, distinct ignoring case */
	size_t nmentions;
	long long issues[MD_MAX_REFS]; /* distinct issue numbers, in order of appearance */
	size_t nissues;
};

/* How references become links. Every field may be NULL. */
struct md_links {
	const char *base;  /* prepended to every link ("" or NULL: site-relative) */
	const char *owner; /* with repo: #123 links to BASE/OWNER/REPO/issues/123 */
	const char *repo;  /* NULL owner or repo: #123 stays text */
	/* When set, only names/numbers for which these return true are linked;
	 * when NULL, every syntactically valid reference is. */
	bool (*user_exists)(void *ctx, const char *username);
	bool (*issue_exists)(void *ctx, long long number);
	/* When set, used instead of the two above: answers for every
	 * reference of the body at once (user_ok[i] for refs->mentions[i],
	 * issue_ok[i] for refs->issues[i], both arrays start all false). */
	void (*resolve)(void *ctx, const struct md_refs *refs, bool *user_ok, bool *issue_ok);
	void *ctx;
};

/* Renders len bytes of md as HTML. links NULL: no reference links.
 * Invalid UTF-8 is replaced. Returns a malloc'd NUL-terminated string the
 * caller free()s; never NULL. */
char *markdown_render(const char *md, size_t len, const struct md_links *links);

/* Fills out with the mentions and #N references in md (len bytes). out is
 * overwritten; release it with md_refs_release. */
void markdown_refs(const char *md, size_t len, struct md_refs *out);
/* Frees the strings held by r and empties it. Accepts NULL. */
void md_refs_release(struct md_refs *r);

#endif
