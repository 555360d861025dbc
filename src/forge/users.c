/* users.c — accounts: signing up and in with their rate limits, the
 * caller's own account, access tokens and SSH keys (forge/users.h). */
#include "forge/users.h"
#include "forge/forge.h"
#include "auth/auth.h"
#include "auth/eth.h"
#include "auth/password.h"
#include "auth/ratelimit.h"
#include "auth/siwe.h"
#include "auth/sshkey.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/names.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

/* Sign-in attempts per window, per client address and account and per
 * client address; a successful one is given back. There is no limit per
 * account alone: anyone could use it to lock its owner out. */
#define LOGIN_WINDOW_S (15 * 60)
#define LOGIN_MAX_PER_ACCOUNT 10
#define LOGIN_MAX_PER_IP 50
/* Anonymous writes per client address. */
#define NONCE_WINDOW_S (10 * 60)
#define NONCE_MAX_PER_IP 200
#define REGISTER_WINDOW_S (60 * 60)

#define NONCE_TTL "10 minutes"
/* Clock difference tolerated between a wallet and this server. */
#define SIWE_SKEW_S 60

int user_require(struct forge *f, unsigned scope)
{
	if (!f->who->user_id)
		return err_set(f->err, ERR_AUTH, NULL, "authentication required");
	if (scope && f->who->via == AUTH_TOKEN && (f->who->scopes & scope) != scope)
		return err_set(f->err, ERR_PERM, "insufficient_scope",
			       "this token lacks the %s scope", scope_name(scope));
	return 0;
}

int user_id_find(int64_t *out, struct forge *f, const char *name)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT id FROM users WHERE lower(username) = lower($1)", name);
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "user '%.100s' not found", name);
	*out = db_int(res, 0, 0);
	return 0;
}

int user_admin_set(struct forge *f, const char *username, bool is_admin)
{
	if (!f->who->is_admin)
		return err_set(f->err, ERR_PERM, NULL, "only a site administrator may do this");
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "UPDATE users SET is_admin = $2 WHERE lower(username) = lower($1) "
			      "RETURNING id",
			      username, is_admin ? "true" : "false");
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "user '%.100s' not found", username);
	return 0;
}

int user_any(bool *out, struct forge *f)
{
	PGresult *res = db_query(f->db, f->arena, f->err, "SELECT EXISTS (SELECT 1 FROM users)", 0,
				 NULL);
	if (!res)
		return f->err->code;
	*out = db_bool(res, 0, 0);
	return 0;
}

int user_auth_load(struct auth *out, struct forge *f, int64_t user_id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT username, is_admin FROM users WHERE id = $1",
			      arena_int(f->arena, (long long)user_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "user %lld not found", (long long)user_id);
	*out = (struct auth){ .via = AUTH_SESSION,
			      .user_id = user_id,
			      .username = arena_strdup(f->arena, db_val(res, 0, 0)),
			      .is_admin = db_bool(res, 0, 1),
			      .scopes = SCOPE_ALL };
	return 0;
}

int user_json_load(json_t **out, struct forge *f, int64_t user_id)
{
	enum { ID, USERNAME, EMAIL, ETH_ADDRESS, IS_ADMIN, CREATED_AT, HAS_PASSWORD };
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT id, username, email, eth_address, is_admin, "
			      "  " SQL_TS("created_at")
			      ", password_hash IS NOT NULL "
			      "FROM users WHERE id = $1",
			      arena_int(f->arena, (long long)user_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "user %lld not found", (long long)user_id);
	*out = json_pack("{s:I,s:s,s:s?,s:s?,s:b,s:s,s:b}", "id", (json_int_t)db_int(res, 0, ID),
			 "username", db_val(res, 0, USERNAME), "email", db_val(res, 0, EMAIL),
			 "eth_address", db_val(res, 0, ETH_ADDRESS), "is_admin",
			 db_bool(res, 0, IS_ADMIN), "created_at", db_val(res, 0, CREATED_AT),
			 "has_password", db_bool(res, 0, HAS_PASSWORD));
	return 0;
}

int user_create(int64_t *out, struct forge *f, const char *username, bool is_admin)
{
	int rc;
	if (!f->who->is_admin)
		return err_set(f->err, ERR_PERM, NULL, "only a site administrator may create users");
	if ((rc = validate_username(f->err, username)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO users (username, is_admin) VALUES ($1, $2) RETURNING id",
			      username, is_admin ? "true" : "false");
	if (!res) {
		if (f->err->code == ERR_EXISTS) {
			err_clear(f->err);
			err_set(f->err, ERR_EXISTS, NULL, "user '%s' already exists", username);
		}
		return f->err->code;
	}
	*out = db_int(res, 0, 0);
	return 0;
}

/* ---- signing up and in ---- */

static const char *client_ip(const struct user_client *c)
{
	return c->ip ? c->ip : "?";
}

/* Counts one attempt for key, or refuses with ERR_RATELIMIT and *out the
 * seconds to wait when key is at its limit (counting and checking are one
 * step, so parallel requests cannot all slip under the limit). */
static int throttle(int *out, struct forge *f, const char *key, int limit, int window_s,
		    const char *what)
{
	int retry = 0;
	int rc = ratelimit_take(f->db, f->arena, f->err, key, limit, window_s, &retry);
	if (rc != ERR_RATELIMIT)
		return rc;
	*out = retry;
	return err_set(f->err, ERR_RATELIMIT, NULL, "too many %s; try again in %d seconds", what,
		       retry);
}

/* Opens the session of a sign-in into out (inside the caller's
 * transaction, if any). */
static int signin_open(struct user_signin *out, struct forge *f, int64_t user_id,
		       const char *method, const struct user_client *c)
{
	out->user_id = user_id;
	return session_open(&out->session, f->db, f->arena, f->err, user_id, method, c->user_agent,
			    c->ip);
}

int user_register_throttle(int *out, struct forge *f, const struct user_client *c)
{
	const char *key = arena_printf(f->arena, "register:%s", client_ip(c));
	return throttle(out, f, key, cfg.register_limit > 0 ? cfg.register_limit : 30,
			REGISTER_WINDOW_S, "registrations from this address");
}

int user_register(struct user_signin *out, struct forge *f, const char *username,
		  const char *password, const char *email, const struct user_client *c)
{
	int rc;
	*out = (struct user_signin){ 0 };
	if ((rc = validate_account_name(f->err, username, NULL)) ||
	    (rc = password_validate(password, f->err)) ||
	    (email && *email && (rc = validate_email(f->err, email))))
		return rc;
	char hash[PASSWORD_HASH_MAX];
	if ((rc = password_hash(hash, password, f->err)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO users (username, email, password_hash) VALUES ($1, $2, $3) "
			      "RETURNING id",
			      username, email && *email ? email : NULL, hash);
	if (!res) {
		if (f->err->code == ERR_EXISTS) {
			err_clear(f->err);
			err_set(f->err, ERR_EXISTS, "username_taken", "username '%s' is taken",
				username);
		}
		rc = f->err->code;
		goto fail;
	}
	out->created = true;
	if ((rc = signin_open(out, f, db_int(res, 0, 0), "password", c)) ||
	    (rc = db_commit(f->db, f->err)))
		goto fail;
	log_info("account '%s' registered", username);
	return 0;
fail:
	db_rollback(f->db);
	return rc;
}

int user_login(struct user_signin *out, struct forge *f, const char *username, const char *password,
	       const struct user_client *c)
{
	int rc;
	*out = (struct user_signin){ 0 };
	const char *ip_key = arena_printf(f->arena, "login-ip:%s", client_ip(c));
	char *user_key = arena_printf(f->arena, "login-user:%s:%s", client_ip(c), username);
	for (char *p = user_key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* the attempt is counted before the password is checked: parallel
	 * guesses cannot outrun the count */
	if ((rc = throttle(&out->retry_after, f, user_key, LOGIN_MAX_PER_ACCOUNT, LOGIN_WINDOW_S,
			   "failed sign-ins for this account from this address")))
		return rc;
	if ((rc = throttle(&out->retry_after, f, ip_key, LOGIN_MAX_PER_IP, LOGIN_WINDOW_S,
			   "failed sign-ins from this address"))) {
		ratelimit_refund(f->db, f->arena, user_key, LOGIN_MAX_PER_ACCOUNT);
		return rc;
	}
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT id, password_hash FROM users WHERE lower(username) = lower($1)",
			      username);
	if (!res)
		return f->err->code;
	const char *hash = PQntuples(res) == 1 ? db_val(res, 0, 1) : NULL;
	/* unknown users and accounts without a password cost the same time
	 * and get the same answer as a wrong password */
	if (!password_verify(hash, password)) {
		ratelimit_prune(f->db, f->arena);
		/* the name is the client's text: logged only when it is a name */
		struct err ignored = { 0 };
		log_info("failed sign-in for '%s' from %s",
			 validate_username(&ignored, username) ? "(not a username)" : username,
			 client_ip(c));
		return err_set(f->err, ERR_AUTH, "invalid_credentials",
			       "incorrect username or password");
	}
	/* only failures count */
	ratelimit_reset(f->db, f->arena, user_key);
	ratelimit_refund(f->db, f->arena, ip_key, LOGIN_MAX_PER_IP);
	return signin_open(out, f, db_int(res, 0, 0), "password", c);
}

/* host[:port] of the public URL: what a SIWE message's domain must be. */
static const char *public_host(struct arena *a)
{
	const char *u = cfg.public_url ? cfg.public_url : "";
	const char *p = strstr(u, "://");
	p = p ? p + 3 : u;
	return arena_strndup(a, p, strcspn(p, "/?#"));
}

/* scheme://host[:port] of the public URL: what a SIWE message's URI must
 * start with. */
static const char *public_origin(struct arena *a)
{
	const char *u = cfg.public_url ? cfg.public_url : "";
	const char *p = strstr(u, "://");
	if (!p)
		return arena_strdup(a, u);
	return arena_strndup(a, u, (size_t)(p + 3 - u) + strcspn(p + 3, "/?#"));
}

int user_siwe_nonce(json_t **out, int *retry_after, struct forge *f, const struct user_client *c)
{
	const char *key = arena_printf(f->arena, "siwe-nonce:%s", client_ip(c));
	int rc;
	if ((rc = throttle(retry_after, f, key, NONCE_MAX_PER_IP, NONCE_WINDOW_S,
			   "sign-in attempts from this address")))
		return rc;
	/* hex is alphanumeric, as EIP-4361 requires of a nonce */
	unsigned char raw[16];
	char nonce[33];
	random_bytes(raw, sizeof(raw));
	hex_encode(nonce, raw, sizeof(raw));
	/* used and expired nonces are kept a day so a late replay is told why */
	db_query(f->db, f->arena, NULL,
		 "DELETE FROM siwe_nonces WHERE expires_at < now() - interval '1 day'", 0, NULL);
	ratelimit_prune(f->db, f->arena);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO siwe_nonces (nonce, expires_at, ip) "
			      "VALUES ($1, now() + interval '" NONCE_TTL "', $2) "
			      "RETURNING " SQL_TS("expires_at"),
			      nonce, client_ip(c));
	if (!res)
		return f->err->code;
	*out = json_pack("{s:s,s:s,s:s,s:s}", "nonce", nonce, "expires_at", db_val(res, 0, 0),
			 "domain", public_host(f->arena), "uri", public_origin(f->arena));
	return 0;
}

int user_siwe_message(json_t *nonce, struct forge *f, const char *address, const char *chain_id)
{
	unsigned char raw[20];
	char sum[43], issued[32];
	int64_t chain = 1;
	if (eth_address_parse(raw, address, false, f->err))
		return err_set(f->err, ERR_INVALID, "invalid_address",
			       "'%.60s' is not an Ethereum address", address);
	if (chain_id && *chain_id && parse_i64(chain_id, 1, INT64_MAX / 2, &chain))
		return err_set(f->err, ERR_INVALID, "invalid_chain_id",
			       "chain id '%.30s' is not a positive integer", chain_id);
	eth_address_checksum(sum, raw);
	time_t now = (time_t)now_unix();
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(issued, sizeof(issued), "%Y-%m-%dT%H:%M:%SZ", &tm);
	const char *msg = arena_printf(
		f->arena,
		"%s wants you to sign in with your Ethereum account:\n%s\n\nSign in to Plue.\n\n"
		"URI: %s\nVersion: 1\nChain ID: %lld\nNonce: %s\nIssued At: %s\nExpiration Time: %s",
		json_string_value(json_object_get(nonce, "domain")), sum,
		json_string_value(json_object_get(nonce, "uri")), (long long)chain,
		json_string_value(json_object_get(nonce, "nonce")), issued,
		json_string_value(json_object_get(nonce, "expires_at")));
	json_object_set_new(nonce, "message", json_string(msg));
	return 0;
}

/* Consumes nonce (in the caller's transaction): exactly one request can
 * ever do so. When it cannot, says why. */
static int nonce_consume(struct forge *f, const char *nonce)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "UPDATE siwe_nonces SET used_at = now() "
			      "WHERE nonce = $1 AND used_at IS NULL AND expires_at > now() "
			      "RETURNING nonce",
			      nonce);
	if (!res)
		return f->err->code;
	if (PQntuples(res) == 1)
		return 0;
	res = db_qv(f->db, f->arena, f->err,
		    "SELECT used_at IS NOT NULL FROM siwe_nonces WHERE nonce = $1", nonce);
	if (!res)
		return f->err->code;
	if (PQntuples(res) == 0)
		return err_set(f->err, ERR_AUTH, "siwe_unknown_nonce",
			       "nonce '%.64s' was not issued by this server", nonce);
	if (db_bool(res, 0, 0))
		return err_set(f->err, ERR_AUTH, "siwe_nonce_used",
			       "nonce '%.64s' was already used", nonce);
	return err_set(f->err, ERR_AUTH, "siwe_nonce_expired", "nonce '%.64s' has expired", nonce);
}

int user_siwe_signin(struct user_signin *out, struct forge *f, const char *message,
		     const char *signature, const struct user_client *c)
{
	size_t len = strlen(message);
	struct siwe_msg m;
	int rc;
	*out = (struct user_signin){ 0 };
	if ((rc = siwe_parse(&m, f->arena, message, len, f->err)))
		return rc;
	const char *origin = public_origin(f->arena);
	if ((rc = siwe_check(&m, public_host(f->arena), origin, now_unix(), SIWE_SKEW_S, f->err)))
		return rc;
	/* the URI must be this origin itself or a path under it, not
	 * "http://host:80" matching "http://host:8080" */
	char after = m.uri[strlen(origin)];
	if (after && after != '/' && after != '?' && after != '#')
		return err_set(f->err, ERR_AUTH, "siwe_bad_uri",
			       "siwe message uri '%.64s' is not under '%s'", m.uri, origin);
	unsigned char claimed[20], signer[20];
	if ((rc = eth_address_parse(claimed, m.address, true, f->err)) ||
	    (rc = eth_personal_recover(signer, message, len, signature, f->err)))
		return rc;
	if (!ct_equal(claimed, signer, sizeof(signer))) {
		char who[43];
		eth_address_checksum(who, signer);
		return err_set(f->err, ERR_AUTH, "siwe_bad_signature",
			       "signature was made by '%s', not by '%s'", who, m.address);
	}
	char address[43];
	eth_address_checksum(address, claimed);

	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = nonce_consume(f, m.nonce)))
		goto fail;
	/* first sign-in creates the account, named by its address until the
	 * user picks a name (user_update) */
	char lower[43];
	for (size_t i = 0; i < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)address[i]);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO users (username, eth_address) VALUES ($1, $2) "
			      "ON CONFLICT (eth_address) DO UPDATE SET eth_address = EXCLUDED.eth_address "
			      "RETURNING id, xmax = 0",
			      lower, address);
	if (!res) {
		if (f->err->code == ERR_EXISTS) {
			err_clear(f->err);
			err_set(f->err, ERR_EXISTS, "username_taken",
				"username '%s' is taken by another account", lower);
		}
		rc = f->err->code;
		goto fail;
	}
	out->created = db_bool(res, 0, 1);
	if ((rc = signin_open(out, f, db_int(res, 0, 0), "siwe", c)) ||
	    (rc = db_commit(f->db, f->err)))
		goto fail;
	if (out->created)
		log_info("account %s created by sign-in with ethereum", address);
	return 0;
fail:
	db_rollback(f->db);
	return rc;
}

int user_signout(struct forge *f)
{
	int rc;
	if ((rc = user_require(f, 0)))
		return rc;
	if (f->who->via != AUTH_SESSION)
		return err_set(f->err, ERR_INVALID, "not_a_session",
			       "sign-out ends browser sessions; revoke a token with "
			       "DELETE /api/user/tokens/ID");
	return session_revoke(f->db, f->arena, f->err, f->who->token_id);
}

int user_signout_all(int *out, struct forge *f)
{
	int n = 0, rc;
	if ((rc = user_require(f, SCOPE_USER)) ||
	    (rc = session_revoke_all(f->db, f->arena, f->err, f->who->user_id, &n)))
		return rc;
	log_info("'%s' signed out of %d sessions", f->who->username, n);
	if (out)
		*out = n;
	return 0;
}

int user_session_list(json_t **out, struct forge *f)
{
	enum { ID, METHOD, CREATED_AT, LAST_SEEN_AT, EXPIRES_AT, USER_AGENT, IP };
	int rc;
	if ((rc = user_require(f, SCOPE_USER)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT id, method, " SQL_TS("created_at")
			      ", " SQL_TS("last_seen_at")
			      ", " SQL_TS("expires_at")
			      ", user_agent, ip "
			      "FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL "
			      "AND expires_at > now() ORDER BY last_seen_at DESC, id DESC LIMIT 100",
			      arena_int(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t id = db_int(res, i, ID);
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "id",
						     (json_int_t)id, "method", db_val(res, i, METHOD),
						     "created_at", db_val(res, i, CREATED_AT),
						     "last_seen_at", db_val(res, i, LAST_SEEN_AT),
						     "expires_at", db_val(res, i, EXPIRES_AT),
						     "user_agent", db_val(res, i, USER_AGENT), "ip",
						     db_val(res, i, IP), "current",
						     f->who->via == AUTH_SESSION &&
							     f->who->token_id == id));
	}
	*out = arr;
	return 0;
}

/* ---- the caller's own account ---- */

int user_update(json_t **out, struct forge *f, const struct user_update *in)
{
	enum { USERNAME, EMAIL, ETH_ADDRESS };
	const char *username = in->username, *email = in->email;
	int rc;
	if ((rc = user_require(f, SCOPE_USER)))
		return rc;
	const char *uid = arena_int(f->arena, (long long)f->who->user_id);
	PGresult *cur = db_qv(f->db, f->arena, f->err,
			      "SELECT username, email, eth_address FROM users WHERE id = $1", uid);
	if (!cur)
		return f->err->code;
	if (PQntuples(cur) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "user '%s' not found", f->who->username);
	if (username && (rc = validate_account_name(f->err, username, db_val(cur, 0, ETH_ADDRESS))))
		return rc;
	if (email && *email && (rc = validate_email(f->err, email)))
		return rc;
	if (!username)
		username = db_val(cur, 0, USERNAME);
	if (!email)
		email = db_val(cur, 0, EMAIL);
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE users SET username = $2, email = $3 WHERE id = $1", uid, username,
		   email && *email ? email : NULL)) {
		if (f->err->code == ERR_EXISTS) {
			err_clear(f->err);
			return err_set(f->err, ERR_EXISTS, "username_taken",
				       "username '%s' is taken", username);
		}
		return f->err->code;
	}
	if (strcmp(username, db_val(cur, 0, USERNAME))) {
		/* the old name's repositories are gone: every replica forgets
		 * its visibility hints (queue/relay.h) */
		char token[17];
		if ((rc = repo_hint_publish(f, NULL, NULL, token)))
			return rc;
		repo_hint_await(f, token);
		log_info("user '%s' is now '%s'", db_val(cur, 0, USERNAME), username);
	}
	return user_json_load(out, f, f->who->user_id);
}

/* ---- personal access tokens ---- */

int user_token_list(json_t **out, struct forge *f)
{
	enum { ID, NAME, SCOPES, CREATED_AT, LAST_USED_AT, EXPIRES_AT, EXPIRED };
	int rc;
	if ((rc = user_require(f, SCOPE_USER)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT id, name, scopes, " SQL_TS("created_at")
			      ", "
			      "  " SQL_TS("last_used_at")
			      ", " SQL_TS("expires_at")
			      ", "
			      "  expires_at IS NOT NULL AND expires_at <= now() "
			      "FROM access_tokens WHERE user_id = $1 ORDER BY id",
			      arena_int(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr,
				      json_pack("{s:I,s:s,s:o,s:s,s:s?,s:s?,s:b}", "id",
						(json_int_t)db_int(res, i, ID), "name",
						db_val(res, i, NAME), "scopes",
						scopes_json(scopes_from_pg(db_val(res, i, SCOPES))),
						"created_at", db_val(res, i, CREATED_AT),
						"last_used_at", db_val(res, i, LAST_USED_AT),
						"expires_at", db_val(res, i, EXPIRES_AT), "expired",
						db_bool(res, i, EXPIRED)));
	*out = arr;
	return 0;
}

int user_token_create(json_t **out, struct forge *f, const char *name, unsigned scopes,
		      const char *expires_at)
{
	const struct auth *who = f->who;
	int rc;
	if ((rc = user_require(f, SCOPE_USER)))
		return rc;
	if (!*name)
		return err_set(f->err, ERR_INVALID, "invalid_field", "field 'name' may not be empty");
	/* a token cannot mint a token stronger than itself */
	if (who->via == AUTH_TOKEN && (scopes & ~who->scopes)) {
		json_t *extra = scopes_json(scopes & ~who->scopes);
		const char *first = json_string_value(json_array_get(extra, 0));
		rc = err_set(f->err, ERR_PERM, "insufficient_scope",
			     "this token lacks the %s scope it would grant", first);
		json_decref(extra);
		return rc;
	}
	const char *exp_sql = NULL;
	int64_t t = 0;
	if (expires_at) {
		if (time_parse(&t, expires_at))
			return err_set(f->err, ERR_INVALID, "invalid_field",
				       "expires_at '%.64s' is not an RFC 3339 time or a date",
				       expires_at);
		if (t <= now_unix())
			return err_set(f->err, ERR_INVALID, "invalid_field",
				       "expires_at '%.64s' is in the past", expires_at);
		time_t tt = (time_t)t;
		struct tm tm;
		char buf[40];
		gmtime_r(&tt, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S+00", &tm);
		exp_sql = arena_strdup(f->arena, buf);
	}
	if (who->via == AUTH_TOKEN) {
		/* nor one that outlives it: no expiry means the parent's */
		enum { EPOCH, TEXT, SHOWN };
		PGresult *pr = db_qv(f->db, f->arena, f->err,
				     "SELECT floor(extract(epoch FROM expires_at))::bigint, "
				     "  expires_at::text, " SQL_TS("expires_at")
				     " "
				     "FROM access_tokens WHERE id = $1 AND expires_at IS NOT NULL",
				     arena_int(f->arena, (long long)who->token_id));
		if (!pr)
			return f->err->code;
		if (PQntuples(pr) == 1) {
			if (!expires_at)
				exp_sql = arena_strdup(f->arena, db_val(pr, 0, TEXT));
			else if (t > db_int(pr, 0, EPOCH))
				return err_set(f->err, ERR_INVALID, "invalid_field",
					       "expires_at '%.64s' is later than this token's own "
					       "expiry '%s'",
					       expires_at, db_val(pr, 0, SHOWN));
		}
	}
	const char *secret;
	int64_t id;
	if ((rc = token_create(f->db, f->arena, f->err, who->user_id, name, scopes, exp_sql,
			       &secret, &id)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " SQL_TS("created_at")
			      ", " SQL_TS("expires_at")
			      " "
			      "FROM access_tokens WHERE id = $1",
			      arena_int(f->arena, (long long)id));
	if (!res)
		return f->err->code;
	log_info("user '%s' created token %lld", who->username, (long long)id);
	*out = json_pack("{s:I,s:s,s:o,s:s,s:s?,s:n,s:s}", "id", (json_int_t)id, "name", name,
			 "scopes", scopes_json(scopes), "created_at", db_val(res, 0, 0),
			 "expires_at", db_val(res, 0, 1), "last_used_at", "token", secret);
	return 0;
}

/* The id of a /api/user/... resource from its URL text, or ERR_NOTFOUND
 * naming what. */
static int id_parse(const char **out, struct forge *f, const char *what, const char *s)
{
	int64_t v;
	if (!s || parse_i64(s, 1, INT64_MAX, &v))
		return err_set(f->err, ERR_NOTFOUND, NULL, "%s '%.40s' not found", what, s ? s : "");
	*out = s;
	return 0;
}

int user_token_delete(struct forge *f, const char *id)
{
	int rc;
	if ((rc = user_require(f, SCOPE_USER)) || (rc = id_parse(&id, f, "token", id)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "DELETE FROM access_tokens WHERE id = $1 AND user_id = $2 RETURNING id",
			      id, arena_int(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) == 0)
		return err_set(f->err, ERR_NOTFOUND, NULL, "token '%s' not found", id);
	log_info("user '%s' deleted token %s", f->who->username, id);
	return 0;
}

/* ---- SSH keys ---- */

/* The columns of a key, in the order enum key_col names. */
#define KEY_COLUMNS                                                                                \
	"id, name, type, bits, fingerprint, public_key, " SQL_TS("created_at") ", " SQL_TS(        \
		"last_used_at")
enum key_col {
	KEY_COL_ID,
	KEY_COL_NAME,
	KEY_COL_TYPE,
	KEY_COL_BITS,
	KEY_COL_FINGERPRINT,
	KEY_COL_KEY,
	KEY_COL_CREATED_AT,
	KEY_COL_LAST_USED_AT,
};

static json_t *key_json(const PGresult *res, int i)
{
	return json_pack("{s:I,s:s,s:s,s:i,s:s,s:s,s:s,s:s?}", "id",
			 (json_int_t)db_int(res, i, KEY_COL_ID), "name",
			 db_val(res, i, KEY_COL_NAME), "type", db_val(res, i, KEY_COL_TYPE), "bits",
			 (int)db_int(res, i, KEY_COL_BITS), "fingerprint",
			 db_val(res, i, KEY_COL_FINGERPRINT), "key", db_val(res, i, KEY_COL_KEY),
			 "created_at", db_val(res, i, KEY_COL_CREATED_AT), "last_used_at",
			 db_val(res, i, KEY_COL_LAST_USED_AT));
}

int user_key_list(json_t **out, struct forge *f)
{
	int rc;
	if ((rc = user_require(f, SCOPE_USER)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " KEY_COLUMNS " FROM ssh_keys WHERE user_id = $1 ORDER BY id",
			      arena_int(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, key_json(res, i));
	*out = arr;
	return 0;
}

int user_key_create(json_t **out, struct forge *f, const char *text, const char *name)
{
	struct sshkey k;
	int rc;
	if ((rc = user_require(f, SCOPE_USER)) || (rc = sshkey_parse(&k, f->arena, text, f->err)))
		return rc;
	if (!name || !*name) {
		/* the comment, cut to 100 bytes on a UTF-8 character boundary */
		size_t n = strlen(k.comment);
		if (n > 100)
			for (n = 100; n && ((unsigned char)k.comment[n] & 0xc0) == 0x80; n--)
				;
		name = n ? arena_strndup(f->arena, k.comment, n) : k.type;
	}
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO ssh_keys (user_id, name, type, bits, fingerprint, public_key) "
			      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " KEY_COLUMNS,
			      arena_int(f->arena, (long long)f->who->user_id), name, k.type,
			      arena_int(f->arena, k.bits), k.fingerprint, k.public_key);
	if (!res) {
		if (f->err->code == ERR_EXISTS) {
			err_clear(f->err);
			return err_set(f->err, ERR_EXISTS, "key_exists",
				       "key '%s' is already in use", k.fingerprint);
		}
		return f->err->code;
	}
	log_info("user '%s' added %s key %s", f->who->username, k.type, k.fingerprint);
	*out = key_json(res, 0);
	return 0;
}

int user_key_delete(struct forge *f, const char *id)
{
	int rc;
	if ((rc = user_require(f, SCOPE_USER)) || (rc = id_parse(&id, f, "key", id)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "DELETE FROM ssh_keys WHERE id = $1 AND user_id = $2 RETURNING fingerprint",
			      id, arena_int(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) == 0)
		return err_set(f->err, ERR_NOTFOUND, NULL, "key '%s' not found", id);
	log_info("user '%s' deleted key %s", f->who->username, db_val(res, 0, 0));
	return 0;
}
