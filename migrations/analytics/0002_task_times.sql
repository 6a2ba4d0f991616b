-- User tasks of process instances, from the Human Task Service's task.* events: when
-- each was created, first got an assignee (claimed or assigned) and ended. The split of
-- a user task's time into waiting (created -> claimed) and working (claimed -> completed)
-- and the queue at each element (open tasks) are read from here (docs/analytics.md).
CREATE TABLE task_times (
    tenant_id   TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    process_id  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0,
    element_id  TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    claimed_ms  INTEGER,                -- first time it had an assignee; NULL: never
    ended_ms    INTEGER,                -- completed or cancelled; NULL: open
    state       TEXT NOT NULL DEFAULT 'open',   -- open | completed | cancelled
    PRIMARY KEY (tenant_id, task_id)
);
CREATE INDEX task_times_proc ON task_times(tenant_id, process_id, element_id, created_ms);
CREATE INDEX task_times_open ON task_times(tenant_id, process_id, element_id) WHERE ended_ms IS NULL;
