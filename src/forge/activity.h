/* activity.h — what a signed-in person's home page shows besides their
 * repositories (forge/forge.h: repo_list_member) and mentions
 * (forge/issues.h: mentions_list): the recent activity in the
 * repositories they own or collaborate on, and their own open issues and
 * pull requests; and what one person did, for their profile. Each
 * function returns only what f->who may read. */
#ifndef PLUE_FORGE_ACTIVITY_H
#define PLUE_FORGE_ACTIVITY_H

#include "forge/forge.h"

/* One thing that happened, read from the outbox (`events`). Strings are
 * arena-owned; those that do not apply are NULL. */
struct activity {
	int64_t id;
	const char *type;   /* push, issue.opened, issue.closed, issue.reopened,
			       issue.comment, pull_request, pull_request.review */
	const char *action; /* the payload's action (opened, merged, ...) */
	const char *owner, *repo;
	const char *actor;  /* NULL: a deleted account */
	const char *created_at;
	const char *ref;    /* push: the ref moved */
	bool deleted;       /* push: the ref was deleted */
	int64_t number;     /* the issue or pull request, 0 when none */
	const char *title;
	bool is_pull;
};
struct activity_list {
	struct activity *items;
	size_t n;
};

/* The newest limit events of the kinds above (pull_request ones only
 * when opened, closed, reopened or merged) in the hundred most recently
 * updated repositories f->who owns or collaborates on (any role; private
 * ones left out for a token without repo:read), newest first, with one
 * bounded query. ERR_AUTH when anonymous. */
int activity_list(struct activity_list *out, struct forge *f, int limit);

/* The newest limit events of the kinds above that user user_id did,
 * in repositories f->who may read (public ones; private ones f->who
 * owns, collaborates on or administers the site of, unless a token lacks
 * repo:read), newest first: what a profile page shows. One bounded
 * query: it looks at the user's ACTIVITY_SCAN newest events only, so a
 * run of events f->who may not see can leave the list short. Anyone,
 * signed in or not. */
int activity_of_user(struct activity_list *out, struct forge *f, int64_t user_id, int limit);

/* An issue or pull request in a list across repositories. */
struct activity_issue {
	const char *owner, *repo;
	int64_t number;
	const char *title;
	bool is_pull;
	const char *updated_at;
};
struct activity_issues {
	struct activity_issue *items;
	size_t n;
};

/* The open issues and pull requests f->who opened, in repositories they
 * may still read (public ones; private ones they own, collaborate on or
 * administer the site of, unless a token lacks repo:read), most recently
 * updated first, at most limit. ERR_AUTH when anonymous. */
int activity_issues_authored(struct activity_issues *out, struct forge *f, int limit);

#endif
