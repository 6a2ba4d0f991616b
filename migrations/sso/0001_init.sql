-- SSO (OpenID Connect provider): registered clients and authorization codes. Every row
-- carries tenant_id: a client's is the tenant that registered it, a code's the tenant of
-- the user who signed in. Client secrets and codes are stored only as SHA-256 hashes.
CREATE TABLE clients (
    id            TEXT PRIMARY KEY,            -- the client_id, global: "cli_..."
    tenant_id     TEXT NOT NULL,
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,               -- JSON array, matched exactly
    confidential  INTEGER NOT NULL DEFAULT 0,
    secret_hash   TEXT,                        -- SHA-256 hex of the secret; NULL when public
    created_at    TEXT NOT NULL
);
CREATE INDEX clients_tenant ON clients(tenant_id, created_at, id);
CREATE TABLE codes (
    hash           TEXT PRIMARY KEY,           -- SHA-256 hex of the code
    tenant_id      TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT NOT NULL DEFAULT '',
    scope          TEXT NOT NULL,
    sub            TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '',
    roles          TEXT NOT NULL DEFAULT '[]',
    auth_time      INTEGER NOT NULL,
    sealed_tokens  BLOB NOT NULL,              -- the login's tokens, sealed with a key derived from the code
    expires_at_ms  INTEGER NOT NULL,
    used_at_ms     INTEGER,
    created_at     TEXT NOT NULL
);
CREATE INDEX codes_expiry ON codes(expires_at_ms);
CREATE INDEX codes_client ON codes(client_id);
