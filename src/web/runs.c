/* runs.c — the pages of workflow runs (web/runs.h): the list of a
 * repository's runs, one run with its jobs, their needs graph, their steps
 * and the stored log, and the cancel and approve forms (statuses,
 * durations and the graph are web/runview.c's). The rules are the
 * domain's (forge/runs.h). A run still going is followed live by
 * static/run.js from the last event rendered here. */
#include "web/runs.h"

#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/util.h"
#include "forge/runs.h"

/* runs per page of the list */
#define RUNS_PAGE 30
/* events rendered into a run's page; the rest comes from the stream (with
 * JavaScript) or the text log */
#define RUN_EVENTS_MAX 20000

/* <span class="status state-S" id=ID data-status=S>glyph Label</span>;
 * id NULL: none. */
static void status_html(struct buf *b, const char *status, const char *id)
{
	const struct run_status *l = run_status_of(status);
	html_lit(b, "<span class=\"status state-");
	html_attr(b, l->status);
	html_lit(b, "\"");
	if (id) {
		html_lit(b, " id=\"");
		html_attr(b, id);
		html_lit(b, "\"");
	}
	html_lit(b, " data-status=\"");
	html_attr(b, status ? status : "");
	html_lit(b, "\"><span aria-hidden=\"true\">");
	html_lit(b, l->glyph);
	html_lit(b, "</span> ");
	html_txt(b, l->label ? l->label : status ? status : "unknown");
	html_lit(b, "</span>");
}

static bool finished(const char *status)
{
	return status && (!strcmp(status, "success") || !strcmp(status, "failure") ||
			  !strcmp(status, "cancelled") || !strcmp(status, "skipped"));
}

/* ---- small readers of the domain's JSON ---- */

static const char *js(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t ji(const json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

/* Who started run: its actor, or the server for a run nobody started. */
static void actor_html(struct view *p, const json_t *run)
{
	if (js(run, "actor"))
		page_user(p, js(run, "actor"));
	else
		html_lit(p->b, "<span class=\"mute\">server</span>");
}

/* The duration_ms of o, or a dash when it has not started. */
static void duration_html(struct buf *b, const json_t *o)
{
	json_t *d = json_object_get(o, "duration_ms");
	if (!json_is_integer(d)) {
		html_lit(b, "<span class=\"mute\">\xe2\x80\x94</span>");
		return;
	}
	char tmp[32];
	run_duration(tmp, sizeof(tmp), (int64_t)json_integer_value(d));
	html_txt(b, tmp);
}

static const char *run_url(struct req *r, int64_t id)
{
	return page_repo_path(r, r->repo, arena_printf(r->arena, "/runs/%lld", (long long)id));
}

/* A ref as a person names it: main for refs/heads/main. */
static const char *ref_short(const char *ref)
{
	if (!ref)
		return NULL;
	if (!strncmp(ref, "refs/heads/", 11))
		return ref + 11;
	if (!strncmp(ref, "refs/tags/", 10))
		return ref + 10;
	return ref;
}

/* The branch and the commit (a link to it) of a run. */
static void ref_commit_html(struct buf *b, const struct repo *rp, const json_t *run)
{
	const char *ref = ref_short(js(run, "ref")), *sha = js(run, "sha");
	if (ref) {
		html_lit(b, "<span class=\"ref\">");
		html_txt(b, ref);
		html_lit(b, "</span> ");
	}
	if (sha && strlen(sha) >= 7) {
		html_lit(b, "<a class=\"mono\" href=\"");
		page_repo_url(b, rp, "/commit/");
		html_path(b, sha, 0);
		html_lit(b, "\">");
		html_txtn(b, sha, 7);
		html_lit(b, "</a>");
	}
}

/* ---- the list ---- */

static void run_row(struct view *p, const json_t *run)
{
	struct buf *b = p->b;
	html_lit(b, "<tr><td>");
	status_html(b, js(run, "status"), NULL);
	html_lit(b, "</td><td><a href=\"");
	page_repo_url(b, p->repo, "/runs/");
	buf_addf(b, "%lld", (long long)ji(run, "id"));
	html_lit(b, "\">");
	html_txt(b, js(run, "workflow"));
	html_lit(b, "</a> <span class=\"mute\">#");
	html_txtf(b, "%lld", (long long)ji(run, "number"));
	html_lit(b, "</span></td><td>");
	html_txt(b, js(json_object_get(run, "event"), "type"));
	html_lit(b, "</td><td>");
	ref_commit_html(b, p->repo, run);
	html_lit(b, "</td><td>");
	actor_html(p, run);
	html_lit(b, "</td><td>");
	page_time(p, js(run, "created_at"));
	html_lit(b, "</td><td>");
	duration_html(b, run);
	html_lit(b, "</td></tr>");
}

int web_runs(struct req *r, struct resp *w)
{
	struct run_filter q = { .before = INT64_MAX,
				.limit = RUNS_PAGE + 1,
				.event = req_query(r, "event") };
	json_t *arr = NULL;
	int rc;
	if (q.event && !*q.event)
		q.event = NULL;
	if (req_query_int(&q.before, r, "before", 1, INT64_MAX) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_cursor", "before must be a run id");
	if ((rc = run_list(&arr, FORGE(r), r->repo, &q)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, arr);
	size_t n = json_array_size(arr);
	bool more = n > RUNS_PAGE;
	if (more)
		n = RUNS_PAGE;

	struct view p;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "Runs \xc2\xb7 %s/%s", r->repo->owner, r->repo->name),
		   "runs");
	struct buf *b = p.b;
	html_lit(b, "<h2>Workflow runs");
	if (q.event) {
		html_lit(b, " <span class=\"mute\">(event ");
		html_txt(b, q.event);
		html_lit(b, ")</span>");
	}
	html_lit(b, "</h2>");
	if (!n) {
		html_lit(b, "<p class=\"mute\">No runs");
		html_lit(b, q.before != INT64_MAX ? " before this one" : " yet");
		html_lit(b,
			 ". A run starts when a push, an issue, a pull request, a schedule or a "
			 "person by hand triggers a workflow in <code>.plue/workflows/</code>.</p>");
	} else {
		html_lit(b, "<table class=\"runs\"><thead><tr><th scope=\"col\">Status</th>"
			    "<th scope=\"col\">Run</th><th scope=\"col\">Event</th>"
			    "<th scope=\"col\">Branch and commit</th><th scope=\"col\">Actor</th>"
			    "<th scope=\"col\">Created</th><th scope=\"col\">Duration</th>"
			    "</tr></thead><tbody>");
		for (size_t i = 0; i < n; i++)
			run_row(&p, json_array_get(arr, i));
		html_lit(b, "</tbody></table>");
	}
	if (more || q.before != INT64_MAX) {
		html_lit(b, "<nav class=\"pager\" aria-label=\"pages of runs\">");
		if (q.before != INT64_MAX) {
			html_lit(b, "<a href=\"");
			page_repo_url(b, r->repo, "/runs");
			if (q.event) {
				html_lit(b, "?event=");
				html_query(b, q.event);
			}
			html_lit(b, "\">Newest runs</a>");
		}
		if (more) {
			html_lit(b, "<a href=\"");
			page_repo_url(b, r->repo, "/runs?before=");
			buf_addf(b, "%lld", (long long)ji(json_array_get(arr, n - 1), "id"));
			if (q.event) {
				html_lit(b, "&amp;event=");
				html_query(b, q.event);
			}
			html_lit(b, "\">Older runs</a>");
		}
		html_lit(b, "</nav>");
	}
	return page_end(&p);
}

/* ---- one run ---- */

/* The log of a run being rendered: one buffer per job (in the order of
 * the run's jobs) and one for events of no job. */
struct run_log {
	const json_t *jobs;
	size_t nj;
	struct buf *parts; /* nj + 1: the last is the run's own */
	int64_t last_seq;
};

static struct buf *log_part(struct run_log *l, const json_t *payload)
{
	json_t *jid = json_object_get(payload, "job_id");
	if (json_is_integer(jid))
		for (size_t i = 0; i < l->nj; i++)
			if (ji(json_array_get(l->jobs, i), "id") == json_integer_value(jid))
				return &l->parts[i];
	return &l->parts[l->nj];
}

/* One line of a log: <span class=CLASS data-seq=N>prefix text\n</span>. */
static void log_line(struct buf *b, int64_t seq, const char *cls, const char *prefix,
		     const char *text)
{
	buf_addf(b, "<span class=\"%s\" data-seq=\"%lld\">", cls, (long long)seq);
	html_lit(b, prefix);
	html_txt(b, text ? text : "");
	html_lit(b, "\n</span>");
}

/* The events, as run.js renders them (keep the two alike). */
static void log_render(struct run_log *l, const json_t *events)
{
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev)
	{
		int64_t seq = ji(ev, "seq");
		const char *type = js(ev, "type");
		json_t *pl = json_object_get(ev, "payload");
		struct buf *b = log_part(l, pl);
		l->last_seq = seq;
		if (!strcmp(type, "log")) {
			const char *stream = js(pl, "stream");
			bool err = stream && !strcmp(stream, "stderr");
			log_line(b, seq, err ? "ln stderr" : "ln", "", js(pl, "line"));
		} else if (!strcmp(type, "step_start")) {
			const char *name = js(pl, "name");
			log_line(b, seq, "ln step", "\xe2\x94\x80\xe2\x94\x80 ",
				 name ? name : "step");
		} else if (!strcmp(type, "error")) {
			log_line(b, seq, "ln note", "error: ", js(pl, "message"));
		} else if (!strcmp(type, "aborted")) {
			log_line(b, seq, "ln note", "aborted: ", js(pl, "reason"));
		}
	}
}

static void step_rows(struct view *p, const json_t *job)
{
	struct buf *b = p->b;
	int64_t jid = ji(job, "id");
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(job, "steps"), i, s)
	{
		buf_addf(b, "<tr id=\"step-%lld-%zu\"><td>%zu</td><td>", (long long)jid, i, i);
		html_txt(b, js(s, "name"));
		html_lit(b, "</td><td>");
		status_html(b, js(s, "status"),
			    arena_printf(p->r->arena, "step-%lld-%zu-status", (long long)jid, i));
		buf_addf(b, " <span class=\"mute\" id=\"step-%lld-%zu-reason\">", (long long)jid, i);
		if (js(s, "reason"))
			html_txt(b, js(s, "reason"));
		buf_addf(b, "</span></td><td id=\"step-%lld-%zu-dur\">", (long long)jid, i);
		duration_html(b, s);
		html_lit(b, "</td></tr>");
	}
}

static void job_table(struct view *p, const json_t *jobs)
{
	struct buf *b = p->b;
	html_lit(b, "<table class=\"jobs\"><thead><tr><th scope=\"col\">Job</th>"
		    "<th scope=\"col\">Status</th><th scope=\"col\">Needs</th>"
		    "<th scope=\"col\">Duration</th></tr></thead><tbody>");
	size_t i;
	json_t *j;
	json_array_foreach(jobs, i, j)
	{
		int64_t jid = ji(j, "id");
		buf_addf(b, "<tr><td><a href=\"#job-%lld\">", (long long)jid);
		html_txt(b, js(j, "name"));
		html_lit(b, "</a></td><td>");
		status_html(b, js(j, "status"),
			    arena_printf(p->r->arena, "jobs-%lld-status", (long long)jid));
		html_lit(b, "</td><td>");
		size_t k;
		json_t *need;
		json_array_foreach(json_object_get(j, "needs"), k, need)
		{
			if (k)
				html_lit(b, ", ");
			html_txt(b, json_string_value(need));
		}
		if (!json_array_size(json_object_get(j, "needs")))
			html_lit(b, "<span class=\"mute\">\xe2\x80\x94</span>");
		html_lit(b, "</td><td>");
		duration_html(b, j);
		html_lit(b, "</td></tr>");
	}
	html_lit(b, "</tbody></table>");
}

static void job_section(struct view *p, const json_t *job, const struct buf *log)
{
	struct buf *b = p->b;
	long long jid = (long long)ji(job, "id");
	buf_addf(b,
		 "<section class=\"box job\" id=\"job-%lld\" aria-labelledby=\"job-%lld-h\">"
		 "<div class=\"head\"><h3 id=\"job-%lld-h\">",
		 jid, jid, jid);
	html_txt(b, js(job, "name"));
	html_lit(b, "</h3>");
	status_html(b, js(job, "status"), arena_printf(p->r->arena, "job-%lld-status", jid));
	buf_addf(b, "<span class=\"mute\" id=\"job-%lld-reason\">", jid);
	if (js(job, "conclusion"))
		html_txt(b, js(job, "conclusion"));
	html_lit(b, "</span>");
	if (json_integer_value(json_object_get(job, "attempt")) > 1)
		html_txtf(b, " attempt %lld", (long long)ji(job, "attempt"));
	html_lit(b, "</div><div class=\"body\"><table class=\"steps\"><thead><tr>"
		    "<th scope=\"col\">#</th><th scope=\"col\">Step</th><th scope=\"col\">Status"
		    "</th><th scope=\"col\">Duration</th></tr></thead>");
	buf_addf(b, "<tbody id=\"steps-%lld\">", jid);
	step_rows(p, job);
	buf_addf(b,
		 "</tbody></table><h4 id=\"log-%lld-h\">Log</h4><pre class=\"log\" role=\"region\" "
		 "id=\"log-%lld\" tabindex=\"0\" aria-labelledby=\"job-%lld-h log-%lld-h\">",
		 jid, jid, jid, jid);
	buf_add(b, log->ptr, log->len); /* built of escaped text by log_render */
	html_lit(b, "</pre></div></section>");
}

/* Who may press which button: a writer on a run not finished may cancel
 * it; on an untrusted run waiting for approval, approve it. */
static void run_actions(struct view *p, const json_t *run, bool writer, const char *msg)
{
	struct buf *b = p->b;
	const char *status = js(run, "status");
	const char *url = run_url(p->r, ji(run, "id"));
	html_lit(b, "<div class=\"row actions\" id=\"run-actions\">");
	bool cancelling = json_is_true(json_object_get(run, "cancel_requested"));
	if (writer && !finished(status) && !cancelling) {
		html_lit(b, "<form method=\"post\" class=\"inline\" id=\"run-cancel\" action=\"");
		html_attr(b, arena_printf(p->r->arena, "%s/cancel", url));
		html_lit(b, "\">");
		page_csrf_field(p);
		html_lit(b, "<button class=\"danger\">Cancel run</button></form>");
	}
	if (writer && status && !strcmp(status, "waiting") &&
	    !json_is_true(json_object_get(run, "trusted"))) {
		html_lit(b, "<form method=\"post\" class=\"inline\" id=\"run-approve\" action=\"");
		html_attr(b, arena_printf(p->r->arena, "%s/approve", url));
		html_lit(b, "\">");
		page_csrf_field(p);
		html_lit(b, "<button>Approve and run</button></form>");
	}
	html_lit(b, "</div>");
	page_field_error(p, "run-action", msg);
}

static void run_facts(struct view *p, const json_t *run)
{
	struct buf *b = p->b;
	html_lit(b, "<dl class=\"facts\"><div><dt>Status</dt><dd>");
	status_html(b, js(run, "status"), "run-status");
	html_lit(b, "</dd></div><div><dt>Event</dt><dd>");
	html_txt(b, js(json_object_get(run, "event"), "type"));
	html_lit(b, "</dd></div><div><dt>Branch and commit</dt><dd>");
	ref_commit_html(b, p->repo, run);
	html_lit(b, "</dd></div><div><dt>Actor</dt><dd>");
	actor_html(p, run);
	html_lit(b, "</dd></div><div><dt>Created</dt><dd>");
	page_time(p, js(run, "created_at"));
	html_lit(b, "</dd></div><div><dt>Duration</dt><dd id=\"run-duration\">");
	duration_html(b, run);
	html_lit(b, "</dd></div><div><dt>Workflow file</dt><dd><code>");
	html_txt(b, js(run, "path"));
	html_lit(b, "</code></dd></div></dl>");
	if (js(run, "conclusion")) {
		html_lit(b, "<p class=\"notice\">");
		html_txt(b, js(run, "conclusion"));
		html_lit(b, "</p>");
	}
	if (!json_is_true(json_object_get(run, "trusted"))) {
		html_lit(b, "<p class=\"notice\">Started by someone who cannot write to this "
			    "repository: its jobs run read-only");
		if (js(run, "approved_by")) {
			html_lit(b, " until a writer approves them; approved by ");
			page_user(p, js(run, "approved_by"));
			html_lit(b, ".");
		} else if (!strcmp(js(run, "status") ?: "", "waiting")) {
			html_lit(b, ", and this one refers to secrets, so it waits for a writer to "
				    "approve it. Look at what the event brings before approving.");
		} else {
			html_lit(b, ".");
		}
		html_lit(b, "</p>");
	}
	if (json_is_true(json_object_get(run, "cancel_requested")) && !finished(js(run, "status")))
		html_lit(b, "<p class=\"notice\" id=\"run-cancelling\">Cancelling\xe2\x80\xa6</p>");
}

static int run_id_param(struct req *r, int64_t *out)
{
	if (req_param_int(out, r, "id"))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "run '%.40s' not found",
			       req_param(r, "id"));
	return 0;
}

/* The run page; msg: a refusal to show beside the buttons (w->status set
 * by the caller). */
static int run_page(struct req *r, struct resp *w, int64_t id, const char *msg)
{
	struct forge *f = FORGE(r);
	struct run_ref ref;
	json_t *run = NULL, *events = NULL;
	bool more = false;
	int rc;
	if ((rc = run_find_in(&ref, f, r->repo, id, ACT_READ)) ||
	    (rc = run_get_with_events(&run, &events, &more, f, &ref, RUN_EVENTS_MAX)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, run);
	arena_defer(r->arena, (void (*)(void *))json_decref, events);
	const json_t *jobs = json_object_get(run, "jobs");
	struct err scratch = { 0 };
	bool writer = r->auth.user_id && !authz_repo(&r->auth, r->repo, ACT_WRITE, &scratch);

	struct run_log l = { .jobs = jobs, .nj = json_array_size(jobs) };
	l.parts = arena_alloc(r->arena, sizeof(struct buf) * (l.nj + 1));
	for (size_t i = 0; i <= l.nj; i++) {
		buf_init(&l.parts[i], 0);
		arena_defer(r->arena, (void (*)(void *))buf_release, &l.parts[i]);
	}
	log_render(&l, events);

	struct view p;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "%s #%lld \xc2\xb7 %s/%s", js(run, "workflow"),
				(long long)ji(run, "number"), r->repo->owner, r->repo->name),
		   "runs");
	struct buf *b = p.b;
	bool live = !finished(js(run, "status")) || more;
	buf_addf(b, "<section id=\"run\" class=\"run\" data-run=\"%lld\" data-last-seq=\"%lld\"",
		 (long long)id, (long long)l.last_seq);
	if (live)
		buf_addf(b, " data-stream=\"/api/runs/%lld/stream\"", (long long)id);
	html_lit(b, "><h2>");
	html_txt(b, js(run, "workflow"));
	html_txtf(b, " #%lld", (long long)ji(run, "number"));
	html_lit(b, "</h2>");
	run_facts(&p, run);
	run_actions(&p, run, writer, msg);
	html_lit(b, "<p id=\"run-live\" class=\"mute\" role=\"status\"></p>");
	if (l.nj) {
		html_lit(b, "<h3>Jobs</h3><div class=\"graph\">");
		run_graph_svg(b, jobs);
		html_lit(b, "</div>");
		job_table(&p, jobs);
	} else {
		html_lit(b, "<p class=\"mute\">This run has no jobs.</p>");
	}
	if (more) {
		buf_addf(b,
			 "<p class=\"notice\">The page shows the first %d events of this run. "
			 "<a href=\"/api/runs/%lld/logs\">The whole log as text</a>.</p>",
			 RUN_EVENTS_MAX, (long long)id);
	}
	for (size_t i = 0; i < l.nj; i++)
		job_section(&p, json_array_get(jobs, i), &l.parts[i]);
	/* the run's own events (a lost runner, …), outside any job */
	html_lit(b, "<section class=\"box\" id=\"run-events\" aria-labelledby=\"run-events-h\"");
	if (!l.parts[l.nj].len)
		html_lit(b, " hidden");
	html_lit(b, "><div class=\"head\"><h3 id=\"run-events-h\">Run events</h3></div>"
		    "<pre class=\"log\" role=\"region\" id=\"log-run\" tabindex=\"0\" "
		    "aria-labelledby=\"run-events-h\">");
	buf_add(b, l.parts[l.nj].ptr, l.parts[l.nj].len);
	html_lit(b, "</pre></section></section>");
	if (live) {
		html_lit(b, "<script src=\"");
		html_attr(b, web_static_url("run.js"));
		html_lit(b, "\" defer></script>");
	}
	return page_end(&p);
}

int web_run(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if ((rc = run_id_param(r, &id)))
		return rc;
	return run_page(r, w, id, NULL);
}

/* After a refused form: the run page again with the message beside the
 * buttons and the refusal's status. */
static int refused(struct req *r, struct resp *w, int64_t id, int rc)
{
	return run_page(r, w, id, page_err_take(r, w, rc));
}

int web_run_cancel(struct req *r, struct resp *w)
{
	struct run_ref ref;
	int64_t id;
	int rc;
	if ((rc = run_id_param(r, &id)) || (rc = run_find_in(&ref, FORGE(r), r->repo, id, ACT_WRITE)))
		return rc;
	rc = run_cancel(FORGE(r), id);
	if (rc == ERR_CONFLICT)
		return refused(r, w, id, rc);
	if (rc)
		return rc;
	return page_redirect(w, run_url(r, id));
}

int web_run_approve(struct req *r, struct resp *w)
{
	json_t *j = NULL;
	int64_t id;
	int rc;
	if ((rc = run_id_param(r, &id)))
		return rc;
	rc = run_approve(&j, FORGE(r), r->repo, id);
	json_decref(j);
	if (rc == ERR_CONFLICT || rc == ERR_PERM)
		return refused(r, w, id, rc);
	if (rc)
		return rc;
	return page_redirect(w, run_url(r, id));
}
