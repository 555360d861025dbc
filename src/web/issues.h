/* issues.h — the issue pages: the list with its filters, opening an
 * issue, the issue page (timeline, comments, reactions, labels,
 * assignees, milestone, closing), and the labels and milestones pages.
 * The rules are the domain's (forge/issues.h, comments.h, labels.h,
 * milestones.h, reactions.h); these pages call it as the JSON API does
 * and render HTML. Routes: api/routes.c. */
#ifndef PLUE_WEB_ISSUES_H
#define PLUE_WEB_ISSUES_H

#include "forge/issues.h"
#include "web/web.h"

/* issues.c: GET /:owner/:repo/issues (?state=&label=&milestone=&assignee=
 * &author=&cursor=), GET /issues/new, POST /issues (open one). */
int web_issues_list(struct req *r, struct resp *w);
int web_issue_new(struct req *r, struct resp *w);
int web_issue_create(struct req *r, struct resp *w);
/* issue.c: GET /issues/:number and its forms: POST /issues/:number (title
 * and body), /state, /comments, /labels, /assignees, /milestone,
 * /reactions, and POST /issues/comments/:id (edit),
 * /issues/comments/:id/delete and /issues/comments/:id/reactions. */
int web_issue_show(struct req *r, struct resp *w);
int web_issue_edit(struct req *r, struct resp *w);
int web_issue_state(struct req *r, struct resp *w);
int web_issue_comment(struct req *r, struct resp *w);
int web_issue_labels(struct req *r, struct resp *w);
int web_issue_assignees(struct req *r, struct resp *w);
int web_issue_milestone(struct req *r, struct resp *w);
int web_issue_react(struct req *r, struct resp *w);
int web_comment_edit(struct req *r, struct resp *w);
int web_comment_delete(struct req *r, struct resp *w);
int web_comment_react(struct req *r, struct resp *w);

/* labels.c: GET/POST /:owner/:repo/labels, POST /labels/edit and
 * /labels/delete (the label named by the form's "label" field: names may
 * hold any character a path would mangle); GET/POST
 * /:owner/:repo/milestones, POST /milestones/:number and
 * /milestones/:number/delete. */
int web_labels(struct req *r, struct resp *w);
int web_label_create(struct req *r, struct resp *w);
int web_label_edit(struct req *r, struct resp *w);
int web_label_delete(struct req *r, struct resp *w);
int web_milestones(struct req *r, struct resp *w);
int web_milestone_create(struct req *r, struct resp *w);
int web_milestone_edit(struct req *r, struct resp *w);
int web_milestone_delete(struct req *r, struct resp *w);

/* ---- shared by the issue pages ---- */

/* A label as a chip: a swatch of its colour (an SVG fill: the CSP
 * refuses style attributes) and its name in the text colour, so any
 * label colour stays readable. With link, the chip links to the open
 * issues carrying it. */
void web_label_chip(struct view *p, const char *name, const char *color, bool link);
/* page_repo_url of the page's repository with suffix, into the page. */
void web_repo_href(struct view *p, const char *suffix);
/* The message of a refused form as the page shows it: when rc is a
 * refusal a person can correct or should read (ERR_INVALID, ERR_TOOLARGE,
 * ERR_PERM, ERR_EXISTS, ERR_CONFLICT), sets w's status, takes the
 * message (arena copy) and clears r->err; NULL for other failures, which
 * the error page shows. */
const char *web_refusal(struct req *r, struct resp *w, int rc);
/* The caller's standing in r->repo, asked without leaving an error in
 * r->err. */
struct web_standing {
	bool writer;      /* labels, assignees, milestone, anyone's issue */
	bool participant; /* may open, comment and react */
};
struct web_standing web_standing_of(struct req *r);
/* The labels / assignees / milestone fields of a posted form (the new
 * issue's, the sidebar's): each is set only when the form carried it
 * (labels: the hidden labels_set marker, so that no box ticked clears
 * them; assignees: comma-separated usernames; milestone: a number or
 * "none"). */
void web_issue_sets(struct req *r, struct issue_sets *out);
/* <option value=VALUE>TEXT</option>, selected when value equals cur. */
void web_option(struct view *p, const char *value, const char *text, const char *cur);

#endif
