/* agents.h — the pages of agent sessions (the repository's Agents tab):
 * the list of the signed-in person's sessions with the form that starts
 * one, and a session's conversation with the forms that send a message,
 * abort the running turn, rename, archive and delete. Who sees and acts
 * is forge/sessions.h's; a session's page follows its stream live with
 * static/agent.js from the last event the page rendered. */
#ifndef PLUE_WEB_AGENTS_H
#define PLUE_WEB_AGENTS_H

#include "web/web.h"

/* GET /:owner/:repo/sessions[?archived=true] — the list and the "New
 * session" form (signed out: a sign-in prompt). */
int web_agent_sessions(struct req *r, struct resp *w);
/* POST /:owner/:repo/sessions — creates a session, 303 to its page; a
 * refusal shows the form again with the message beside its field. */
int web_agent_session_create(struct req *r, struct resp *w);
/* GET /:owner/:repo/sessions/:id — the conversation. */
int web_agent_session(struct req *r, struct resp *w);
/* POST /:owner/:repo/sessions/:id/messages (content), /abort, /rename
 * (title), /archive (archived=true|false), /delete (confirm: the title):
 * 303 back to the session (the list after delete); a refusal shows the
 * session's page with the message beside the form. */
int web_agent_session_send(struct req *r, struct resp *w);
int web_agent_session_abort(struct req *r, struct resp *w);
int web_agent_session_rename(struct req *r, struct resp *w);
int web_agent_session_archive(struct req *r, struct resp *w);
int web_agent_session_delete(struct req *r, struct resp *w);

/* The field of the "New session" form a refusal of session_create
 * concerns, from its slug: "title", "model", "tools", "system",
 * "max_turns", or "form" for any other. */
const char *agent_refusal_field(const char *slug);
/* A message's usage as people read it into b (escaped): "12 in · 340 out
 * · 5 cached · $0.0123"; zero counts and a NULL cost are left out. */
void agent_usage_html(struct buf *b, long long in, long long out, long long cached,
		      const json_t *cost);

#endif
