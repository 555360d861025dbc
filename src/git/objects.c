/* objects.c — libgit2 access for the browsing API (see objects.h): the
 * per-thread handle cache, error translation, commit and path lookups, the
 * JSON of commits and diffs (shared with pull requests), and the pure
 * helpers (tree order, UTF-8, content types, dates). */
#include "git/objects.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- per-thread handles ---- */

struct slot {
	char *path; /* NULL: free slot */
	git_repository *repo;
	dev_t dev;  /* identity of objects/pack when opened */
	ino_t ino;
	struct timespec mtime;
	uint64_t used; /* the handles' tick at last use */
};

struct handles {
	struct slot slot[OBJECTS_HANDLES];
	uint64_t tick;
};

static pthread_key_t handles_key;
static pthread_once_t handles_once = PTHREAD_ONCE_INIT;
static __thread struct handles *tls_handles;

static void slot_clear(struct slot *s)
{
	git_repository_free(s->repo);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static void handles_free(void *p)
{
	struct handles *h = p;
	if (!h)
		return;
	for (size_t i = 0; i < OBJECTS_HANDLES; i++)
		slot_clear(&h->slot[i]);
	free(h);
}

/* Pack files libgit2 keeps open across every handle: each thread caches
 * OBJECTS_HANDLES repositories, and fds are shared with the connections. */
#define PACK_FILES_OPEN 128

static void handles_key_create(void)
{
	if (pthread_key_create(&handles_key, handles_free))
		die("cannot create the repository handle key");
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_FILE_LIMIT, (size_t)PACK_FILES_OPEN);
}

static struct handles *handles_get(void)
{
	if (!tls_handles) {
		pthread_once(&handles_once, handles_key_create);
		tls_handles = xcalloc(1, sizeof(*tls_handles));
		/* the key's destructor frees the handles when the thread exits */
		pthread_setspecific(handles_key, tls_handles);
	}
	return tls_handles;
}

void objects_thread_release(void)
{
	if (!tls_handles)
		return;
	pthread_setspecific(handles_key, NULL);
	handles_free(tls_handles);
	tls_handles = NULL;
}

int objects_repo_open(git_repository **out, const char *path, struct err *e)
{
	char pack[PATH_MAX];
	struct stat st;
	if ((size_t)snprintf(pack, sizeof(pack), "%s/objects/pack", path) >= sizeof(pack))
		return err_set(e, ERR_INTERNAL, "storage_error", "repository path is too long");
	int stat_rc = stat(pack, &st), stat_errno = errno;

	struct handles *h = handles_get();
	struct slot *s = NULL, *victim = &h->slot[0];
	for (size_t i = 0; i < OBJECTS_HANDLES; i++) {
		struct slot *c = &h->slot[i];
		if (c->path && !strcmp(c->path, path)) {
			s = c;
			break;
		}
		/* a free slot, else the least recently used */
		if (victim->path && (!c->path || c->used < victim->used))
			victim = c;
	}

	if (stat_rc) {
		if (s)
			slot_clear(s);
		if (stat_errno == ENOENT || stat_errno == ENOTDIR)
			return err_set(e, ERR_NOTFOUND, NULL, "repository not found on disk");
		log_error("cannot stat %s: %s", pack, strerror(stat_errno));
		return err_set(e, ERR_INTERNAL, "storage_error", "cannot read the repository");
	}
	if (s && s->dev == st.st_dev && s->ino == st.st_ino &&
	    s->mtime.tv_sec == st.st_mtim.tv_sec && s->mtime.tv_nsec == st.st_mtim.tv_nsec) {
		s->used = ++h->tick;
		*out = s->repo;
		return 0;
	}
	/* new, or its packs changed: reopen so vanished packs are let go */
	if (!s)
		s = victim;
	slot_clear(s);
	git_repository *repo = NULL;
	int rc = git_repository_open_bare(&repo, path);
	if (rc < 0) {
		if (rc == GIT_ENOTFOUND)
			return err_set(e, ERR_NOTFOUND, NULL, "repository not found on disk");
		const git_error *ge = git_error_last();
		log_error("cannot open repository %s: %s", path, ge ? ge->message : "unknown error");
		return err_set(e, ERR_INTERNAL, "storage_error", "cannot open the repository");
	}
	s->path = xstrdup(path);
	s->repo = repo;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->mtime = st.st_mtim;
	s->used = ++h->tick;
	*out = repo;
	return 0;
}

/* ---- errors and lookups ---- */

int objects_error(struct err *e, int rc, const char *fmt, ...)
{
	int code;
	switch (rc) {
	case GIT_ENOTFOUND: code = ERR_NOTFOUND; break;
	case GIT_EINVALIDSPEC:
	case GIT_EAMBIGUOUS:
	case GIT_EINVALID: code = ERR_INVALID; break;
	default: {
		const git_error *ge = git_error_last();
		log_error("libgit2 error %d: %s", rc, ge ? ge->message : "unknown error");
		return err_set(e, ERR_INTERNAL, "git_error", "cannot read the repository");
	}
	}
	char msg[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, code, NULL, "%s", msg);
}

int objects_commit_lookup(git_commit **out, git_repository *repo, const char *hex, struct err *e)
{
	git_oid oid;
	git_object *obj = NULL;
	char id[GIT_OID_HEXSZ + 1];
	if (strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstrn(&oid, hex, GIT_OID_HEXSZ) < 0) {
		struct buf b = BUF_INIT;
		objects_subject(&b, hex, 100);
		int rc = err_set(e, ERR_INVALID, "sha_required", "'%s' is not a commit sha", b.ptr);
		buf_release(&b);
		return rc;
	}
	git_oid_tostr(id, sizeof(id), &oid);
	int rc = git_object_lookup(&obj, repo, &oid, GIT_OBJECT_ANY);
	if (rc < 0)
		return objects_error(e, rc, "commit '%s' not found", id);
	if (git_object_type(obj) != GIT_OBJECT_COMMIT) {
		rc = err_set(e, ERR_NOTFOUND, NULL, "'%s' is a %s, not a commit", id,
			     git_object_type2string(git_object_type(obj)));
		git_object_free(obj);
		return rc;
	}
	*out = (git_commit *)obj;
	return 0;
}

int objects_entry_bypath(git_tree_entry **out, git_commit *commit, const char *path, struct err *e)
{
	git_tree *root = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
	int rc = git_commit_tree(&root, commit);
	if (rc < 0)
		return objects_error(e, rc, "tree of commit '%s' not found", hex);
	rc = git_tree_entry_bypath(out, root, path);
	git_tree_free(root);
	if (rc < 0) {
		struct buf b = BUF_INIT;
		objects_subject(&b, path, 150);
		rc = objects_error(e, rc, "path '%s' not found in commit '%s'", b.ptr, hex);
		buf_release(&b);
	}
	return rc;
}

/* ---- refs ---- */

int objects_ref_resolve(git_oid *out, struct buf *full, git_repository *repo, const char *name,
			struct err *e)
{
	struct buf cand[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	size_t ncand = 0;
	git_reference *ref = NULL, *res = NULL;
	git_object *obj = NULL;
	int rc = 0, grc = GIT_ENOTFOUND;
	if (!strcmp(name, "HEAD") || !strncmp(name, "refs/", 5)) {
		buf_adds(&cand[ncand++], name);
	} else {
		buf_addf(&cand[ncand++], "refs/%s", name);
		buf_addf(&cand[ncand++], "refs/heads/%s", name);
		buf_addf(&cand[ncand++], "refs/tags/%s", name);
	}
	for (size_t i = 0; i < ncand && grc == GIT_ENOTFOUND; i++)
		grc = git_reference_lookup(&ref, repo, cand[i].ptr);
	if (grc == 0)
		grc = git_reference_resolve(&res, ref); /* an unborn HEAD is not found */
	struct buf subj = BUF_INIT;
	objects_subject(&subj, name, 100);
	if (grc < 0) {
		rc = objects_error(e, grc, "ref '%s' not found", subj.ptr);
	} else if (git_reference_peel(&obj, res, GIT_OBJECT_COMMIT) < 0) {
		rc = err_set(e, ERR_NOTFOUND, NULL, "ref '%s' does not point to a commit", subj.ptr);
	} else {
		git_oid_cpy(out, git_object_id(obj));
		if (full) {
			buf_reset(full);
			buf_adds(full, git_reference_name(res));
		}
	}
	buf_release(&subj);
	for (size_t i = 0; i < ncand; i++)
		buf_release(&cand[i]);
	git_object_free(obj);
	git_reference_free(res);
	git_reference_free(ref);
	return rc;
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct objects_ref *)a)->name, ((const struct objects_ref *)b)->name);
}

int objects_refs_list(struct objects_ref **out, size_t *n_out, git_repository *repo,
		      const char *prefix, struct err *e)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	struct objects_ref *v = NULL;
	size_t n = 0, cap = 0, plen = strlen(prefix);
	int rc = 0, grc;
	*out = NULL;
	*n_out = 0;
	if ((grc = git_reference_iterator_new(&it, repo)) < 0)
		return objects_error(e, grc, "cannot list refs");
	while ((grc = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);
		git_object *obj = NULL;
		/* a ref that points at no commit is not listed */
		if (!strncmp(name, prefix, plen) && name[plen] &&
		    git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[n].name = xstrdup(name + plen);
			git_oid_cpy(&v[n++].commit, git_object_id(obj));
		}
		git_object_free(obj);
		git_reference_free(ref);
		ref = NULL;
	}
	if (grc != GIT_ITEROVER) {
		rc = objects_error(e, grc, "cannot list refs");
		objects_refs_free(v, n);
		v = NULL;
		n = 0;
	} else if (n) {
		qsort(v, n, sizeof(*v), ref_cmp);
	}
	git_reference_iterator_free(it);
	*out = v;
	*n_out = n;
	return rc;
}

void objects_refs_free(struct objects_ref *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

/* ---- commits: diff and history ---- */

int objects_commit_diff(git_diff **out, git_commit *commit, struct err *e)
{
	git_repository *repo = git_commit_owner(commit);
	git_commit *parent = NULL;
	git_tree *tree = NULL, *old = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0, grc;
	git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
	*out = NULL;
	/* against the first parent; a root commit against the empty tree */
	if ((grc = git_commit_tree(&tree, commit)) < 0 ||
	    (git_commit_parentcount(commit) && ((grc = git_commit_parent(&parent, commit, 0)) < 0 ||
						(grc = git_commit_tree(&old, parent)) < 0))) {
		rc = objects_error(e, grc, "objects of commit '%s' not found", hex);
		goto done;
	}
	git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
	git_diff_find_options fopts = GIT_DIFF_FIND_OPTIONS_INIT;
	fopts.flags = GIT_DIFF_FIND_RENAMES;
	if ((grc = git_diff_tree_to_tree(out, repo, old, tree, &dopts)) < 0 ||
	    (grc = git_diff_find_similar(*out, &fopts)) < 0) {
		git_diff_free(*out);
		*out = NULL;
		rc = objects_error(e, grc, "cannot compute the diff of commit '%s'", hex);
	}
done:
	git_tree_free(old);
	git_tree_free(tree);
	git_commit_free(parent);
	return rc;
}

/* The entry at path in c's tree: 1 with *id and *mode set, 0 when absent,
 * or a libgit2 error. */
static int entry_at(git_commit *c, const char *path, git_oid *id, unsigned *mode)
{
	git_tree *root = NULL;
	git_tree_entry *te = NULL;
	int grc = git_commit_tree(&root, c);
	if (grc < 0)
		return grc;
	grc = git_tree_entry_bypath(&te, root, path);
	git_tree_free(root);
	if (grc == GIT_ENOTFOUND)
		return 0;
	if (grc < 0)
		return grc;
	git_oid_cpy(id, git_tree_entry_id(te));
	*mode = (unsigned)git_tree_entry_filemode_raw(te);
	git_tree_entry_free(te);
	return 1;
}

/* Does commit oid change path? 1, 0, or a libgit2 error. */
static int log_touches(git_repository *repo, const git_oid *oid, const char *path)
{
	git_commit *c = NULL;
	git_oid id, pid;
	unsigned mode = 0, pmode = 0;
	int grc = git_commit_lookup(&c, repo, oid);
	if (grc < 0)
		return grc;
	int have = entry_at(c, path, &id, &mode);
	unsigned np = git_commit_parentcount(c);
	int touches = np == 0 ? have > 0 : 1;
	for (unsigned i = 0; have >= 0 && i < np && touches == 1; i++) {
		git_commit *p = NULL;
		if ((grc = git_commit_parent(&p, c, i)) < 0) {
			touches = grc;
			break;
		}
		int phave = entry_at(p, path, &pid, &pmode);
		git_commit_free(p);
		if (phave < 0)
			touches = phave;
		else if (phave == have && (!have || (pmode == mode && git_oid_equal(&pid, &id))))
			touches = 0; /* the same as one parent's: not this commit's change */
	}
	git_commit_free(c);
	return have < 0 ? have : touches;
}

int objects_log(struct objects_log *out, git_repository *repo, const git_oid *start,
		const char *cursor, const char *path, size_t limit, struct err *e)
{
	git_revwalk *walk = NULL;
	git_oid oid, cur;
	char shex[GIT_OID_HEXSZ + 1];
	size_t scanned = 0;
	int rc = 0, grc;
	bool filter = path && *path;
	*out = (struct objects_log){ .ids = xcalloc(limit ? limit : 1, sizeof(git_oid)) };
	git_oid_tostr(shex, sizeof(shex), start);
	if ((grc = git_revwalk_new(&walk, repo)) < 0 ||
	    (grc = git_revwalk_sorting(walk, GIT_SORT_TIME)) < 0 ||
	    (grc = git_revwalk_push(walk, start)) < 0) {
		rc = objects_error(e, grc, "cannot walk the history of '%s'", shex);
		goto done;
	}
	grc = git_revwalk_next(&oid, walk);
	if (cursor) {
		/* the cursor is the next commit to examine: skip up to it */
		git_oid_fromstrn(&cur, cursor, GIT_OID_HEXSZ);
		while (grc == 0 && !git_oid_equal(&oid, &cur))
			grc = git_revwalk_next(&oid, walk);
		if (grc == GIT_ITEROVER) {
			rc = err_set(e, ERR_INVALID, "invalid_cursor",
				     "cursor '%s' is not in the history of commit '%s'", cursor,
				     shex);
			goto done;
		}
	}
	while (grc == 0 && out->n < limit) {
		if (filter && scanned++ >= OBJECTS_LOG_SCAN_MAX)
			break;
		int keep = filter ? log_touches(repo, &oid, path) : 1;
		if (keep < 0) {
			grc = keep;
			break;
		}
		if (keep)
			git_oid_cpy(&out->ids[out->n++], &oid);
		grc = git_revwalk_next(&oid, walk);
	}
	if (grc == 0) {
		out->more = true;
		git_oid_cpy(&out->next, &oid);
	} else if (grc != GIT_ITEROVER) {
		rc = objects_error(e, grc, "cannot walk the history");
	}
done:
	if (rc)
		objects_log_release(out);
	git_revwalk_free(walk);
	return rc;
}

void objects_log_release(struct objects_log *l)
{
	free(l->ids);
	*l = (struct objects_log){ 0 };
}

/* ---- pure helpers ---- */

int objects_tree_cmp(const char *a, size_t alen, bool a_tree, const char *b, size_t blen, bool b_tree)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	if (c)
		return c;
	/* past the common prefix: the next byte, or the implicit '/' of a tree */
	unsigned ca = alen > n ? (unsigned char)a[n] : a_tree ? '/' : 0;
	unsigned cb = blen > n ? (unsigned char)b[n] : b_tree ? '/' : 0;
	return (int)ca - (int)cb;
}

bool objects_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		/* ASCII runs are the common case: eight bytes at a time */
		while (end - p >= 8) {
			uint64_t v;
			memcpy(&v, p, 8);
			if (v & 0x8080808080808080ull)
				break;
			p += 8;
		}
		if (p >= end)
			break;
		unsigned c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

size_t objects_utf8_seq(const char *s, size_t n)
{
	unsigned char c = (unsigned char)*s;
	size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (len > n || !objects_utf8_valid(s, len))
		return 0;
	return len;
}

void objects_utf8_lossy(struct buf *b, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t run = i, k;
		while (run < len && (k = objects_utf8_seq(s + run, len - run)))
			run += k;
		buf_add(b, s + i, run - i);
		if (run < len) {
			buf_add(b, "\xef\xbf\xbd", 3);
			run++;
		}
		i = run;
	}
}

void objects_subject(struct buf *b, const char *s, size_t max)
{
	size_t start = b->len;
	objects_utf8_lossy(b, s, strlen(s));
	for (size_t i = start; i < b->len; i++)
		if ((unsigned char)b->ptr[i] < 0x20 || b->ptr[i] == 0x7f)
			b->ptr[i] = '?';
	if (b->len - start > max) {
		size_t cut = start + max;
		while (cut > start && ((unsigned char)b->ptr[cut] & 0xc0) == 0x80)
			cut--;
		buf_setlen(b, cut);
		buf_adds(b, "...");
	}
}

const char *objects_content_type(const char *data, size_t len)
{
	const unsigned char *d = (const unsigned char *)data;
	if (len >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return "image/jpeg";
	if (len >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
		return "image/gif";
	if (len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
		return "image/webp";
	if (!memchr(data, '\0', len) && objects_utf8_valid(data, len))
		return "text/plain; charset=utf-8";
	return "application/octet-stream";
}

void objects_time_rfc3339(char out[32], const git_time *t)
{
	int off = t->offset; /* minutes east of UTC */
	time_t local = (time_t)(t->time + (git_time_t)off * 60);
	struct tm tm;
	if (!gmtime_r(&local, &tm)) {
		snprintf(out, 32, "1970-01-01T00:00:00+00:00");
		return;
	}
	char sign = off < 0 ? '-' : '+'; /* git prints "-0000" as +00:00 too */
	int a = off < 0 ? -off : off;
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, a / 60, a % 60);
}

/* ---- JSON of git data ---- */

json_t *objects_json_str(const char *s, size_t len)
{
	if (!s)
		return json_null();
	if (objects_utf8_valid(s, len))
		return json_stringn_nocheck(s, len);
	struct buf b = BUF_INIT;
	objects_utf8_lossy(&b, s, len);
	json_t *j = json_stringn_nocheck(b.ptr, b.len);
	buf_release(&b);
	return j;
}

static json_t *jstr(const char *s)
{
	return objects_json_str(s, s ? strlen(s) : 0);
}

static json_t *signature_json(const git_signature *s)
{
	char date[32];
	objects_time_rfc3339(date, &s->when);
	return json_pack("{s:o,s:o,s:s}", "name", jstr(s->name), "email", jstr(s->email), "date",
			 date);
}

json_t *objects_commit_json(git_commit *c)
{
	char hex[GIT_OID_HEXSZ + 1];
	json_t *parents = json_array();
	for (unsigned i = 0; i < git_commit_parentcount(c); i++)
		json_array_append_new(parents,
				      json_string(git_oid_tostr(hex, sizeof(hex),
								git_commit_parent_id(c, i))));
	json_t *o = json_object();
	json_object_set_new(o, "sha", json_string(git_oid_tostr(hex, sizeof(hex), git_commit_id(c))));
	json_object_set_new(o, "tree",
			    json_string(git_oid_tostr(hex, sizeof(hex), git_commit_tree_id(c))));
	json_object_set_new(o, "parents", parents);
	json_object_set_new(o, "author", signature_json(git_commit_author(c)));
	json_object_set_new(o, "committer", signature_json(git_commit_committer(c)));
	json_object_set_new(o, "message", jstr(git_commit_message(c)));
	json_object_set_new(o, "summary", jstr(git_commit_summary(c)));
	return o;
}

const char *objects_delta_status(git_delta_t s)
{
	switch (s) {
	case GIT_DELTA_ADDED: return "added";
	case GIT_DELTA_DELETED: return "deleted";
	case GIT_DELTA_RENAMED: return "renamed";
	case GIT_DELTA_COPIED: return "copied";
	case GIT_DELTA_TYPECHANGE: return "type_changed";
	default: return "modified";
	}
}

int objects_diff_file_json(git_diff *diff, size_t idx, size_t *budget, json_t **out,
			   size_t *adds_out, size_t *dels_out, struct err *e)
{
	git_patch *patch = NULL;
	git_buf text = { 0 };
	size_t adds = 0, dels = 0;
	int grc = git_patch_from_diff(&patch, diff, idx);
	if (grc < 0)
		return objects_error(e, grc, "cannot compute the diff");
	const git_diff_delta *d = patch ? git_patch_get_delta(patch) : git_diff_get_delta(diff, idx);
	bool binary = d->flags & GIT_DIFF_FLAG_BINARY;
	json_t *ptext = json_null();
	bool truncated = false;
	if (patch && !binary) {
		git_patch_line_stats(NULL, &adds, &dels, patch);
		if ((grc = git_patch_to_buf(&text, patch)) < 0) {
			git_patch_free(patch);
			return objects_error(e, grc, "cannot format the diff");
		}
		size_t len = text.size;
		size_t room = *budget < OBJECTS_PATCH_FILE_MAX ? *budget : OBJECTS_PATCH_FILE_MAX;
		if (len > room) {
			/* keep whole lines */
			const char *nl = room ? memrchr(text.ptr, '\n', room) : NULL;
			len = nl ? (size_t)(nl - text.ptr) + 1 : 0;
			truncated = true;
		}
		if (len || !truncated) {
			json_decref(ptext);
			ptext = objects_json_str(text.ptr, len);
		}
		*budget -= len;
	}
	bool moved = d->status == GIT_DELTA_RENAMED || d->status == GIT_DELTA_COPIED;
	const char *path = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
	json_t *o = json_object();
	json_object_set_new(o, "path", jstr(path));
	json_object_set_new(o, "old_path", moved ? jstr(d->old_file.path) : json_null());
	json_object_set_new(o, "status", json_string(objects_delta_status(d->status)));
	json_object_set_new(o, "additions", json_integer((json_int_t)adds));
	json_object_set_new(o, "deletions", json_integer((json_int_t)dels));
	json_object_set_new(o, "binary", json_boolean(binary));
	json_object_set_new(o, "patch", ptext);
	json_object_set_new(o, "truncated", json_boolean(truncated));
	git_buf_dispose(&text);
	git_patch_free(patch);
	*out = o;
	*adds_out += adds;
	*dels_out += dels;
	return 0;
}
