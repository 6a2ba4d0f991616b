-- External Integration: stored connectors and inbound webhooks (one table each, same
-- shape), their call and delivery logs, and the delivery keys seen (replay refusal).
-- `config` never holds a secret: secrets are a libsodium secretbox (nonce || box) of a
-- JSON object in `secrets`, under the key of [integrations] key or <data-dir>/integrations.key.
CREATE TABLE connectors (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    config      TEXT NOT NULL,
    secrets     BLOB,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX connectors_tenant_name ON connectors(tenant_id, name);
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    config      TEXT NOT NULL,
    secrets     BLOB,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX webhooks_tenant_name ON webhooks(tenant_id, name);
-- One row per connector call or webhook delivery, newest kept (at most 1000 per owner).
CREATE TABLE log_entries (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    entry       TEXT NOT NULL
);
CREATE INDEX log_entries_owner ON log_entries(owner_id, seq);
CREATE TABLE hook_seen (
    webhook_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, key)
);
