/* ssh.c — git over SSH (see ssh.h): host keys, the listener with its
 * connection limits, public-key authentication against ssh_keys, the one
 * session channel a git client opens, and the pump between that channel
 * and the git child. The protocol itself is libssh's; this file decides
 * who may do what and moves bytes with bounded buffers. */
#include "ssh/ssh.h"
#include "forge/forge.h"
#include "auth/auth.h"
#include "auth/sshkey.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "git/transport.h"

#include <libssh/libssh.h>
#include <libssh/server.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PUMP_CAP (64 * 1024) /* each direction */
#define CMD_MAX 1024         /* longest exec command accepted */

/* ---- state ---- */

struct conn {
	int fd;
	char ip[INET6_ADDRSTRLEN];
	struct conn *next;
};

static ssh_bind sbind;
static int listen_fd = -1;
static int listen_port;
static int wake_pipe[2] = { -1, -1 };
static pthread_t accept_thread;
static bool started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conns_cv = PTHREAD_COND_INITIALIZER;
static struct conn *conns; /* live connections, under mu */
static int nconns;

/* ---- host keys ---- */

/* Loads DATA/ssh/NAME, or generates it (mode 0600 from its creation on).
 * Replicas may start together on one data directory: the new key is
 * written to a file of this process's own and linked into place, and a
 * replica that loses the race loads the winner's, so all serve one key. */
static int host_key(ssh_key *out, const char *dir, const char *name, enum ssh_keytypes_e type,
		    int bits, struct err *e)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	ssh_key key = NULL;
	int rc = 0;
	if (access(path, F_OK) == 0) {
		if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK)
			rc = err_set(e, ERR_INTERNAL, NULL, "cannot read ssh host key '%s'", path);
		goto done;
	}
	if (ssh_pki_generate(type, bits, &key) != SSH_OK) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot generate ssh host key '%s'", name);
		goto done;
	}
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot create '%s': %s", tmp, strerror(errno));
		goto done;
	}
	close(fd);
	if (ssh_pki_export_privkey_file(key, NULL, NULL, NULL, tmp) != SSH_OK || chmod(tmp, 0600)) {
		unlink(tmp);
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot write ssh host key '%s'", path);
		goto done;
	}
	int lrc = link(tmp, path), saved = errno;
	unlink(tmp);
	if (lrc && saved == EEXIST) {
		/* another replica's came first: serve that one */
		ssh_key_free(key);
		key = NULL;
		if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK)
			rc = err_set(e, ERR_INTERNAL, NULL, "cannot read ssh host key '%s'", path);
		goto done;
	}
	if (lrc) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot write ssh host key '%s'", path);
		goto done;
	}
	log_info("created ssh host key %s", path);
done:
	if (rc) {
		ssh_key_free(key);
		key = NULL;
	}
	*out = key;
	free(path);
	free(tmp);
	return rc;
}

/* ---- the listener ---- */

static int listen_on(const char *addr, int port, struct err *e)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char ports[16];
	snprintf(ports, sizeof(ports), "%d", port);
	if (getaddrinfo(addr, ports, &hints, &ai) || !ai)
		return err_set(e, ERR_INTERNAL, NULL, "invalid ssh listen address '%.100s'", addr);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	int rc = 0;
	if (fd < 0) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot create ssh socket: %s", strerror(errno));
		goto done;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot listen for ssh on %.100s:%d: %s", addr,
			     port, strerror(errno));
		goto done;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	listen_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						     : ((struct sockaddr_in *)&ss)->sin_port);
	listen_fd = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

/* ---- authentication ---- */

struct identity {
	struct auth auth;
	char fingerprint[SSHKEY_FINGERPRINT_LEN];
};

struct key_lookup {
	const char *fingerprint;
	const char *b64; /* the offered key's base64 blob */
	bool mark_used;  /* the signature checked out: note the key's last use */
	struct arena *a;
	bool found;
	struct auth auth;
};

/* The user whose registered key is the offered one (fingerprint, then the
 * whole blob). */
static void lookup_key(void *arg, PGconn *db)
{
	struct key_lookup *k = arg;
	struct err e = { 0 };
	if (!db)
		return;
	PGresult *res = db_qv(db, k->a, &e,
			      "SELECT k.id, k.user_id, u.username, u.is_admin, k.public_key "
			      "FROM ssh_keys k JOIN users u ON u.id = k.user_id "
			      "WHERE k.fingerprint = $1",
			      k->fingerprint);
	if (!res || PQntuples(res) != 1)
		return;
	const char *pk = db_val(res, 0, 4);
	const char *sp = pk ? strchr(pk, ' ') : NULL;
	if (!sp || strcmp(sp + 1, k->b64))
		return;
	k->found = true;
	k->auth.via = AUTH_SESSION; /* a user's own credential: every scope of theirs */
	k->auth.user_id = db_int(res, 0, 1);
	k->auth.username = arena_strdup(k->a, db_val(res, 0, 2));
	k->auth.is_admin = db_bool(res, 0, 3);
	if (k->mark_used)
		db_qv(db, k->a, &e, "UPDATE ssh_keys SET last_used_at = now() WHERE id = $1",
		      db_val(res, 0, 0));
}

/* 1 when key belongs to a user (id filled), 0 when not, -1 on error. */
static int key_owner(ssh_key key, bool verified, struct arena *a, struct identity *id)
{
	char *b64 = NULL;
	if (!key || ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return -1;
	/* the wire blob, fingerprinted as the API did when the key was added */
	size_t len = strlen(b64);
	if (len > SSHKEY_MAX_LEN) {
		ssh_string_free_char(b64);
		return 0;
	}
	unsigned char *blob = arena_alloc(a, len + 1);
	int n = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		ssh_string_free_char(b64);
		return -1;
	}
	for (size_t i = len; i > 0 && b64[i - 1] == '='; i--)
		n--; /* EVP_DecodeBlock counts the padding */
	sshkey_fingerprint(id->fingerprint, blob, (size_t)n);
	struct key_lookup k = {
		.fingerprint = id->fingerprint, .b64 = b64, .mark_used = verified, .a = a
	};
	workers_run(lookup_key, &k);
	ssh_string_free_char(b64);
	if (!k.found)
		return 0;
	id->auth = k.auth;
	return 1;
}

/* Public keys only. An unknown key gets one banner line, which OpenSSH
 * prints on stderr before "Permission denied (publickey)". Returns true
 * when the client proved it holds a registered key. */
static bool authenticate(ssh_session s, struct arena *a, struct identity *id, const char *ip)
{
	int failures = 0;
	bool told = false;
	int64_t deadline = now_ms() + (int64_t)cfg.ssh_timeout * 1000;
	ssh_set_auth_methods(s, SSH_AUTH_METHOD_PUBLICKEY);
	while (now_ms() < deadline) {
		ssh_message m = ssh_message_get(s);
		if (!m)
			return false;
		bool ok = false, failed = false;
		if (ssh_message_type(m) != SSH_REQUEST_AUTH) {
			ssh_message_reply_default(m);
		} else if (ssh_message_subtype(m) != SSH_AUTH_METHOD_PUBLICKEY) {
			/* "none" probes, passwords, keyboard-interactive */
			failed = ssh_message_subtype(m) != SSH_AUTH_METHOD_NONE;
			ssh_message_auth_set_methods(m, SSH_AUTH_METHOD_PUBLICKEY);
			ssh_message_reply_default(m);
		} else {
			/* libssh checked the signature (state VALID) or there is none
			 * yet (NONE: "would this key do?"). These accessors are
			 * deprecated for the callback API; the blocking message loop
			 * keeps a connection one straight line of code. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
			enum ssh_publickey_state_e st = ssh_message_auth_publickey_state(m);
			ssh_key offered = ssh_message_auth_pubkey(m);
#pragma GCC diagnostic pop
			bool verified = st == SSH_PUBLICKEY_STATE_VALID;
			int own = st == SSH_PUBLICKEY_STATE_NONE || verified
					  ? key_owner(offered, verified, a, id)
					  : 0;
			if (own == 1 && verified) {
				ssh_message_auth_reply_success(m, 0);
				ok = true;
			} else if (own == 1) {
				ssh_message_auth_reply_pk_ok_simple(m);
			} else {
				if (own == 0 && !told) {
					char *msg = xasprintf("plue: the SSH key %s is not registered "
							      "with any account; add it under "
							      "/api/user/keys\r\n",
							      id->fingerprint);
					ssh_string banner = ssh_string_from_char(msg);
					ssh_send_issue_banner(s, banner);
					ssh_string_free(banner);
					free(msg);
					told = true;
				}
				failed = true;
				ssh_message_auth_set_methods(m, SSH_AUTH_METHOD_PUBLICKEY);
				ssh_message_reply_default(m);
			}
		}
		ssh_message_free(m);
		if (ok) {
			log_info("ssh: %s authenticated as '%s' with %s", ip, id->auth.username,
				 id->fingerprint);
			return true;
		}
		if (failed && ++failures >= cfg.ssh_auth_tries) {
			log_info("ssh: %s: too many authentication failures", ip);
			return false;
		}
	}
	log_info("ssh: %s did not authenticate in time", ip);
	return false;
}

/* ---- commands ---- */

struct repo_lookup {
	struct arena *a;
	const struct auth *auth;
	const char *owner, *name;
	bool write;
	struct repo *repo;
	struct err err;
	int rc;
};

/* The repository and the one authorization call, as the HTTP dispatcher
 * makes them for the git routes. */
static void lookup_repo(void *arg, PGconn *db)
{
	struct repo_lookup *l = arg;
	if (!db) {
		l->rc = err_set(&l->err, ERR_UNAVAILABLE, NULL, "the database is unavailable");
		return;
	}
	struct forge f = { .db = db, .arena = l->a, .err = &l->err, .who = l->auth };
	l->rc = repo_load(&l->repo, &f, l->owner, l->name);
	if (!l->rc)
		l->rc = authz_repo_area(l->auth, l->repo, l->write ? ACT_WRITE : ACT_READ,
					l->write ? AREA_CONTENTS : 0, &l->err);
}

struct push_job {
	const struct repo *repo;
	const struct auth *auth;
	const struct git_push_cmds *cmds;
};

static void record_push(void *arg, PGconn *db)
{
	struct push_job *j = arg;
	git_push_record(db, j->repo, j->auth, j->cmds);
}

/* A message on the channel's stderr, then exit status 1. */
static void refuse(ssh_channel ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(ssh_channel ch, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	strcat(msg, "\n");
	ssh_channel_write_stderr(ch, msg, (uint32_t)strlen(msg));
	ssh_channel_request_send_exit_status(ch, 1);
	ssh_channel_send_eof(ch);
	ssh_channel_close(ch);
}

/* Writes all of data to the channel (stderr when err); false when the
 * connection failed or stayed blocked past the idle timeout. */
static bool chan_write(ssh_channel ch, const char *data, size_t len, bool err)
{
	int64_t idle_from = now_ms();
	while (len) {
		int n = err ? ssh_channel_write_stderr(ch, data, (uint32_t)len)
			    : ssh_channel_write(ch, data, (uint32_t)len);
		if (n == SSH_ERROR)
			return false;
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			idle_from = now_ms();
		} else if (now_ms() - idle_from > (int64_t)cfg.ssh_timeout * 1000) {
			return false;
		}
	}
	return true;
}

/* Moves bytes: channel → child stdin, child stdout → channel, child stderr
 * → channel stderr, each through a buffer of PUMP_CAP, until the child
 * closed its output. Returns the exit status for the client, or -1 when
 * the connection failed or idled out (the child is killed). */
static int pump(ssh_session s, ssh_channel ch, pid_t pid, int in_fd, int out_fd, int err_fd,
		struct git_push_cmds *cmds)
{
	char *in = xmalloc(PUMP_CAP), *out = xmalloc(PUMP_CAP);
	size_t in_len = 0;
	bool in_eof = false, out_open = true, err_open = true, broken = false;
	int64_t last = now_ms();
	fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
	while (out_open || err_open) {
		if (!in_eof && in_len < PUMP_CAP) {
			int n = ssh_channel_read_nonblocking(ch, in + in_len,
							     (uint32_t)(PUMP_CAP - in_len), 0);
			if (n == SSH_EOF || (n == 0 && ssh_channel_is_eof(ch))) {
				in_eof = true;
			} else if (n < 0) {
				broken = true;
				break;
			} else if (n > 0) {
				in_len += (size_t)n;
				last = now_ms();
			}
		}
		if (in_len && in_fd >= 0) {
			ssize_t w = write(in_fd, in, in_len);
			if (w > 0) {
				if (cmds)
					git_push_cmds_feed(cmds, in, (size_t)w);
				memmove(in, in + w, in_len - (size_t)w);
				in_len -= (size_t)w;
				last = now_ms();
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				in_len = 0; /* the child stopped reading: drop the rest */
				close(in_fd);
				in_fd = -1;
			}
		} else if (in_len && in_fd < 0) {
			in_len = 0;
		}
		if (in_eof && !in_len && in_fd >= 0) {
			close(in_fd);
			in_fd = -1;
		}
		struct pollfd pf[4];
		int np = 0, io = -1, ie = -1;
		/* libssh has handed out all it had buffered (read above) */
		if (!in_eof && in_len < PUMP_CAP)
			pf[np++] = (struct pollfd){ ssh_get_fd(s), POLLIN, 0 };
		if (in_len && in_fd >= 0)
			pf[np++] = (struct pollfd){ in_fd, POLLOUT, 0 };
		if (out_open) {
			io = np;
			pf[np++] = (struct pollfd){ out_fd, POLLIN, 0 };
		}
		if (err_open) {
			ie = np;
			pf[np++] = (struct pollfd){ err_fd, POLLIN, 0 };
		}
		int pr = poll(pf, (nfds_t)np, 1000);
		if (pr < 0 && errno != EINTR) {
			broken = true;
			break;
		}
		if (pr == 0 && now_ms() - last > (int64_t)cfg.ssh_timeout * 1000) {
			log_info("ssh: connection idle for %d s, closed", cfg.ssh_timeout);
			broken = true;
			break;
		}
		if (io >= 0 && pf[io].revents) {
			ssize_t n = read(out_fd, out, PUMP_CAP);
			if (n > 0) {
				last = now_ms();
				if (!chan_write(ch, out, (size_t)n, false)) {
					broken = true;
					break;
				}
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				out_open = false;
			}
		}
		if (ie >= 0 && pf[ie].revents) {
			ssize_t n = read(err_fd, out, PUMP_CAP);
			if (n > 0) {
				last = now_ms();
				if (!chan_write(ch, out, (size_t)n, true)) {
					broken = true;
					break;
				}
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				err_open = false;
			}
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	free(in);
	free(out);
	if (broken)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (broken)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs one exec request on the channel, start to exit status. */
static void run_command(ssh_session s, ssh_channel ch, struct arena *a, const struct identity *id,
			const char *cmd, const char *protocol, const char *ip)
{
	struct ssh_command sc = { 0 };
	if (strlen(cmd) > CMD_MAX || sshd_command_parse(&sc, a, cmd)) {
		if (!sc.svc)
			refuse(ch,
			       "fatal: unknown command '%.60s': plue runs only git-upload-pack, "
			       "git-receive-pack and git-upload-archive",
			       cmd);
		else
			refuse(ch,
			       "fatal: invalid repository path in '%.100s': use 'owner/repo.git'",
			       cmd);
		log_info("ssh: %s (%s): refused command '%.100s'", ip, id->auth.username, cmd);
		return;
	}
	const char *svc = sc.svc;
	bool receive = !strcmp(svc, "git-receive-pack");
	struct repo_lookup l = {
		.a = a, .auth = &id->auth, .owner = sc.owner, .name = sc.name, .write = receive
	};
	workers_run(lookup_repo, &l);
	if (l.rc) {
		refuse(ch, "fatal: %s", l.err.msg);
		log_info("ssh: %s (%s): %s: %s", ip, id->auth.username, svc, l.err.msg);
		return;
	}
	struct git_child c;
	if (git_service_spawn(&c, a, l.repo, &id->auth, svc, false, protocol)) {
		log_error("cannot run git %s: %s", svc + 4, strerror(errno));
		refuse(ch, "fatal: cannot run git");
		return;
	}
	struct git_push_cmds cmds;
	if (receive)
		git_push_cmds_init(&cmds);
	int status = pump(s, ch, c.pid, c.in_fd, c.out_fd, c.err_fd, receive ? &cmds : NULL);
	close(c.out_fd);
	close(c.err_fd);
	if (status != 0)
		log_info("ssh: %s (%s): git %s for %s/%s exited with %d", ip, id->auth.username,
			 svc + 4, l.repo->owner, l.repo->name, status);
	/* recorded before the exit status, so a client that returns sees it */
	if (receive && status >= 0 && cmds.n) {
		struct push_job j = { l.repo, &id->auth, &cmds };
		workers_run(record_push, &j);
	}
	if (receive)
		git_push_cmds_release(&cmds);
	if (status >= 0) {
		ssh_channel_request_send_exit_status(ch, status);
		ssh_channel_send_eof(ch);
		ssh_channel_close(ch);
	}
}

/* After authentication: one session channel, its env and one exec. */
static void serve_session(ssh_session s, struct arena *a, const struct identity *id, const char *ip)
{
	ssh_channel ch = NULL;
	char *protocol = NULL;
	for (;;) {
		ssh_message m = ssh_message_get(s);
		if (!m)
			break;
		int type = ssh_message_type(m), sub = ssh_message_subtype(m);
		bool last = false;
		if (type == SSH_REQUEST_CHANNEL_OPEN && sub == SSH_CHANNEL_SESSION && !ch) {
			ch = ssh_message_channel_request_open_reply_accept(m);
		} else if (type == SSH_REQUEST_CHANNEL && ch &&
			   ssh_message_channel_request_channel(m) == ch) {
			if (sub == SSH_CHANNEL_REQUEST_ENV &&
			    !strcmp(ssh_message_channel_request_env_name(m), "GIT_PROTOCOL")) {
				free(protocol);
				protocol = xstrdup(ssh_message_channel_request_env_value(m));
				ssh_message_channel_request_reply_success(m);
			} else if (sub == SSH_CHANNEL_REQUEST_EXEC) {
				char *cmd = xstrdup(ssh_message_channel_request_command(m));
				ssh_message_channel_request_reply_success(m);
				ssh_message_free(m);
				run_command(s, ch, a, id, cmd, protocol, ip);
				free(cmd);
				break;
			} else if (sub == SSH_CHANNEL_REQUEST_SHELL) {
				ssh_message_channel_request_reply_success(m);
				refuse(ch,
				       "Hi %s! You've authenticated, but plue does not provide shell "
				       "access; use git clone ssh://...",
				       id->auth.username);
				last = true;
			} else if (sub == SSH_CHANNEL_REQUEST_SUBSYSTEM) {
				ssh_message_channel_request_reply_success(m);
				refuse(ch, "fatal: subsystem '%.40s' is not supported",
				       ssh_message_channel_request_subsystem(m));
				last = true;
			} else {
				/* pty, agent forwarding, X11, other variables: refused */
				ssh_message_reply_default(m);
			}
		} else {
			/* port forwarding (direct-tcpip, tcpip-forward), more channels */
			if (type == SSH_REQUEST_CHANNEL_OPEN || type == SSH_REQUEST_GLOBAL)
				log_info("ssh: %s (%s): refused %s request", ip, id->auth.username,
					 type == SSH_REQUEST_GLOBAL ? "global" : "channel");
			ssh_message_reply_default(m);
		}
		ssh_message_free(m);
		if (last)
			break;
	}
	free(protocol);
	if (ch) {
		ssh_channel_close(ch);
		/* the client answers the close and hangs up itself: disconnecting
		 * first makes OpenSSH report "closed by remote host" and exit 255 */
		long grace = 5;
		ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &grace);
		ssh_message m;
		while ((m = ssh_message_get(s))) {
			ssh_message_reply_default(m);
			ssh_message_free(m);
		}
		ssh_channel_free(ch);
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct arena *a = arena_new();
	ssh_session s = ssh_new();
	long timeout = cfg.ssh_timeout > 0 ? cfg.ssh_timeout : 1;
	struct identity id = { 0 };
	ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
	if (ssh_bind_accept_fd(sbind, s, c->fd) != SSH_OK) {
		log_warn("ssh: %s: %s", c->ip, ssh_get_error(sbind));
		goto done;
	}
	if (ssh_handle_key_exchange(s) != SSH_OK) {
		log_info("ssh: %s: key exchange failed: %s", c->ip, ssh_get_error(s));
		goto done;
	}
	if (authenticate(s, a, &id, c->ip))
		serve_session(s, a, &id, c->ip);
done:
	/* off the list before the socket closes: sshd_stop shuts listed fds */
	pthread_mutex_lock(&mu);
	for (struct conn **p = &conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	ssh_disconnect(s);
	ssh_free(s);
	arena_free(a);
	free(c);
	pthread_mutex_lock(&mu);
	nconns--;
	pthread_cond_broadcast(&conns_cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void peer_ip(const struct sockaddr_storage *ss, char out[INET6_ADDRSTRLEN])
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out,
			  INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out,
			  INET6_ADDRSTRLEN);
}

static void *accept_main(void *arg)
{
	for (;;) {
		struct pollfd pf[2] = { { listen_fd, POLLIN, 0 }, { wake_pipe[0], POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (!pf[0].revents)
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct conn *c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		peer_ip(&ss, c->ip);
		pthread_mutex_lock(&mu);
		int same = 0;
		for (struct conn *o = conns; o; o = o->next)
			same += !strcmp(o->ip, c->ip);
		const char *over = nconns >= cfg.ssh_max_connections ? "too many connections"
				   : same >= cfg.ssh_per_ip_limit
					   ? "too many connections from your address"
					   : NULL;
		if (!over) {
			c->next = conns;
			conns = c;
			nconns++;
		}
		pthread_mutex_unlock(&mu);
		if (over) {
			/* before the version exchange: OpenSSH shows this line */
			char line[96];
			int n = snprintf(line, sizeof(line), "plue: %s\r\n", over);
			ssize_t w = write(fd, line, (size_t)n);
			(void)w;
			log_warn("ssh: %s: %s, connection refused", c->ip, over);
			close(fd);
			free(c);
			continue;
		}
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_main, c)) {
			log_error("ssh: cannot start a connection thread");
			pthread_mutex_lock(&mu);
			conns = c->next;
			nconns--;
			pthread_mutex_unlock(&mu);
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&at);
	}
	return NULL;
}

/* ---- start and stop ---- */

int sshd_start(struct err *e)
{
	char *dir = xasprintf("%s/ssh", cfg.data_abs);
	ssh_key ed = NULL, ec = NULL;
	int rc = 0;
	ssh_init();
	if (mkdir(dir, 0700) && errno != EEXIST) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot create '%s': %s", dir, strerror(errno));
		goto done;
	}
	if ((rc = host_key(&ed, dir, "ssh_host_ed25519_key", SSH_KEYTYPE_ED25519, 0, e)) ||
	    (rc = host_key(&ec, dir, "ssh_host_ecdsa_key", SSH_KEYTYPE_ECDSA_P256, 256, e)))
		goto done;
	sbind = ssh_bind_new();
	/* the bind takes ownership of imported keys */
	if (ssh_bind_options_set(sbind, SSH_BIND_OPTIONS_IMPORT_KEY, ed) != SSH_OK) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot use the ssh host keys");
		goto done;
	}
	ed = NULL;
	if (ssh_bind_options_set(sbind, SSH_BIND_OPTIONS_IMPORT_KEY, ec) != SSH_OK) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot use the ssh host keys");
		goto done;
	}
	ec = NULL;
	if ((rc = listen_on(cfg.ssh_listen, cfg.ssh_port, e)))
		goto done;
	if (pipe2(wake_pipe, O_CLOEXEC)) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot create pipe");
		goto done;
	}
	if (pthread_create(&accept_thread, NULL, accept_main, NULL)) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot start the ssh accept thread");
		goto done;
	}
	started = true;
done:
	ssh_key_free(ed);
	ssh_key_free(ec);
	if (rc) {
		if (listen_fd >= 0)
			close(listen_fd);
		listen_fd = -1;
		for (int i = 0; i < 2; i++) {
			if (wake_pipe[i] >= 0)
				close(wake_pipe[i]);
			wake_pipe[i] = -1;
		}
		if (sbind)
			ssh_bind_free(sbind);
		sbind = NULL;
	}
	free(dir);
	return rc;
}

int sshd_port(void)
{
	return started ? listen_port : 0;
}

void sshd_stop(void)
{
	if (!started)
		return;
	char c = 1;
	ssize_t w = write(wake_pipe[1], &c, 1);
	(void)w;
	pthread_join(accept_thread, NULL);
	close(listen_fd);
	listen_fd = -1;
	/* wake every connection thread from its socket; each kills its child */
	pthread_mutex_lock(&mu);
	for (struct conn *o = conns; o; o = o->next)
		shutdown(o->fd, SHUT_RDWR);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	while (nconns > 0 && pthread_cond_timedwait(&conns_cv, &mu, &until) == 0)
		;
	if (nconns > 0)
		log_warn("ssh: %d connections still open at shutdown", nconns);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 2; i++) {
		close(wake_pipe[i]);
		wake_pipe[i] = -1;
	}
	if (nconns == 0) {
		ssh_bind_free(sbind);
		sbind = NULL;
	}
	started = false;
}
