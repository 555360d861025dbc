/* embedded.c — the private PostgreSQL cluster `plue serve` runs when no
 * PLUE_DATABASE_URL is given: initdb on first run, listening on a Unix
 * socket inside its own directory (no TCP port, socket mode 0700), run as
 * an unprivileged system user when we are root, stopped with the server.
 * postgres is our child (not daemonised by pg_ctl) with a parent-death
 * signal, so a crashed server does not leave it running.
 *
 * Run as root, the data directory often lies below a directory the
 * cluster's user cannot traverse (a checkout in root's 0700 home, a mktemp
 * -d directory). Rather than loosen the permissions of the user's own
 * directories, initdb and postgres then run in a private mount namespace
 * where the data directory is bound onto PG_VIEW, a path every user can
 * reach: the files stay where the README says, the host's mounts and
 * modes are untouched, and the namespace dies with postgres. Clients reach
 * the socket through the real path (a bind mount is the same directory). */
#include "db/db.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t pg_pid = -1;

/* Where the data directory appears inside the private mount namespace.
 * Every cluster's namespace is its own, so clusters started at once (one
 * per test server) each see their own directory at the same path. */
#define PG_VIEW_PARENT "/run/plue"
#define PG_VIEW PG_VIEW_PARENT "/embedded"

/* How initdb and postgres reach the data directory. */
struct pg_place {
	const struct passwd *pw; /* run as this user; NULL: as we are */
	const char *real;        /* the data directory (absolute) */
	const char *view;        /* the path the cluster uses: real, or PG_VIEW */
};

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

/* In a forked child (root): a private mount namespace in which the data
 * directory is at PG_VIEW. Returns 0 or -1 with errno. */
static int enter_view(const char *real)
{
	if (unshare(CLONE_NEWNS))
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	return mount(real, PG_VIEW, NULL, MS_BIND, NULL);
}

/* fork + (private view) + (drop privileges) + exec argv with stdout/stderr
 * to logfd, in the data directory. daemon_child: keep running, die with
 * us. Returns the pid. */
static pid_t spawn_as(const struct pg_place *pl, char *const argv[], int logfd, bool daemon_child)
{
	const struct passwd *pw = pl->pw;
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
	if (strcmp(pl->view, pl->real) && enter_view(pl->real)) {
		fprintf(stderr, "cannot show '%s' at %s: %s\n", pl->real, PG_VIEW, strerror(errno));
		_exit(126);
	}
	/* initdb and postgres go back to their starting directory: it must be
	 * one the cluster's user can enter */
	if (chdir(pl->view)) {
		perror(pl->view);
		_exit(126);
	}
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

static int run_as(const struct pg_place *pl, char *const argv[], int logfd)
{
	pid_t p = spawn_as(pl, argv, logfd, false);
	int st = 0;
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int chown_tree_dir(const char *path, const struct passwd *pw)
{
	return pw ? chown(path, pw->pw_uid, pw->pw_gid) : 0;
}

/* Whether pw may enter dir (every parent traversable): asked of the
 * kernel by a child with pw's identity, so modes, ACLs and groups count. */
static bool user_reaches(const struct passwd *pw, const char *dir)
{
	pid_t p = fork();
	if (p < 0)
		return false;
	if (p == 0) {
		if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
			_exit(2);
		_exit(access(dir, X_OK) ? 1 : 0);
	}
	int st;
	return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Whether a forked child may make a private mount namespace with the view
 * (root without CAP_SYS_ADMIN, in some containers, may not). */
static bool view_works(const char *real)
{
	pid_t p = fork();
	if (p < 0)
		return false;
	if (p == 0)
		_exit(enter_view(real) ? 1 : 0);
	int st;
	return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Decides how the cluster reaches real (see the file comment); fills pl.
 * Returns 0, or ERR_UNAVAILABLE with a one-line remedy. */
static int place_decide(struct pg_place *pl, const struct passwd *pw, const char *real, struct err *e)
{
	pl->pw = pw;
	pl->real = pl->view = real;
	if (!pw || user_reaches(pw, real))
		return 0;
	if ((mkdir(PG_VIEW_PARENT, 0755) && errno != EEXIST) ||
	    (mkdir(PG_VIEW, 0755) && errno != EEXIST) || !view_works(real))
		return err_set(e, ERR_UNAVAILABLE, "data_dir",
			       "database user '%s' cannot reach '%.80s' and no mount namespace "
			       "is allowed here: chmod o+x its parents or set PLUE_DATA_DIR "
			       "under /var/lib",
			       pw->pw_name, real);
	pl->view = PG_VIEW;
	log_info("user '%s' cannot reach '%s': the embedded PostgreSQL sees it at %s in a "
		 "private mount namespace",
		 pw->pw_name, real, PG_VIEW);
	return 0;
}

int pg_embedded_start(const char *dir, const char *user, char **conninfo, struct err *e)
{
	int rc = 0;
	int logfd = -1;
	char *pgdir = NULL, *logpath = NULL, *initdb = NULL, *postgres = NULL, *viewdir = NULL;
	struct passwd pwbuf, *pw = NULL;
	struct pg_place place;
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
	if ((rc = place_decide(&place, pw, abs, e)))
		goto done;
	viewdir = xasprintf("%s/pg", place.view);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		rc = err_set(e, ERR_INTERNAL, "data_dir", "cannot open '%s': %s", logpath,
			     strerror(errno));
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
		char *argv[] = { initdb,
				 "-D",
				 viewdir,
				 "-U",
				 "plue",
				 "-A",
				 "trust",
				 "-E",
				 "UTF8",
				 "--locale=C",
				 "--no-instructions",
				 NULL };
		if (run_as(&place, argv, logfd) != 0) {
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
				     "another postgres (pid %ld) is running on '%s'", (long)old,
				     pgdir);
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
	snprintf(sockopt, sizeof(sockopt), "unix_socket_directories=%s", viewdir);
	snprintf(fsyncopt, sizeof(fsyncopt), "fsync=%s",
		 fsync && !strcmp(fsync, "off") ? "off" : "on");
	char *argv[] = { postgres,
			 "-D",
			 viewdir,
			 "-c",
			 "listen_addresses=",
			 "-c",
			 sockopt,
			 "-c",
			 "unix_socket_permissions=0700",
			 "-c",
			 fsyncopt,
			 "-c",
			 "max_connections=200",
			 NULL };
	pg_pid = spawn_as(&place, argv, logfd, true);
	if (pg_pid < 0) {
		rc = err_set(e, ERR_INTERNAL, "postgres", "cannot start postgres: %s",
			     strerror(errno));
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
	free(viewdir);
	free(logpath);
	free(initdb);
	free(postgres);
	return rc;
}

void pg_embedded_stop(void)
{
	if (pg_pid <= 0)
		return;
	kill(pg_pid, SIGINT);           /* fast shutdown */
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
