-- Event Bus: the durable log (every event that crossed the bus, with an offset per tenant
-- that only grows), the schema registry, subscriptions and their dead letters.
-- `pos` is the global append order: retention deletes from its low end.
CREATE TABLE events (
    pos        INTEGER PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,        -- the event's offset in its tenant's log
    id         TEXT NOT NULL,
    source     TEXT NOT NULL,
    type       TEXT NOT NULL,
    subject    TEXT,
    logged_ms  INTEGER NOT NULL,        -- when the log appended it (replay ?from=)
    event      TEXT NOT NULL            -- the CloudEvent as JSON
);
CREATE UNIQUE INDEX events_offset ON events(tenant_id, seq);
CREATE UNIQUE INDEX events_id ON events(tenant_id, id, source);
CREATE INDEX events_time ON events(tenant_id, logged_ms);

-- The last offset handed out per tenant: survives retention emptying a tenant's log.
CREATE TABLE tenant_offsets (
    tenant_id TEXT PRIMARY KEY,
    last      INTEGER NOT NULL
);

CREATE TABLE schemas (
    tenant_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    schema     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, type, version)
);

CREATE TABLE subscriptions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,         -- webhook | internal
    url          TEXT,
    secret       TEXT,
    types        TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'active',   -- active | paused
    acked        INTEGER NOT NULL,      -- last offset delivered and acknowledged
    delivered    INTEGER NOT NULL DEFAULT 0,
    failures     INTEGER NOT NULL DEFAULT 0,       -- consecutive
    last_error   TEXT,
    last_delivered_at TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX subscriptions_tenant ON subscriptions(tenant_id, created_at, id);

CREATE TABLE dead_letters (
    subscription_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    event      TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    last_error TEXT,
    dead_at    TEXT NOT NULL,
    redeliver  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subscription_id, seq)
);
