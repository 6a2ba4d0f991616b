-- AI Agent Orchestration (9007): agent configurations, the response cache, metered
-- usage, the audit of every call and the steps of tool-calling loops (docs/ai.md).
-- Every row carries its tenant and every query filters on it.
CREATE TABLE agent_configs (
    tenant_id   TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    config      TEXT NOT NULL,          -- the checked JSON configuration
    revision    INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)
) WITHOUT ROWID;

-- key: hex SHA-256 of the normalised request (agent, its config revision, provider
-- chain, messages, variables, tools).
CREATE TABLE response_cache (
    tenant_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    response    TEXT NOT NULL,
    expires_ms  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;

CREATE TABLE usage (
    tenant_id   TEXT NOT NULL,
    call_id     TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost        REAL NOT NULL,
    cached      INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX usage_tenant_at ON usage(tenant_id, at_ms);

CREATE TABLE audit (
    tenant_id   TEXT NOT NULL,
    call_id     TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    subject     TEXT,                   -- the caller's user id
    outcome     TEXT NOT NULL,          -- ok | failed | cached | refused
    status      INTEGER NOT NULL,
    provider    TEXT,
    model       TEXT,
    prompt      TEXT,                   -- the request, or "sha256:…" when audit_content = false
    answer      TEXT,
    detail      TEXT,
    steps       TEXT,                   -- JSON array of tool-calling steps
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, call_id)
) WITHOUT ROWID;
CREATE INDEX audit_agent ON audit(tenant_id, agent_id, at_ms);
