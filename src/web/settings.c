/* settings.c — a new repository and the caller's own account: profile,
 * personal access tokens, SSH keys and browser sessions (web/settings.h).
 * The rules are the domain's (forge/forge.h, forge/users.h); these pages
 * read the forms and write HTML. */
#include "web/settings.h"

#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "auth/sshkey.h"
#include "forge/users.h"

/* ---- shared ---- */

int settings_field(const char **out, struct req *r, const char *name, size_t max, bool required)
{
	const char *v = web_form(r, name);
	*out = v;
	if (required && (!v || !*v))
		return err_set(&r->err, ERR_INVALID, "missing_field", "field '%s' is required", name);
	if (v && strlen(v) > max)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' may be at most %zu bytes", name, max);
	return 0;
}

bool settings_refused(struct req *r, struct resp *w, int rc, const char **msg)
{
	if (rc != ERR_INVALID && rc != ERR_EXISTS && rc != ERR_NOTFOUND && rc != ERR_CONFLICT)
		return false;
	*msg = page_err_take(r, w, rc);
	return true;
}

void settings_textarea(struct buf *b, const char *s)
{
	struct buf t = BUF_INIT;
	for (; s && *s; s++)
		if (!(s[0] == '\r' && s[1] == '\n'))
			buf_addch(&t, *s);
	html_attr(b, t.len ? t.ptr : "");
	buf_release(&t);
}

void settings_saved_notice(struct view *p, const char *text)
{
	if (!req_query(p->r, "saved"))
		return;
	html_lit(p->b, "<p class=\"notice\" role=\"status\">");
	html_txt(p->b, text);
	html_lit(p->b, "</p>");
}

/* A text input: label, the message beside it when msg_field is this
 * field, the value kept. */
static void input(struct view *p, const char *id, const char *label, const char *type,
		  const char *value, const char *extra, const char *msg_field, const char *msg)
{
	struct buf *b = p->b;
	html_lit(b, "<label for=\"");
	html_attr(b, id);
	html_lit(b, "\">");
	html_lit(b, label);
	html_lit(b, "</label>");
	if (msg_field && !strcmp(msg_field, id))
		page_field_error(p, id, msg);
	html_lit(b, "<input id=\"");
	html_attr(b, id);
	html_lit(b, "\" name=\"");
	html_attr(b, id);
	html_lit(b, "\" type=\"");
	html_lit(b, type);
	html_lit(b, "\" value=\"");
	html_attr(b, value ? value : "");
	html_lit(b, "\"");
	if (msg_field && !strcmp(msg_field, id)) {
		html_lit(b, " aria-invalid=\"true\" aria-describedby=\"");
		html_attr(b, id);
		html_lit(b, "-error\"");
	}
	if (extra) {
		html_lit(b, " ");
		html_lit(b, extra);
	}
	html_lit(b, ">");
}

/* ---- a new repository ---- */

static int new_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	struct view p;
	bool post = r->method == HTTP_POST;
	const char *vis = post ? web_form(r, "visibility") : NULL;
	bool priv = vis && !strcmp(vis, "private");
	page_begin(&p, r, w, "New repository", NULL);
	struct buf *b = p.b;
	html_lit(b, "<h1>New repository</h1><form method=\"post\" action=\"/new\" class=\"stack\">");
	page_csrf_field(&p);
	if (field && !strcmp(field, "form"))
		page_field_error(&p, "form", msg);
	html_lit(b, "<p class=\"mute\">Owner: ");
	html_txt(b, r->auth.username);
	html_lit(b, "</p>");
	input(&p, "name", "Name", "text", post ? web_form(r, "name") : "",
	      "required maxlength=\"100\" autocomplete=\"off\"", field, msg);
	input(&p, "description", "Description <span class=\"mute\">(optional)</span>", "text",
	      post ? web_form(r, "description") : "", "maxlength=\"1000\"", field, msg);
	html_lit(b, "<fieldset><legend>Visibility</legend>"
		    "<input type=\"radio\" id=\"vis-public\" name=\"visibility\" value=\"public\"");
	if (!priv)
		html_lit(b, " checked");
	html_lit(b, "> <label class=\"plain\" for=\"vis-public\">Public: anyone can read it</label>"
		    "<br><input type=\"radio\" id=\"vis-private\" name=\"visibility\" "
		    "value=\"private\"");
	if (priv)
		html_lit(b, " checked");
	html_lit(b, "> <label class=\"plain\" for=\"vis-private\">Private: only you and the "
		    "collaborators you add</label></fieldset>"
		    "<p><button>Create repository</button></p></form>");
	return page_end(&p);
}

int web_repo_new_form(struct req *r, struct resp *w)
{
	return new_page(r, w, NULL, NULL);
}

int web_repo_new(struct req *r, struct resp *w)
{
	const char *name, *desc, *vis;
	struct repo *repo;
	int rc;
	if (!(rc = settings_field(&name, r, "name", 100, true)) &&
	    !(rc = settings_field(&desc, r, "description", 1000, false)) &&
	    !(rc = settings_field(&vis, r, "visibility", 20, false)))
		rc = repo_create(&repo, FORGE(r), name, desc, NULL, vis && !strcmp(vis, "private"));
	if (!rc) {
		return page_redirect(w, page_repo_path(r, repo, NULL));
	}
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	const char *field = strstr(msg, "description") ? "description" : "name";
	return new_page(r, w, field, msg);
}

/* ---- the account's pages ---- */

/* The account's pages begin alike: the title, the heading and the
 * navigation between them with the current one marked. */
static void account_begin(struct view *p, struct req *r, struct resp *w, const char *cur,
			  const char *title)
{
	static const char *const pages[][2] = {
		{ "/settings", "Profile" },
		{ "/settings/tokens", "Access tokens" },
		{ "/settings/keys", "SSH keys" },
		{ "/settings/sessions", "Sessions" },
	};
	page_begin(p, r, w, title, NULL);
	struct buf *b = p->b;
	struct page_tab t[4];
	for (size_t i = 0; i < 4; i++)
		t[i] = (struct page_tab){ pages[i][0], pages[i][1], !strcmp(cur, pages[i][0]) };
	html_lit(b, "<h1>Settings</h1>");
	page_subnav(p, "tabs subnav", "settings", t, 4);
	html_lit(b, "<h2>");
	html_txt(b, title);
	html_lit(b, "</h2>");
}

/* ---- profile ---- */

static int account_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	json_t *u;
	int rc = user_json_load(&u, FORGE(r), r->auth.user_id);
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, u);
	bool post = r->method == HTTP_POST;
	const char *username = post ? web_form(r, "username")
				    : json_string_value(json_object_get(u, "username"));
	const char *email = post ? web_form(r, "email")
				 : json_string_value(json_object_get(u, "email"));
	struct view p;
	account_begin(&p, r, w, "/settings", "Profile");
	settings_saved_notice(&p, "Your profile was saved.");
	html_lit(p.b, "<form method=\"post\" action=\"/settings\" class=\"stack\">");
	page_csrf_field(&p);
	input(&p, "username", "Username", "text", username,
	      "required maxlength=\"100\" autocomplete=\"username\"", field, msg);
	input(&p, "email", "Email <span class=\"mute\">(optional)</span>", "email", email,
	      "maxlength=\"254\" autocomplete=\"email\"", field, msg);
	const char *eth = json_string_value(json_object_get(u, "eth_address"));
	if (eth) {
		html_lit(p.b, "<p class=\"mute\">Ethereum address: <span class=\"mono\">");
		html_txt(p.b, eth);
		html_lit(p.b, "</span></p>");
	}
	html_lit(p.b, "<p><button>Save profile</button></p></form>");
	return page_end(&p);
}

int web_account(struct req *r, struct resp *w)
{
	return account_page(r, w, NULL, NULL);
}

int web_account_save(struct req *r, struct resp *w)
{
	struct user_update in = { 0 };
	json_t *u;
	int rc;
	if (!(rc = settings_field(&in.username, r, "username", 100, true)) &&
	    !(rc = settings_field(&in.email, r, "email", 254, false)))
		rc = user_update(&u, FORGE(r), &in);
	if (!rc) {
		json_decref(u);
		return page_redirect(w, "/settings?saved=1");
	}
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	return account_page(r, w, strstr(msg, "email") ? "email" : "username", msg);
}

/* ---- access tokens ---- */

/* The scopes a token may be given, as the form offers them. */
static const char *const token_scopes[][2] = {
	{ "repo:read", "repo:read — read repositories, issues and pull requests" },
	{ "repo:write", "repo:write — push, and write issues and pull requests" },
	{ "user", "user — manage this account, its tokens and keys" },
	{ "admin", "admin — administer the site (site administrators only)" },
};

static void scopes_text(struct buf *b, json_t *scopes)
{
	size_t i;
	json_t *s;
	json_array_foreach(scopes, i, s)
	{
		if (i)
			html_lit(b, ", ");
		html_txt(b, json_string_value(s));
	}
}

/* The tokens page; created (may be NULL) is a token just made, whose
 * secret is shown this once. */
static int tokens_page(struct req *r, struct resp *w, json_t *created, const char *field,
		       const char *msg)
{
	json_t *list;
	int rc = user_token_list(&list, FORGE(r));
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, list);
	struct view p;
	account_begin(&p, r, w, "/settings/tokens", "Access tokens");
	struct buf *b = p.b;
	if (created) {
		html_lit(b, "<div class=\"notice\" role=\"status\"><p>Token <strong>");
		html_txt(b, json_string_value(json_object_get(created, "name")));
		html_lit(b, "</strong> was created. Copy it now: it is shown only this once.</p>"
			    "<p><label for=\"new-token\">Your new token</label> <input "
			    "id=\"new-token\" class=\"mono wide\" readonly value=\"");
		html_attr(b, json_string_value(json_object_get(created, "token")));
		html_lit(b, "\"></p></div>");
	}
	settings_saved_notice(&p, "The token was deleted.");
	html_lit(b, "<p>Tokens let scripts and git use the API as you: send one as "
		    "<code>Authorization: Bearer TOKEN</code>, or as the password over HTTPS.</p>");
	page_table_open(&p, "Your tokens",
			(const char *const[]){ "Name", "Scopes", "Created", "Last used", "Expires",
					       "", NULL });
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t)
	{
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *used = json_string_value(json_object_get(t, "last_used_at"));
		const char *exp = json_string_value(json_object_get(t, "expires_at"));
		long long id = (long long)json_integer_value(json_object_get(t, "id"));
		html_lit(b, "<tr><td>");
		html_txt(b, name);
		html_lit(b, "</td><td>");
		scopes_text(b, json_object_get(t, "scopes"));
		html_lit(b, "</td><td>");
		page_time(&p, json_string_value(json_object_get(t, "created_at")));
		html_lit(b, "</td><td>");
		if (used)
			page_time(&p, used);
		else
			html_lit(b, "<span class=\"mute\">never</span>");
		html_lit(b, "</td><td>");
		if (exp)
			html_txt(b, exp);
		else
			html_lit(b, "<span class=\"mute\">never</span>");
		if (json_is_true(json_object_get(t, "expired")))
			html_lit(b, " <span class=\"badge closed\">expired</span>");
		html_lit(b, "</td><td>");
		page_form_open(&p, arena_printf(r->arena, "/settings/tokens/%lld/delete", id));
		html_lit(b, "<button class=\"danger\" aria-label=\"Delete token ");
		html_attr(b, name);
		html_lit(b, "\">Delete</button></form></td></tr>");
	}
	if (!json_array_size(list))
		html_lit(b, "<tr><td colspan=\"6\" class=\"mute\">No tokens yet.</td></tr>");
	html_lit(b, "</tbody></table><h3>New token</h3>"
		    "<form method=\"post\" action=\"/settings/tokens\" class=\"stack\">");
	page_csrf_field(&p);
	bool post = r->method == HTTP_POST && !created;
	input(&p, "name", "Name", "text", post ? web_form(r, "name") : "",
	      "required maxlength=\"100\"", field, msg);
	html_lit(b, "<fieldset><legend>Scopes</legend>");
	if (field && !strcmp(field, "scopes"))
		page_field_error(&p, "scopes", msg);
	for (size_t k = 0; k < sizeof(token_scopes) / sizeof(token_scopes[0]); k++) {
		if (!strcmp(token_scopes[k][0], "admin") && !r->auth.is_admin)
			continue;
		bool on = false;
		if (post) {
			size_t j = 0;
			const char *v;
			while ((v = web_form_next(r, "scopes", &j)))
				on = on || !strcmp(v, token_scopes[k][0]);
		} else {
			on = !strcmp(token_scopes[k][0], "repo:read");
		}
		html_lit(b, "<input type=\"checkbox\" name=\"scopes\" id=\"scope-");
		html_attr(b, token_scopes[k][0]);
		html_lit(b, "\" value=\"");
		html_attr(b, token_scopes[k][0]);
		html_lit(b, on ? "\" checked> " : "\"> ");
		html_lit(b, "<label class=\"plain\" for=\"scope-");
		html_attr(b, token_scopes[k][0]);
		html_lit(b, "\">");
		html_txt(b, token_scopes[k][1]);
		html_lit(b, "</label><br>");
	}
	html_lit(b, "</fieldset>");
	input(&p, "expires_at", "Expires <span class=\"mute\">(optional)</span>", "date",
	      post ? web_form(r, "expires_at") : "", NULL, field, msg);
	html_lit(b, "<p><button>Create token</button></p></form>");
	if (created) {
		/* the secret is in this page: no cache may keep it, and a POST's
		 * answer is the only way to show it once (a redirect's URL would
		 * carry it into history and logs) */
		resp_header(w, "Cache-Control", "no-store");
		w->status = 201;
	}
	return page_end(&p);
}

int web_tokens(struct req *r, struct resp *w)
{
	return tokens_page(r, w, NULL, NULL, NULL);
}

int web_token_create(struct req *r, struct resp *w)
{
	const char *name, *expires;
	unsigned scopes = 0;
	json_t *tok = NULL;
	int rc;
	struct buf csv = BUF_INIT;
	size_t i = 0;
	const char *v;
	while ((v = web_form_next(r, "scopes", &i)))
		buf_addf(&csv, "%s%s", csv.len ? "," : "", v);
	const char *field = "name";
	if (!(rc = settings_field(&name, r, "name", 100, true)) &&
	    !(rc = settings_field(&expires, r, "expires_at", 64, false))) {
		field = "scopes";
		if (!(rc = scopes_parse(csv.ptr, &scopes, &r->err))) {
			field = "expires_at";
			rc = user_token_create(&tok, FORGE(r), name, scopes,
					       expires && *expires ? expires : NULL);
		}
	}
	buf_release(&csv);
	if (!rc) {
		arena_defer(r->arena, (void (*)(void *))json_decref, tok);
		/* shown directly, not redirected: see tokens_page */
		return tokens_page(r, w, tok, NULL, NULL);
	}
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	if (strstr(msg, "'name'"))
		field = "name";
	int status = w->status;
	rc = tokens_page(r, w, NULL, field, msg);
	w->status = status;
	return rc;
}

int web_token_delete(struct req *r, struct resp *w)
{
	int rc = user_token_delete(FORGE(r), req_param(r, "id"));
	if (rc)
		return rc;
	return page_redirect(w, "/settings/tokens?saved=1");
}

/* ---- SSH keys ---- */

static int keys_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	json_t *list;
	int rc = user_key_list(&list, FORGE(r));
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, list);
	struct view p;
	account_begin(&p, r, w, "/settings/keys", "SSH keys");
	struct buf *b = p.b;
	settings_saved_notice(&p, "The key was deleted.");
	page_table_open(&p, "Keys that may push and pull over SSH as you",
			(const char *const[]){ "Name", "Type", "Fingerprint", "Added", "Last used",
					       "", NULL });
	size_t i;
	json_t *k;
	json_array_foreach(list, i, k)
	{
		const char *name = json_string_value(json_object_get(k, "name"));
		const char *used = json_string_value(json_object_get(k, "last_used_at"));
		long long id = (long long)json_integer_value(json_object_get(k, "id"));
		html_lit(b, "<tr><td>");
		html_txt(b, name);
		html_lit(b, "</td><td>");
		html_txt(b, json_string_value(json_object_get(k, "type")));
		html_txtf(b, " (%lld bits)",
			  (long long)json_integer_value(json_object_get(k, "bits")));
		html_lit(b, "</td><td class=\"mono\">");
		html_txt(b, json_string_value(json_object_get(k, "fingerprint")));
		html_lit(b, "</td><td>");
		page_time(&p, json_string_value(json_object_get(k, "created_at")));
		html_lit(b, "</td><td>");
		if (used)
			page_time(&p, used);
		else
			html_lit(b, "<span class=\"mute\">never</span>");
		html_lit(b, "</td><td>");
		page_form_open(&p, arena_printf(r->arena, "/settings/keys/%lld/delete", id));
		html_lit(b, "<button class=\"danger\" aria-label=\"Delete key ");
		html_attr(b, name);
		html_lit(b, "\">Delete</button></form></td></tr>");
	}
	if (!json_array_size(list))
		html_lit(b, "<tr><td colspan=\"6\" class=\"mute\">No keys yet.</td></tr>");
	html_lit(b, "</tbody></table><h3>Add a key</h3>"
		    "<form method=\"post\" action=\"/settings/keys\" class=\"stack\">");
	page_csrf_field(&p);
	bool post = r->method == HTTP_POST;
	input(&p, "name", "Name <span class=\"mute\">(optional: the key's comment)</span>", "text",
	      post ? web_form(r, "name") : "", "maxlength=\"100\"", field, msg);
	html_lit(b, "<label for=\"key\">Public key <span class=\"mute\">(one line of a .pub "
		    "file)</span></label>");
	if (field && !strcmp(field, "key"))
		page_field_error(&p, "key", msg);
	html_lit(b, "<textarea id=\"key\" name=\"key\" class=\"mono\" required "
		    "spellcheck=\"false\">");
	settings_textarea(b, post ? web_form(r, "key") : NULL);
	html_lit(b, "</textarea><p><button>Add key</button></p></form>");
	return page_end(&p);
}

int web_keys(struct req *r, struct resp *w)
{
	return keys_page(r, w, NULL, NULL);
}

int web_key_add(struct req *r, struct resp *w)
{
	const char *text, *name;
	json_t *key;
	int rc;
	if (!(rc = settings_field(&name, r, "name", 100, false)) &&
	    !(rc = settings_field(&text, r, "key", SSHKEY_MAX_LEN, true)))
		rc = user_key_create(&key, FORGE(r), text, name);
	if (!rc) {
		json_decref(key);
		return page_redirect(w, "/settings/keys");
	}
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	return keys_page(r, w, strstr(msg, "'name'") ? "name" : "key", msg);
}

int web_key_delete(struct req *r, struct resp *w)
{
	int rc = user_key_delete(FORGE(r), req_param(r, "id"));
	if (rc)
		return rc;
	return page_redirect(w, "/settings/keys?saved=1");
}

/* ---- browser sessions ---- */

int web_sessions(struct req *r, struct resp *w)
{
	json_t *list;
	int rc = user_session_list(&list, FORGE(r));
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, list);
	struct view p;
	account_begin(&p, r, w, "/settings/sessions", "Sessions");
	struct buf *b = p.b;
	html_lit(b, "<p>The browsers signed in as you. Access tokens are not sessions: delete "
		    "them under <a href=\"/settings/tokens\">Access tokens</a>.</p>");
	page_table_open(&p, "Signed-in browsers",
			(const char *const[]){ "Browser", "Address", "Signed in", "Last seen",
					       "With", NULL });
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
	{
		const char *ua = json_string_value(json_object_get(s, "user_agent"));
		html_lit(b, "<tr><td>");
		html_txt(b, ua && *ua ? ua : "unknown");
		if (json_is_true(json_object_get(s, "current")))
			html_lit(b, " <span class=\"badge open\">this browser</span>");
		html_lit(b, "</td><td class=\"mono\">");
		html_txt(b, json_string_value(json_object_get(s, "ip")));
		html_lit(b, "</td><td>");
		page_time(&p, json_string_value(json_object_get(s, "created_at")));
		html_lit(b, "</td><td>");
		page_time(&p, json_string_value(json_object_get(s, "last_seen_at")));
		html_lit(b, "</td><td>");
		html_lit(b, !strcmp(json_string_value(json_object_get(s, "method")), "siwe")
				    ? "Ethereum wallet"
				    : "password");
		html_lit(b, "</td></tr>");
	}
	html_lit(b, "</tbody></table><h3>Sign out everywhere</h3><p>Ends every session, this "
		    "one included; you will have to sign in again.</p>"
		    "<form method=\"post\" action=\"/logout-all\">");
	page_csrf_field(&p);
	html_lit(b, "<button class=\"danger\">Sign out everywhere</button></form>");
	return page_end(&p);
}
