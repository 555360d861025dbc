/* llmtest.h — a model double (tests/llm/<name>-double.mjs) for a unit test
 * binary: llmtest_start runs it with node on a free loopback port and sets
 * base_url; stop_double ends it (the group teardown); reset_double (a
 * test's setup) forgets the replies and requests of the test before;
 * replies queues the answers to the next requests; requests returns those
 * heard, as the double's JSON. Include after <cmocka.h>. */
#ifndef PLUE_TESTS_LLMTEST_H
#define PLUE_TESTS_LLMTEST_H

#include "base/buf.h"
#include "base/util.h"
#include "doublehttp.h"

#include <curl/curl.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static pid_t double_pid;
static char base_url[64];

/* Runs tests/llm/<script>; who names the test in messages. */
static int llmtest_start(const char *script, const char *who)
{
	char src[] = __FILE__;
	char *path = xasprintf("%s/../llm/%s", dirname(src), script);
	int out[2];
	if (pipe(out))
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	char *argv[] = { "node", path, "--port", "0", NULL };
	int rc = posix_spawnp(&double_pid, "node", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	free(path);
	if (rc) {
		fprintf(stderr, "%s: cannot run node (make deps): %s\n", who, strerror(rc));
		return -1;
	}
	FILE *f = fdopen(out[0], "r");
	char line[128] = "";
	int port = 0;
	if (!fgets(line, sizeof(line), f) || sscanf(line, "listening on %d", &port) != 1) {
		fprintf(stderr, "%s: the double did not start: %s\n", who, line);
		return -1;
	}
	fclose(f);
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int stop_double(void **state)
{
	(void)state;
	if (double_pid > 0) {
		kill(double_pid, SIGTERM);
		waitpid(double_pid, NULL, 0);
	}
	return 0;
}

/* A control request to the double; returns its body's JSON (or NULL). */
static json_t *control(const char *method, const char *path, const char *body)
{
	return double_request(base_url, NULL, method, path, body);
}

/* Forgets the replies and requests of the test before. */
static int reset_double(void **state)
{
	(void)state;
	control("POST", "/_double/reset", "");
	return 0;
}

/* Queues replies (a JSON array) for the next requests. */
static void replies(const char *json)
{
	control("POST", "/_double/script", json);
}

static json_t *requests(void)
{
	return control("GET", "/_double/requests", NULL);
}

#endif
