-- Process Versioning: branches (a working copy of a published version, edited apart
-- and merged back into the process draft) and tags (names for published versions).
-- Versions themselves live in Process Design. Every row carries tenant_id.
CREATE TABLE branches (
    tenant_id    TEXT NOT NULL,
    process_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    base_xml     TEXT NOT NULL,     -- the version it started from (the merge base)
    xml          TEXT NOT NULL,     -- its current content
    status       TEXT NOT NULL DEFAULT 'open',   -- open | merged
    revision     INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, process_id, name)
);
CREATE TABLE tags (
    tenant_id  TEXT NOT NULL,
    process_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, process_id, name)
);
