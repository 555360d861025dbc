/* runview.c — the pure parts of the run pages (web/runs.h): statuses as
 * words and glyphs, durations as people read them, and the needs graph of
 * a run's jobs as SVG. */
#include "web/runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* statuses: a word and a glyph, never colour alone */
static const struct run_status labels[] = {
	{ "success", "Success", "\xe2\x9c\x93" },              /* ✓ */
	{ "failure", "Failed", "\xe2\x9c\x97" },               /* ✗ */
	{ "cancelled", "Cancelled", "\xe2\x8a\x98" },          /* ⊘ */
	{ "skipped", "Skipped", "\xe2\x86\xb7" },              /* ↷ */
	{ "running", "Running", "\xe2\x97\x8f" },              /* ● */
	{ "queued", "Queued", "\xe2\x97\x8b" },                /* ○ */
	{ "pending", "Pending", "\xe2\x97\x8b" },              /* ○ */
	{ "waiting", "Waiting for approval", "\xe2\x80\x96" }, /* ‖ */
};

const struct run_status *run_status_of(const char *status)
{
	static const struct run_status unknown = { "unknown", NULL, "?" };
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (status && !strcmp(labels[i].status, status))
			return &labels[i];
	return &unknown;
}

void run_duration(char *out, size_t n, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(out, n, "%lld ms", (long long)ms);
	else if (ms < 60000)
		snprintf(out, n, "%.1f s", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, n, "%lld m %02lld s", (long long)(ms / 60000),
			 (long long)(ms / 1000 % 60));
	else
		snprintf(out, n, "%lld h %02lld m", (long long)(ms / 3600000),
			 (long long)(ms / 60000 % 60));
}

static const char *js(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t ji(const json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

/* ---- the needs graph ---- */

#define G_W 176       /* a box */
#define G_H 42
#define G_GX 56       /* between columns */
#define G_GY 14       /* between rows */
#define G_PAD 8
#define G_NAME_MAX 22 /* characters of a name shown in a box */

/* s cut to at most max characters (UTF-8), with an ellipsis when cut. */
static void svg_name(struct buf *b, const char *s)
{
	size_t i = 0, chars = 0;
	while (s[i] && chars < G_NAME_MAX) {
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	struct buf t = BUF_INIT;
	buf_add(&t, s, i);
	if (s[i])
		buf_adds(&t, "\xe2\x80\xa6");
	html_plain(b, t.ptr); /* no markup in SVG text: bidi controls become U+FFFD */
	buf_release(&t);
}

/* Whether need (an entry of a job's needs) names job's key. */
static bool is_key(const json_t *job, const json_t *need)
{
	const char *key = js(job, "key"), *s = json_string_value(need);
	return key && s && !strcmp(key, s);
}

void run_graph_svg(struct buf *b, const json_t *jobs)
{
	size_t n = json_array_size(jobs);
	if (!n)
		return;
	size_t *depth = xcalloc(n, sizeof(*depth)), *row = xcalloc(n, sizeof(*row));
	/* a job's column: one more than the deepest job of a key it needs;
	 * n passes settle any acyclic graph (the parser refuses cycles) */
	for (size_t pass = 0; pass < n; pass++) {
		bool changed = false;
		for (size_t i = 0; i < n; i++) {
			const json_t *needs = json_object_get(json_array_get(jobs, i), "needs");
			size_t k;
			json_t *need;
			json_array_foreach(needs, k, need)
			{
				for (size_t m = 0; m < n; m++) {
					if (m == i || !is_key(json_array_get(jobs, m), need))
						continue;
					if (depth[m] + 1 > depth[i] && depth[m] + 1 < n) {
						depth[i] = depth[m] + 1;
						changed = true;
					}
				}
			}
		}
		if (!changed)
			break;
	}
	size_t ncols = 0, nrows = 0;
	size_t *count = xcalloc(n, sizeof(*count));
	for (size_t i = 0; i < n; i++) {
		row[i] = count[depth[i]]++;
		if (depth[i] + 1 > ncols)
			ncols = depth[i] + 1;
		if (row[i] + 1 > nrows)
			nrows = row[i] + 1;
	}
	int width = 2 * G_PAD + (int)ncols * G_W + ((int)ncols - 1) * G_GX;
	int height = 2 * G_PAD + (int)nrows * G_H + ((int)nrows - 1) * G_GY;
	buf_addf(b,
		 "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
		 "aria-labelledby=\"run-graph-title\" width=\"%d\" height=\"%d\" "
		 "viewBox=\"0 0 %d %d\"><title id=\"run-graph-title\">",
		 width, height, width, height);
	html_txtf(b, "Jobs and their needs: %zu job%s in %zu stage%s.", n, n == 1 ? "" : "s", ncols,
		  ncols == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const json_t *j = json_array_get(jobs, i);
		html_lit(b, " ");
		html_plain(b, js(j, "name") ?: "");
		const json_t *needs = json_object_get(j, "needs");
		size_t k;
		json_t *need;
		json_array_foreach(needs, k, need)
		{
			html_lit(b, k ? ", " : " needs ");
			html_plain(b, json_string_value(need) ?: "");
		}
		html_lit(b, ";");
	}
	html_lit(b, "</title>");
	/* the lines first, under the boxes */
	for (size_t i = 0; i < n; i++) {
		const json_t *needs = json_object_get(json_array_get(jobs, i), "needs");
		size_t k;
		json_t *need;
		json_array_foreach(needs, k, need)
		{
			for (size_t m = 0; m < n; m++) {
				if (m == i || !is_key(json_array_get(jobs, m), need))
					continue;
				int x1 = G_PAD + (int)depth[m] * (G_W + G_GX) + G_W;
				int y1 = G_PAD + (int)row[m] * (G_H + G_GY) + G_H / 2;
				int x2 = G_PAD + (int)depth[i] * (G_W + G_GX);
				int y2 = G_PAD + (int)row[i] * (G_H + G_GY) + G_H / 2;
				int mx = (x1 + x2) / 2;
				buf_addf(b, "<path class=\"edge\" d=\"M%d %d C%d %d %d %d %d %d\"/>",
					 x1, y1, mx, y1, mx, y2, x2, y2);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *j = json_array_get(jobs, i);
		const char *status = js(j, "status");
		const struct run_status *l = run_status_of(status);
		int x = G_PAD + (int)depth[i] * (G_W + G_GX);
		int y = G_PAD + (int)row[i] * (G_H + G_GY);
		long long jid = (long long)ji(j, "id");
		buf_addf(b, "<g class=\"node state-%s\" id=\"graph-job-%lld\">", l->status, jid);
		buf_addf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\"/>", x, y,
			 G_W, G_H);
		buf_addf(b, "<text class=\"name\" x=\"%d\" y=\"%d\">", x + 8, y + 17);
		svg_name(b, js(j, "name") ?: "");
		buf_addf(b,
			 "</text><text class=\"st\" x=\"%d\" y=\"%d\" id=\"graph-job-%lld-status\">",
			 x + 8, y + 34, jid);
		html_lit(b, l->glyph);
		html_lit(b, " ");
		html_plain(b, l->label ? l->label : status ?: "unknown");
		html_lit(b, "</text></g>");
	}
	html_lit(b, "</svg>");
	free(depth);
	free(row);
	free(count);
}
