/* user.c — the signed-in user's own account: profile (choosing a username),
 * personal access tokens and SSH public keys. The rules and rows are the
 * domain's (forge/users.h); this file reads the request and writes the
 * JSON. */
#include "api/api.h"
#include "auth/auth.h"
#include "auth/sshkey.h"
#include "forge/users.h"

int h_user_update(struct req *r, struct resp *w)
{
	struct user_update in = { 0 };
	json_t *user;
	int rc;
	if ((rc = json_str_field(r, "username", false, 100, &in.username)) ||
	    (rc = json_str_field(r, "email", false, 254, &in.email)) ||
	    (rc = user_update(&user, FORGE(r), &in)))
		return rc;
	resp_json(w, 200, user);
	return 0;
}

/* ---- personal access tokens ---- */

int h_token_list(struct req *r, struct resp *w)
{
	json_t *arr;
	int rc = user_token_list(&arr, FORGE(r));
	if (rc)
		return rc;
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_token_create(struct req *r, struct resp *w)
{
	const char *name = NULL, *expires = NULL;
	unsigned scopes = 0;
	json_t *token;
	int rc;
	if ((rc = json_str_field(r, "name", true, 100, &name)) ||
	    (rc = json_str_field(r, "expires_at", false, 64, &expires)))
		return rc;
	/* before the scopes, as the fields come: an empty name is told first */
	if (!*name)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'name' may not be empty");
	json_t *sj = json_object_get(r->json, "scopes");
	if (!sj || json_is_null(sj))
		return err_set(&r->err, ERR_INVALID, "missing_field", "field 'scopes' is required");
	if ((rc = scopes_parse_json(sj, &scopes, &r->err)) ||
	    (rc = user_token_create(&token, FORGE(r), name, scopes, expires)))
		return rc;
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/user/tokens/%lld",
				 (long long)json_integer_value(json_object_get(token, "id"))));
	resp_json(w, 201, token);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_token_delete(struct req *r, struct resp *w)
{
	int rc = user_token_delete(FORGE(r), req_param(r, "id"));
	if (rc)
		return rc;
	w->status = 204;
	return 0;
}

/* ---- SSH keys ---- */

int h_key_list(struct req *r, struct resp *w)
{
	json_t *arr;
	int rc = user_key_list(&arr, FORGE(r));
	if (rc)
		return rc;
	resp_json(w, 200, arr);
	return 0;
}

int h_key_create(struct req *r, struct resp *w)
{
	const char *text = NULL, *name = NULL;
	json_t *key;
	int rc;
	if ((rc = json_str_field(r, "key", true, SSHKEY_MAX_LEN, &text)) ||
	    (rc = json_str_field(r, "name", false, 100, &name)) ||
	    (rc = user_key_create(&key, FORGE(r), text, name)))
		return rc;
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/user/keys/%lld",
				 (long long)json_integer_value(json_object_get(key, "id"))));
	resp_json(w, 201, key);
	return 0;
}

int h_key_delete(struct req *r, struct resp *w)
{
	int rc = user_key_delete(FORGE(r), req_param(r, "id"));
	if (rc)
		return rc;
	w->status = 204;
	return 0;
}
