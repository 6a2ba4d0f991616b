-- Service Registry: external services that register themselves and keep alive with
-- heartbeats. Modules of this process are not stored: they are known at start.
CREATE TABLE services (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    name           TEXT NOT NULL,
    url            TEXT NOT NULL,
    health_url     TEXT,
    ttl_seconds    INTEGER NOT NULL,
    metadata       TEXT NOT NULL DEFAULT '{}',
    registered_at  TEXT NOT NULL,
    last_heartbeat TEXT NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    health         TEXT NOT NULL DEFAULT 'unknown',
    last_probe_at  TEXT,
    probe_detail   TEXT
);
CREATE UNIQUE INDEX services_tenant_name ON services(tenant_id, name);
CREATE INDEX services_expiry ON services(expires_at_ms);
