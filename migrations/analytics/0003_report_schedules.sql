-- Reports mailed on a schedule: what to report (a process, or the tenant dashboard), in
-- which format, over how many days, to whom; the Scheduling (9008) schedule that fires
-- it (an event action, analytics.report.due) and how the last run went.
CREATE TABLE report_schedules (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    process_id   TEXT,                  -- NULL: the tenant dashboard
    kind         TEXT NOT NULL,         -- instances | elements | dashboard
    format       TEXT NOT NULL,         -- csv | json
    range_days   INTEGER NOT NULL,
    recipients   TEXT NOT NULL,         -- JSON array of e-mail addresses
    trigger      TEXT NOT NULL,         -- JSON: {cron, timezone} or {interval}
    schedule_id  TEXT,                  -- the schedule in 9008
    created_ms   INTEGER NOT NULL,
    runs         INTEGER NOT NULL DEFAULT 0,
    last_run_ms  INTEGER,
    last_result  TEXT,                  -- "sent" or why not
    PRIMARY KEY (tenant_id, id)
);
