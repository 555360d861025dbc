/* static.c — the stylesheet and scripts of the pages, linked into the
 * binary from src/web/static/ (Makefile: gen/assets.o), served with their
 * content hash in the URL so that a page's reference is immutable. */
#include "web/web.h"

#include <pthread.h>
#include <string.h>

#include "base/util.h"

#define ASSET(sym) extern const char web_asset_##sym[], web_asset_##sym##_end[];
ASSET(plue_css)
ASSET(plue_js)
ASSET(run_js)
ASSET(agent_js)
#undef ASSET

static struct asset {
	const char *name;
	const char *type;
	const char *start, *end;
	char hash[17]; /* the first 16 hex digits of the SHA-256 */
	const char *url;
} assets[] = {
	{ "plue.css", "text/css; charset=utf-8", web_asset_plue_css, web_asset_plue_css_end },
	{ "plue.js", "text/javascript; charset=utf-8", web_asset_plue_js, web_asset_plue_js_end },
	{ "run.js", "text/javascript; charset=utf-8", web_asset_run_js, web_asset_run_js_end },
	{ "agent.js", "text/javascript; charset=utf-8", web_asset_agent_js, web_asset_agent_js_end },
};

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void hash_all(void)
{
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		char h[65];
		sha256_hex(h, assets[i].start, (size_t)(assets[i].end - assets[i].start));
		memcpy(assets[i].hash, h, 16);
		assets[i].hash[16] = '\0';
		assets[i].url = xasprintf("/static/%s?v=%s", assets[i].name, assets[i].hash);
	}
}

static struct asset *find(const char *name)
{
	pthread_once(&once, hash_all);
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (!strcmp(assets[i].name, name))
			return &assets[i];
	return NULL;
}

const char *web_static_url(const char *name)
{
	struct asset *a = find(name);
	return a ? a->url : "/static/missing";
}

int web_static(struct req *r, struct resp *w)
{
	struct asset *a = find(req_param(r, "name"));
	if (!a)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "no static file '%.100s'",
			       req_param(r, "name"));
	resp_text(w, 200, a->type, a->start, (size_t)(a->end - a->start));
	resp_header(w, "X-Content-Type-Options", "nosniff");
	const char *v = req_query(r, "v");
	if (v && !strcmp(v, a->hash)) {
		resp_immutable(r, w, a->hash);
	} else {
		resp_header(w, "ETag", arena_printf(r->arena, "\"%s\"", a->hash));
		resp_header(w, "Cache-Control", "no-cache");
	}
	return 0;
}
