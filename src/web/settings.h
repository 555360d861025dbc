/* settings.h — the pages of settings: a new repository, the caller's own
 * account (profile, access tokens, SSH keys, browser sessions;
 * web/settings.c) and a repository's settings (description, visibility,
 * default branch, collaborators, branch protection, secrets, webhooks,
 * deletion;
 * web/repo_settings.c). Every form posts to its page or a sub-path, and
 * answers with a 303 back, or the form again with the refusal beside the
 * field it concerns. */
#ifndef PLUE_WEB_SETTINGS_H
#define PLUE_WEB_SETTINGS_H

#include "web/web.h"

/* /new */
int web_repo_new_form(struct req *r, struct resp *w);
int web_repo_new(struct req *r, struct resp *w);

/* /settings, /settings/tokens, /settings/keys, /settings/sessions */
int web_account(struct req *r, struct resp *w);
int web_account_save(struct req *r, struct resp *w);
int web_tokens(struct req *r, struct resp *w);
int web_token_create(struct req *r, struct resp *w);
int web_token_delete(struct req *r, struct resp *w);
int web_keys(struct req *r, struct resp *w);
int web_key_add(struct req *r, struct resp *w);
int web_key_delete(struct req *r, struct resp *w);
int web_sessions(struct req *r, struct resp *w);

/* /:owner/:repo/settings (+ /delete), /collaborators, /branches, /secrets,
 * /hooks */
int web_repo_settings(struct req *r, struct resp *w);
int web_repo_settings_save(struct req *r, struct resp *w);
int web_repo_delete(struct req *r, struct resp *w);
int web_collaborators(struct req *r, struct resp *w);
int web_collaborator_add(struct req *r, struct resp *w);
int web_collaborator_role(struct req *r, struct resp *w);
int web_collaborator_remove(struct req *r, struct resp *w);
int web_protections(struct req *r, struct resp *w);
int web_protection_save(struct req *r, struct resp *w);
int web_protection_delete(struct req *r, struct resp *w);
int web_secrets(struct req *r, struct resp *w);
int web_secret_set(struct req *r, struct resp *w);
int web_secret_delete(struct req *r, struct resp *w);
int web_hooks(struct req *r, struct resp *w);
int web_hook_create(struct req *r, struct resp *w);
int web_hook_delete(struct req *r, struct resp *w);

/* ---- shared by the settings pages ---- */

/* The text of form field name, at most max bytes, into *out (NULL when
 * absent; "" when required and absent is refused). 0 or ERR_INVALID
 * naming the field. */
int settings_field(const char **out, struct req *r, const char *name, size_t max, bool required);
/* Whether a form's failure rc is the user's to correct (a refusal of the
 * input: invalid, taken, unknown, conflicting): then the response's
 * status is set from it, its message is moved into *msg and r->err is
 * cleared, for the form to be shown again. Other failures stay for the
 * error page. */
bool settings_refused(struct req *r, struct resp *w, int rc, const char **msg);
/* The content of a <textarea> (RCDATA: no markup can form there, so the
 * attribute escaper fits): s with the CR of each CRLF a form sent
 * dropped, which html_attr would show as U+FFFD. */
void settings_textarea(struct buf *b, const char *s);
/* <p class="notice" role="status">text</p> when ?saved is present. */
void settings_saved_notice(struct view *p, const char *text);

/* ---- shared by a repository's settings pages (web/repo_settings.c) ---- */

/* "/OWNER/REPO/settings" + suffix (ours), escaped for a URL path (arena). */
const char *settings_url(struct req *r, const char *suffix);
/* Begins a repository's settings page titled title: the repository's
 * header with its Settings tab, and the navigation between the settings
 * pages with cur (the suffix after /settings) marked. */
void repo_settings_begin(struct view *p, struct req *r, struct resp *w, const char *cur,
			 const char *title);
/* <form method=post class=CLS action=ACTION> with its CSRF field; cls is
 * ours, action is escaped. */
void settings_form_open(struct view *p, const char *action, const char *cls);
/* A checkbox named and identified id (ours), checked when on, value "1",
 * with its label (ours). */
void settings_checkbox(struct buf *b, const char *id, bool on, const char *label);

#endif
