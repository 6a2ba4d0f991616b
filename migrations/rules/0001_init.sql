-- Business Rules Engine: rule sets (DMN XML or the JSON model), every version of each,
-- and the audit log of evaluations ([rules] audit). Every row carries its tenant.
CREATE TABLE rule_sets (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    name           TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX rule_sets_tenant_name ON rule_sets(tenant_id, name, id);

CREATE TABLE rule_versions (
    tenant_id  TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    format     TEXT NOT NULL,          -- 'dmn' or 'json'
    source     TEXT NOT NULL,          -- the DMN XML, or the JSON model as text
    decisions  TEXT NOT NULL,          -- JSON array of decision names
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, rule_id, version)
);

CREATE TABLE rule_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    decision   TEXT,                   -- NULL: every decision
    inputs     TEXT NOT NULL,
    outputs    TEXT NOT NULL,
    matched    TEXT NOT NULL,
    warnings   TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX rule_audit_tenant_rule ON rule_audit(tenant_id, rule_id, id);
