-- Process Linking: what each published process is (its BPMN process ids) and what it
-- links to: calls (callActivity calledElement), message flows between pools, and
-- explicit "depends on" links. Filled from process.definition.published events and
-- POST /links. Every row carries tenant_id.
CREATE TABLE link_processes (
    tenant_id  TEXT NOT NULL,
    process_id TEXT NOT NULL,      -- Process Design id (proc_...)
    name       TEXT NOT NULL DEFAULT '',
    version    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, process_id)
);
CREATE TABLE link_bpmn_ids (
    tenant_id  TEXT NOT NULL,
    process_id TEXT NOT NULL,
    bpmn_id    TEXT NOT NULL,      -- <process id="..."> inside the definition
    PRIMARY KEY (tenant_id, process_id, bpmn_id)
);
CREATE INDEX link_bpmn_ids_by_bpmn ON link_bpmn_ids(tenant_id, bpmn_id);
CREATE TABLE links (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    from_id    TEXT NOT NULL,      -- Process Design id
    kind       TEXT NOT NULL,      -- calls | message | depends
    to_ref     TEXT NOT NULL,      -- calls/message: a BPMN process id; depends: a Process Design id
    element    TEXT,               -- the callActivity or message flow it comes from
    note       TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX links_from ON links(tenant_id, from_id);
CREATE INDEX links_to ON links(tenant_id, to_ref);
