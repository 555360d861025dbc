/* doublehttp.h — a request to a test double's control endpoints
 * (/_double/...) from a cmocka test: the model doubles (llmtest.h) and the
 * Kubernetes API double (test_k8s.c). Include after cmocka.h. */
#ifndef PLUE_TEST_DOUBLEHTTP_H
#define PLUE_TEST_DOUBLEHTTP_H

#include "base/buf.h"
#include "base/util.h"
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>

static size_t doublehttp_collect(char *p, size_t size, size_t n, void *cls)
{
	buf_add(cls, p, size * n);
	return size * n;
}

/* METHOD base+path with body (or none), trusting ca (a CA file, or NULL);
 * the answer's JSON, or NULL when it has none. The transfer must work. */
static json_t *double_request(const char *base, const char *ca, const char *method,
			      const char *path, const char *body)
{
	CURL *h = curl_easy_init();
	struct buf out = BUF_INIT;
	char *u = xasprintf("%s%s", base, path);
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, doublehttp_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_cleanup(h);
	free(u);
	json_t *j = out.len ? json_loadb(out.ptr, out.len, 0, NULL) : NULL;
	buf_release(&out);
	return j;
}

#endif
