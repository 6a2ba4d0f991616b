-- Agent Service (9016 /agents): personas (who an agent is: system prompt, tone, allowed
-- tools, default model), their skills (named capabilities mapping to a prompt and
-- tools), and what an agent learned (feedback, corrections, examples), searchable by
-- similarity through FTS5 so later invocations can use them as few-shot examples.
CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    system_prompt TEXT NOT NULL DEFAULT '',
    tone          TEXT,
    tools         TEXT NOT NULL DEFAULT '[]',
    default_model TEXT,
    skills        TEXT NOT NULL DEFAULT '[]',
    revision      INTEGER NOT NULL DEFAULT 1,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE lessons (
    id         INTEGER PRIMARY KEY,
    public_id  TEXT NOT NULL UNIQUE,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,          -- feedback | correction | example
    input      TEXT NOT NULL,
    output     TEXT,                   -- the answer given (feedback) or the right one
    rating     INTEGER,                -- feedback: 1 helpful, -1 not helpful
    note       TEXT,
    author     TEXT,
    created_ms INTEGER NOT NULL
);
CREATE INDEX lessons_by_agent ON lessons(agent_id, created_ms);

CREATE VIRTUAL TABLE lessons_fts USING fts5(input, tokenize = 'unicode61');
