-- DMN decision ids: every decision of every rule-set version by its id (and version
-- tag), so POST /rules/decisions/{decisionId}/evaluate and the engine's
-- zeebe:calledDecision can find the most recently published one (highest seq).
-- Versions stored before this migration are indexed at module start (indexed = 0).
CREATE TABLE rule_decisions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL,
    decision_id   TEXT NOT NULL,
    decision_name TEXT NOT NULL,
    rule_id       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    version_tag   TEXT                -- the decision's camunda:versionTag, else the version's
);
CREATE INDEX rule_decisions_lookup ON rule_decisions(tenant_id, decision_id, seq);

ALTER TABLE rule_versions ADD COLUMN version_tag TEXT;
ALTER TABLE rule_versions ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
