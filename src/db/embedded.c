/* embedded.c — the private PostgreSQL cluster `plue serve` runs when no
 * PLUE_DATABASE_URL is given: initdb on first run, listening on a Unix
 * socket inside its own directory (no TCP port, socket mode 0700), run as
 * an unprivileged system user when we are root, stopped with the server.
 * postgres is our child (not daemonised by pg_ctl) with a parent-death
 * signal, so a crashed server does not leave it running. */
#include "db/db.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t pg_pid = -1;

/* The newest /usr/lib/postgresql/N/bin holding `prog`, else PATH. */
static char *find_pg_bin(const char *prog)
{
	int best = -1;
	DIR *d = opendir("/usr/lib/postgresql");
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			int v = atoi(de->d_name);
			char p[PATH_MAX];
			snprintf(p, sizeof(p), "/usr/lib/postgresql/%s/bin/%s", de->d_name, prog);
			if (v > best && access(p, X_OK) == 0)
				best = v;
		}
		closedir(d);
	}
	if (best >= 0)
		return xasprintf("/usr/lib/postgresql/%d/bin/%s", best, prog);
	return xstrdup(prog); /* execvp searches PATH */
}

/* Creates the system user if it is missing (root only). */
static int ensure_user(const char *name, struct passwd *out, struct err *e)
{
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		log_info("creating system user '%s' for the embedded database", name);
		pid_t p = fork();
		if (p == 0) {
			execlp("useradd", "useradd", "--system", "--no-create-home", "--home-dir",
			       "/nonexistent", "--shell", "/usr/sbin/nologin", name, (char *)NULL);
			_exit(127);
		}
		int st;
		waitpid(p, &st, 0);
		pw = getpwnam(name);
	}
	if (!pw)
		return err_set(e, ERR_INTERNAL, "pg_user", "cannot create system user '%s'", name);
	*out = *pw;
	return 0;
}

/* fork + (drop privileges) + exec argv with stdout/stderr to logfd.
 * daemon_child: keep running, die with us. Returns the pid. */
static pid_t spawn_as(const struct passwd *pw, char *const argv[], int logfd, bool daemon_child)
{
	pid_t parent = getpid();
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p > 0)
		return p;
	int devnull = open("/dev/null", O_RDONLY);
	dup2(devnull, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	if (pw) {
		if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
			perror("cannot drop privileges");
			_exit(126);
		}
	}
	if (daemon_child) {
		/* after setuid: a credential change clears the death signal */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		setsid();
	}
	execvp(argv[0], argv);
	perror(argv[0]);
	_exit(127);
}

static int run_as(const struct passwd *pw, char *const argv[], int logfd)
{
	pid_t p = spawn_as(pw, argv, logfd, false);
	int st = 0;
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int chown_tree_dir(const char *path, const struct passwd *pw)
{
	return pw ? chown(path, pw->pw_uid, pw->pw_gid) : 0;
}

int pg_embedded_start(const char *dir, const char *user, char **conninfo, struct err *e)
{
	int rc = 0;
	int logfd = -1;
	char *pgdir = NULL, *logpath = NULL, *initdb = NULL, *postgres = NULL;
	struct passwd pwbuf, *pw = NULL;
	char abs[PATH_MAX];

	if (!realpath(dir, abs)) {
		rc = err_set(e, ERR_INTERNAL, "data_dir", "cannot resolve data directory '%s': %s",
			     dir, strerror(errno));
		goto done;
	}
	pgdir = xasprintf("%s/pg", abs);
	logpath = xasprintf("%s/postgres.log", abs);
	if (strlen(pgdir) + sizeof("/.s.PGSQL.5432") > 107) {
		rc = err_set(e, ERR_INVALID, "data_dir",
			     "data directory path '%s' is too long for a Unix socket", abs);
		goto done;
	}
	if (geteuid() == 0) {
		if ((rc = ensure_user(user, &pwbuf, e)))
			goto done;
		pw = &pwbuf;
		/* the cluster user must be able to reach its directory */
		struct stat st;
		if (stat(abs, &st) == 0)
			chmod(abs, st.st_mode | S_IXOTH);
	}
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		rc = err_set(e, ERR_INTERNAL, "data_dir", "cannot open '%s': %s", logpath, strerror(errno));
		goto done;
	}
	initdb = find_pg_bin("initdb");
	postgres = find_pg_bin("postgres");

	char versionfile[PATH_MAX];
	snprintf(versionfile, sizeof(versionfile), "%s/PG_VERSION", pgdir);
	if (access(versionfile, F_OK) != 0) {
		log_info("initialising embedded PostgreSQL in %s", pgdir);
		if (mkdir(pgdir, 0700) && errno != EEXIST) {
			rc = err_set(e, ERR_INTERNAL, "data_dir", "cannot create '%s': %s", pgdir,
				     strerror(errno));
			goto done;
		}
		chown_tree_dir(pgdir, pw);
		char *argv[] = { initdb, "-D", pgdir, "-U", "plue", "-A", "trust", "-E", "UTF8",
				 "--locale=C", "--no-instructions", NULL };
		if (run_as(pw, argv, logfd) != 0) {
			rc = err_set(e, ERR_INTERNAL, "initdb", "initdb failed; see '%s'", logpath);
			goto done;
		}
	}

	/* A live postmaster on this directory is either serving (another plue
	 * process, e.g. `plue admin` beside `plue serve`: use it, and leave it
	 * running) or still shutting down after an earlier server (wait for it
	 * rather than fail on its lock). */
	char pidfile[PATH_MAX];
	snprintf(pidfile, sizeof(pidfile), "%s/postmaster.pid", pgdir);
	char *probe = xasprintf("host=%s dbname=postgres user=plue", pgdir);
	bool attached = false;
	for (int i = 0; i < 300; i++) { /* 30 s */
		pid_t old = pid_file_read(pidfile);
		if (!old || kill(old, 0) != 0)
			break;
		if (PQping(probe) == PQPING_OK) {
			attached = true;
			break;
		}
		if (i == 0)
			log_info("waiting for the previous postgres (pid %ld) to exit", (long)old);
		if (i == 299) {
			free(probe);
			rc = err_set(e, ERR_INTERNAL, "postgres",
				     "another postgres (pid %ld) is running on '%s'", (long)old, pgdir);
			goto done;
		}
		usleep(100000);
	}
	free(probe);
	if (attached) {
		log_info("using the PostgreSQL cluster already running in %s", pgdir);
		*conninfo = xasprintf("host=%s dbname=plue user=plue", pgdir);
		goto done;
	}

	const char *fsync = getenv("PLUE_PG_FSYNC"); /* "off" speeds up throwaway test clusters */
	char sockopt[PATH_MAX + 40], fsyncopt[32];
	snprintf(sockopt, sizeof(sockopt), "unix_socket_directories=%s", pgdir);
	snprintf(fsyncopt, sizeof(fsyncopt), "fsync=%s", fsync && !strcmp(fsync, "off") ? "off" : "on");
	char *argv[] = { postgres, "-D", pgdir, "-c", "listen_addresses=", "-c", sockopt,
			 "-c", "unix_socket_permissions=0700", "-c", fsyncopt,
			 "-c", "max_connections=200", NULL };
	pg_pid = spawn_as(pw, argv, logfd, true);
	if (pg_pid < 0) {
		rc = err_set(e, ERR_INTERNAL, "postgres", "cannot start postgres: %s", strerror(errno));
		goto done;
	}

	char *admin = xasprintf("host=%s dbname=postgres user=plue", pgdir);
	bool ready = false;
	for (int i = 0; i < 600; i++) { /* 30 s */
		if (PQping(admin) == PQPING_OK) {
			ready = true;
			break;
		}
		int st;
		if (waitpid(pg_pid, &st, WNOHANG) == pg_pid) {
			pg_pid = -1;
			break;
		}
		usleep(50000);
	}
	if (!ready) {
		free(admin);
		pg_embedded_stop();
		rc = err_set(e, ERR_INTERNAL, "postgres",
			     "embedded postgres did not start; see '%s'", logpath);
		goto done;
	}
	PGconn *c = PQconnectdb(admin);
	free(admin);
	PGresult *r = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = 'plue'");
	bool have = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	PQclear(r);
	if (!have) {
		r = PQexec(c, "CREATE DATABASE plue");
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = err_set(e, ERR_INTERNAL, "postgres", "cannot create database: %s",
				     PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
	if (!rc) {
		*conninfo = xasprintf("host=%s dbname=plue user=plue", pgdir);
		log_info("embedded PostgreSQL ready (socket in %s)", pgdir);
	}
done:
	if (logfd >= 0)
		close(logfd);
	free(pgdir);
	free(logpath);
	free(initdb);
	free(postgres);
	return rc;
}

void pg_embedded_stop(void)
{
	if (pg_pid <= 0)
		return;
	kill(pg_pid, SIGINT); /* fast shutdown */
	int st;
	for (int i = 0; i < 300; i++) { /* 30 s, then immediate */
		if (waitpid(pg_pid, &st, WNOHANG) == pg_pid) {
			pg_pid = -1;
			return;
		}
		usleep(100000);
	}
	kill(pg_pid, SIGQUIT);
	waitpid(pg_pid, &st, 0);
	pg_pid = -1;
}
