/* client.c — JSON over HTTP for the runner (see client.h). */
#include "runner/client.h"
#include "base/buf.h"
#include "base/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPLY (64u << 20)

struct client {
	CURL *curl;
	char *base;
	const volatile bool *stop;
	struct buf body;
	bool too_big;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct client *client_new(const char *base_url, const volatile bool *stop)
{
	pthread_once(&curl_once, curl_init_once);
	struct client *c = xcalloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	if (!c->curl)
		die("cannot start libcurl");
	c->base = xstrdup(base_url);
	size_t n = strlen(c->base);
	while (n && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->stop = stop;
	buf_init(&c->body, 0);
	return c;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	buf_release(&c->body);
	free(c->base);
	free(c);
}

static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
	struct client *c = cls;
	size_t len = size * n;
	if (c->body.len + len > MAX_REPLY) {
		c->too_big = true;
		return 0;
	}
	buf_add(&c->body, p, len);
	return len;
}

static int on_progress(void *cls, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	struct client *c = cls;
	return c->stop && *c->stop ? 1 : 0;
}

int client_post(struct client *c, const char *path, const char *token, json_t *body,
		long timeout_ms, json_t **reply)
{
	*reply = NULL;
	char *url = xasprintf("%s%s", c->base, path);
	char *text = body ? json_dumps(body, JSON_COMPACT) : xstrdup("{}");
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "Content-Type: application/json");
	char *auth = token ? xasprintf("Authorization: Bearer %s", token) : NULL;
	if (auth)
		h = curl_slist_append(h, auth);
	buf_reset(&c->body);
	c->too_big = false;
	CURL *k = c->curl;
	curl_easy_reset(k);
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_POST, 1L);
	curl_easy_setopt(k, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(k, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k, CURLOPT_TCP_NODELAY, 1L);
	CURLcode cc = curl_easy_perform(k);
	long status = -1;
	if (cc == CURLE_OK && !c->too_big) {
		curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
		if (c->body.len)
			*reply = json_loadb(c->body.ptr, c->body.len, 0, NULL);
	}
	curl_slist_free_all(h);
	free(auth);
	free(text);
	free(url);
	return (int)status;
}
