-- Scheduling Service: user-defined schedules and every run they made. next_ms is the
-- next fire time (UTC ms), NULL when the schedule has nothing left to fire; the loop
-- arms one timer for the smallest next_ms of the enabled schedules.
CREATE TABLE schedules (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    cron         TEXT,
    interval     TEXT,
    at           TEXT,
    timezone     TEXT NOT NULL DEFAULT 'UTC',
    action       TEXT NOT NULL,            -- JSON: {"kind": "process" | "event" | "webhook", ...}
    action_kind  TEXT NOT NULL,
    misfire      TEXT NOT NULL,            -- fire-once | skip | fire-all
    misfire_max  INTEGER NOT NULL,
    enabled      INTEGER NOT NULL,
    start_ms     INTEGER NOT NULL DEFAULT 0,
    end_ms       INTEGER NOT NULL DEFAULT 0,
    anchor_ms    INTEGER NOT NULL DEFAULT 0,
    next_ms      INTEGER,
    revision     INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX schedules_tenant ON schedules(tenant_id, name, id);
CREATE INDEX schedules_due ON schedules(next_ms) WHERE enabled = 1 AND next_ms IS NOT NULL;

-- One row per fire, committed before the action starts: its id is the action's
-- idempotency key, so a run found 'firing' after a crash is started again with the
-- same key and the engine starts its instance once.
CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    schedule_id  TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    due_ms       INTEGER NOT NULL,
    fired_ms     INTEGER NOT NULL,
    trigger      TEXT NOT NULL,            -- schedule | misfire | manual
    status       TEXT NOT NULL,            -- firing | succeeded | failed | skipped
    action       TEXT NOT NULL,            -- the action as it was when the run was made
    instance_id  TEXT,
    detail       TEXT,
    finished_ms  INTEGER
);
CREATE INDEX runs_schedule ON runs(schedule_id, fired_ms, id);
CREATE INDEX runs_firing ON runs(status) WHERE status = 'firing';
