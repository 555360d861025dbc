/* browse.c — placeholder until the browsing API lands. */
#include "api/api.h"

#define TODO(fn)                                                                             \
	int fn(struct req *r, struct resp *w)                                                \
	{                                                                                    \
		(void)w;                                                                     \
		return err_set(&r->err, ERR_UNAVAILABLE, "not_implemented", "not implemented"); \
	}
TODO(h_ref_get)
TODO(h_tree_get)
TODO(h_blob_get)
TODO(h_commits_list)
TODO(h_commit_get)
TODO(h_branches_list)
