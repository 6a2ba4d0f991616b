-- Authentication: tenants, users, roles, refresh-token families, signing keys and
-- service accounts. Every row carries tenant_id (a tenant's own row: its id; signing
-- keys belong to the platform: 'system').
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL COLLATE NOCASE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL DEFAULT '[]',
    status        TEXT NOT NULL DEFAULT 'active',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (tenant_id, email)
);
CREATE TABLE roles (
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    grants      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    family     TEXT NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0,
    revoked    INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family);
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL DEFAULT 'system',
    public_key BLOB NOT NULL,
    secret_key BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    not_after  INTEGER
);
CREATE TABLE service_accounts (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    roles      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);
