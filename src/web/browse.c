/* browse.c — the repository browsing pages (web/browse.h): overview, trees,
 * blobs, raw files, history, commits, branches and tags, read through the
 * object layer (git/objects.h) as the browsing API does. Everything read
 * from git is hostile — names, paths, messages, contents — and reaches the
 * page through web/html.h only. libgit2 objects are freed before a handler
 * returns, on the worker thread that owns the repository handle. */
#include "web/browse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "base/config.h"
#include "base/util.h"
#include "forge/names.h"
#include "git/objects.h"
#include "web/web.h"

#define REF_TTL_S 5                   /* pages that name a branch */
#define LOG_PAGE 30                   /* commits per history page */
#define REFS_PAGE 100                 /* branches or tags per page */
#define SWITCHER_MAX 30               /* refs of each kind in the switcher */
#define BLOB_INLINE_MAX (1024 * 1024) /* larger files are linked raw */
#define README_MAX (512 * 1024)       /* larger READMEs are not shown */
#define DIFF_LINES_MAX 20000          /* diff lines on one commit page */
#define DIFF_FILE_LINES_MAX 3000      /* diff lines of one file */
#define DIFF_PAGE_BYTES_MAX (4 << 20) /* a commit page stops growing here */
#define REF_SEGMENTS_MAX 32           /* ref/path splits tried */
#define SUBJECT_MAX 100               /* bytes of user input in a message */

/* ---- small pieces ---- */

static const char *subject(struct arena *a, const char *s)
{
	struct buf b = BUF_INIT;
	objects_subject(&b, s ? s : "", SUBJECT_MAX);
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

/* The caller's thread handle on r->repo (as the API's browse.c). */
static int repo_git(struct req *r, git_repository **out)
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

/* "/owner/repo", escaped for a URL path. */
static void repo_url(struct buf *b, const struct repo *rp)
{
	html_lit(b, "/");
	html_path(b, rp->owner, 0);
	html_lit(b, "/");
	html_path(b, rp->name, 0);
}

/* "/owner/repo/KIND/SHA[/PATH]", escaped. */
static void obj_url(struct buf *b, const struct repo *rp, const char *kind, const char *sha,
		    const char *path)
{
	repo_url(b, rp);
	html_lit(b, "/");
	html_lit(b, kind);
	html_lit(b, "/");
	html_path(b, sha, 0);
	if (path && *path) {
		html_lit(b, "/");
		html_path(b, path, 1);
	}
}

/* A commit's first line, never NULL. */
static const char *summary_of(git_commit *c)
{
	const char *s = git_commit_summary(c);
	return s ? s : "";
}

static void sig_time(struct view *p, const git_signature *s)
{
	char iso[32];
	objects_time_rfc3339(iso, &s->when);
	page_time(p, arena_strdup(p->r->arena, iso));
}

static void human_size(struct buf *b, size_t n)
{
	if (n < 1024)
		html_txtf(b, "%zu B", n);
	else if (n < 1024 * 1024)
		html_txtf(b, "%.1f KiB", (double)n / 1024);
	else
		html_txtf(b, "%.1f MiB", (double)n / (1024 * 1024));
}

/* The ETag of an immutable page: what it shows, and who it is rendered
 * for (the navigation names a signed-in reader). */
static void page_immutable(struct req *r, struct resp *w, const char *what)
{
	const char *tag = r->auth.user_id ? arena_printf(r->arena, "%s-u%lld", what,
							 (long long)r->auth.user_id)
					  : what;
	resp_immutable(r, w, tag);
}

/* A short, header-safe digest of a query value for an ETag. */
static const char *digest(struct arena *a, const char *s)
{
	char hex[65];
	sha256_hex(hex, s, strlen(s));
	return arena_strndup(a, hex, 16);
}

/* ---- refs in URLs ---- */

/* Writes the URL of the page being asked for with the commit hex in place
 * of the ref, the rest as path, and the query kept; answers 302. */
static int redirect_sha(struct req *r, struct resp *w, const char *kind, const char *hex,
			const char *rest)
{
	struct buf b = BUF_INIT;
	obj_url(&b, r->repo, kind, hex, rest);
	for (size_t i = 0; i < r->nquery; i++) {
		html_lit(&b, i ? "&" : "?");
		html_query(&b, r->query[i].name);
		html_lit(&b, "=");
		html_query(&b, r->query[i].value);
	}
	w->status = 302;
	resp_header(w, "Location", arena_strndup(r->arena, b.ptr, b.len));
	resp_short_cache(r, w, REF_TTL_S);
	buf_release(&b);
	return 0;
}

/* The commit named by :sha and the path of *path. A full object id is
 * taken as it is (*hex set, lowercase). Anything else is a ref, possibly
 * with slashes: the longest prefix of ":sha/ *path" that names a branch or
 * tag wins, and *redirected says the response is the 302 to the SHA URL. */
static int target(struct req *r, struct resp *w, git_repository *repo, const char *kind,
		  const char **hex, const char **path, bool *redirected)
{
	const char *sha = req_param(r, "sha"), *raw = req_param(r, "path");
	*redirected = false;
	if (!raw)
		raw = "";
	if (sha && is_sha1_hex(sha)) {
		char *lower = arena_strdup(r->arena, sha);
		for (char *c = lower; *c; c++)
			if (*c >= 'A' && *c <= 'F')
				*c = (char)(*c - 'A' + 'a');
		*hex = lower;
		const char *p = path_normalise(r->arena, raw);
		if (!p)
			return err_set(&r->err, ERR_INVALID, "invalid_path", "invalid path '%s'",
				       subject(r->arena, raw));
		*path = p;
		return 0;
	}
	/* "a/b/c" of "/tree/a/b/c": try "a/b/c", "a/b", "a" */
	const char *whole = *raw ? arena_printf(r->arena, "%s/%s", sha, raw) : sha;
	size_t len = strlen(whole);
	char *cand = arena_strdup(r->arena, whole);
	for (int tries = 0; len && tries < REF_SEGMENTS_MAX; tries++) {
		cand[len] = '\0';
		bool valid = !strcmp(cand, "HEAD") ||
			     refname_valid(arena_printf(r->arena, "refs/heads/%s", cand));
		if (valid) {
			git_oid oid;
			struct err e = { 0 };
			int rc = objects_ref_resolve(&oid, NULL, repo, cand, &e);
			if (!rc) {
				const char *rest = whole[len] ? whole + len + 1 : "";
				if (!path_normalise(r->arena, rest))
					return err_set(&r->err, ERR_INVALID, "invalid_path",
						       "invalid path '%s'", subject(r->arena, rest));
				*redirected = true;
				return redirect_sha(r, w, kind, oid_hex(r->arena, &oid), rest);
			}
			if (rc != ERR_NOTFOUND) {
				r->err = e;
				return rc;
			}
		}
		char *slash = memrchr(cand, '/', len);
		len = slash ? (size_t)(slash - cand) : 0;
	}
	return err_set(&r->err, ERR_NOTFOUND, NULL, "no branch or tag named '%s' in '%s/%s'",
		       subject(r->arena, sha), r->repo->owner, r->repo->name);
}

/* ---- the parts of pages ---- */

/* Breadcrumbs: repo / a / b / c, each a tree link but the last. */
static void breadcrumbs(struct view *p, const char *hex, const char *path)
{
	struct buf *b = p->b;
	html_lit(b, "<nav class=\"crumbs\" aria-label=\"path\"><a href=\"");
	obj_url(b, p->repo, "tree", hex, "");
	html_lit(b, "\">");
	html_txt(b, p->repo->name);
	html_lit(b, "</a>");
	size_t n = strlen(path);
	for (size_t i = 0; i < n;) {
		const char *slash = memchr(path + i, '/', n - i);
		size_t end = slash ? (size_t)(slash - path) : n;
		html_lit(b, " / ");
		if (end == n) {
			html_lit(b, "<strong aria-current=\"page\">");
			html_txtn(b, path + i, end - i);
			html_lit(b, "</strong>");
		} else {
			html_lit(b, "<a href=\"");
			obj_url(b, p->repo, "tree", hex, arena_strndup(p->r->arena, path, end));
			html_lit(b, "\">");
			html_txtn(b, path + i, end - i);
			html_lit(b, "</a>");
		}
		i = end + 1;
	}
	html_lit(b, "</nav>");
}

/* A one-line summary of commit c: subject linked, author, time, short id. */
static void commit_line(struct view *p, git_commit *c)
{
	struct buf *b = p->b;
	const char *hex = oid_hex(p->r->arena, git_commit_id(c));
	const git_signature *a = git_commit_author(c);
	html_lit(b, "<div class=\"lastcommit row\"><span>");
	html_txt(b, a->name ? a->name : "");
	html_lit(b, "</span><a href=\"");
	obj_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txt(b, summary_of(c));
	html_lit(b, "</a><span class=\"mute\">");
	sig_time(p, a);
	html_lit(b, "</span><a class=\"mono\" href=\"");
	obj_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txtn(b, hex, 7);
	html_lit(b, "</a><a href=\"");
	obj_url(b, p->repo, "commits", hex, NULL);
	html_lit(b, "\">History</a></div>");
}

static bool is_markdown(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcasecmp(dot, ".md") || !strcasecmp(dot, ".markdown") ||
		       !strcasecmp(dot, ".mdown"));
}

/* The README of tree: README.md, then README, then any readme.* (case
 * ignored), or NULL. Borrowed from tree. */
static const git_tree_entry *readme_of(git_tree *tree)
{
	const git_tree_entry *best = NULL;
	int rank = 9;
	for (size_t i = 0, n = git_tree_entrycount(tree); i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		int k = !strcasecmp(name, "README.md")     ? 0
			: !strcasecmp(name, "README")      ? 1
			: !strncasecmp(name, "readme.", 7) ? 2
							   : 9;
		if (k < rank && git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
			best = e;
			rank = k;
		}
	}
	return best;
}

/* Markdown through cmark-gfm (page_markdown); other text preformatted. */
static void render_text(struct view *p, const char *name, const char *data, size_t len)
{
	if (is_markdown(name)) {
		page_markdown(p, arena_strndup(p->r->arena, data, len));
	} else {
		html_lit(p->b, "<pre class=\"readme\">");
		html_txtn(p->b, data, len);
		html_lit(p->b, "</pre>");
	}
}

static void readme(struct view *p, git_repository *repo, git_tree *tree)
{
	const git_tree_entry *e = readme_of(tree);
	git_blob *blob = NULL;
	if (!e || git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0)
		return;
	size_t len = (size_t)git_blob_rawsize(blob);
	const char *data = git_blob_rawcontent(blob);
	if (len <= README_MAX && objects_utf8_valid(data, len) && !memchr(data, 0, len)) {
		html_lit(p->b, "<section class=\"box readme\" aria-labelledby=\"readme-h\"><h2 "
			       "class=\"head\" id=\"readme-h\">");
		html_txt(p->b, git_tree_entry_name(e));
		html_lit(p->b, "</h2><div class=\"body\">");
		render_text(p, git_tree_entry_name(e), data, len);
		html_lit(p->b, "</div></section>");
	}
	git_blob_free(blob);
}

static bool entry_is_tree(const git_tree_entry *e)
{
	return git_tree_entry_type(e) == GIT_OBJECT_TREE;
}

static void entry_row(struct view *p, git_odb *odb, const git_tree_entry *e, const char *hex,
		      const char *dir)
{
	struct buf *b = p->b;
	const char *name = git_tree_entry_name(e);
	const char *path = *dir ? arena_printf(p->r->arena, "%s/%s", dir, name) : name;
	git_object_t t = git_tree_entry_type(e);
	html_lit(b, "<tr><td>");
	if (t == GIT_OBJECT_COMMIT) {
		html_lit(b, "<span class=\"kind\">submodule</span> ");
		html_txt(b, name);
		html_lit(b, " <span class=\"mono mute\">@ ");
		html_txtn(b, oid_hex(p->r->arena, git_tree_entry_id(e)), 7);
		html_lit(b, "</span></td><td></td></tr>");
		return;
	}
	html_lit(b, t == GIT_OBJECT_TREE ? "<span class=\"kind\">dir</span> <a href=\""
		    : git_tree_entry_filemode_raw(e) == GIT_FILEMODE_LINK
			    ? "<span class=\"kind\">link</span> <a href=\""
			    : "<span class=\"kind\">file</span> <a href=\"");
	obj_url(b, p->repo, t == GIT_OBJECT_TREE ? "tree" : "blob", hex, path);
	html_lit(b, "\">");
	html_txt(b, name);
	html_lit(b, t == GIT_OBJECT_TREE ? "/</a></td><td></td></tr>" : "</a></td><td>");
	if (t == GIT_OBJECT_TREE)
		return;
	size_t len;
	git_object_t ot;
	/* the header alone: no blob is inflated to learn its size */
	if (git_odb_read_header(&len, &ot, odb, git_tree_entry_id(e)) == 0)
		human_size(b, len);
	html_lit(b, "</td></tr>");
}

/* The listing of tree (at dir in commit hex): directories first, each
 * group in git's order. */
static int tree_table(struct view *p, git_repository *repo, git_tree *tree, const char *hex,
		      const char *dir)
{
	struct buf *b = p->b;
	git_odb *odb = NULL;
	int grc = git_repository_odb(&odb, repo);
	if (grc < 0)
		return objects_error(&p->r->err, grc, "cannot read the repository");
	html_lit(b, "<table class=\"tree\"><thead><tr><th scope=\"col\">Name</th>"
		    "<th scope=\"col\">Size</th></tr></thead><tbody>");
	if (*dir) {
		const char *up = strrchr(dir, '/');
		html_lit(b, "<tr><td><a href=\"");
		obj_url(b, p->repo, "tree", hex,
			up ? arena_strndup(p->r->arena, dir, (size_t)(up - dir)) : "");
		html_lit(b, "\">.. (parent directory)</a></td><td></td></tr>");
	}
	size_t n = git_tree_entrycount(tree);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(tree, i);
			if (entry_is_tree(e) == (pass == 0))
				entry_row(p, odb, e, hex, dir);
		}
	if (!n)
		html_lit(b, "<tr><td class=\"mute\">empty directory</td><td></td></tr>");
	html_lit(b, "</tbody></table>");
	git_odb_free(odb);
	return 0;
}

/* ---- the overview ---- */

/* The host clients reach us by: PLUE_PUBLIC_URL's, else the request's. */
static const char *http_base(struct req *r)
{
	if (cfg.public_url && *cfg.public_url)
		return cfg.public_url;
	const char *host = req_header(r, "Host");
	return arena_printf(r->arena, "http://%s", host ? host : "localhost");
}

static const char *ssh_url(struct req *r)
{
	if (!cfg.ssh_listen || !*cfg.ssh_listen)
		return NULL;
	const char *base = http_base(r), *h = strstr(base, "://");
	h = h ? h + 3 : base;
	size_t n = strcspn(h, ":/");
	return arena_printf(r->arena, "ssh://git@%.*s:%d/%s/%s.git", (int)n, h, cfg.ssh_port,
			    r->repo->owner, r->repo->name);
}

static void clone_box(struct view *p)
{
	struct buf *b = p->b;
	struct req *r = p->r;
	const char *http = arena_printf(r->arena, "%s/%s/%s.git", http_base(r), r->repo->owner,
					r->repo->name);
	const char *ssh = ssh_url(r);
	html_lit(b, "<div class=\"clone row\"><label for=\"clone-http\">Clone over HTTP</label>"
		    "<input id=\"clone-http\" class=\"mono\" readonly size=\"48\" value=\"");
	html_attr(b, http);
	html_lit(b, "\">");
	if (ssh) {
		html_lit(b, "<label for=\"clone-ssh\">SSH</label><input id=\"clone-ssh\" "
			    "class=\"mono\" readonly size=\"48\" value=\"");
		html_attr(b, ssh);
		html_lit(b, "\">");
	}
	html_lit(b, "</div>");
}

static void switcher_group(struct view *p, const char *label, struct objects_ref *v, size_t n,
			   const char *all)
{
	struct buf *b = p->b;
	html_lit(b, "<li><strong>");
	html_lit(b, label);
	html_lit(b, "</strong><ul>");
	for (size_t i = 0; i < n && i < SWITCHER_MAX; i++) {
		html_lit(b, "<li><a href=\"");
		obj_url(b, p->repo, "tree", oid_hex(p->r->arena, &v[i].commit), "");
		html_lit(b, "\">");
		html_txt(b, v[i].name);
		html_lit(b, "</a></li>");
	}
	if (!n)
		html_lit(b, "<li class=\"mute\">none</li>");
	html_lit(b, "<li><a href=\"");
	repo_url(b, p->repo);
	html_lit(b, all);
	html_lit(b, "\">All ");
	html_lit(b, label);
	html_lit(b, "</a></li></ul></li>");
}

/* The branch and tag switcher: a <details> of links, no script needed. */
static int switcher(struct view *p, git_repository *repo, const char *current)
{
	struct objects_ref *heads = NULL, *tags = NULL;
	size_t nh = 0, nt = 0;
	int rc;
	if ((rc = objects_refs_list(&heads, &nh, repo, "refs/heads/", &p->r->err)) ||
	    (rc = objects_refs_list(&tags, &nt, repo, "refs/tags/", &p->r->err)))
		goto done;
	html_lit(p->b, "<details class=\"switcher\"><summary>Branch: <strong>");
	html_txt(p->b, current);
	html_lit(p->b, "</strong></summary><ul>");
	switcher_group(p, "branches", heads, nh, "/branches");
	switcher_group(p, "tags", tags, nt, "/tags");
	html_lit(p->b, "</ul></details>");
done:
	objects_refs_free(heads, nh);
	objects_refs_free(tags, nt);
	return rc;
}

static void empty_repo(struct view *p)
{
	struct buf *b = p->b;
	struct req *r = p->r;
	const char *http = arena_printf(r->arena, "%s/%s/%s.git", http_base(r), r->repo->owner,
					r->repo->name);
	html_lit(b, "<section class=\"box\" aria-labelledby=\"empty-h\"><h2 class=\"head\" "
		    "id=\"empty-h\">This repository is empty</h2><div class=\"body\"><p>Push an "
		    "existing repository to it:</p><pre>git remote add origin ");
	html_txt(b, http);
	html_lit(b, "\ngit push -u origin ");
	html_txt(b, r->repo->default_branch);
	html_lit(b, "</pre><p>Or start a new one:</p><pre>git init\ngit commit --allow-empty -m "
		    "\"first commit\"\ngit remote add origin ");
	html_txt(b, http);
	html_lit(b, "\ngit push -u origin HEAD:");
	html_txt(b, r->repo->default_branch);
	html_lit(b, "</pre></div></section>");
}

int web_repo_overview(struct req *r, struct resp *w)
{
	git_repository *repo;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	struct objects_ref *heads = NULL;
	size_t nh = 0;
	git_oid oid;
	struct err e = { 0 };
	struct view p;
	bool have = true;
	int rc;
	if ((rc = repo_git(r, &repo)))
		return rc;
	/* the default branch, else the first branch there is, else empty */
	const char *branch = r->repo->default_branch;
	rc = objects_ref_resolve(&oid, NULL, repo, arena_printf(r->arena, "refs/heads/%s", branch),
				 &e);
	if (rc == ERR_NOTFOUND) {
		if ((rc = objects_refs_list(&heads, &nh, repo, "refs/heads/", &r->err)))
			goto done;
		have = nh > 0;
		if (have) {
			branch = arena_strdup(r->arena, heads[0].name);
			git_oid_cpy(&oid, &heads[0].commit);
		}
	} else if (rc) {
		r->err = e;
		goto done;
	}
	const char *hex = have ? oid_hex(r->arena, &oid) : NULL;
	if (have && (rc = objects_commit_lookup(&commit, repo, hex, &r->err)))
		goto done;
	int grc = have ? git_commit_tree(&tree, commit) : 0;
	if (grc < 0) {
		rc = objects_error(&r->err, grc, "cannot read the tree of '%s'",
				   subject(r->arena, branch));
		goto done;
	}
	page_begin(&p, r, w, arena_printf(r->arena, "%s/%s", r->repo->owner, r->repo->name), "code");
	if (r->repo->description && *r->repo->description) {
		html_lit(p.b, "<p class=\"description\">");
		html_txt(p.b, r->repo->description);
		html_lit(p.b, "</p>");
	}
	clone_box(&p);
	if (!have) {
		empty_repo(&p);
		resp_no_cache(r, w);
		page_end(&p);
		goto done;
	}
	if ((rc = switcher(&p, repo, branch)))
		goto done;
	commit_line(&p, commit);
	if ((rc = tree_table(&p, repo, tree, hex, "")))
		goto done;
	readme(&p, repo, tree);
	/* it names a branch, which moves on push */
	resp_short_cache(r, w, REF_TTL_S);
	page_end(&p);
done:
	objects_refs_free(heads, nh);
	git_tree_free(tree);
	git_commit_free(commit);
	return rc;
}

/* ---- trees, blobs, raw files ---- */

/* The bar above a tree or blob: breadcrumbs, the commit, history. */
static void location_bar(struct view *p, const char *hex, const char *path)
{
	struct buf *b = p->b;
	html_lit(b, "<div class=\"row locbar\">");
	breadcrumbs(p, hex, path);
	html_lit(b, "<span class=\"grow\"></span><span>at <a class=\"mono\" href=\"");
	obj_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txtn(b, hex, 7);
	html_lit(b, "</a></span><a href=\"");
	obj_url(b, p->repo, "commits", hex, NULL);
	if (*path) {
		html_lit(b, "?path=");
		html_query(b, path);
	}
	html_lit(b, "\">History</a></div>");
}

static const char *title_of(struct req *r, const char *path, const char *hex)
{
	return arena_printf(r->arena, "%s at %.7s · %s/%s", *path ? path : r->repo->name, hex,
			    r->repo->owner, r->repo->name);
}

int web_tree(struct req *r, struct resp *w)
{
	const char *hex, *path;
	bool redirected;
	git_repository *repo;
	git_commit *commit = NULL;
	git_tree_entry *entry = NULL;
	git_tree *tree = NULL;
	struct view p;
	int rc, grc;
	if ((rc = repo_git(r, &repo)) ||
	    (rc = target(r, w, repo, "tree", &hex, &path, &redirected)) || redirected)
		return rc;
	if ((rc = objects_commit_lookup(&commit, repo, hex, &r->err)))
		goto done;
	if (!*path) {
		grc = git_commit_tree(&tree, commit);
	} else {
		if ((rc = objects_entry_bypath(&entry, commit, path, &r->err)))
			goto done;
		git_object_t t = git_tree_entry_type(entry);
		if (t == GIT_OBJECT_BLOB) {
			rc = redirect_sha(r, w, "blob", hex, path);
			goto done;
		}
		if (t != GIT_OBJECT_TREE) {
			rc = err_set(&r->err, ERR_INVALID, "not_a_tree", "path '%s' is a submodule",
				     subject(r->arena, path));
			goto done;
		}
		grc = git_tree_lookup(&tree, repo, git_tree_entry_id(entry));
	}
	if (grc < 0) {
		rc = objects_error(&r->err, grc, "tree '%s' not found in commit '%s'",
				   subject(r->arena, path), hex);
		goto done;
	}
	page_begin(&p, r, w, title_of(r, path, hex), "code");
	location_bar(&p, hex, path);
	if ((rc = tree_table(&p, repo, tree, hex, path)))
		goto done;
	readme(&p, repo, tree);
	page_immutable(r, w,
		       arena_printf(r->arena, "t-%s-%s", hex, oid_hex(r->arena, git_tree_id(tree))));
	page_end(&p);
done:
	git_tree_free(tree);
	git_tree_entry_free(entry);
	git_commit_free(commit);
	return rc;
}

/* Numbered lines, each row a target (#L12). The optional end tags are
 * left out: they were a sixth of a large file's page. */
static void lines_table(struct buf *b, const char *data, size_t len)
{
	/* focusable: a wide file scrolls, and keyboards must reach it */
	html_lit(b, "<div class=\"blob\" tabindex=\"0\" role=\"region\" aria-label=\"file "
		    "content\"><table class=\"code lines\"><tbody>");
	size_t n = 1;
	for (size_t i = 0; i < len; n++) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) : len;
		char num[24];
		int k = snprintf(num, sizeof(num), "%zu", n);
		html_lit(b, "<tr id=\"L");
		html_txtn(b, num, (size_t)k);
		html_lit(b, "\"><td><a href=\"#L");
		html_txtn(b, num, (size_t)k);
		html_lit(b, "\">");
		html_txtn(b, num, (size_t)k);
		html_lit(b, "</a><td>");
		html_txtn(b, data + i, end - i);
		i = end + 1;
	}
	html_lit(b, "</tbody></table></div>");
}

static void blob_body(struct view *p, const char *hex, const char *path, const char *data,
		      size_t len, bool plain)
{
	struct buf *b = p->b;
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	/* data NULL: larger than BLOB_INLINE_MAX, not read */
	const char *type = data ? objects_content_type(data, len) : "";
	html_lit(b, "<p class=\"mute\">");
	human_size(b, len);
	if (!strncmp(type, "image/", 6)) {
		html_lit(b, " · image</p><p class=\"image\"><img src=\"");
		obj_url(b, p->repo, "raw", hex, path);
		html_lit(b, "\" alt=\"");
		html_attr(b, name);
		html_lit(b, "\"></p>");
	} else if (!data || len > BLOB_INLINE_MAX) {
		html_lit(b, " · too large to show here: <a href=\"");
		obj_url(b, p->repo, "raw", hex, path);
		html_lit(b, "\">view the raw file</a></p>");
	} else if (strncmp(type, "text/", 5)) {
		html_lit(b, " · binary file: <a href=\"");
		obj_url(b, p->repo, "raw", hex, path);
		html_lit(b, "\">download it</a></p>");
	} else if (!len) {
		html_lit(b, " · empty file</p>");
	} else if (is_markdown(name) && !plain) {
		html_lit(b, " · <a href=\"");
		obj_url(b, p->repo, "blob", hex, path);
		html_lit(b, "?plain=1\">Source</a></p><div class=\"box\"><div class=\"body\">");
		render_text(p, name, data, len);
		html_lit(b, "</div></div>");
	} else {
		if (is_markdown(name)) {
			html_lit(b, " · <a href=\"");
			obj_url(b, p->repo, "blob", hex, path);
			html_lit(b, "\">Rendered</a>");
		}
		html_lit(b, "</p>");
		lines_table(b, data, len);
	}
}

int web_blob(struct req *r, struct resp *w)
{
	const char *hex, *path, *plain_q = req_query(r, "plain");
	bool redirected, plain = plain_q && strcmp(plain_q, "0");
	git_repository *repo;
	git_commit *commit = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	struct view p;
	int rc, grc;
	if ((rc = repo_git(r, &repo)) ||
	    (rc = target(r, w, repo, "blob", &hex, &path, &redirected)) || redirected)
		return rc;
	if (!*path)
		return redirect_sha(r, w, "tree", hex, "");
	if ((rc = objects_commit_lookup(&commit, repo, hex, &r->err)) ||
	    (rc = objects_entry_bypath(&entry, commit, path, &r->err)))
		goto done;
	git_object_t t = git_tree_entry_type(entry);
	if (t == GIT_OBJECT_TREE) {
		rc = redirect_sha(r, w, "tree", hex, path);
		goto done;
	}
	if (t != GIT_OBJECT_BLOB) {
		rc = err_set(&r->err, ERR_INVALID, "not_a_blob", "path '%s' is a submodule",
			     subject(r->arena, path));
		goto done;
	}
	/* a file too large to show is not read: its header says its size */
	git_odb *odb = NULL;
	size_t size = 0;
	git_object_t ot;
	bool large = git_repository_odb(&odb, repo) == 0 &&
		     git_odb_read_header(&size, &ot, odb, git_tree_entry_id(entry)) == 0 &&
		     size > BLOB_INLINE_MAX;
	git_odb_free(odb);
	if (!large && (grc = git_blob_lookup(&blob, repo, git_tree_entry_id(entry))) < 0) {
		rc = objects_error(&r->err, grc, "blob '%s' not found in commit '%s'",
				   subject(r->arena, path), hex);
		goto done;
	}
	page_begin(&p, r, w, title_of(r, path, hex), "code");
	location_bar(&p, hex, path);
	html_lit(p.b, "<p class=\"row\"><a href=\"");
	obj_url(p.b, r->repo, "raw", hex, path);
	html_lit(p.b, "\">Raw</a>");
	if (git_tree_entry_filemode_raw(entry) == GIT_FILEMODE_LINK)
		html_lit(p.b, "<span class=\"mute\">symbolic link</span>");
	html_lit(p.b, "</p>");
	if (large)
		blob_body(&p, hex, path, NULL, size, plain);
	else
		blob_body(&p, hex, path, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			  plain);
	page_immutable(r, w,
		       arena_printf(r->arena, "b-%s-%s%s", hex,
				    oid_hex(r->arena, git_tree_entry_id(entry)), plain ? "-p" : ""));
	page_end(&p);
done:
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_commit_free(commit);
	return rc;
}

int web_raw(struct req *r, struct resp *w)
{
	const char *hex, *path;
	bool redirected;
	git_repository *repo;
	int rc;
	if ((rc = repo_git(r, &repo)) ||
	    (rc = target(r, w, repo, "raw", &hex, &path, &redirected)) || redirected)
		return rc;
	/* the bytes exactly as the API serves a blob: the same handler */
	return h_blob_get(r, w);
}

/* ---- history ---- */

static void commit_row(struct view *p, git_commit *c)
{
	struct buf *b = p->b;
	const char *hex = oid_hex(p->r->arena, git_commit_id(c));
	const git_signature *a = git_commit_author(c);
	html_lit(b, "<li class=\"commit\"><a class=\"subject\" href=\"");
	obj_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txt(b, summary_of(c));
	html_lit(b, "</a><div class=\"row mute\"><span>");
	html_txt(b, a->name ? a->name : "");
	html_lit(b, "</span>");
	sig_time(p, a);
	html_lit(b, "<a class=\"mono\" href=\"");
	obj_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txtn(b, hex, 7);
	html_lit(b, "</a><a href=\"");
	obj_url(b, p->repo, "tree", hex, NULL);
	html_lit(b, "\">Browse files</a></div></li>");
}

int web_commits(struct req *r, struct resp *w)
{
	const char *hex, *path, *cursor = req_query(r, "cursor"), *qpath = req_query(r, "path");
	bool redirected;
	git_repository *repo;
	git_commit *start = NULL;
	struct objects_log log = { 0 };
	struct view p;
	int rc, grc;
	if ((rc = repo_git(r, &repo)) ||
	    (rc = target(r, w, repo, "commits", &hex, &path, &redirected)) || redirected)
		return rc;
	if (cursor && *cursor && !is_sha1_hex(cursor))
		return err_set(&r->err, ERR_INVALID, "invalid_cursor",
			       "cursor '%s' is not a commit sha", subject(r->arena, cursor));
	if (cursor && !*cursor)
		cursor = NULL;
	/* the path filter is ?path= (a path after the sha is taken too) */
	if (qpath && *qpath && !(path = path_normalise(r->arena, qpath)))
		return err_set(&r->err, ERR_INVALID, "invalid_path", "invalid path '%s'",
			       subject(r->arena, qpath));
	if ((rc = objects_commit_lookup(&start, repo, hex, &r->err)) ||
	    (rc = objects_log(&log, repo, git_commit_id(start), cursor, path, LOG_PAGE, &r->err)))
		goto done;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "History%s%s · %s/%s", *path ? " of " : "", path,
				r->repo->owner, r->repo->name),
		   "code");
	struct buf *b = p.b;
	html_lit(b, "<h2>History");
	if (*path) {
		html_lit(b, " of <span class=\"mono\">");
		html_txt(b, path);
		html_lit(b, "</span>");
	}
	html_lit(b, "</h2><form method=\"get\" class=\"row\" action=\"");
	obj_url(b, r->repo, "commits", hex, NULL);
	html_lit(b, "\"><label for=\"path\">Only commits changing the path</label><input "
		    "id=\"path\" name=\"path\" class=\"mono\" value=\"");
	html_attr(b, path);
	html_lit(b, "\"><button>Filter</button></form><ul class=\"list commits\">");
	for (size_t i = 0; i < log.n; i++) {
		git_commit *c = NULL;
		if ((grc = git_commit_lookup(&c, repo, &log.ids[i])) < 0) {
			rc = objects_error(&r->err, grc, "commit '%s' not found",
					   oid_hex(r->arena, &log.ids[i]));
			goto done;
		}
		commit_row(&p, c);
		git_commit_free(c);
	}
	if (!log.n)
		html_lit(b, "<li class=\"mute\">No commits here.</li>");
	html_lit(b, "</ul><nav class=\"pager\" aria-label=\"pages\">");
	if (cursor) {
		html_lit(b, "<a href=\"");
		obj_url(b, r->repo, "commits", hex, NULL);
		if (*path) {
			html_lit(b, "?path=");
			html_query(b, path);
		}
		html_lit(b, "\">Newest</a>");
	}
	if (log.more) {
		html_lit(b, "<a rel=\"next\" href=\"");
		obj_url(b, r->repo, "commits", hex, NULL);
		html_lit(b, "?cursor=");
		html_query(b, oid_hex(r->arena, &log.next));
		if (*path) {
			html_lit(b, "&amp;path=");
			html_query(b, path);
		}
		html_lit(b, "\">Older</a>");
	}
	html_lit(b, "</nav>");
	page_immutable(r, w,
		       arena_printf(r->arena, "h-%s-%s-%s", hex, cursor ? cursor : "start",
				    digest(r->arena, path)));
	page_end(&p);
done:
	objects_log_release(&log);
	git_commit_free(start);
	return rc;
}

/* ---- one commit ---- */

static const char *delta_status(git_delta_t s)
{
	switch (s) {
	case GIT_DELTA_ADDED: return "added";
	case GIT_DELTA_DELETED: return "deleted";
	case GIT_DELTA_RENAMED: return "renamed";
	case GIT_DELTA_COPIED: return "copied";
	case GIT_DELTA_TYPECHANGE: return "type changed";
	default: return "modified";
	}
}

static const char *delta_path(const git_diff_delta *d)
{
	return d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
}

static void line_no(struct buf *b, int n)
{
	html_lit(b, "<td class=\"ln\">");
	if (n >= 0)
		html_txtf(b, "%d", n);
	html_lit(b, "</td>");
}

/* One file's unified diff as table rows; *budget is the lines left for
 * the page. */
static void patch_rows(struct buf *b, git_patch *patch, size_t *budget, bool *cut)
{
	size_t file_lines = 0;
	for (size_t h = 0, nh = git_patch_num_hunks(patch); h < nh; h++) {
		const git_diff_hunk *hunk;
		size_t nl;
		if (git_patch_get_hunk(&hunk, &nl, patch, h) < 0)
			return;
		html_lit(b, "<tr class=\"hunk\"><td class=\"ln\"></td><td class=\"ln\"></td><td>");
		html_txtn(b, hunk->header, strcspn(hunk->header, "\n"));
		html_lit(b, "</td></tr>");
		for (size_t l = 0; l < nl; l++) {
			const git_diff_line *line;
			if (file_lines >= DIFF_FILE_LINES_MAX || !*budget ||
			    b->len > DIFF_PAGE_BYTES_MAX) {
				*cut = true;
				return;
			}
			if (git_patch_get_line_in_hunk(&line, patch, h, l) < 0)
				return;
			file_lines++;
			(*budget)--;
			char o = line->origin;
			size_t len = line->content_len;
			if (len && line->content[len - 1] == '\n')
				len--;
			if (o == GIT_DIFF_LINE_ADDITION)
				html_lit(b, "<tr class=\"add\">");
			else if (o == GIT_DIFF_LINE_DELETION)
				html_lit(b, "<tr class=\"del\">");
			else
				html_lit(b, "<tr>");
			line_no(b, line->old_lineno);
			line_no(b, line->new_lineno);
			html_lit(b, "<td>");
			if (o == GIT_DIFF_LINE_ADDITION || o == GIT_DIFF_LINE_DELETION ||
			    o == GIT_DIFF_LINE_CONTEXT) {
				html_lit(b, o == GIT_DIFF_LINE_ADDITION   ? "+"
					    : o == GIT_DIFF_LINE_DELETION ? "-"
									  : " ");
				html_txtn(b, line->content, len);
			} else {
				html_lit(b,
					 "<span class=\"mute\">\\ No newline at end of file</span>");
			}
			html_lit(b, "</td></tr>");
		}
	}
}

/* One file's section: its header and its patch (NULL: none could be
 * made). */
static void diff_section(struct view *p, git_diff *diff, git_patch *patch, size_t idx,
			 const char *hex, size_t *budget)
{
	struct buf *b = p->b;
	const git_diff_delta *d = patch ? git_patch_get_delta(patch) : git_diff_get_delta(diff, idx);
	const char *path = delta_path(d);
	html_lit(b, "<section class=\"box diff\" id=\"diff-");
	html_txtf(b, "%zu", idx + 1);
	html_lit(b, "\" aria-label=\"");
	html_attr(b, path);
	html_lit(b, "\"><div class=\"head\"><span class=\"badge\">");
	html_lit(b, delta_status(d->status));
	html_lit(b, "</span><span class=\"mono\">");
	if (d->status == GIT_DELTA_RENAMED || d->status == GIT_DELTA_COPIED) {
		html_txt(b, d->old_file.path);
		html_lit(b, " → ");
	}
	html_txt(b, path);
	html_lit(b, "</span>");
	if (d->status != GIT_DELTA_DELETED) {
		html_lit(b, "<a href=\"");
		obj_url(b, p->repo, "blob", hex, path);
		html_lit(b, "\">View file</a>");
	}
	html_lit(b, "</div>");
	bool cut = false;
	if (d->flags & GIT_DIFF_FLAG_BINARY) {
		html_lit(b, "<p class=\"body mute\">Binary file changed.</p>");
	} else if (patch && git_patch_num_hunks(patch)) {
		html_lit(b, "<div class=\"blob\" tabindex=\"0\" role=\"region\" aria-label=\"diff "
			    "of ");
		html_attr(b, path);
		html_lit(b, "\"><table class=\"code\"><tbody>");
		patch_rows(b, patch, budget, &cut);
		html_lit(b, "</tbody></table></div>");
		if (cut)
			html_lit(b, "<p class=\"body mute\">The diff is too long to show in full "
				    "here.</p>");
	} else {
		html_lit(b, "<p class=\"body mute\">No content changes.</p>");
	}
	html_lit(b, "</section>");
}

static void commit_head(struct view *p, git_commit *c, const char *hex)
{
	struct buf *b = p->b;
	const char *body = git_commit_body(c);
	const git_signature *a = git_commit_author(c), *cm = git_commit_committer(c);
	html_lit(b, "<h2 class=\"subject\">");
	html_txt(b, summary_of(c));
	html_lit(b, "</h2>");
	if (body && *body) {
		html_lit(b, "<pre class=\"message\">");
		html_txt(b, body);
		html_lit(b, "</pre>");
	}
	html_lit(b, "<dl class=\"meta\"><dt>Author</dt><dd>");
	html_txt(b, a->name ? a->name : "");
	html_lit(b, " ");
	sig_time(p, a);
	html_lit(b, "</dd>");
	if (strcmp(a->name ? a->name : "", cm->name ? cm->name : "") ||
	    a->when.time != cm->when.time) {
		html_lit(b, "<dt>Committer</dt><dd>");
		html_txt(b, cm->name ? cm->name : "");
		html_lit(b, " ");
		sig_time(p, cm);
		html_lit(b, "</dd>");
	}
	html_lit(b, "<dt>Commit</dt><dd class=\"mono\">");
	html_txt(b, hex);
	html_lit(b, "</dd><dt>Parents</dt><dd>");
	unsigned np = git_commit_parentcount(c);
	for (unsigned i = 0; i < np; i++) {
		const char *ph = oid_hex(p->r->arena, git_commit_parent_id(c, i));
		html_lit(b, "<a class=\"mono\" href=\"");
		obj_url(b, p->repo, "commit", ph, NULL);
		html_lit(b, "\">");
		html_txtn(b, ph, 7);
		html_lit(b, "</a> ");
	}
	if (!np)
		html_lit(b, "none (the first commit)");
	html_lit(b, "</dd></dl><p class=\"row\"><a href=\"");
	obj_url(b, p->repo, "tree", hex, NULL);
	html_lit(b, "\">Browse files</a><a href=\"");
	obj_url(b, p->repo, "commits", hex, NULL);
	html_lit(b, "\">History from here</a></p>");
}

int web_commit(struct req *r, struct resp *w)
{
	const char *hex, *path;
	bool redirected;
	git_repository *repo;
	git_commit *commit = NULL;
	git_diff *diff = NULL;
	git_patch **patches = NULL;
	size_t n = 0;
	struct view p;
	int rc;
	if ((rc = repo_git(r, &repo)) ||
	    (rc = target(r, w, repo, "commit", &hex, &path, &redirected)) || redirected)
		return rc;
	if ((rc = objects_commit_lookup(&commit, repo, hex, &r->err)) ||
	    (rc = objects_commit_diff(&diff, commit, &r->err)))
		goto done;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "%s · %.7s · %s/%s", summary_of(commit), hex,
				r->repo->owner, r->repo->name),
		   "code");
	commit_head(&p, commit, hex);
	struct buf *b = p.b;
	size_t adds = 0, dels = 0;
	n = git_diff_num_deltas(diff);
	/* the file list with each file's counts */
	html_lit(b, "<h3>");
	html_txtf(b, "%zu file%s changed", n, n == 1 ? "" : "s");
	html_lit(b, "</h3><table class=\"files\"><thead><tr><th scope=\"col\">File</th><th "
		    "scope=\"col\">Change</th><th scope=\"col\">Lines</th></tr></thead><tbody>");
	/* each file's patch is made once, for its counts and its section */
	patches = xcalloc(n ? n : 1, sizeof(*patches));
	for (size_t i = 0; i < n; i++) {
		size_t a = 0, d = 0;
		const git_diff_delta *dd = git_diff_get_delta(diff, i);
		int grc = git_patch_from_diff(&patches[i], diff, i);
		if (grc < 0) {
			rc = objects_error(&r->err, grc, "cannot compute the diff of commit '%s'",
					   hex);
			goto done;
		}
		if (patches[i] && !(dd->flags & GIT_DIFF_FLAG_BINARY))
			git_patch_line_stats(NULL, &a, &d, patches[i]);
		adds += a;
		dels += d;
		html_lit(b, "<tr><td><a href=\"#diff-");
		html_txtf(b, "%zu", i + 1);
		html_lit(b, "\">");
		html_txt(b, delta_path(dd));
		html_lit(b, "</a></td><td>");
		html_lit(b, delta_status(dd->status));
		html_lit(b, "</td><td><span class=\"plus\">");
		html_txtf(b, "+%zu", a);
		html_lit(b, "</span> <span class=\"minus\">");
		html_txtf(b, "−%zu", d);
		html_lit(b, "</span></td></tr>");
	}
	html_lit(b, "</tbody></table><p class=\"mute\">");
	html_txtf(b, "%zu addition%s, %zu deletion%s", adds, adds == 1 ? "" : "s", dels,
		  dels == 1 ? "" : "s");
	html_lit(b, "</p>");
	size_t budget = DIFF_LINES_MAX;
	for (size_t i = 0; i < n; i++)
		diff_section(&p, diff, patches[i], i, hex, &budget);
	page_immutable(r, w, arena_printf(r->arena, "c-%s", hex));
	page_end(&p);
done:
	for (size_t i = 0; patches && i < n; i++)
		git_patch_free(patches[i]);
	free(patches);
	git_diff_free(diff);
	git_commit_free(commit);
	return rc;
}

/* ---- branches and tags ---- */

static int refs_page(struct req *r, struct resp *w, const char *prefix, const char *what)
{
	const char *after = req_query(r, "after");
	git_repository *repo;
	struct objects_ref *v = NULL;
	size_t n = 0;
	struct view p;
	int rc;
	bool tags = !strcmp(prefix, "refs/tags/");
	if ((rc = repo_git(r, &repo)) || (rc = objects_refs_list(&v, &n, repo, prefix, &r->err)))
		return rc;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "%s · %s/%s", tags ? "Tags" : "Branches", r->repo->owner,
				r->repo->name),
		   "code");
	struct buf *b = p.b;
	html_lit(b, "<h2>");
	html_lit(b, tags ? "Tags" : "Branches");
	html_lit(b, "</h2><table class=\"refs\"><thead><tr><th scope=\"col\">");
	html_lit(b, tags ? "Tag" : "Branch");
	html_lit(b, "</th><th scope=\"col\">Last commit</th><th scope=\"col\">When</th>"
		    "</tr></thead><tbody>");
	size_t shown = 0, i = 0;
	if (after && *after)
		while (i < n && strcmp(v[i].name, after) <= 0)
			i++;
	for (; i < n && shown < REFS_PAGE; i++, shown++) {
		const char *hex = oid_hex(r->arena, &v[i].commit);
		git_commit *c = NULL;
		html_lit(b, "<tr><td><a href=\"");
		obj_url(b, r->repo, "tree", hex, NULL);
		html_lit(b, "\">");
		html_txt(b, v[i].name);
		html_lit(b, "</a>");
		if (!tags && !strcmp(v[i].name, r->repo->default_branch))
			html_lit(b, " <span class=\"badge\">default</span>");
		html_lit(b, "</td><td>");
		if (git_commit_lookup(&c, repo, &v[i].commit) == 0) {
			html_lit(b, "<a href=\"");
			obj_url(b, r->repo, "commit", hex, NULL);
			html_lit(b, "\">");
			html_txt(b, summary_of(c));
			html_lit(b, "</a></td><td>");
			sig_time(&p, git_commit_committer(c));
			git_commit_free(c);
		} else {
			html_lit(b, "</td><td>");
		}
		html_lit(b, "</td></tr>");
	}
	if (!n) {
		html_lit(b, "<tr><td class=\"mute\">No ");
		html_lit(b, what);
		html_lit(b, " yet.</td><td></td><td></td></tr>");
	}
	html_lit(b, "</tbody></table><nav class=\"pager\" aria-label=\"pages\">");
	if (after && *after) {
		html_lit(b, "<a href=\"");
		repo_url(b, r->repo);
		html_lit(b, tags ? "/tags" : "/branches");
		html_lit(b, "\">First page</a>");
	}
	if (i < n) {
		html_lit(b, "<a rel=\"next\" href=\"");
		repo_url(b, r->repo);
		html_lit(b, tags ? "/tags?after=" : "/branches?after=");
		html_query(b, v[i - 1].name);
		html_lit(b, "\">Next</a>");
	}
	html_lit(b, "</nav>");
	objects_refs_free(v, n);
	/* refs move on push */
	resp_short_cache(r, w, REF_TTL_S);
	return page_end(&p);
}

int web_branches(struct req *r, struct resp *w)
{
	return refs_page(r, w, "refs/heads/", "branches");
}

int web_tags(struct req *r, struct resp *w)
{
	return refs_page(r, w, "refs/tags/", "tags");
}
