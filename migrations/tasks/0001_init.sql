-- Human Task Service: tasks for people (created over HTTP or by the engine), their
-- assignment, responses and comments. Times the timer compares are unix ms.
CREATE TABLE tasks (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT,
    status              TEXT NOT NULL,          -- created | assigned | completed | cancelled
    assignee            TEXT,
    owner               TEXT,                   -- who delegated it (the first assignee to do so)
    candidate_users     TEXT NOT NULL DEFAULT '[]',
    candidate_groups    TEXT NOT NULL DEFAULT '[]',
    due_ms              INTEGER,
    follow_up_ms        INTEGER,
    priority            INTEGER NOT NULL DEFAULT 50,
    form                TEXT,
    variables           TEXT NOT NULL DEFAULT '{}',
    response            TEXT,
    process_instance_id TEXT,
    element_id          TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    completed_at        TEXT,
    completed_by        TEXT,
    escalated_at        TEXT,
    version             INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tasks_tenant_status ON tasks(tenant_id, status);
CREATE INDEX tasks_tenant_assignee ON tasks(tenant_id, assignee);
CREATE INDEX tasks_overdue ON tasks(due_ms) WHERE escalated_at IS NULL AND status IN ('created', 'assigned');

CREATE TABLE task_comments (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL,
    task_id    TEXT NOT NULL REFERENCES tasks(id),
    author     TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX task_comments_task ON task_comments(tenant_id, task_id, seq);
