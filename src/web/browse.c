/* browse.c — the repository browsing pages (web/browse.h): the overview,
 * trees, blobs and raw files, and the pieces every browsing page shares
 * (web/browse_parts.h; history, commits and refs are in web/commits.c),
 * read through the object layer (git/objects.h) as the browsing API does.
 * Everything read
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
#include "web/browse_parts.h"
#include "web/web.h"

#define SWITCHER_MAX 30               /* refs of each kind in the switcher */
#define BLOB_INLINE_MAX (1024 * 1024) /* larger files are linked raw */
#define README_MAX (512 * 1024)       /* larger READMEs are not shown */
#define REF_SEGMENTS_MAX 32           /* ref/path splits tried */
#define SUBJECT_MAX 100               /* bytes of user input in a message */

/* ---- small pieces ---- */

const char *browse_subject(struct arena *a, const char *s)
{
	struct buf b = BUF_INIT;
	objects_subject(&b, s ? s : "", SUBJECT_MAX);
	const char *out = arena_strndup(a, b.ptr, b.len);
	buf_release(&b);
	return out;
}

const char *browse_oid_hex(struct arena *a, const git_oid *id)
{
	char *hex = arena_alloc(a, GIT_OID_HEXSZ + 1);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, id);
	return hex;
}

/* The caller's thread handle on r->repo (as the API's browse.c). */
int browse_repo_git(struct req *r, git_repository **out)
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

/* "/owner/repo/KIND/SHA[/PATH]", escaped. */
void browse_url(struct buf *b, const struct repo *rp, const char *kind, const char *sha,
		const char *path)
{
	page_repo_url(b, rp, NULL);
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
const char *browse_summary(git_commit *c)
{
	const char *s = git_commit_summary(c);
	return s ? s : "";
}

void browse_sig_time(struct view *p, const git_signature *s)
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
void browse_immutable(struct req *r, struct resp *w, const char *what)
{
	const char *tag = r->auth.user_id ? arena_printf(r->arena, "%s-u%lld", what,
							 (long long)r->auth.user_id)
					  : what;
	resp_immutable(r, w, tag);
}

/* A short, header-safe digest of a query value for an ETag. */
const char *browse_digest(struct arena *a, const char *s)
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
	browse_url(&b, r->repo, kind, hex, rest);
	for (size_t i = 0; i < r->nquery; i++) {
		html_lit(&b, i ? "&" : "?");
		html_query(&b, r->query[i].name);
		html_lit(&b, "=");
		html_query(&b, r->query[i].value);
	}
	w->status = 302;
	resp_header(w, "Location", arena_strndup(r->arena, b.ptr, b.len));
	resp_short_cache(r, w, BROWSE_REF_TTL_S);
	buf_release(&b);
	return 0;
}

/* The commit named by :sha and the path of *path. A full object id is
 * taken as it is (*hex set, lowercase). Anything else is a ref, possibly
 * with slashes: the longest prefix of ":sha/ *path" that names a branch or
 * tag wins, and *redirected says the response is the 302 to the SHA URL. */
int browse_target(struct req *r, struct resp *w, git_repository *repo, const char *kind,
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
				       browse_subject(r->arena, raw));
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
						       "invalid path '%s'",
						       browse_subject(r->arena, rest));
				*redirected = true;
				return redirect_sha(r, w, kind, browse_oid_hex(r->arena, &oid), rest);
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
		       browse_subject(r->arena, sha), r->repo->owner, r->repo->name);
}

/* ---- the parts of pages ---- */

/* Breadcrumbs: repo / a / b / c, each a tree link but the last. */
static void breadcrumbs(struct view *p, const char *hex, const char *path)
{
	struct buf *b = p->b;
	html_lit(b, "<nav class=\"crumbs\" aria-label=\"path\"><a href=\"");
	browse_url(b, p->repo, "tree", hex, "");
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
			browse_url(b, p->repo, "tree", hex, arena_strndup(p->r->arena, path, end));
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
	const char *hex = browse_oid_hex(p->r->arena, git_commit_id(c));
	const git_signature *a = git_commit_author(c);
	html_lit(b, "<div class=\"lastcommit row\"><span>");
	html_txt(b, a->name ? a->name : "");
	html_lit(b, "</span><a href=\"");
	browse_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txt(b, browse_summary(c));
	html_lit(b, "</a><span class=\"mute\">");
	browse_sig_time(p, a);
	html_lit(b, "</span><a class=\"mono\" href=\"");
	browse_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txtn(b, hex, 7);
	html_lit(b, "</a><a href=\"");
	browse_url(b, p->repo, "commits", hex, NULL);
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
		html_txtn(b, browse_oid_hex(p->r->arena, git_tree_entry_id(e)), 7);
		html_lit(b, "</span></td><td></td></tr>");
		return;
	}
	html_lit(b, t == GIT_OBJECT_TREE ? "<span class=\"kind\">dir</span> <a href=\""
		    : git_tree_entry_filemode_raw(e) == GIT_FILEMODE_LINK
			    ? "<span class=\"kind\">link</span> <a href=\""
			    : "<span class=\"kind\">file</span> <a href=\"");
	browse_url(b, p->repo, t == GIT_OBJECT_TREE ? "tree" : "blob", hex, path);
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
		browse_url(b, p->repo, "tree", hex,
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
		browse_url(b, p->repo, "tree", browse_oid_hex(p->r->arena, &v[i].commit), "");
		html_lit(b, "\">");
		html_txt(b, v[i].name);
		html_lit(b, "</a></li>");
	}
	if (!n)
		html_lit(b, "<li class=\"mute\">none</li>");
	html_lit(b, "<li><a href=\"");
	page_repo_url(b, p->repo, all);
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
	if ((rc = browse_repo_git(r, &repo)))
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
	const char *hex = have ? browse_oid_hex(r->arena, &oid) : NULL;
	if (have && (rc = objects_commit_lookup(&commit, repo, hex, &r->err)))
		goto done;
	int grc = have ? git_commit_tree(&tree, commit) : 0;
	if (grc < 0) {
		rc = objects_error(&r->err, grc, "cannot read the tree of '%s'",
				   browse_subject(r->arena, branch));
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
	resp_short_cache(r, w, BROWSE_REF_TTL_S);
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
	browse_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txtn(b, hex, 7);
	html_lit(b, "</a></span><a href=\"");
	browse_url(b, p->repo, "commits", hex, NULL);
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
	if ((rc = browse_repo_git(r, &repo)) ||
	    (rc = browse_target(r, w, repo, "tree", &hex, &path, &redirected)) || redirected)
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
				     browse_subject(r->arena, path));
			goto done;
		}
		grc = git_tree_lookup(&tree, repo, git_tree_entry_id(entry));
	}
	if (grc < 0) {
		rc = objects_error(&r->err, grc, "tree '%s' not found in commit '%s'",
				   browse_subject(r->arena, path), hex);
		goto done;
	}
	page_begin(&p, r, w, title_of(r, path, hex), "code");
	location_bar(&p, hex, path);
	if ((rc = tree_table(&p, repo, tree, hex, path)))
		goto done;
	readme(&p, repo, tree);
	browse_immutable(r, w,
			 arena_printf(r->arena, "t-%s-%s", hex,
				      browse_oid_hex(r->arena, git_tree_id(tree))));
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
		browse_url(b, p->repo, "raw", hex, path);
		html_lit(b, "\" alt=\"");
		html_attr(b, name);
		html_lit(b, "\"></p>");
	} else if (!data || len > BLOB_INLINE_MAX) {
		html_lit(b, " · too large to show here: <a href=\"");
		browse_url(b, p->repo, "raw", hex, path);
		html_lit(b, "\">view the raw file</a></p>");
	} else if (strncmp(type, "text/", 5)) {
		html_lit(b, " · binary file: <a href=\"");
		browse_url(b, p->repo, "raw", hex, path);
		html_lit(b, "\">download it</a></p>");
	} else if (!len) {
		html_lit(b, " · empty file</p>");
	} else if (is_markdown(name) && !plain) {
		html_lit(b, " · <a href=\"");
		browse_url(b, p->repo, "blob", hex, path);
		html_lit(b, "?plain=1\">Source</a></p><div class=\"box\"><div class=\"body\">");
		render_text(p, name, data, len);
		html_lit(b, "</div></div>");
	} else {
		if (is_markdown(name)) {
			html_lit(b, " · <a href=\"");
			browse_url(b, p->repo, "blob", hex, path);
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
	if ((rc = browse_repo_git(r, &repo)) ||
	    (rc = browse_target(r, w, repo, "blob", &hex, &path, &redirected)) || redirected)
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
			     browse_subject(r->arena, path));
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
				   browse_subject(r->arena, path), hex);
		goto done;
	}
	page_begin(&p, r, w, title_of(r, path, hex), "code");
	location_bar(&p, hex, path);
	html_lit(p.b, "<p class=\"row\"><a href=\"");
	browse_url(p.b, r->repo, "raw", hex, path);
	html_lit(p.b, "\">Raw</a>");
	if (git_tree_entry_filemode_raw(entry) == GIT_FILEMODE_LINK)
		html_lit(p.b, "<span class=\"mute\">symbolic link</span>");
	html_lit(p.b, "</p>");
	if (large)
		blob_body(&p, hex, path, NULL, size, plain);
	else
		blob_body(&p, hex, path, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			  plain);
	browse_immutable(r, w,
			 arena_printf(r->arena, "b-%s-%s%s", hex,
				      browse_oid_hex(r->arena, git_tree_entry_id(entry)),
				      plain ? "-p" : ""));
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
	if ((rc = browse_repo_git(r, &repo)) ||
	    (rc = browse_target(r, w, repo, "raw", &hex, &path, &redirected)) || redirected)
		return rc;
	/* the bytes exactly as the API serves a blob: the same handler */
	return h_blob_get(r, w);
}
