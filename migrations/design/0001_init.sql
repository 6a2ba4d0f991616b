-- Process Design: process definitions (a mutable draft each) and their immutable
-- published versions. The draft and every version are BPMN 2.0 XML as exported by
-- src/bpmn (lossless, extensions kept). Every row carries tenant_id.
CREATE TABLE processes (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'draft',   -- draft | published | archived
    bpmn_process_id TEXT,                            -- id of the first <process>
    draft_xml       TEXT NOT NULL,
    revision        INTEGER NOT NULL DEFAULT 1,      -- the ETag: "r<revision>"
    latest_version  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX processes_tenant_name ON processes(tenant_id, name, id);
CREATE INDEX processes_tenant_bpmn ON processes(tenant_id, bpmn_process_id);

CREATE TABLE process_tags (
    tenant_id  TEXT NOT NULL,
    process_id TEXT NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, process_id, tag)
);
CREATE INDEX process_tags_tag ON process_tags(tenant_id, tag);

CREATE TABLE process_versions (
    tenant_id    TEXT NOT NULL,
    process_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    xml          TEXT NOT NULL,
    summary      TEXT NOT NULL,        -- bpmn_summary() JSON
    note         TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT 'draft',   -- draft | rollback:<n>
    published_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, process_id, version)
);
