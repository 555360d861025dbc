/* packcache.h — a cache of the packs `git upload-pack` sends, so that
 * identical fetches (the same clone by eight CI jobs at once) cost one
 * `git pack-objects` between them.
 *
 * How it plugs in: upload-pack runs with `-c uploadpack.packObjectsHook=
 * 'PLUE' pack-objects-hook DIR MAX-BYTES` (git honours this key only from
 * protected configuration; the command line is, the repository's config
 * is not). git then runs that command followed by the pack-objects argv it
 * would have run, feeds it the request on stdin and expects the pack on
 * stdout. The hook (packcache_hook_main, in its own process) keys the
 * request and either streams a finished entry or joins or starts its
 * generation. git keeps doing all pack work.
 *
 * Key: SHA-256 of the repository's path, its refs (every name and
 * target: a push is a new key), the pack-objects arguments (except
 * --progress and -q, which change only stderr) and the request bytes
 * (wants, haves, shallow lines). Entries are DIR/KEY.pack, immutable once
 * complete.
 *
 * Generation: the first requester creates DIR/KEY.tmp under an exclusive
 * flock and runs `git pack-objects` with that file as its stdout, so the
 * pack is written at git's pace whatever the client's; the requester and
 * every identical requester arriving meanwhile tail the file (inotify
 * wakes them on each write) and stream what is there, without waiting for
 * the end. When pack-objects succeeds the file is renamed to KEY.pack;
 * when it fails the file is emptied and removed, and the tailers fail
 * (the client sees the fetch fail, as it would without the cache). A
 * requester whose client disconnects stops sending but, if it is the
 * generator, waits for git and completes the entry, so the other tailers
 * and later requesters are unaffected. A generator that dies leaves an
 * unlocked KEY.tmp: a requester that has sent nothing yet removes it and
 * generates afresh; the eviction pass removes old ones.
 *
 * Bound: after each new entry, the least recently used entries (atime,
 * set explicitly on every hit) are removed until the complete entries
 * total at most MAX-BYTES. A pack larger than the bound is still streamed
 * to its requesters, then evicted. Entries being generated are not
 * counted (one per distinct concurrent request). An open entry stays
 * readable after eviction. Any trouble with the cache directory serves
 * the fetch uncached.
 *
 * Replicas: the hook is already one process per fetch, coordinated only
 * through the directory (flock on each KEY.tmp and on .evict, entries
 * made whole before their rename, eviction by whichever process comes
 * next), so replicas sharing DATA/packcache on one volume are what one
 * machine's concurrent fetches are. On a network filesystem inotify does
 * not see another node's writes: a tailer then re-checks every WAIT_MS. */
#ifndef PLUE_GIT_PACKCACHE_H
#define PLUE_GIT_PACKCACHE_H

#include <stdint.h>

#include "base/arena.h"

/* "uploadpack.packObjectsHook=..." for upload-pack's `-c`, naming this
 * binary, DATA/packcache and the bound from cfg.pack_cache_mb; NULL when
 * the cache is off (cfg.pack_cache false) or this binary's path is
 * unknown. Allocated on a; safe from any thread. */
const char *packcache_hook_config(struct arena *a);

/* `plue pack-objects-hook DIR MAX-BYTES git pack-objects ARGS...`, run by
 * upload-pack with the repository as its working directory: serves the
 * request on stdin from the cache in DIR (see above). git's options may
 * precede pack-objects (`git --shallow-file '' pack-objects ...` for
 * shallow fetches). Returns the exit
 * status: 0 when the whole pack was written to stdout, non-zero when git
 * failed or the pack could not be sent, 2 on bad usage. */
int packcache_hook_main(int argc, char **argv);

/* Removes entries of dir, least recently used first, until the complete
 * ones total at most max_bytes, and generation files abandoned for more
 * than a minute. One pass at a time (DIR/.evict lock); returns at once
 * when another is running. Returns the bytes left, or -1 if dir cannot
 * be read. */
int64_t packcache_evict(const char *dir, uint64_t max_bytes);

#endif
