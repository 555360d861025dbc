/* browse.c — the browsing API: refs and branches (answers that change on
 * push, cached for seconds) and the SHA-addressed trees, blobs, history and
 * commits (immutable: ETag plus a year of caching, kept in the object cache
 * by the dispatcher). Everything read from git is hostile: names, messages
 * and patches reach JSON as valid UTF-8 (invalid bytes become U+FFFD), and
 * raw blobs are never served with a type a browser would render as active
 * content. libgit2 objects are freed before a handler returns, on the
 * worker thread that owns the repository handle. */
#include "api/api.h"
#include "base/util.h"
#include "git/objects.h"

#include <stdlib.h>
#include <string.h>

#define REF_TTL_S 5                       /* refs and branches move on push */
#define LIMIT_DEFAULT 30                  /* commits per page */
#define LIMIT_MAX 100
#define PATCH_TOTAL_MAX (2 * 1024 * 1024) /* patch text per commit (per file: objects.h) */
#define SUBJECT_MAX 100                   /* bytes of user input quoted in a message */

/* ---- strings from git and from the URL ---- */

/* A JSON string of bytes read from git; NULL becomes null. */
static json_t *jstr(const char *s)
{
	return objects_json_str(s, s ? strlen(s) : 0);
}

/* Appends s[0..len) to b as a JSON string literal, invalid UTF-8 as
 * U+FFFD: the tree listing writes its JSON directly, which costs a
 * fraction of building it with jansson. */
static void json_str_add(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	buf_addch(b, '"');
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			size_t j = i + 1;
			while (j < len && (unsigned char)s[j] >= 0x20 &&
			       (unsigned char)s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
				j++;
			buf_add(b, s + i, j - i);
			i = j;
		} else if (c < 0x80) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			if (c == '"' || c == '\\') {
				buf_addch(b, '\\');
				buf_addch(b, (char)c);
			} else if (c == '\n') {
				buf_add(b, "\\n", 2);
			} else if (c == '\t') {
				buf_add(b, "\\t", 2);
			} else {
				buf_add(b, esc, 6);
			}
			i++;
		} else {
			size_t k = objects_utf8_seq(s + i, len - i);
			if (k)
				buf_add(b, s + i, k);
			else
				buf_add(b, "\xef\xbf\xbd", 3);
			i += k ? k : 1;
		}
	}
	buf_addch(b, '"');
}

/* User input fit to quote in an error message (objects_subject). */
static const char *subject(struct arena *a, const char *s)
{
	struct buf b = BUF_INIT;
	objects_subject(&b, s, SUBJECT_MAX);
	const char *out = arena_strndup(a, b.ptr, b.len);
	buf_release(&b);
	return out;
}

static const char *oid_hex(struct arena *a, const git_oid *id)
{
	char *hex = arena_alloc(a, GIT_OID_HEXSZ + 1);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, id);
	return hex;
}

/* ---- request pieces ---- */

/* The caller's thread handle on r->repo; a vanished directory is the
 * repository not being there. */
static int repo_open(struct req *r, git_repository **out)
{
	struct err e = { 0 };
	int rc = objects_repo_open(out, r->repo->disk_path, &e);
	if (rc == ERR_NOTFOUND)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "repository '%s/%s' not found",
			       r->repo->owner, r->repo->name);
	if (rc)
		r->err = e;
	return rc;
}

/* :sha must be a full object id: a name that moves cannot be cached forever. */
static int sha_param(struct req *r, const char **out)
{
	const char *sha = req_param(r, "sha");
	if (!sha || !is_sha1_hex(sha)) {
		const char *s = subject(r->arena, sha ? sha : "");
		return err_set(&r->err, ERR_INVALID, "sha_required",
			       "'%s' is not a commit sha; resolve it with /api/%s/%s/refs/%s first",
			       s, r->repo->owner, r->repo->name, s);
	}
	char *lower = arena_strdup(r->arena, sha);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	*out = lower;
	return 0;
}

/* *path, normalised ("" is the root tree). */
static int path_param(struct req *r, const char **out)
{
	const char *raw = req_param(r, "path");
	const char *p = path_normalise(r->arena, raw ? raw : "");
	if (!p)
		return err_set(&r->err, ERR_INVALID, "invalid_path", "invalid path '%s'",
			       subject(r->arena, raw));
	*out = p;
	return 0;
}

/* ---- refs ---- */

int h_ref_get(struct req *r, struct resp *w)
{
	const char *name = req_param(r, "ref");
	git_repository *repo;
	git_oid oid;
	struct buf full = BUF_INIT;
	int rc;
	if (!name)
		name = "";
	bool valid = !strcmp(name, "HEAD") ? true
		     : !strncmp(name, "refs/", 5)
			     ? refname_valid(name)
			     : refname_valid(arena_printf(r->arena, "refs/heads/%s", name));
	if (!valid)
		return err_set(&r->err, ERR_INVALID, "invalid_ref", "'%s' is not a valid ref name",
			       subject(r->arena, name));
	if ((rc = repo_open(r, &repo)) ||
	    (rc = objects_ref_resolve(&oid, &full, repo, name, &r->err)))
		goto done;
	resp_json(w, 200,
		  json_pack("{s:o,s:s}", "ref", jstr(full.ptr), "commit", oid_hex(r->arena, &oid)));
	resp_short_cache(r, w, REF_TTL_S);
done:
	buf_release(&full);
	return rc;
}

int h_branches_list(struct req *r, struct resp *w)
{
	git_repository *repo;
	struct objects_ref *v = NULL;
	size_t n = 0;
	int rc;
	if ((rc = repo_open(r, &repo)) ||
	    (rc = objects_refs_list(&v, &n, repo, "refs/heads/", &r->err)))
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr,
				      json_pack("{s:o,s:s,s:b}", "name", jstr(v[i].name), "commit",
						oid_hex(r->arena, &v[i].commit), "default",
						!strcmp(v[i].name, r->repo->default_branch)));
	objects_refs_free(v, n);
	resp_json(w, 200, arr);
	resp_short_cache(r, w, REF_TTL_S);
	return 0;
}

/* ---- trees and blobs ---- */

static bool entry_is_tree(const git_tree_entry *e)
{
	return git_tree_entry_filemode_raw(e) == GIT_FILEMODE_TREE;
}

static int entry_cmp(const void *a, const void *b)
{
	const git_tree_entry *x = *(const git_tree_entry *const *)a;
	const git_tree_entry *y = *(const git_tree_entry *const *)b;
	const char *xn = git_tree_entry_name(x), *yn = git_tree_entry_name(y);
	return objects_tree_cmp(xn, strlen(xn), entry_is_tree(x), yn, strlen(yn), entry_is_tree(y));
}

static const char *type_name(git_object_t t)
{
	return t == GIT_OBJECT_TREE ? "tree" : t == GIT_OBJECT_COMMIT ? "commit" : "blob";
}

int h_tree_get(struct req *r, struct resp *w)
{
	const char *sha, *path;
	git_repository *repo;
	git_commit *commit = NULL;
	git_tree_entry *entry = NULL;
	git_tree *tree = NULL;
	git_odb *odb = NULL;
	int rc, grc;
	if ((rc = sha_param(r, &sha)) || (rc = path_param(r, &path)) || (rc = repo_open(r, &repo)))
		return rc;
	if ((rc = objects_commit_lookup(&commit, repo, sha, &r->err)))
		goto done;
	if (!*path) {
		grc = git_commit_tree(&tree, commit);
	} else {
		if ((rc = objects_entry_bypath(&entry, commit, path, &r->err)))
			goto done;
		git_object_t t = git_tree_entry_type(entry);
		if (t != GIT_OBJECT_TREE) {
			rc = err_set(&r->err, ERR_INVALID, "not_a_tree", "path '%s' is a %s",
				     subject(r->arena, path),
				     t == GIT_OBJECT_COMMIT ? "submodule" : "file, use /blob");
			goto done;
		}
		grc = git_tree_lookup(&tree, repo, git_tree_entry_id(entry));
	}
	if (grc < 0 || (grc = git_repository_odb(&odb, repo)) < 0) {
		rc = objects_error(&r->err, grc, "tree '%s' not found in commit '%s'",
				   subject(r->arena, path), sha);
		goto done;
	}

	size_t n = git_tree_entrycount(tree);
	const git_tree_entry **v = arena_alloc(r->arena, (n ? n : 1) * sizeof(*v));
	bool sorted = true;
	for (size_t i = 0; i < n; i++) {
		v[i] = git_tree_entry_byindex(tree, i);
		if (i && sorted && entry_cmp(&v[i - 1], &v[i]) > 0)
			sorted = false;
	}
	if (!sorted) /* trees git wrote are already in order */
		qsort(v, n, sizeof(*v), entry_cmp);

	struct buf *b = &w->body;
	buf_reset(b);
	buf_grow(b, n * 120 + 4);
	buf_addch(b, '[');
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = v[i];
		const char *name = git_tree_entry_name(e);
		git_object_t t = git_tree_entry_type(e);
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
		buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		json_str_add(b, name, strlen(name));
		/* by hand: printf was a tenth of an uncached listing */
		char mode[6];
		unsigned m = (unsigned)git_tree_entry_filemode_raw(e);
		for (int k = 5; k >= 0; k--, m >>= 3)
			mode[k] = (char)('0' + (m & 7));
		buf_adds(b, ",\"type\":\"");
		buf_adds(b, type_name(t));
		buf_adds(b, "\",\"mode\":\"");
		buf_add(b, mode, 6);
		buf_adds(b, "\",\"sha\":\"");
		buf_add(b, hex, GIT_OID_HEXSZ);
		buf_adds(b, "\",\"size\":");
		size_t len;
		git_object_t ot;
		/* the header alone: no blob is inflated to learn its size */
		if (t == GIT_OBJECT_BLOB &&
		    git_odb_read_header(&len, &ot, odb, git_tree_entry_id(e)) == 0) {
			char num[24], *p = num + sizeof(num);
			do
				*--p = (char)('0' + len % 10);
			while (len /= 10);
			buf_add(b, p, (size_t)(num + sizeof(num) - p));
			buf_addch(b, '}');
		} else {
			buf_adds(b, "null}");
		}
	}
	buf_adds(b, "]\n");
	w->status = 200;
	w->content_type = "application/json";
	/* the listing depends on the tree alone */
	resp_immutable(r, w, oid_hex(r->arena, git_tree_id(tree)));
done:
	git_odb_free(odb);
	git_tree_free(tree);
	git_tree_entry_free(entry);
	git_commit_free(commit);
	return rc;
}

int h_blob_get(struct req *r, struct resp *w)
{
	const char *sha, *path;
	git_repository *repo;
	git_commit *commit = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	int rc, grc;
	if ((rc = sha_param(r, &sha)) || (rc = path_param(r, &path)))
		return rc;
	if (!*path)
		return err_set(&r->err, ERR_INVALID, "invalid_path",
			       "a file path is required after the commit sha");
	if ((rc = repo_open(r, &repo)))
		return rc;
	if ((rc = objects_commit_lookup(&commit, repo, sha, &r->err)) ||
	    (rc = objects_entry_bypath(&entry, commit, path, &r->err)))
		goto done;
	git_object_t t = git_tree_entry_type(entry);
	if (t != GIT_OBJECT_BLOB) {
		rc = err_set(&r->err, ERR_INVALID, "not_a_blob", "path '%s' is a %s",
			     subject(r->arena, path),
			     t == GIT_OBJECT_TREE ? "directory, use /tree" : "submodule");
		goto done;
	}
	if ((grc = git_blob_lookup(&blob, repo, git_tree_entry_id(entry))) < 0) {
		rc = objects_error(&r->err, grc, "blob '%s' not found in commit '%s'",
				   subject(r->arena, path), sha);
		goto done;
	}
	const char *data = git_blob_rawcontent(blob);
	size_t len = (size_t)git_blob_rawsize(blob);
	/* the type comes from the bytes, never the name: the same blob gets the
	 * same answer under every path, and foo.html is text */
	resp_text(w, 200, objects_content_type(data, len), data, len);
	api_content_headers(w);
	resp_immutable(r, w, oid_hex(r->arena, git_blob_id(blob)));
done:
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_commit_free(commit);
	return rc;
}

/* ---- history ---- */

int h_commits_list(struct req *r, struct resp *w)
{
	const char *sha, *cursor = req_query(r, "cursor");
	int64_t limit = LIMIT_DEFAULT;
	git_repository *repo;
	git_commit *start = NULL;
	struct objects_log log = { 0 };
	json_t *arr = NULL;
	int rc, grc;
	if ((rc = sha_param(r, &sha)))
		return rc;
	if (req_query_int(&limit, r, "limit", 1, LIMIT_MAX) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_limit",
			       "limit '%s' must be a number from 1 to %d",
			       subject(r->arena, req_query(r, "limit")), LIMIT_MAX);
	if (cursor && !is_sha1_hex(cursor))
		return err_set(&r->err, ERR_INVALID, "invalid_cursor",
			       "cursor '%s' is not a commit sha", subject(r->arena, cursor));
	const char *qpath = req_query(r, "path"), *path = NULL;
	if (qpath && *qpath && !(path = path_normalise(r->arena, qpath)))
		return err_set(&r->err, ERR_INVALID, "invalid_path", "invalid path '%s'",
			       subject(r->arena, qpath));
	if ((rc = repo_open(r, &repo)))
		return rc;
	if ((rc = objects_commit_lookup(&start, repo, sha, &r->err)) ||
	    (rc = objects_log(&log, repo, git_commit_id(start), cursor, path, (size_t)limit, &r->err)))
		goto done;
	arr = json_array();
	for (size_t i = 0; i < log.n; i++) {
		git_commit *c = NULL;
		if ((grc = git_commit_lookup(&c, repo, &log.ids[i])) < 0) {
			rc = objects_error(&r->err, grc, "commit '%s' not found",
					   oid_hex(r->arena, &log.ids[i]));
			goto done;
		}
		json_array_append_new(arr, objects_commit_json(c));
		git_commit_free(c);
	}
	json_t *next = log.more ? json_string(oid_hex(r->arena, &log.next)) : json_null();
	resp_json(w, 200, json_pack("{s:o,s:o}", "commits", arr, "next_cursor", next));
	arr = NULL;
	/* a path may hold any byte: the tag names it by a digest */
	char digest[65] = "";
	if (path)
		sha256_hex(digest, path, strlen(path));
	resp_immutable(r, w,
		       arena_printf(r->arena, "%s-%lld-%s%s%.16s", sha, (long long)limit,
				    cursor ? cursor : "start", path ? "-" : "", digest));
done:
	json_decref(arr);
	objects_log_release(&log);
	git_commit_free(start);
	return rc;
}

/* ---- one commit and its diff ---- */

int h_commit_get(struct req *r, struct resp *w)
{
	const char *sha;
	git_repository *repo;
	git_commit *commit = NULL;
	git_diff *diff = NULL;
	json_t *files = NULL;
	int rc;
	if ((rc = sha_param(r, &sha)) || (rc = repo_open(r, &repo)))
		return rc;
	if ((rc = objects_commit_lookup(&commit, repo, sha, &r->err)) ||
	    (rc = objects_commit_diff(&diff, commit, &r->err)))
		goto done;
	size_t n = git_diff_num_deltas(diff), budget = PATCH_TOTAL_MAX, adds = 0, dels = 0;
	files = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *f = NULL;
		if ((rc = objects_diff_file_json(diff, i, &budget, &f, &adds, &dels, &r->err)))
			goto done;
		json_array_append_new(files, f);
	}
	json_t *o = objects_commit_json(commit);
	json_object_set_new(o, "stats",
			    json_pack("{s:I,s:I,s:I}", "files", (json_int_t)n, "additions",
				      (json_int_t)adds, "deletions", (json_int_t)dels));
	json_object_set_new(o, "files", files);
	files = NULL;
	resp_json(w, 200, o);
	resp_immutable(r, w, sha);
done:
	json_decref(files);
	git_diff_free(diff);
	git_commit_free(commit);
	return rc;
}
