/* users.h — accounts as the forge sees them: signing up and in (password
 * and Sign-In with Ethereum, with their rate limits), the caller's own
 * account, personal access tokens and SSH keys, and the account checks
 * the other areas use.
 *
 * Why here and not in auth/: auth/ holds the credential mechanisms —
 * password hashing, SIWE parsing and signature recovery, JWT sessions,
 * token hashing, SSH key parsing, resolving a request's credentials — and
 * the one authorization function. What an account may be called, who may
 * sign up how often, what a token may grant, which key belongs to whom
 * are rules of the forge: the API, the pages and the command line apply
 * them alike through these functions. Cookies and response headers stay
 * with the caller: a sign-in returns the session (its JWT for the cookie,
 * its CSRF token) and a rate limit the seconds to wait.
 *
 * Errors: 0, or ERR_* with the message in *f->err. The acting user is
 * f->who; the functions of the caller's own account need a signed-in
 * user and, from a token, the user scope (user_require). */
#ifndef PLUE_FORGE_USERS_H
#define PLUE_FORGE_USERS_H

#include "auth/session_store.h"
#include "forge/forge.h"

/* 0 when f->who is a signed-in user whose credential carries scope (a
 * SCOPE_* bit; only tokens are limited by scopes; 0 asks for none), else
 * ERR_AUTH "authentication required" or ERR_PERM "insufficient_scope"
 * "this token lacks the S scope" — the answers the API's route flags
 * give. */
int user_require(struct forge *f, unsigned scope);

/* The id of user name (case-insensitive) into *out. ERR_NOTFOUND "user
 * 'x' not found". */
int user_id_find(int64_t *out, struct forge *f, const char *name);

/* The identity of account user_id when it acts without a credential of
 * its own — an agent's tools, with the authority of the person the agent
 * acts for: as a browser session has it (every scope; a site
 * administrator stays one), username arena-owned. ERR_NOTFOUND "user N
 * not found" when the account is gone. */
int user_auth_load(struct auth *out, struct forge *f, int64_t user_id);

/* Whether any account exists yet into *out (the first-run hint). */
int user_any(bool *out, struct forge *f);

/* The account user_id as API JSON {id, username, email, eth_address,
 * is_admin, created_at, has_password} into *out (a new reference). No
 * authorization: the caller shows it to its owner. ERR_NOTFOUND when
 * absent. */
int user_json_load(json_t **out, struct forge *f, int64_t user_id);

/* Creates the account username (validate_username) without a password,
 * a site administrator when is_admin; for the operator's command line:
 * f->who must be a site administrator (ERR_PERM otherwise). *out receives
 * its id. ERR_EXISTS "user 'x' already exists". */
int user_create(int64_t *out, struct forge *f, const char *username, bool is_admin);

/* Makes the account username a site administrator (or not): for the
 * operator's command line, f->who must be one (ERR_PERM otherwise).
 * ERR_NOTFOUND "user 'x' not found". */
int user_admin_set(struct forge *f, const char *username, bool is_admin);

/* ---- signing up and in ---- */

/* Where a sign-in comes from: the client's address and User-Agent (either
 * may be NULL), recorded on the session; the limits are per address. */
struct user_client {
	const char *ip;
	const char *user_agent;
};

/* A sign-in: the account, whether this sign-in made it, and the session
 * it opened (its JWT for the cookie, its CSRF token). On ERR_RATELIMIT
 * only retry_after is set: the seconds until the limit's window ends. */
struct user_signin {
	int64_t user_id;
	bool created;
	struct session_new session;
	int retry_after;
};

/* Counts one registration attempt from c's address — every attempt
 * counts, refused ones too: creating accounts in bulk is what the limit
 * is for — or refuses with ERR_RATELIMIT "too many registrations from
 * this address; try again in N seconds" and *out the seconds. Called
 * before anything of the attempt is looked at. */
int user_register_throttle(int *out, struct forge *f, const struct user_client *c);

/* Registers username (validate_account_name) with password
 * (password_validate) and email (NULL or "": none; else validate_email)
 * and opens its session, in one transaction of its own. ERR_EXISTS
 * "username_taken", ERR_INVALID, or ERR_*. */
int user_register(struct user_signin *out, struct forge *f, const char *username,
		  const char *password, const char *email, const struct user_client *c);

/* Signs username in with password and opens a session. Attempts are
 * counted before the password is checked, per address and account and
 * per address (docs/accounts.md); a success gives its attempt back.
 * A wrong password, an unknown user and an account without a password
 * get the same ERR_AUTH "invalid_credentials" in the same time;
 * ERR_RATELIMIT with out->retry_after past the limits. */
int user_login(struct user_signin *out, struct forge *f, const char *username, const char *password,
	       const struct user_client *c);

/* Issues a Sign-In with Ethereum nonce (random, single use, ten minutes)
 * as {nonce, expires_at, domain, uri} into *out (a new reference): the
 * domain and URI the message must name are the public URL's. Limited per
 * address: ERR_RATELIMIT with *retry_after the seconds to wait. */
int user_siwe_nonce(json_t **out, int *retry_after, struct forge *f, const struct user_client *c);
/* Adds to a nonce of user_siwe_nonce the EIP-4361 message a wallet signs
 * for address (any case: the message carries its EIP-55 checksum) on
 * chain_id, as "message": what the pages' wallet sign-in has its wallet
 * personal_sign. ERR_INVALID "invalid_address" / "invalid_chain_id". */
int user_siwe_message(json_t *nonce, struct forge *f, const char *address, const char *chain_id);

/* Signs in with an EIP-4361 message and its personal_sign signature:
 * checks the message (siwe_check against the public URL, a URI under it),
 * that the signature recovers to its address, and consumes its nonce;
 * the first sign-in of an address creates its account, named by the
 * address in lower case (out->created). One transaction of its own.
 * ERR_AUTH/ERR_INVALID with a "siwe_*" slug (docs/accounts.md),
 * ERR_EXISTS "username_taken", or ERR_*. */
int user_siwe_signin(struct user_signin *out, struct forge *f, const char *message,
		     const char *signature, const struct user_client *c);

/* Ends f->who's browser session (only a session can: ERR_INVALID
 * "not_a_session" for a token). */
int user_signout(struct forge *f);

/* Ends every browser session of f->who (user scope); *out (may be NULL)
 * receives how many. Tokens are not affected. */
int user_signout_all(int *out, struct forge *f);

/* f->who's live browser sessions (user scope), most recently seen first,
 * at most 100, as [{id, method ("password" or "siwe"), created_at,
 * last_seen_at, expires_at, user_agent, ip, current}] into *out (a new
 * reference); current marks the session of this request. */
int user_session_list(json_t **out, struct forge *f);

/* ---- the caller's own account (user scope) ---- */

/* What user_update changes: NULL leaves a field as it is. */
struct user_update {
	const char *username; /* validate_account_name: f->who's own address is allowed */
	const char *email;    /* "" removes it */
};

/* Changes f->who's account; *out is its JSON afterwards (user_json_load).
 * ERR_EXISTS "username_taken", ERR_INVALID, or ERR_*. */
int user_update(json_t **out, struct forge *f, const struct user_update *in);

/* f->who's access tokens as [{id, name, scopes, created_at, last_used_at,
 * expires_at, expired}] by id (never the secrets). */
int user_token_list(json_t **out, struct forge *f);

/* Creates an access token of f->who named name with scopes (SCOPE_* with
 * implications applied) expiring at expires_at (an RFC 3339 time or a
 * date in the future; NULL: never). A token cannot mint one stronger than
 * itself (ERR_PERM "insufficient_scope") nor one that outlives it (no
 * expiry asked: the parent's; a later one: ERR_INVALID). *out is
 * {id, name, scopes, created_at, expires_at, last_used_at, token} with the
 * secret, shown this once. */
int user_token_create(json_t **out, struct forge *f, const char *name, unsigned scopes,
		      const char *expires_at);

/* Deletes f->who's token id (the URL text). ERR_NOTFOUND "token 'x' not
 * found" when it is not a number or not theirs. */
int user_token_delete(struct forge *f, const char *id);

/* f->who's SSH keys as [{id, name, type, bits, fingerprint, key,
 * created_at, last_used_at}] by id. */
int user_key_list(json_t **out, struct forge *f);

/* Adds the SSH public key text (one line of a .pub file, auth/sshkey.h)
 * to f->who's account, named name (NULL or "": the key's comment, else
 * its type); *out is the key's JSON. ERR_INVALID "invalid_key",
 * ERR_EXISTS "key_exists" when any account has it already. */
int user_key_create(json_t **out, struct forge *f, const char *text, const char *name);

/* Deletes f->who's SSH key id (the URL text). ERR_NOTFOUND "key 'x' not
 * found". */
int user_key_delete(struct forge *f, const char *id);

#endif
