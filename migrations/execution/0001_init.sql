-- Execution Engine: process instances as documents (tokens, scopes, variables), the rows
-- that index what they wait for (timers, message subscriptions, jobs, user tasks), their
-- incidents and history. Times the engine compares are unix ms. docs/execution.md.
CREATE TABLE instances (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    process_id      TEXT NOT NULL,          -- Process Design id
    bpmn_id         TEXT NOT NULL,          -- the <process id> it runs
    version         INTEGER NOT NULL,
    business_key    TEXT,
    state           TEXT NOT NULL,          -- active | paused | completed | cancelled | failed
    parent_id       TEXT,                   -- call activity: the calling instance
    parent_token    INTEGER,
    doc             TEXT NOT NULL,          -- tokens, scopes, variables (exec_store.c)
    incidents       INTEGER NOT NULL DEFAULT 0,
    idem_key        TEXT,
    hist_seq        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    ended_at        TEXT                    -- ids are time-ordered (exec_store.c ex_id): id order is creation order
) WITHOUT ROWID;
CREATE UNIQUE INDEX instances_idem ON instances(tenant_id, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX instances_list ON instances(tenant_id);   -- with the key: (tenant_id, id), newest first
CREATE INDEX instances_parent ON instances(parent_id) WHERE parent_id IS NOT NULL;

-- One row per step: the history entries (JSON array) that step added.
CREATE TABLE history (
    instance_id TEXT NOT NULL,
    first_seq   INTEGER NOT NULL,
    entries     TEXT NOT NULL,
    PRIMARY KEY (instance_id, first_seq)
) WITHOUT ROWID;

-- kind: catch (token waits at element), boundary (token = the activity), event (token =
-- the event-based gateway, element = the catch event after it), evsub (scope_id, element
-- = the event subprocess start), start (process timer start: no instance).
CREATE TABLE timers (
    id          INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    instance_id TEXT,
    token_id    INTEGER NOT NULL DEFAULT 0,
    scope_id    INTEGER NOT NULL DEFAULT 0,
    element     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    due_ms      INTEGER NOT NULL,
    repeat      INTEGER NOT NULL DEFAULT 0,     -- cycles left after this one (-1: forever)
    every_ms    INTEGER NOT NULL DEFAULT 0,
    process_id  TEXT,                           -- start timers
    version     INTEGER
);
CREATE INDEX timers_due ON timers(due_ms);
CREATE INDEX timers_inst ON timers(instance_id, token_id);

CREATE TABLE msg_subs (
    id          INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    corr_key    TEXT NOT NULL DEFAULT '',
    instance_id TEXT,
    token_id    INTEGER NOT NULL DEFAULT 0,
    scope_id    INTEGER NOT NULL DEFAULT 0,
    element     TEXT NOT NULL,
    kind        TEXT NOT NULL,                  -- as for timers; start: message start
    process_id  TEXT,
    version     INTEGER
);
CREATE INDEX msg_subs_name ON msg_subs(tenant_id, name, corr_key);
CREATE INDEX msg_subs_inst ON msg_subs(instance_id, token_id);

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    token_id    INTEGER NOT NULL,
    element     TEXT NOT NULL,
    type        TEXT NOT NULL,
    state       TEXT NOT NULL,                  -- activatable | failed | completed
    retries     INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_ms      INTEGER NOT NULL DEFAULT 0,     -- activatable again from (back-off)
    headers     TEXT NOT NULL DEFAULT '{}',
    error       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX jobs_type ON jobs(tenant_id, type, state);
CREATE INDEX jobs_inst ON jobs(instance_id, token_id);

CREATE TABLE task_links (
    task_id     TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    token_id    INTEGER NOT NULL
);
CREATE INDEX task_links_inst ON task_links(instance_id, token_id);

CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    token_id    INTEGER NOT NULL,
    element     TEXT NOT NULL,
    type        TEXT NOT NULL,
    message     TEXT NOT NULL,
    state       TEXT NOT NULL,                  -- open | resolved
    job_id      TEXT,
    created_at  TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX incidents_list ON incidents(tenant_id, state);
CREATE INDEX incidents_inst ON incidents(instance_id, token_id);

-- Published versions the engine has seen (process.definition.published), for BPMN
-- process id lookups and message/timer starts.
CREATE TABLE deployments (
    tenant_id   TEXT NOT NULL,
    process_id  TEXT NOT NULL,
    bpmn_id     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,     -- start events registered
    PRIMARY KEY (tenant_id, process_id, version)
);
CREATE INDEX deployments_bpmn ON deployments(tenant_id, bpmn_id, version);
