/* webhooks.c — outgoing webhooks: the fan-out from the events outbox to
 * deliveries (payloads shaped like GitHub's), the address checks that
 * keep a hook from reaching inside the network, and the delivery workers
 * (see webhooks.h for the flow, the order and the retry rules). */
#include "queue/webhooks.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/net.h"
#include "base/thread.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/forge.h"
#include "git/objects.h"
#include "git/store.h"
#include "queue/secrets.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define SCAN_EVERY_MS 5000
#define IDLE_WAIT_MS 5000
#define MAX_BACKOFF_MS (3600 * 1000)
#define MAX_PUSH_COMMITS 100
#define MAX_HEADERS_KEPT (16 * 1024)
#define FANOUT_LOCK "7270008"

static const char *const hook_events[] = { "push",   "pull_request",  "pull_request_review",
					   "issues", "issue_comment", "workflow_run",
					   NULL };

static struct bg_thread fanout_thread, workers[WEBHOOK_WORKERS];
static int nworkers;

static const char *site(void)
{
	return cfg.public_url ? cfg.public_url : "";
}

bool webhook_event_valid(const char *name)
{
	if (!strcmp(name, "*"))
		return true;
	for (int i = 0; hook_events[i]; i++)
		if (!strcmp(name, hook_events[i]))
			return true;
	return false;
}

/* ---- addresses ---- */

/* cfg.webhook_allow_nets, parsed once by webhook_allow_nets_check */
#define ALLOW_MAX 64
static struct net allow_nets[ALLOW_MAX];
static int nallow;

/* Whether a is inside one of the allowed networks. */
static bool allowed(const struct net *a)
{
	for (int i = 0; i < nallow; i++)
		if (net_in(a, &allow_nets[i]))
			return true;
	return false;
}

int webhook_allow_nets_check(struct err *e)
{
	const char *p = cfg.webhook_allow_nets ? cfg.webhook_allow_nets : "";
	nallow = 0;
	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t len = strcspn(p, ", ");
		if (!len)
			break;
		char item[64];
		if (len >= sizeof(item))
			return err_set(e, ERR_INVALID, NULL,
				       "webhook allow list: '%.60s' is not a CIDR", p);
		memcpy(item, p, len);
		item[len] = '\0';
		if (nallow == ALLOW_MAX)
			return err_set(e, ERR_INVALID, NULL,
				       "webhook allow list: at most %d networks", ALLOW_MAX);
		if (net_parse(item, &allow_nets[nallow]))
			return err_set(e, ERR_INVALID, NULL,
				       "webhook allow list: '%s' is not a CIDR", item);
		nallow++;
		p += len;
	}
	return 0;
}

/* The kind of a refused address, or NULL for a public one. */
static const char *refused_kind(const struct net *a)
{
	static const struct {
		const char *cidr, *kind;
	} ranges[] = {
		{ "0.0.0.0/8", "an unspecified" },
		{ "10.0.0.0/8", "a private" },
		{ "100.64.0.0/10", "a carrier-grade NAT" },
		{ "127.0.0.0/8", "a loopback" },
		{ "169.254.169.254/32", "the cloud metadata" },
		{ "169.254.0.0/16", "a link-local" },
		{ "172.16.0.0/12", "a private" },
		{ "192.0.0.0/24", "a reserved" },
		{ "192.0.2.0/24", "a reserved" },
		{ "192.168.0.0/16", "a private" },
		{ "198.18.0.0/15", "a reserved" },
		{ "198.51.100.0/24", "a reserved" },
		{ "203.0.113.0/24", "a reserved" },
		{ "224.0.0.0/4", "a multicast" },
		{ "240.0.0.0/4", "a reserved" },
		{ "::/128", "an unspecified" },
		{ "::1/128", "a loopback" },
		{ "::/96", "a reserved" },     /* IPv4-compatible */
		{ "64:ff9b::/96", "a NAT64" }, /* reaches any IPv4 address */
		{ "64:ff9b:1::/48", "a NAT64" },
		{ "100::/64", "a reserved" },
		{ "2001:db8::/32", "a reserved" },
		{ "2002::/16", "a 6to4" },   /* embeds an IPv4 address */
		{ "fc00::/7", "a private" }, /* unique local, fd00:ec2::254 */
		{ "fe80::/10", "a link-local" },
		{ "fec0::/10", "a site-local" },
		{ "ff00::/8", "a multicast" },
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct net n;
		if (!net_parse(ranges[i].cidr, &n) && net_in(a, &n))
			return ranges[i].kind;
	}
	return NULL;
}

static const char *net_text(struct arena *a, const struct net *n)
{
	char s[INET6_ADDRSTRLEN];
	inet_ntop(n->family, n->addr, s, sizeof(s));
	return arena_strdup(a, s);
}

/* The parts of a URL (arena strings): scheme, host (IPv6 without its
 * brackets), port. 0 or -1. */
static int url_split(struct arena *a, const char *url, const char **scheme, const char **host,
		     long *port)
{
	CURLU *u = curl_url();
	char *s = NULL, *h = NULL, *p = NULL, *frag = NULL;
	int rc = -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) || curl_url_get(u, CURLUPART_SCHEME, &s, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT))
		goto done;
	if (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
		goto done;
	*scheme = arena_strdup(a, s);
	size_t hl = strlen(h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
		*host = arena_strndup(a, h + 1, hl - 2);
	else
		*host = arena_strdup(a, h);
	*port = strtol(p, NULL, 10);
	rc = **host ? 0 : -1;
done:
	curl_free(s);
	curl_free(h);
	curl_free(p);
	curl_free(frag);
	curl_url_cleanup(u);
	return rc;
}

/* A literal address in host, or false. */
static bool literal_addr(const char *host, struct net *out)
{
	unsigned char raw[16];
	if (inet_pton(AF_INET, host, raw) == 1) {
		net_addr_norm(out, AF_INET, raw);
		return true;
	}
	char h[INET6_ADDRSTRLEN];
	size_t l = strcspn(host, "%"); /* a zone id */
	if (l >= sizeof(h))
		return false;
	memcpy(h, host, l);
	h[l] = '\0';
	if (inet_pton(AF_INET6, h, raw) == 1) {
		net_addr_norm(out, AF_INET6, raw);
		return true;
	}
	return false;
}

int webhook_url_check(const char *url, struct err *e)
{
	struct arena *a = arena_new();
	const char *scheme, *host;
	long port;
	int rc = 0;
	if (strlen(url) > WEBHOOK_URL_MAX) {
		rc = err_set(e, ERR_INVALID, "invalid_url", "url is longer than %d characters",
			     WEBHOOK_URL_MAX);
		goto done;
	}
	if (url_split(a, url, &scheme, &host, &port)) {
		rc = err_set(e, ERR_INVALID, "invalid_url",
			     "url '%.200s' is not an absolute http or https url with a host and no "
			     "fragment",
			     url);
		goto done;
	}
	if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		rc = err_set(e, ERR_INVALID, "invalid_url", "url '%.200s' must use http or https",
			     url);
		goto done;
	}
	struct net n;
	const char *kind;
	if (literal_addr(host, &n) && (kind = refused_kind(&n)) && !allowed(&n))
		rc = err_set(e, ERR_INVALID, "invalid_url",
			     "url '%.200s' points to %s address (%s): refused unless the operator "
			     "allows it",
			     url, kind, net_text(a, &n));
done:
	arena_free(a);
	return rc;
}

/* ---- payloads (GitHub's shape for what Plue has) ---- */

/* Text safe for a text column and JSON: NUL and bytes that are not UTF-8
 * become '?'. */
static char *utf8_clean(struct arena *a, const char *s, size_t n)
{
	char *o = arena_alloc(a, n + 1);
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80         ? 1
			     : (c >> 5) == 6  ? 2
			     : (c >> 4) == 14 ? 3
			     : (c >> 3) == 30 ? 4
					      : 0;
		bool ok = len && c && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] >> 6) == 2;
		if (ok && len == 2 && c < 0xc2)
			ok = false;
		if (!ok) {
			o[i++] = '?';
			continue;
		}
		memcpy(o + i, s + i, len);
		i += len;
	}
	o[n] = '\0';
	return o;
}

static json_t *user_obj(const char *login, int64_t id)
{
	json_t *u = json_pack("{s:s,s:s}", "login", login ? login : "ghost", "type", "User");
	if (id)
		json_object_set_new(u, "id", json_integer(id));
	return u;
}

struct ev_repo {
	int64_t id, owner_id;
	const char *owner, *name, *default_branch, *description;
	bool is_private;
};

static int repo_get(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, struct ev_repo *out)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT r.id, u.username, r.name, r.default_branch, r.is_private, "
			      "  r.owner_id, coalesce(r.description, '') "
			      "FROM repositories r JOIN users u ON u.id = r.owner_id WHERE r.id = $1",
			      arena_int(a, repo_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "repository %lld not found",
			       (long long)repo_id);
	*out = (struct ev_repo){
		.id = db_int(res, 0, 0),
		.owner = arena_strdup(a, db_val(res, 0, 1)),
		.name = arena_strdup(a, db_val(res, 0, 2)),
		.default_branch = arena_strdup(a, db_val(res, 0, 3)),
		.is_private = db_bool(res, 0, 4),
		.owner_id = db_int(res, 0, 5),
		.description = arena_strdup(a, db_val(res, 0, 6)),
	};
	return 0;
}

static json_t *repo_obj(const struct ev_repo *r)
{
	char *html = xasprintf("%s/%s/%s", site(), r->owner, r->name);
	char *api = xasprintf("%s/api/repos/%s/%s", site(), r->owner, r->name);
	char *clone = xasprintf("%s.git", html);
	json_t *j = json_pack("{s:I,s:s,s:s++,s:b,s:o,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)r->id,
			      "name", r->name, "full_name", r->owner, "/", r->name, "private",
			      r->is_private, "owner", user_obj(r->owner, r->owner_id), "html_url",
			      html, "url", api, "clone_url", clone, "default_branch",
			      r->default_branch, "description", r->description);
	free(html);
	free(api);
	free(clone);
	return j;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* An issue URL's pull request twin (".../issues/N" → ".../pulls/N"). */
static char *pulls_path(const char *url)
{
	if (!url)
		return NULL;
	const char *x = strstr(url, "/issues/");
	if (!x)
		return xstrdup(url);
	return xasprintf("%.*s/pulls/%s", (int)(x - url), url, x + 8);
}

/* Plue's issue object → GitHub's (user, pull_request links). */
static json_t *issue_obj(json_t *is)
{
	json_t *o = json_pack("{s:O?,s:O?,s:O?,s:O?,s:o,s:O?,s:O?}", "number",
			      json_object_get(is, "number"), "title", json_object_get(is, "title"),
			      "body", json_object_get(is, "body"), "state",
			      json_object_get(is, "state"), "user", user_obj(jstr(is, "author"), 0),
			      "url", json_object_get(is, "url"), "html_url",
			      json_object_get(is, "html_url"));
	if (!o)
		return json_object();
	if (json_is_true(json_object_get(is, "pull_request"))) {
		char *pu = pulls_path(jstr(is, "url")), *ph = pulls_path(jstr(is, "html_url"));
		json_object_set_new(o, "pull_request",
				    json_pack("{s:s?,s:s?}", "url", pu, "html_url", ph));
		free(pu);
		free(ph);
	}
	return o;
}

/* Plue's pull request payload object → GitHub's pull_request. */
static json_t *pull_obj(json_t *pr, const struct ev_repo *r)
{
	json_t *o = issue_obj(pr);
	json_object_del(o, "pull_request");
	bool merged = json_is_true(json_object_get(pr, "merged"));
	json_object_set_new(o, "merged", json_boolean(merged));
	json_object_set(o, "merge_commit_sha",
			json_object_get(pr, "merge_commit_sha") ?: json_null());
	json_object_set_new(o, "draft", json_false());
	json_object_set_new(o, "head",
			    json_pack("{s:s?,s:s?,s:s++}", "ref", jstr(pr, "head_ref"), "sha",
				      jstr(pr, "head_sha"), "label", r->owner, ":",
				      jstr(pr, "head_ref") ?: ""));
	json_object_set_new(o, "base",
			    json_pack("{s:s?,s:s?,s:s++}", "ref", jstr(pr, "base_ref"), "sha",
				      jstr(pr, "base_sha"), "label", r->owner, ":",
				      jstr(pr, "base_ref") ?: ""));
	return o;
}

static const char *iso_time(struct arena *a, git_time_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	char s[32];
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return arena_strdup(a, s);
}

static json_t *commit_obj(struct arena *a, const struct ev_repo *r, git_commit *c)
{
	char sha[GIT_OID_HEXSZ + 1], tree[GIT_OID_HEXSZ + 1];
	git_oid_tostr(sha, sizeof(sha), git_commit_id(c));
	git_oid_tostr(tree, sizeof(tree), git_commit_tree_id(c));
	const git_signature *au = git_commit_author(c), *co = git_commit_committer(c);
	const char *msg = git_commit_message(c) ? git_commit_message(c) : "";
	char *url = xasprintf("%s/%s/%s/commit/%s", site(), r->owner, r->name, sha);
	/* git does not promise UTF-8; JSON needs it */
	json_t *j = json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s}}", "id", sha,
			      "tree_id", tree, "distinct", 1, "message",
			      utf8_clean(a, msg, strlen(msg)), "timestamp",
			      iso_time(a, git_commit_time(c)), "url", url, "author", "name",
			      utf8_clean(a, au->name, strlen(au->name)), "email",
			      utf8_clean(a, au->email, strlen(au->email)), "committer", "name",
			      utf8_clean(a, co->name, strlen(co->name)), "email",
			      utf8_clean(a, co->email, strlen(co->email)));
	free(url);
	return j ? j : json_object();
}

/* The commits a push made reachable from ref (oldest first, at most
 * MAX_PUSH_COMMITS): before..after, or for a new branch the commits no
 * other branch has. */
static void push_commits(struct arena *a, const struct ev_repo *r, const char *ref,
			 const char *before, const char *after, json_t *commits, json_t **head)
{
	git_repository *repo = NULL;
	git_revwalk *walk = NULL;
	git_branch_iterator *it = NULL;
	git_commit *hc = NULL;
	git_oid oid;
	struct err oe = { 0 };
	*head = json_null();
	if (!after || !strcmp(after, SHA1_ZERO) || git_oid_fromstr(&oid, after) ||
	    objects_repo_open(&repo, repo_store_path(a, r->id), &oe) || git_revwalk_new(&walk, repo))
		goto done;
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
	if (git_revwalk_push(walk, &oid))
		goto done;
	git_oid b;
	if (before && strcmp(before, SHA1_ZERO)) {
		if (!git_oid_fromstr(&b, before))
			git_revwalk_hide(walk, &b);
	} else if (!git_branch_iterator_new(&it, repo, GIT_BRANCH_LOCAL)) {
		git_reference *br;
		git_branch_t bt;
		while (!git_branch_next(&br, &bt, it)) {
			if (strcmp(git_reference_name(br), ref) && git_reference_target(br))
				git_revwalk_hide(walk, git_reference_target(br));
			git_reference_free(br);
		}
	}
	json_t *rev = json_array();
	git_oid c;
	while (json_array_size(rev) < MAX_PUSH_COMMITS && !git_revwalk_next(&c, walk)) {
		git_commit *cm;
		if (git_commit_lookup(&cm, repo, &c))
			continue;
		json_array_append_new(rev, commit_obj(a, r, cm));
		git_commit_free(cm);
	}
	for (size_t i = json_array_size(rev); i > 0; i--)
		json_array_append(commits, json_array_get(rev, i - 1));
	json_decref(rev);
	if (!git_commit_lookup(&hc, repo, &oid))
		*head = commit_obj(a, r, hc);
done:
	git_commit_free(hc);
	git_branch_iterator_free(it);
	git_revwalk_free(walk);
}

static json_t *run_obj(PGconn *db, struct arena *a, struct err *e, int64_t run_id,
		       const char *conclusion)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT id, name, workflow_path, run_number, event_type, "
			      "  coalesce(commit_sha, ''), coalesce(ref, ''), "
			      "  " SQL_TS("created_at")
			      ", "
			      "  " SQL_TS("coalesce(finished_at, now())")
			      ", status "
			      "FROM workflow_runs WHERE id = $1",
			      arena_int(a, run_id));
	if (!res || PQntuples(res) != 1)
		return NULL;
	const char *ref = db_val(res, 0, 6);
	if (!strncmp(ref, "refs/heads/", 11))
		ref += 11;
	char *api = xasprintf("%s/api/runs/%lld", site(), (long long)run_id);
	json_t *j = json_pack("{s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id",
			      (json_int_t)run_id, "name", db_val(res, 0, 1), "path",
			      db_val(res, 0, 2), "run_number", (json_int_t)db_int(res, 0, 3),
			      "event", db_val(res, 0, 4), "status", "completed", "conclusion",
			      conclusion ? conclusion : db_val(res, 0, 9), "head_sha",
			      db_val(res, 0, 5), "head_branch", ref, "url", api, "html_url", api,
			      "created_at", db_val(res, 0, 7), "updated_at", db_val(res, 0, 8));
	free(api);
	return j;
}

/* The GitHub event name, action and payload of an outbox event, or
 * *event = NULL when webhooks do not carry it. */
static int payload_build(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			 const char *type, int64_t actor_id, json_t *p, const char **event,
			 const char **action, json_t **out)
{
	*event = NULL;
	*out = NULL;
	struct ev_repo r;
	int rc;
	if ((rc = repo_get(db, a, e, repo_id, &r)))
		return rc == ERR_NOTFOUND ? 0 : rc;
	const char *login = NULL;
	if (actor_id) {
		PGresult *res = db_qv(db, a, e, "SELECT username FROM users WHERE id = $1",
				      arena_int(a, actor_id));
		if (!res)
			return e->code;
		if (PQntuples(res) == 1)
			login = arena_strdup(a, db_val(res, 0, 0));
	}
	if (!login)
		login = jstr(p, "sender") ?: jstr(p, "pusher");
	json_t *o = NULL;
	const char *act = jstr(p, "action");
	if (!strcmp(type, "push")) {
		const char *ref = jstr(p, "ref") ?: "", *before = jstr(p, "before") ?: SHA1_ZERO,
			   *after = jstr(p, "after") ?: SHA1_ZERO;
		json_t *commits = json_array(), *head;
		push_commits(a, &r, ref, before, after, commits, &head);
		char *compare = xasprintf("%s/%s/%s/compare/%.12s...%.12s", site(), r.owner, r.name,
					  before, after);
		o = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:n,s:s,s:o,s:o,s:{s:s,s:n}}", "ref", ref,
			      "before", before, "after", after, "created",
			      json_is_true(json_object_get(p, "created")), "deleted",
			      json_is_true(json_object_get(p, "deleted")), "forced", 0, "base_ref",
			      "compare", compare, "commits", commits, "head_commit", head, "pusher",
			      "name", jstr(p, "pusher") ?: login ?: "ghost", "email");
		free(compare);
		*event = "push";
		act = NULL;
	} else if (!strcmp(type, "pull_request")) {
		json_t *pr = pull_obj(json_object_get(p, "pull_request"), &r);
		if (act && !strcmp(act, "merged")) {
			act = "closed";
			json_object_set_new(pr, "state", json_string("closed"));
			json_object_set_new(pr, "merged", json_true());
		}
		o = json_pack("{s:s,s:O?,s:o}", "action", act ? act : "opened", "number",
			      json_object_get(p, "number"), "pull_request", pr);
		if (json_object_get(p, "changes"))
			json_object_set(o, "changes", json_object_get(p, "changes"));
		*event = "pull_request";
	} else if (!strcmp(type, "pull_request.review")) {
		json_t *rv = json_object_get(p, "review");
		char state[32] = "commented";
		const char *s = jstr(rv, "state");
		for (size_t i = 0; s && s[i] && i < sizeof(state) - 1; i++)
			state[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]),
			state[i + 1] = '\0';
		o = json_pack("{s:s,s:{s:O?,s:s,s:O?,s:o,s:O?},s:o}", "action", "submitted",
			      "review", "id", json_object_get(rv, "id"), "state", state, "body",
			      json_object_get(rv, "body"), "user",
			      user_obj(jstr(rv, "author") ?: login, 0), "commit_id",
			      json_object_get(rv, "commit_sha"), "pull_request",
			      pull_obj(json_object_get(p, "pull_request"), &r));
		*event = "pull_request_review";
		act = "submitted";
	} else if (!strncmp(type, "issue.comment", 13)) {
		json_t *c = json_object_get(p, "comment");
		o = json_pack("{s:s,s:o,s:{s:O?,s:O?,s:o,s:O?,s:O?}}", "action",
			      act ? act : "created", "issue",
			      issue_obj(json_object_get(p, "issue")), "comment", "id",
			      json_object_get(c, "id"), "body", json_object_get(c, "body"), "user",
			      user_obj(jstr(c, "author"), 0), "url", json_object_get(c, "url"),
			      "html_url", json_object_get(c, "html_url"));
		*event = "issue_comment";
	} else if (!strncmp(type, "issue.", 6)) {
		json_t *is = json_object_get(p, "issue");
		if (json_is_true(json_object_get(is, "pull_request")))
			return 0; /* a pull request's labels, assignees ...: not carried */
		o = json_pack("{s:s,s:o}", "action", act ? act : type + 6, "issue", issue_obj(is));
		const char *k;
		json_t *v;
		json_object_foreach(p, k, v)
		{
			if (strcmp(k, "action") && strcmp(k, "issue") && strcmp(k, "repository") &&
			    strcmp(k, "sender") && strcmp(k, "body"))
				json_object_set(o, k, v);
		}
		*event = "issues";
	} else if (!strcmp(type, "workflow_run")) {
		json_t *run = run_obj(db, a, e,
				      (int64_t)json_integer_value(json_object_get(p, "run_id")),
				      jstr(p, "conclusion"));
		if (!run)
			return 0;
		o = json_pack("{s:s,s:o}", "action", "completed", "workflow_run", run);
		*event = "workflow_run";
		act = "completed";
	} else {
		return 0;
	}
	if (!o) {
		*event = NULL;
		return 0;
	}
	json_object_set_new(o, "repository", repo_obj(&r));
	json_object_set_new(o, "sender", user_obj(login, actor_id));
	*action = act ? arena_strdup(a, act) : NULL;
	*out = o;
	return 0;
}

/* ---- fan-out ---- */

/* Fans out one queued event; 1 when one was handled, 0 when none is
 * queued, -1 on a database failure. */
static int fanout_one(PGconn *db, bool *made)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	int ret = -1;
	if (db_begin(db, &e))
		goto done;
	if (!db_query(db, a, &e, "SELECT pg_advisory_xact_lock(" FANOUT_LOCK ")", 0, NULL))
		goto rollback;
	PGresult *res = db_query(db, a, &e,
				 "SELECT q.event_id, coalesce(e.repo_id, 0), e.type, "
				 "coalesce(e.actor_id, 0), e.payload::text FROM webhook_queue q "
				 "JOIN events e ON e.id = q.event_id ORDER BY q.event_id LIMIT 1",
				 0, NULL);
	if (!res)
		goto rollback;
	if (PQntuples(res) == 0) {
		db_rollback(db);
		ret = 0;
		goto done;
	}
	int64_t id = db_int(res, 0, 0), repo_id = db_int(res, 0, 1), actor = db_int(res, 0, 3);
	const char *type = arena_strdup(a, db_val(res, 0, 2));
	json_t *p = json_loads(db_val(res, 0, 4), 0, NULL);
	if (!p)
		p = json_object();
	arena_defer(a, (void (*)(void *))json_decref, p);
	const char *event = NULL, *action = NULL;
	json_t *body = NULL;
	db_query(db, a, &e, "SAVEPOINT ev", 0, NULL);
	if (payload_build(db, a, &e, repo_id, type, actor, p, &event, &action, &body)) {
		log_error("webhooks: event %lld (%s): %s", (long long)id, type, e.msg);
		db_query(db, a, NULL, "ROLLBACK TO SAVEPOINT ev", 0, NULL);
		if (PQstatus(db) != CONNECTION_OK)
			goto rollback;
		err_clear(&e);
		event = NULL;
	}
	if (event) {
		char *text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		res = db_qv(db, a, &e,
			    "INSERT INTO webhook_deliveries (hook_id, event_id, event, action, payload) "
			    "SELECT id, $1, $2, $3, $4 FROM webhooks WHERE repo_id = $5 AND active "
			    "AND ($2 = ANY (events) OR '*' = ANY (events)) ORDER BY id",
			    arena_int(a, id), event, action, text, arena_int(a, repo_id));
		free(text);
		if (!res)
			goto rollback;
		if (atoi(PQcmdTuples(res)) > 0)
			*made = true;
	}
	if (!db_qv(db, a, &e, "DELETE FROM webhook_queue WHERE event_id = $1", arena_int(a, id)))
		goto rollback;
	if (db_commit(db, &e))
		goto done;
	ret = 1;
	goto done;
rollback:
	log_error("webhooks: fan-out: %s", e.msg);
	db_rollback(db);
done:
	arena_free(a);
	return ret;
}

void webhooks_wake(void)
{
	/* every worker (one never started ignores it) */
	for (int i = 0; i < WEBHOOK_WORKERS; i++)
		bg_wake(&workers[i]);
}

/* db_notifies' callback: *ctx (a bool) becomes true on a plue_webhooks
 * notification */
static void note_hooks(void *ctx, PGnotify *n)
{
	if (!strcmp(n->relname, "plue_webhooks"))
		*(bool *)ctx = true;
}

static void fanout_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	while (!bg_stopping(t)) {
		if (!(c = db_reconnect(c, "LISTEN plue_events; LISTEN plue_webhooks",
				       "webhooks fan-out"))) {
			bg_wait(t, 500);
			continue;
		}
		bool made = false;
		while (!bg_stopping(t) && fanout_one(c, &made) == 1)
			;
		if (made)
			webhooks_wake();
		/* notifications the pass's queries read off the socket wait in
		 * libpq, where a poll does not see them: another pass at once */
		bool hooks = false;
		int queued = db_notifies(c, note_hooks, &hooks);
		if (hooks) /* a delivery queued by another process */
			webhooks_wake();
		if (queued != 0)
			continue;
		struct pollfd fds[1] = { { PQsocket(c), POLLIN, 0 } };
		if (bg_poll(t, fds, 1, SCAN_EVERY_MS) < 0)
			break;
		if (fds[0].revents && db_notifies(c, note_hooks, &hooks) > 0 && hooks)
			webhooks_wake();
	}
	if (c)
		PQfinish(c);
}

/* ---- delivery ---- */

struct capture {
	struct buf body, headers;
	size_t seen;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct capture *c = ud;
	size_t n = size * nmemb;
	c->seen += n;
	if (c->seen > WEBHOOK_MAX_READ)
		return 0; /* aborts the transfer */
	if (c->body.len < WEBHOOK_MAX_RESPONSE) {
		size_t k = WEBHOOK_MAX_RESPONSE - c->body.len;
		buf_add(&c->body, ptr, n < k ? n : k);
	}
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct capture *c = ud;
	size_t n = size * nmemb;
	if (c->headers.len + n <= MAX_HEADERS_KEPT)
		buf_add(&c->headers, ptr, n);
	return n;
}

/* The response headers as a JSON object (the last response's; a repeated
 * name keeps its last value). */
static json_t *headers_json(struct arena *a, const struct buf *h)
{
	json_t *o = json_object();
	char *text = utf8_clean(a, h->ptr, h->len);
	char *save = NULL;
	for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		if (!strncmp(line, "HTTP/", 5)) {
			json_object_clear(o);
			continue;
		}
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		for (char *k = line; *k; k++)
			if (*k >= 'A' && *k <= 'Z')
				*k += 32;
		json_object_set_new(o, line, json_string(v));
	}
	return o;
}

struct delivery {
	int64_t id, hook_id, repo_id;
	int attempts;
	const char *guid, *event, *payload, *url, *content_type, *nonce, *cipher;
};

struct outcome {
	bool ok, final;   /* delivered; no retry (refused) */
	bool interrupted; /* the server is stopping: not an attempt */
	json_t *req_headers, *resp_headers;
	const char *req_body, *resp_body, *error;
	long status; /* 0: no response */
	long duration_ms;
};

/* Ends an attempt early when the server stops. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return bg_stopping(&fanout_thread) ? 1 : 0; /* asked with every worker */
}

static void hmac_hex(char out[65], const char *key, const char *data, size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, len, mac, &mlen);
	hex_encode(out, mac, 32);
}

/* One attempt: checks the address, sends, fills o. */
static void attempt(struct arena *a, const struct delivery *d, struct outcome *o)
{
	CURL *cu = NULL;
	struct curl_slist *hdrs = NULL, *resolve = NULL;
	struct capture cap = { 0 };
	struct addrinfo *ai = NULL;
	buf_init(&cap.body, 0);
	buf_init(&cap.headers, 0);
	memset(o, 0, sizeof(*o));
	o->req_headers = json_object();
	const char *body = d->payload;
	if (!strcmp(d->content_type, "form")) {
		char *esc = curl_easy_escape(NULL, d->payload, (int)strlen(d->payload));
		body = arena_printf(a, "payload=%s", esc ? esc : "");
		curl_free(esc);
	}
	o->req_body = body;
	json_object_set_new(o->req_headers, "Content-Type",
			    json_string(!strcmp(d->content_type, "form")
						? "application/x-www-form-urlencoded"
						: "application/json"));
	json_object_set_new(o->req_headers, "User-Agent", json_string("Plue-Hookshot/1"));
	json_object_set_new(o->req_headers, "X-Plue-Event", json_string(d->event));
	json_object_set_new(o->req_headers, "X-Plue-Delivery", json_string(d->guid));
	json_object_set_new(o->req_headers, "X-Plue-Hook-ID", json_string(arena_int(a, d->hook_id)));
	json_object_set_new(o->req_headers, "X-GitHub-Event", json_string(d->event));
	json_object_set_new(o->req_headers, "X-GitHub-Delivery", json_string(d->guid));
	json_object_set_new(o->req_headers, "X-GitHub-Hook-ID",
			    json_string(arena_int(a, d->hook_id)));
	if (d->nonce && d->cipher) {
		const char *secret;
		struct err se = { 0 };
		if (secret_open(a, &se, d->repo_id, "webhook", d->nonce, d->cipher, &secret)) {
			o->error = "the hook's secret does not open";
			o->final = true;
			goto done;
		}
		char hex[65];
		hmac_hex(hex, secret, body, strlen(body));
		json_object_set_new(o->req_headers, "X-Hub-Signature-256",
				    json_string(arena_printf(a, "sha256=%s", hex)));
	}

	/* the address: resolved here, checked, and pinned */
	const char *scheme, *host;
	long port;
	if (url_split(a, d->url, &scheme, &host, &port)) {
		o->error = "the url does not parse";
		o->final = true;
		goto done;
	}
	struct net n;
	const char *pinned = NULL;
	if (literal_addr(host, &n)) {
		const char *kind = refused_kind(&n);
		if (kind && !allowed(&n)) {
			o->error = arena_printf(a,
						"refused: '%s' is %s address; no connection was made",
						net_text(a, &n), kind);
			o->final = true;
			goto done;
		}
	} else {
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
		int gr = getaddrinfo(host, NULL, &hints, &ai);
		if (gr || !ai) {
			o->error = arena_printf(a, "cannot resolve host '%.200s': %s", host,
						gai_strerror(gr));
			goto done;
		}
		for (struct addrinfo *p = ai; p; p = p->ai_next) {
			struct net m;
			if (p->ai_family == AF_INET)
				net_addr_norm(&m, AF_INET,
					      &((struct sockaddr_in *)p->ai_addr)->sin_addr);
			else if (p->ai_family == AF_INET6)
				net_addr_norm(&m, AF_INET6,
					      &((struct sockaddr_in6 *)p->ai_addr)->sin6_addr);
			else
				continue;
			const char *kind = refused_kind(&m);
			if (kind && !allowed(&m)) {
				o->error = arena_printf(a,
							"refused: host '%.200s' resolves to %s, %s "
							"address; no connection was made",
							host, net_text(a, &m), kind);
				o->final = true;
				goto done;
			}
			if (!pinned)
				pinned = m.family == AF_INET6
						 ? arena_printf(a, "[%s]", net_text(a, &m))
						 : net_text(a, &m);
		}
		if (!pinned) {
			o->error = arena_printf(a, "cannot resolve host '%.200s'", host);
			goto done;
		}
		resolve = curl_slist_append(NULL, arena_printf(a, "%s:%ld:%s", host, port, pinned));
	}

	cu = curl_easy_init();
	const char *k;
	json_t *v;
	json_object_foreach(o->req_headers, k, v)
		hdrs = curl_slist_append(hdrs, arena_printf(a, "%s: %s", k, json_string_value(v)));
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, "Accept: */*");
	curl_easy_setopt(cu, CURLOPT_URL, d->url);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(cu, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS,
			 (long)(cfg.webhook_timeout_ms > 0 ? cfg.webhook_timeout_ms : 10000));
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(cfg.webhook_timeout_ms > 0 ? cfg.webhook_timeout_ms : 10000));
	if (resolve)
		curl_easy_setopt(cu, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(cu, CURLOPT_POST, 1L);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &cap);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, &cap);
	curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION, on_progress);
	int64_t t0 = now_ms();
	CURLcode cr = curl_easy_perform(cu);
	o->duration_ms = (long)(now_ms() - t0);
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &o->status);
	if (cap.headers.len)
		o->resp_headers = headers_json(a, &cap.headers);
	o->resp_body = utf8_clean(a, cap.body.ptr ? cap.body.ptr : "", cap.body.len);
	if (cr == CURLE_OPERATION_TIMEDOUT)
		o->error = arena_printf(a, "timed out after %ld ms", o->duration_ms);
	else if (cr == CURLE_WRITE_ERROR && cap.seen > WEBHOOK_MAX_READ)
		o->error = arena_printf(a, "the response is larger than %d bytes", WEBHOOK_MAX_READ);
	else if (cr == CURLE_ABORTED_BY_CALLBACK)
		o->interrupted = true;
	else if (cr != CURLE_OK)
		o->error = arena_printf(a, "%s", curl_easy_strerror(cr));
	else if (o->status < 200 || o->status > 299)
		o->error = arena_printf(a, "the receiver answered %ld", o->status);
	else
		o->ok = true;
done:
	if (ai)
		freeaddrinfo(ai);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(resolve);
	if (cu)
		curl_easy_cleanup(cu);
	buf_release(&cap.body);
	buf_release(&cap.headers);
}

static long backoff_ms(int attempts)
{
	long base = cfg.webhook_retry_base_ms > 0 ? cfg.webhook_retry_base_ms : 10000;
	long ms = base;
	for (int i = 1; i < attempts && ms < MAX_BACKOFF_MS; i++)
		ms *= 3;
	return ms < MAX_BACKOFF_MS ? ms : MAX_BACKOFF_MS;
}

static const char *json_text(struct arena *a, json_t *j)
{
	if (!j)
		return NULL;
	char *s = json_dumps(j, JSON_COMPACT);
	const char *r = s ? arena_strdup(a, s) : NULL;
	free(s);
	return r;
}

/* Claims and attempts one due delivery; 1 when one was attempted, 0 when
 * none is due, -1 on a database failure. */
static int deliver_one(PGconn *db)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	int ret = -1;
	if (db_begin(db, &e))
		goto done;
	PGresult *res = db_query(
		db, a, &e,
		"SELECT d.id, d.hook_id, h.repo_id, d.attempts, d.guid, d.event, d.payload, h.url, "
		"  h.content_type, h.secret_nonce, h.secret_cipher "
		"FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id "
		"WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND h.active "
		"  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.hook_id = d.hook_id "
		"    AND p.status = 'pending' AND p.id < d.id) "
		"ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
		0, NULL);
	if (!res)
		goto rollback;
	if (PQntuples(res) == 0) {
		db_rollback(db);
		ret = 0;
		goto done;
	}
	struct delivery d = {
		.id = db_int(res, 0, 0),
		.hook_id = db_int(res, 0, 1),
		.repo_id = db_int(res, 0, 2),
		.attempts = (int)db_int(res, 0, 3) + 1,
		.guid = arena_strdup(a, db_val(res, 0, 4)),
		.event = arena_strdup(a, db_val(res, 0, 5)),
		.payload = arena_strdup(a, db_val(res, 0, 6)),
		.url = arena_strdup(a, db_val(res, 0, 7)),
		.content_type = arena_strdup(a, db_val(res, 0, 8)),
		.nonce = db_val(res, 0, 9) ? arena_strdup(a, db_val(res, 0, 9)) : NULL,
		.cipher = db_val(res, 0, 10) ? arena_strdup(a, db_val(res, 0, 10)) : NULL,
	};
	struct outcome o;
	attempt(a, &d, &o); /* the row stays locked meanwhile: now() is the claim's time */
	if (o.interrupted) {
		/* sent again after the restart: at least once */
		json_decref(o.req_headers);
		json_decref(o.resp_headers);
		db_rollback(db);
		ret = 0;
		goto done;
	}
	const char *status = o.ok                                              ? "delivered"
			     : (o.final || d.attempts >= WEBHOOK_MAX_ATTEMPTS) ? "failed"
									       : "pending";
	long wait = o.ok || o.final ? 0 : backoff_ms(d.attempts);
	const char *rh = json_text(a, o.req_headers), *sh = json_text(a, o.resp_headers);
	json_decref(o.req_headers);
	json_decref(o.resp_headers);
	if (!db_qv(db, a, &e,
		   "UPDATE webhook_deliveries SET attempts = $2, status = $3, next_attempt_at = "
		   "clock_timestamp() + make_interval(secs => $4::bigint / 1000.0), finished_at = "
		   "CASE WHEN $3 = 'pending' THEN NULL ELSE clock_timestamp() END, "
		   "request_headers = $5::jsonb, request_body = $6, response_status = $7, "
		   "response_headers = $8::jsonb, response_body = $9, duration_ms = $10, "
		   "error = $11 WHERE id = $1",
		   arena_int(a, d.id), arena_int(a, d.attempts), status, arena_int(a, wait), rh,
		   o.req_body, arena_id(a, o.status), sh, o.status ? o.resp_body : NULL,
		   arena_int(a, o.duration_ms), o.error))
		goto rollback;
	if (db_commit(db, &e))
		goto done;
	if (o.ok)
		log_debug("webhook %lld: delivery %lld (%s) delivered", (long long)d.hook_id,
			  (long long)d.id, d.event);
	else
		log_info("webhook %lld: delivery %lld (%s) attempt %d: %s%s", (long long)d.hook_id,
			 (long long)d.id, d.event, d.attempts, o.error ? o.error : "failed",
			 !strcmp(status, "failed") ? " (given up)" : "");
	ret = 1;
	goto done;
rollback:
	log_error("webhooks: delivery: %s", e.msg);
	db_rollback(db);
done:
	arena_free(a);
	return ret;
}

/* Milliseconds until the next due delivery that can be attempted (not
 * held back by an earlier one, not in flight), at most IDLE_WAIT_MS. */
static long next_due_ms(PGconn *db)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	long ms = IDLE_WAIT_MS;
	PGresult *res = db_query(
		db, a, &e,
		"SELECT ceil(extract(epoch FROM d.next_attempt_at - now()) * 1000)::bigint "
		"FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id "
		"WHERE d.status = 'pending' AND h.active AND NOT EXISTS (SELECT 1 FROM "
		"webhook_deliveries p WHERE p.hook_id = d.hook_id AND p.status = 'pending' AND "
		"p.id < d.id) ORDER BY d.next_attempt_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
		0, NULL);
	if (res && PQntuples(res) == 1) {
		long v = (long)db_int(res, 0, 0);
		ms = v < 10 ? 10 : v < ms ? v : ms;
	}
	arena_free(a);
	return ms;
}

static void worker_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	while (!bg_stopping(t)) {
		if (!(c = db_reconnect(c, NULL, "webhooks worker"))) {
			bg_wait(t, 500);
			continue;
		}
		while (!bg_stopping(t) && deliver_one(c) == 1)
			;
		if (bg_stopping(t))
			break;
		/* a wake-up that came during the deliveries cuts this short */
		bg_wait(t, (int)next_due_ms(c));
	}
	if (c)
		PQfinish(c);
}

int webhooks_start(void)
{
	struct err e = { 0 };
	if (webhook_allow_nets_check(&e)) {
		log_error("%s", e.msg);
		return -1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (bg_start(&fanout_thread, "webhook fan-out", fanout_main, NULL))
		return -1;
	for (nworkers = 0; nworkers < WEBHOOK_WORKERS; nworkers++)
		if (bg_start(&workers[nworkers], "webhook worker", worker_main, NULL))
			break;
	return 0;
}

void webhooks_stop(void)
{
	if (!bg_running(&fanout_thread))
		return;
	/* every thread at once: a delivery in flight ends early (on_progress) */
	bg_ask_stop(&fanout_thread);
	for (int i = 0; i < nworkers; i++)
		bg_ask_stop(&workers[i]);
	bg_stop(&fanout_thread);
	for (int i = 0; i < nworkers; i++)
		bg_stop(&workers[i]);
}

/* ---- rows written for the API and the runs ---- */

int webhooks_ping(PGconn *db, struct arena *a, struct err *e, int64_t hook_id)
{
	PGresult *res = db_qv(
		db, a, e,
		"SELECT h.id, h.repo_id, h.url, h.content_type, array_to_json(h.events)::text, "
		"  h.active, coalesce(h.created_by, 0), coalesce(u.username, 'ghost'), "
		"  " SQL_TS("h.created_at")
		", "
		"  " SQL_TS("h.updated_at")
		" "
		"FROM webhooks h LEFT JOIN users u ON u.id = h.created_by WHERE h.id = $1",
		arena_int(a, hook_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "hook %lld not found", (long long)hook_id);
	struct ev_repo r;
	int rc;
	if ((rc = repo_get(db, a, e, db_int(res, 0, 1), &r)))
		return rc;
	json_t *events = json_loads(db_val(res, 0, 4), 0, NULL);
	json_t *p = json_pack("{s:s,s:I,s:{s:s,s:I,s:s,s:b,s:o,s:{s:s,s:s,s:s},s:s,s:s},s:o,s:o}",
			      "zen", "Keep it logically awesome.", "hook_id", (json_int_t)hook_id,
			      "hook", "type", "Repository", "id", (json_int_t)hook_id, "name", "web",
			      "active", db_bool(res, 0, 5), "events", events ? events : json_array(),
			      "config", "url", db_val(res, 0, 2), "content_type", db_val(res, 0, 3),
			      "insecure_ssl", "0", "created_at", db_val(res, 0, 8), "updated_at",
			      db_val(res, 0, 9), "repository", repo_obj(&r), "sender",
			      user_obj(db_val(res, 0, 7), db_int(res, 0, 6)));
	char *text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	res = db_qv(db, a, e,
		    "INSERT INTO webhook_deliveries (hook_id, event, payload) VALUES ($1, 'ping', $2)",
		    arena_int(a, hook_id), text);
	free(text);
	if (!res)
		return e->code;
	return db_qv(db, a, e, "SELECT pg_notify('plue_webhooks', $1)", arena_int(a, hook_id))
		       ? 0
		       : e->code;
}

int webhooks_redeliver(PGconn *db, struct arena *a, struct err *e, int64_t hook_id,
		       int64_t delivery_id, int64_t *out)
{
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO webhook_deliveries (hook_id, event_id, event, action, "
			      "payload, redelivery_of) SELECT hook_id, event_id, event, action, "
			      "payload, id FROM webhook_deliveries WHERE id = $2 AND hook_id = $1 "
			      "RETURNING id",
			      arena_int(a, hook_id), arena_int(a, delivery_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "delivery %lld of hook %lld not found",
			       (long long)delivery_id, (long long)hook_id);
	*out = db_int(res, 0, 0);
	return db_qv(db, a, e, "SELECT pg_notify('plue_webhooks', $1)", arena_int(a, hook_id))
		       ? 0
		       : e->code;
}

int webhooks_run_event(PGconn *db, struct arena *a, struct err *e, int64_t run_id,
		       const char *conclusion)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT repo_id, coalesce(actor_id, 0) FROM workflow_runs WHERE id = $1",
			      arena_int(a, run_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return 0; /* the run's repository is gone */
	struct auth who = { .user_id = db_int(res, 0, 1) };
	struct forge f = { .db = db, .arena = a, .err = e, .who = &who };
	return forge_event(NULL, &f, db_int(res, 0, 0), "workflow_run",
			   json_pack("{s:s,s:I,s:s}", "action", "completed", "run_id",
				     (json_int_t)run_id, "conclusion", conclusion));
}
