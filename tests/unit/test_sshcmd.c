/* test_sshcmd.c — the command an SSH client may run (src/ssh/command.c):
 * every spelling git clients and people use, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/arena.h"
#include "ssh/ssh.h"

struct ok_case {
	const char *cmd, *svc, *owner, *name;
};

static void test_accepted(void **state)
{
	(void)state;
	static const struct ok_case cases[] = {
		{ "git-upload-pack 'alice/project.git'", "git-upload-pack", "alice", "project" },
		{ "git-upload-pack '/alice/project.git'", "git-upload-pack", "alice", "project" },
		{ "git-upload-pack 'alice/project'", "git-upload-pack", "alice", "project" },
		{ "git-upload-pack alice/project.git", "git-upload-pack", "alice", "project" },
		{ "git-upload-pack /alice/project/", "git-upload-pack", "alice", "project" },
		{ "git upload-pack 'alice/project.git'", "git-upload-pack", "alice", "project" },
		{ "git-receive-pack 'alice/project.git'", "git-receive-pack", "alice", "project" },
		{ "git receive-pack alice/p", "git-receive-pack", "alice", "p" },
		{ "git-upload-archive 'alice/project.git'", "git-upload-archive", "alice", "project" },
		{ "git-upload-pack 'al'\\''ice/p.git'", "git-upload-pack", "al'ice", "p" },
		{ "git-upload-pack  'alice/my.repo.git'", "git-upload-pack", "alice", "my.repo" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena *a = arena_new();
		struct ssh_command c = { 0 };
		assert_int_equal(sshd_command_parse(&c, a, cases[i].cmd), 0);
		assert_string_equal(c.svc, cases[i].svc);
		assert_string_equal(c.owner, cases[i].owner);
		assert_string_equal(c.name, cases[i].name);
		arena_free(a);
	}
}

static void test_refused(void **state)
{
	(void)state;
	/* not a git service: svc stays NULL */
	static const char *const other[] = {
		"ls",
		"",
		"git-upload-packx 'a/b'",
		"git-shell -c 'git-upload-pack a/b'",
		"git-upload-pack",
		"git upload-packs a/b",
		"sh -c 'git-upload-pack a/b'",
		"scp -t /tmp",
		"git-lfs-authenticate a/b download",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		struct arena *a = arena_new();
		struct ssh_command c = { .svc = "x" };
		assert_int_equal(sshd_command_parse(&c, a, other[i]), -1);
		assert_null(c.svc);
		arena_free(a);
	}
	/* a git service on something that is not owner/name: svc set */
	static const char *const paths[] = {
		"git-upload-pack 'alice'", "git-upload-pack 'alice/x/y.git'",
		"git-upload-pack '/b'",    "git-upload-pack 'alice/'",
		"git-upload-pack '//b'",   "git-upload-pack 'a/b' extra",
		"git-upload-pack 'a/b",    "git-upload-pack ''",
		"git-receive-pack '.git'",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct arena *a = arena_new();
		struct ssh_command c = { 0 };
		assert_int_equal(sshd_command_parse(&c, a, paths[i]), -1);
		assert_non_null(c.svc);
		arena_free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
