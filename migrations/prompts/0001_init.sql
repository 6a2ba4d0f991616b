-- Prompt Engineering (8012): prompt templates with immutable numbered versions, labels
-- (production, staging, ...) pointing at versions, and the stored results of test runs
-- beside the version they ran. Times are epoch milliseconds.
CREATE TABLE prompts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]',
    latest      INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE prompt_versions (
    prompt_id     TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    template      TEXT NOT NULL,
    variables     TEXT,                 -- JSON Schema of the variables, or NULL
    partials      TEXT NOT NULL DEFAULT '{}',
    output_format TEXT NOT NULL DEFAULT 'text',
    output_schema TEXT,
    changelog     TEXT,
    author        TEXT,
    created_ms    INTEGER NOT NULL,
    PRIMARY KEY (prompt_id, version)
);

CREATE TABLE prompt_labels (
    prompt_id  TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (prompt_id, label)
);

CREATE TABLE prompt_tests (
    id         TEXT PRIMARY KEY,
    prompt_id  TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    agent_id   TEXT NOT NULL,
    variables  TEXT NOT NULL,
    rendered   TEXT NOT NULL,
    status     TEXT NOT NULL,           -- passed (the agent answered) or failed
    http_status INTEGER,
    output     TEXT,                    -- the agent's answer (JSON) or NULL
    detail     TEXT,
    at_ms      INTEGER NOT NULL
);
CREATE INDEX prompt_tests_by_version ON prompt_tests(prompt_id, version, at_ms);
