/* identity.h — who is calling: the credential kinds, token scopes, the
 * areas a write touches, and struct auth, resolved once per request (or
 * built by a git hook, an SSH session or a background job) and passed to
 * the one authorization function (auth/auth.h) and to the domain. */
#ifndef PLUE_AUTH_IDENTITY_H
#define PLUE_AUTH_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

/* Token scopes (write implies read; admin implies all). */
enum {
	SCOPE_REPO_READ = 1 << 0,
	SCOPE_REPO_WRITE = 1 << 1,
	SCOPE_USER = 1 << 2,
	SCOPE_ADMIN = 1 << 3,
	SCOPE_ALL = 0xf,
};

enum auth_via { AUTH_NONE, AUTH_TOKEN, AUTH_SESSION, AUTH_TASK };

/* What a repository write changes. Users and their tokens write every area
 * their role allows; a workflow's task token only the areas its job's
 * `permissions:` grant (auth.h: authz_repo_area). A write that names no
 * area (settings, collaborators, secrets, manual dispatch...) is never a
 * task token's. */
enum {
	AREA_CONTENTS = 1 << 0, /* git data: pushes, merges (contents: write) */
	AREA_ISSUES = 1 << 1,   /* issues, labels, milestones (issues: write) */
	AREA_PULLS = 1 << 2,    /* pull requests and reviews (pull_requests: write) */
	AREA_STATUSES = 1 << 3, /* commit statuses (statuses: write) */
};

/* Who is calling, resolved once by the dispatcher. */
struct auth {
	enum auth_via via;
	int64_t user_id;      /* 0 when anonymous */
	const char *username; /* arena-owned, NULL when anonymous */
	bool is_admin;
	unsigned scopes;      /* SCOPE_* granted to this request */
	int64_t token_id;     /* access token or auth session row, 0 otherwise */
	int64_t task_repo_id; /* AUTH_TASK: the one repository the task may touch */
	unsigned task_areas;  /* AUTH_TASK: the AREA_* it may write */
	/* acts for an agent's forge tool (api/agent_tools.c): what it makes is
	 * marked (events: "via_agent") so that no agent answers it */
	bool via_agent;
	/* AUTH_TASK of an agent workload: it also does only what its actor
	 * (workloads.actor_id; 0 when the account is gone) may, and pushes only
	 * to branches under refs/heads/plue/ (cmd/hook.c) */
	bool task_agent;
	int64_t task_actor_id;
	bool task_actor_admin;
	const char *task_actor_role; /* the actor's collaborator role on the task's
	                                repository, as stored ("" for none) */
};

#endif
