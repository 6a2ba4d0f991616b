-- Signals (docs/execution.md, "Signals"): what waits for a signal, and broadcasts being
-- delivered. A broadcast reaches the subscriptions that existed when it was made
-- (id <= upto), a bounded batch per transaction; done_to records how far it got, so a
-- crash in the middle neither repeats nor loses a delivery.
-- kind: catch (token waits at element), boundary (token = the activity), event (token =
-- the event-based gateway, element = the catch event after it), evsub (scope_id, element
-- = the event subprocess start), start (process signal start: no instance).
CREATE TABLE signal_subs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: broadcasts compare ids
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    instance_id TEXT,
    token_id    INTEGER NOT NULL DEFAULT 0,
    scope_id    INTEGER NOT NULL DEFAULT 0,
    element     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    process_id  TEXT,                               -- start
    version     INTEGER
);
CREATE INDEX signal_subs_name ON signal_subs(tenant_id, name, id);
CREATE INDEX signal_subs_inst ON signal_subs(instance_id, token_id);

CREATE TABLE signal_queue (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    variables   TEXT NOT NULL DEFAULT '{}',
    upto        INTEGER NOT NULL,                   -- last signal_subs id it reaches
    done_to     INTEGER NOT NULL DEFAULT 0,         -- last signal_subs id handled
    origin      TEXT NOT NULL,                      -- throw (the worker delivers it) | http (its request)
    created_at  TEXT NOT NULL
);
