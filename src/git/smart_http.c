/* smart_http.c — git's smart HTTP protocol (v0 and v2): ref advertisement,
 * fetch (upload-pack) and push (receive-pack). The real `git upload-pack` /
 * `git receive-pack --stateless-rpc` do the work, spawned by
 * git/transport.c. Bodies stream: a pump thread per request moves the
 * request body from a bounded buffer into the child's stdin (inflating
 * gzip) and the child's stdout into a bounded buffer the HTTP layer
 * drains, so memory stays bounded whatever the pack size. A full buffer
 * stops the reading side. After a push, the updated refs go to `branches`
 * and one `events` row per ref, in one transaction, with NOTIFY
 * plue_events. */
#include "git/objects.h"
#include "git/smart_http.h"
#include "forge/forge.h"
#include "forge/push.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "db/db.h"
#include "git/maintain.h"
#include "git/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define BUF_CAP (256 * 1024)  /* each direction */
#define ADVERT_MAX (64 << 20) /* ref advertisement cap */
#define ERR_CAP 4096          /* child stderr kept for the log */

/* The protocol a fetch asks for: git/transport.c passes only the versions
 * git itself sends on to git. */
static const char *git_protocol(const struct req *r)
{
	return req_header(r, "Git-Protocol");
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---- ref advertisement ---- */

static int service_from_query(struct req *r, const char **svc)
{
	const char *s = req_query(r, "service");
	if (!s)
		return err_set(
			&r->err, ERR_PERM, "dumb_http",
			"the dumb HTTP protocol is not supported; use a git client that speaks smart HTTP");
	if (strcmp(s, "git-upload-pack") && strcmp(s, "git-receive-pack"))
		return err_set(&r->err, ERR_INVALID, "invalid_service",
			       "unknown git service '%.40s'", s);
	*svc = s;
	return 0;
}

static void pkt_line(struct buf *b, const char *s)
{
	buf_addf(b, "%04zx%s", strlen(s) + 4, s);
}

int h_git_info_refs(struct req *r, struct resp *w)
{
	const char *svc = NULL;
	int rc;
	if ((rc = service_from_query(r, &svc)))
		return rc;
	bool push = !strcmp(svc, "git-receive-pack");
	if (push && (rc = authz_repo_area(&r->auth, r->repo, ACT_WRITE, AREA_CONTENTS, &r->err)))
		return rc;
	const char *proto = push ? NULL : git_protocol(r);
	struct git_child c;
	if (git_advertise_spawn(&c, r->arena, r->repo, svc, proto)) {
		log_error("cannot run git %s: %s", svc + 4, strerror(errno));
		return err_set(&r->err, ERR_INTERNAL, "git_error", "cannot run git");
	}
	close(c.in_fd);
	close(c.err_fd);
	bool v2 = proto && !strcmp(proto, "version=2");
	struct buf *b = &w->body;
	buf_reset(b);
	if (!v2) {
		pkt_line(b, arena_printf(r->arena, "# service=%s\n", svc));
		buf_adds(b, "0000");
	}
	char chunk[65536];
	ssize_t n;
	bool too_big = false;
	while ((n = read(c.out_fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (b->len + (size_t)n > ADVERT_MAX) {
			too_big = true;
			break;
		}
		buf_add(b, chunk, (size_t)n);
	}
	close(c.out_fd);
	if (too_big)
		kill(c.pid, SIGKILL);
	int st = 0;
	waitpid(c.pid, &st, 0);
	if (too_big || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		buf_reset(b);
		log_error("git %s --advertise-refs failed for %s", svc + 4, r->repo->disk_path);
		return err_set(&r->err, ERR_INTERNAL, "git_error", "git %s failed", svc + 4);
	}
	w->status = 200;
	w->content_type = arena_printf(r->arena, "application/x-%s-advertisement", svc);
	resp_header(w, "Cache-Control", "no-cache, max-age=0, must-revalidate");
	resp_header(w, "Expires", "Fri, 01 Jan 1980 00:00:00 GMT");
	resp_header(w, "Pragma", "no-cache");
	return 0;
}

/* ---- the streaming pump ---- */

struct git_stream {
	struct http_stream base;
	pid_t pid;
	int in_fd, out_fd, err_fd;
	int wake_r, wake_w; /* wakes the pump */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	/* request body: event thread → pump → child stdin */
	char *in;
	size_t in_len;
	bool in_eof;
	bool child_gone; /* stdin closed by the child: further body bytes are dropped */
	/* response: child stdout → pump → event thread */
	char *out;
	char *scratch;
	size_t out_off, out_len;
	bool out_eof, out_failed;
	bool aborted;
	/* gzip request bodies */
	bool gzip, z_ready, z_done;
	z_stream z;
	char *zbuf; /* inflated bytes not yet written */
	size_t zoff, zlen;
	/* stderr, for the log */
	struct buf errtext;
	/* receive-pack: commands parsed from the body's first pkt-lines */
	bool receive;
	struct git_push_cmds push;
	struct req *r; /* outlives the stream: freed after stream free */
	const char *svc;
	/* for the metrics: bytes on the wire, and git's exit */
	uint64_t bytes_in, bytes_out;
	bool exit_ok;
	/* upload-pack without gzip: spawned by the pump once the request is
	 * in (see fetch_cacheable) */
	bool deferred;
	const char *proto;
};

static void pump_wake(struct git_stream *g)
{
	char c = 1;
	ssize_t n = write(g->wake_w, &c, 1);
	(void)n; /* a full pipe is already a pending wake-up */
}

/* Writes what it can of data to the child's stdin; returns bytes taken or
 * -1 when the child stopped reading. */
static ssize_t feed_child(struct git_stream *g, const char *data, size_t len)
{
	ssize_t n = write(g->in_fd, data, len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (g->receive && n > 0)
		git_push_cmds_feed(&g->push, data, (size_t)n);
	return n;
}

/* Moves request bytes toward the child. Returns true when input space was
 * freed (the HTTP side may be waiting for it). */
static bool pump_input(struct git_stream *g)
{
	bool freed = false;
	pthread_mutex_lock(&g->mu);
	for (;;) {
		if (g->gzip && g->zlen) {
			ssize_t n = feed_child(g, g->zbuf + g->zoff, g->zlen);
			if (n < 0) {
				g->child_gone = true; /* it stopped reading: drop the rest */
				g->in_len = 0;
				g->zlen = 0;
				freed = true;
				break;
			}
			g->zoff += (size_t)n;
			g->zlen -= (size_t)n;
			if (g->zlen)
				break; /* pipe full */
		}
		if (!g->in_len)
			break;
		if (g->gzip) {
			if (g->z_done) { /* trailing bytes after the gzip stream */
				g->in_len = 0;
				freed = true;
				break;
			}
			g->z.next_in = (Bytef *)g->in;
			g->z.avail_in = (uInt)g->in_len;
			g->z.next_out = (Bytef *)g->zbuf;
			g->z.avail_out = BUF_CAP;
			int zr = inflate(&g->z, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
				log_warn("git %s: bad gzip request body", g->svc);
				g->in_len = 0;
				g->in_eof = true;
				freed = true;
				break;
			}
			if (zr == Z_STREAM_END)
				g->z_done = true;
			size_t used = g->in_len - g->z.avail_in;
			memmove(g->in, g->in + used, g->in_len - used);
			g->in_len -= used;
			freed |= used > 0;
			g->zoff = 0;
			g->zlen = BUF_CAP - g->z.avail_out;
			if (!used && !g->zlen)
				break;
			continue;
		}
		ssize_t n = feed_child(g, g->in, g->in_len);
		if (n < 0) {
			g->child_gone = true;
			g->in_len = 0;
			freed = true;
			break;
		}
		if (n == 0)
			break;
		memmove(g->in, g->in + n, g->in_len - (size_t)n);
		g->in_len -= (size_t)n;
		freed = true;
	}
	if (g->in_eof && !g->in_len && !g->zlen && g->in_fd >= 0) {
		close(g->in_fd);
		g->in_fd = -1;
	}
	pthread_mutex_unlock(&g->mu);
	return freed;
}

/* After receive-pack: which commands took effect, recorded in one
 * transaction. Runs on a worker (it has the DB connection). */
struct post_push {
	struct git_stream *g;
};

void git_push_record(PGconn *db, const struct repo *repo, const struct auth *pusher,
		     const struct git_push_cmds *g)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	struct forge f = { .db = db, .arena = a, .err = &e, .who = pusher };
	git_repository *grepo = NULL;
	if (!db) {
		log_error("push to %s/%s: database unavailable, refs not recorded", repo->owner,
			  repo->name);
		goto done;
	}
	if (objects_repo_open(&grepo, repo->disk_path, &e)) {
		log_error("push to %s/%s: %s", repo->owner, repo->name, e.msg);
		goto done;
	}
	/* which commands took effect: the ref now holds what was asked */
	struct push_update *ups = arena_alloc(a, (g->n + 1) * sizeof(*ups));
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct git_ref_update *u = &g->cmds[i];
		git_oid oid;
		int lr = git_reference_name_to_id(&oid, grepo, u->ref);
		bool applied = !strcmp(u->new_sha, SHA1_ZERO)
				       ? lr == GIT_ENOTFOUND
				       : lr == 0 && !strcmp(git_oid_tostr_s(&oid), u->new_sha);
		if (applied)
			ups[n++] = (struct push_update){ .ref = u->ref,
							 .before = u->old_sha,
							 .after = u->new_sha };
	}
	if (!n)
		goto done;
	if (db_begin(db, &e) || push_record(&f, repo, grepo, n, ups, NULL) || db_commit(db, &e)) {
		db_rollback(db);
		log_error("push to %s/%s: cannot record ref updates: %s", repo->owner, repo->name,
			  e.msg);
		goto done;
	}
	maintain_note_push(db, repo->id); /* housekeeping, debounced (git/maintain.h) */
done:
	arena_free(a);
}

static void record_push(void *arg, PGconn *db)
{
	struct git_stream *g = ((struct post_push *)arg)->g;
	git_push_record(db, g->r->repo, &g->r->auth, &g->push);
}

/* Whether the pack of a fetch request (pkt-lines, v0 or v2) is worth the
 * pack cache: not when the request offers haves. Such a fetch (a runner's
 * checkout of a new commit, `git pull`) gets a pack of what is new since
 * its haves, usually small and cheap to make, and its key (the haves are
 * part of it) is rarely asked twice; the hook would cost it a process and
 * a walk of the refs for nothing. Clones, first fetches and anything this
 * does not recognise keep the cache. */
static bool fetch_cacheable(const char *p, size_t len)
{
	size_t off = 0;
	while (off + 4 <= len) {
		unsigned char len4[2];
		if (hex_decode(len4, p + off, 2))
			return true;
		size_t n = (size_t)len4[0] << 8 | len4[1];
		if (n < 4) { /* flush, delimiter, response end */
			off += 4;
			continue;
		}
		if (off + n > len)
			return true;
		if (n >= 9 && !memcmp(p + off + 4, "have ", 5))
			return false;
		off += n;
	}
	return true;
}

/* Deferred upload-pack: waits for the whole request (or a full buffer) and
 * spawns git, with the pack cache's hook when fetch_cacheable says so. A
 * fetch's request is small and the client sends all of it before reading,
 * so nothing waits on the response meanwhile. Returns false when the
 * client went away or git could not be started (the response then fails). */
static bool pump_spawn(struct git_stream *g)
{
	for (;;) {
		pthread_mutex_lock(&g->mu);
		bool aborted = g->aborted, ready = g->in_eof || g->in_len >= BUF_CAP;
		pthread_mutex_unlock(&g->mu);
		if (aborted)
			return false;
		if (ready)
			break;
		struct pollfd pf = { g->wake_r, POLLIN, 0 };
		if (poll(&pf, 1, -1) < 0 && errno != EINTR)
			return false;
		char drain[64];
		while (read(g->wake_r, drain, sizeof(drain)) > 0)
			;
	}
	pthread_mutex_lock(&g->mu);
	bool cache = !g->in_eof || fetch_cacheable(g->in, g->in_len);
	pthread_mutex_unlock(&g->mu);
	struct arena *a = arena_new();
	struct git_child c;
	int rc = git_upload_pack_spawn(&c, a, g->r->repo, g->proto, cache);
	if (rc)
		log_error("cannot run git upload-pack: %s", strerror(errno));
	arena_free(a);
	if (rc)
		return false;
	set_nonblock(c.in_fd);
	set_nonblock(c.out_fd);
	set_nonblock(c.err_fd);
	pthread_mutex_lock(&g->mu);
	g->pid = c.pid;
	g->in_fd = c.in_fd;
	g->out_fd = c.out_fd;
	g->err_fd = c.err_fd;
	pthread_mutex_unlock(&g->mu);
	metrics_count(&metric_git_pack_cache, (const char *[]){ cache ? "used" : "bypassed" }, 1);
	return true;
}

static void *pump_main(void *arg)
{
	struct git_stream *g = arg;
	bool out_open = true, err_open = true;
	if (g->deferred && !pump_spawn(g)) {
		pthread_mutex_lock(&g->mu);
		g->out_eof = true;
		g->out_failed = g->out_len == 0;
		pthread_mutex_unlock(&g->mu);
		g->base.wake(&g->base);
		return NULL;
	}
	while (out_open || err_open) {
		pthread_mutex_lock(&g->mu);
		bool aborted = g->aborted;
		bool have_in = g->in_fd >= 0 && (g->in_len || g->zlen || g->in_eof);
		bool room_out = g->out_len < BUF_CAP;
		pthread_mutex_unlock(&g->mu);
		if (aborted)
			break;
		struct pollfd pf[4];
		int n = 0, iw = -1, io = -1, ie = -1;
		pf[n++] = (struct pollfd){ g->wake_r, POLLIN, 0 };
		if (have_in) {
			iw = n;
			pf[n++] = (struct pollfd){ g->in_fd, POLLOUT, 0 };
		}
		if (out_open && room_out) {
			io = n;
			pf[n++] = (struct pollfd){ g->out_fd, POLLIN, 0 };
		}
		if (err_open) {
			ie = n;
			pf[n++] = (struct pollfd){ g->err_fd, POLLIN, 0 };
		}
		if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents) {
			char drain[64];
			while (read(g->wake_r, drain, sizeof(drain)) > 0)
				;
		}
		if (iw >= 0 && pf[iw].revents) {
			if (pump_input(g))
				g->base.wake(&g->base);
		} else {
			pthread_mutex_lock(&g->mu);
			if (g->in_fd >= 0 && g->in_eof && !g->in_len && !g->zlen) {
				close(g->in_fd);
				g->in_fd = -1;
			}
			pthread_mutex_unlock(&g->mu);
		}
		if (io >= 0 && pf[io].revents) {
			pthread_mutex_lock(&g->mu);
			size_t room = BUF_CAP - g->out_len;
			pthread_mutex_unlock(&g->mu);
			/* read outside the lock into scratch, append under it */
			ssize_t r = read(g->out_fd, g->scratch, room);
			if (r > 0) {
				pthread_mutex_lock(&g->mu);
				if (g->out_off + g->out_len + (size_t)r > BUF_CAP) {
					memmove(g->out, g->out + g->out_off, g->out_len);
					g->out_off = 0;
				}
				memcpy(g->out + g->out_off + g->out_len, g->scratch, (size_t)r);
				g->out_len += (size_t)r;
				pthread_mutex_unlock(&g->mu);
				g->base.wake(&g->base);
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				out_open = false;
			}
		}
		if (ie >= 0 && pf[ie].revents) {
			char tmp[1024];
			ssize_t r = read(g->err_fd, tmp, sizeof(tmp));
			if (r > 0) {
				if (g->errtext.len < ERR_CAP)
					buf_add(&g->errtext, tmp, (size_t)r);
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				err_open = false;
			}
		}
	}
	pthread_mutex_lock(&g->mu);
	bool aborted = g->aborted;
	if (g->in_fd >= 0) {
		close(g->in_fd);
		g->in_fd = -1;
	}
	pthread_mutex_unlock(&g->mu);
	if (aborted) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, NULL, 0);
		g->pid = -1;
		return NULL;
	}
	int st = 0;
	waitpid(g->pid, &st, 0);
	g->pid = -1;
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok)
		log_warn("git %s for %s/%s exited with %d: %.300s", g->svc, g->r->repo->owner,
			 g->r->repo->name, WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st),
			 g->errtext.ptr);
	if (g->receive && g->push.n) {
		struct post_push pp = { g };
		workers_run(record_push, &pp);
	}
	pthread_mutex_lock(&g->mu);
	g->out_eof = true;
	g->out_failed = !ok && g->out_len == 0;
	g->exit_ok = ok;
	pthread_mutex_unlock(&g->mu);
	g->base.wake(&g->base);
	return NULL;
}

/* ---- http_stream operations (event thread) ---- */

static size_t gs_write(struct http_stream *s, const char *data, size_t len)
{
	struct git_stream *g = (struct git_stream *)s;
	pthread_mutex_lock(&g->mu);
	size_t room = BUF_CAP - g->in_len;
	size_t take = len < room ? len : room;
	if (g->child_gone) {
		take = len; /* the child stopped reading: swallow the rest */
	} else {
		memcpy(g->in + g->in_len, data, take);
		g->in_len += take;
	}
	g->bytes_in += take;
	pthread_mutex_unlock(&g->mu);
	if (take)
		pump_wake(g);
	return take;
}

static void gs_write_end(struct http_stream *s)
{
	struct git_stream *g = (struct git_stream *)s;
	pthread_mutex_lock(&g->mu);
	g->in_eof = true;
	pthread_mutex_unlock(&g->mu);
	pump_wake(g);
}

static long gs_read(struct http_stream *s, char *out, size_t max)
{
	struct git_stream *g = (struct git_stream *)s;
	long n = 0;
	bool was_full;
	pthread_mutex_lock(&g->mu);
	was_full = g->out_len >= BUF_CAP;
	if (g->out_len) {
		size_t take = g->out_len < max ? g->out_len : max;
		memcpy(out, g->out + g->out_off, take);
		g->out_off += take;
		g->out_len -= take;
		if (!g->out_len)
			g->out_off = 0;
		n = (long)take;
		g->bytes_out += take;
	} else if (g->out_eof) {
		n = g->out_failed ? -2 : -1;
	}
	pthread_mutex_unlock(&g->mu);
	if (n > 0 && was_full)
		pump_wake(g);
	return n;
}

static void gs_free(struct http_stream *s)
{
	struct git_stream *g = (struct git_stream *)s;
	pthread_mutex_lock(&g->mu);
	g->aborted = !g->out_eof;
	pthread_mutex_unlock(&g->mu);
	if (g->thread_started) {
		pump_wake(g);
		pthread_join(g->thread, NULL);
		const char *svc = g->svc;
		metrics_count(&metric_git_transfers,
			      (const char *[]){ svc, g->aborted   ? "aborted"
						     : g->exit_ok ? "ok"
								  : "failed" },
			      1);
		metrics_count(&metric_git_bytes, (const char *[]){ svc, "in" }, g->bytes_in);
		metrics_count(&metric_git_bytes, (const char *[]){ svc, "out" }, g->bytes_out);
	}
	if (g->pid > 0) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, NULL, 0);
	}
	int fds[] = { g->in_fd, g->out_fd, g->err_fd, g->wake_r, g->wake_w };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (g->z_ready)
		inflateEnd(&g->z);
	if (g->receive)
		git_push_cmds_release(&g->push);
	free(g->in);
	free(g->out);
	free(g->scratch);
	free(g->zbuf);
	buf_release(&g->errtext);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static const struct http_stream_ops git_stream_ops = { gs_write, gs_write_end, gs_read, gs_free };

static int start_rpc(struct req *r, struct resp *w, const char *svc)
{
	const char *ct = req_header(r, "Content-Type");
	const char *want = arena_printf(r->arena, "application/x-%s-request", svc);
	if (!ct || strcmp(ct, want))
		return err_set(&r->err, ERR_INVALID, "invalid_content_type",
			       "expected Content-Type '%s'", want);
	const char *enc = req_header(r, "Content-Encoding");
	bool gzip = enc && (!strcmp(enc, "gzip") || !strcmp(enc, "x-gzip"));
	if (enc && !gzip)
		return err_set(&r->err, ERR_INVALID, "invalid_encoding",
			       "unsupported Content-Encoding '%.40s'", enc);
	bool receive = !strcmp(svc, "git-receive-pack");
	const char *proto = receive ? NULL : git_protocol(r);

	struct git_stream *g = xcalloc(1, sizeof(*g));
	g->base.ops = &git_stream_ops;
	g->pid = -1;
	g->in_fd = g->out_fd = g->err_fd = g->wake_r = g->wake_w = -1;
	pthread_mutex_init(&g->mu, NULL);
	g->in = xmalloc(BUF_CAP);
	g->out = xmalloc(BUF_CAP);
	g->scratch = xmalloc(BUF_CAP);
	buf_init(&g->errtext, 0);
	g->r = r;
	g->svc = svc;
	g->receive = receive;
	if (receive)
		git_push_cmds_init(&g->push);
	if (gzip) {
		g->gzip = true;
		g->zbuf = xmalloc(BUF_CAP);
		if (inflateInit2(&g->z, 15 + 32) != Z_OK) {
			gs_free(&g->base);
			return err_set(&r->err, ERR_INTERNAL, NULL, "cannot start gzip decoder");
		}
		g->z_ready = true;
	}
	int wp[2];
	if (pipe2(wp, O_CLOEXEC | O_NONBLOCK)) {
		gs_free(&g->base);
		return err_set(&r->err, ERR_INTERNAL, NULL, "cannot create pipe");
	}
	g->wake_r = wp[0];
	g->wake_w = wp[1];
	/* an upload-pack without gzip is spawned by the pump once it has the
	 * request (pump_spawn) */
	g->deferred = !receive && !gzip;
	g->proto = proto;
	if (!g->deferred) {
		struct git_child c;
		if (git_service_spawn(&c, r->arena, r->repo, &r->auth, svc, true, proto)) {
			log_error("cannot run git %s: %s", svc + 4, strerror(errno));
			g->pid = -1;
			gs_free(&g->base);
			return err_set(&r->err, ERR_INTERNAL, "git_error", "cannot run git");
		}
		g->pid = c.pid;
		g->in_fd = c.in_fd;
		g->out_fd = c.out_fd;
		g->err_fd = c.err_fd;
		set_nonblock(g->in_fd);
		set_nonblock(g->out_fd);
		set_nonblock(g->err_fd);
	}
	/* the server sets wake before any byte can flow: the pump starts only
	 * after the dispatcher returned (see start on first write/read) */
	w->stream = &g->base;
	w->status = 200;
	w->content_type = arena_printf(r->arena, "application/x-%s-result", svc);
	resp_header(w, "Cache-Control", "no-cache, max-age=0, must-revalidate");
	return 0;
}

/* The server fills base.wake after the handler returns; the pump may call
 * it at any time, so the thread starts lazily on the first operation. */
static void ensure_pump(struct git_stream *g)
{
	if (g->thread_started)
		return;
	g->thread_started = true;
	if (pthread_create(&g->thread, NULL, pump_main, g))
		die("cannot start git pump thread");
}

static size_t gs_write_lazy(struct http_stream *s, const char *d, size_t n)
{
	ensure_pump((struct git_stream *)s);
	return gs_write(s, d, n);
}

static void gs_write_end_lazy(struct http_stream *s)
{
	ensure_pump((struct git_stream *)s);
	gs_write_end(s);
}

static long gs_read_lazy(struct http_stream *s, char *out, size_t max)
{
	ensure_pump((struct git_stream *)s);
	return gs_read(s, out, max);
}

static const struct http_stream_ops git_stream_lazy_ops = { gs_write_lazy, gs_write_end_lazy,
							    gs_read_lazy, gs_free };

int h_git_upload_pack(struct req *r, struct resp *w)
{
	int rc = start_rpc(r, w, "git-upload-pack");
	if (!rc)
		w->stream->ops = &git_stream_lazy_ops;
	return rc;
}

int h_git_receive_pack(struct req *r, struct resp *w)
{
	int rc = start_rpc(r, w, "git-receive-pack");
	if (!rc)
		w->stream->ops = &git_stream_lazy_ops;
	return rc;
}
