/* smart_http.c — placeholder, being written. */
#include "api/api.h"
int h_git_info_refs(struct req *r, struct resp *w) { (void)w; return err_set(&r->err, ERR_UNAVAILABLE, NULL, "not implemented"); }
int h_git_upload_pack(struct req *r, struct resp *w) { (void)w; return err_set(&r->err, ERR_UNAVAILABLE, NULL, "not implemented"); }
int h_git_receive_pack(struct req *r, struct resp *w) { (void)w; return err_set(&r->err, ERR_UNAVAILABLE, NULL, "not implemented"); }
