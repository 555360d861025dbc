/* smart_http.h — git's smart HTTP protocol (v0 and v2) as route handlers
 * (the routes are in api/routes.c, flagged ROUTE_GIT: the dispatcher has
 * loaded r->repo and checked that the caller may read it, or write it for
 * a push, before a handler runs). What smart HTTP shares with SSH —
 * spawning git, reading a push's commands, recording a push — is in
 * git/transport.h. */
#ifndef PLUE_GIT_SMART_HTTP_H
#define PLUE_GIT_SMART_HTTP_H

#include "http/http.h"

/* GET /:owner/:repo.git/info/refs?service=git-upload-pack|git-receive-pack:
 * the ref advertisement (a push needs write access to the contents). No
 * ?service= is the dumb protocol: 403 "dumb_http". */
int h_git_info_refs(struct req *r, struct resp *w);

/* POST /:owner/:repo.git/git-upload-pack: a fetch. The body streams to
 * `git upload-pack --stateless-rpc` (gzip bodies inflated) and its output
 * streams back, through bounded buffers. */
int h_git_upload_pack(struct req *r, struct resp *w);

/* POST /:owner/:repo.git/git-receive-pack: a push, streamed like a
 * fetch; afterwards the ref updates that took effect are recorded
 * (git_push_record) on a worker. */
int h_git_receive_pack(struct req *r, struct resp *w);

#endif
