-- 0002_accounts: browser sessions, SIWE nonces, SSH keys and sign-in throttling.

-- A signed-in browser. The cookie's JWT names a row here by id (its "sid");
-- the row is what makes the session live, so revoking it (sign out, sign
-- out everywhere) takes effect at once whatever the JWT's own expiry says.
-- The CSRF token is derived from the id with a server-held key, so no
-- secret is stored here.
CREATE TABLE auth_sessions (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    method       text NOT NULL CHECK (method IN ('password', 'siwe')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    user_agent   text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_user_live ON auth_sessions (user_id) WHERE revoked_at IS NULL;

-- Nonces handed out for Sign-In with Ethereum: single use (used_at is set
-- by the one UPDATE that consumes it) and short-lived.
CREATE TABLE siwe_nonces (
    nonce      text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    ip         text NOT NULL DEFAULT ''
);
CREATE INDEX siwe_nonces_expires ON siwe_nonces (expires_at);

-- OpenSSH public keys. A key belongs to one account: the fingerprint is
-- unique across users so that a key names exactly one person.
CREATE TABLE ssh_keys (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        text NOT NULL,
    type        text NOT NULL,              -- ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, ...
    bits        integer NOT NULL,
    fingerprint text NOT NULL UNIQUE,       -- "SHA256:" + unpadded base64, as ssh-keygen -l prints
    public_key  text NOT NULL,              -- "type base64" without the comment
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);
CREATE INDEX ssh_keys_user ON ssh_keys (user_id);

-- Fixed-window counters for throttling (failed sign-ins per account and per
-- IP address, nonce issuance per IP). key is "what:who", e.g. "login-ip:1.2.3.4".
CREATE TABLE rate_limits (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL DEFAULT now(),
    count        integer NOT NULL DEFAULT 0
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
