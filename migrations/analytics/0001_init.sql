-- Process Analytics (9014): what ended instances did, fed by the engine's events and
-- backfilled from its history. One row per instance, one per element visit, and the
-- path (the elements in the order entered) per instance for path analysis.
CREATE TABLE instances (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    process_id   TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,               -- active, completed, failed, cancelled
    started_ms   INTEGER NOT NULL,
    ended_ms     INTEGER,
    duration_ms  INTEGER,
    incidents    INTEGER NOT NULL DEFAULT 0,
    path         TEXT,                        -- element ids in the order entered, space-separated
    ingested     INTEGER NOT NULL DEFAULT 0,  -- 1 once its history is in element_visits
    PRIMARY KEY (tenant_id, id)
);
-- Covering: the per-process statistics read only this index.
CREATE INDEX instances_process ON instances(tenant_id, process_id, started_ms, state, duration_ms, version, incidents);
CREATE INDEX instances_pending ON instances(ingested, state);

CREATE TABLE element_visits (
    tenant_id    TEXT NOT NULL,
    instance_id  TEXT NOT NULL,
    process_id   TEXT NOT NULL,
    element_id   TEXT NOT NULL,
    element_type TEXT NOT NULL,
    entered_ms   INTEGER NOT NULL,
    left_ms      INTEGER,
    duration_ms  INTEGER
);
CREATE INDEX element_visits_process ON element_visits(tenant_id, process_id, entered_ms);
CREATE INDEX element_visits_instance ON element_visits(tenant_id, instance_id);

-- Rollups kept at ingestion, so the dashboard reads days, not instances: per tenant,
-- process and UTC day (epoch ms of its midnight) of the instances' start.
CREATE TABLE daily (
    tenant_id   TEXT NOT NULL,
    process_id  TEXT NOT NULL,
    day_ms      INTEGER NOT NULL,
    started     INTEGER NOT NULL DEFAULT 0,
    completed   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    cancelled   INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,     -- sum over completed
    PRIMARY KEY (tenant_id, day_ms, process_id)
);
-- Per element and UTC day of the visit: visits and total time (for top bottlenecks).
CREATE TABLE element_daily (
    tenant_id    TEXT NOT NULL,
    process_id   TEXT NOT NULL,
    element_id   TEXT NOT NULL,
    element_type TEXT NOT NULL,
    day_ms       INTEGER NOT NULL,
    visits       INTEGER NOT NULL DEFAULT 0,
    total_ms     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day_ms, process_id, element_id)
);

-- SLA targets per process.
CREATE TABLE slas (
    tenant_id  TEXT NOT NULL,
    process_id TEXT NOT NULL,
    target_ms  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, process_id)
);

-- Backfill progress per tenant: done once every instance the engine had at first start
-- is in; the cursor lets a restart go on where it stopped.
CREATE TABLE backfill (
    tenant_id TEXT PRIMARY KEY,
    cursor    TEXT,
    done      INTEGER NOT NULL DEFAULT 0
);
