-- Notification Service: messages and each attempt to deliver them, templates with
-- versions and locale variants, and per-user preferences (channels, quiet hours).
-- A message is rendered when it is accepted, so a row holds exactly what is sent.
-- next_ms is when the sender next looks at a queued or held message (the loop arms
-- one timer for the smallest).
CREATE TABLE notifications (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    channel          TEXT NOT NULL,            -- email | sms | push | webhook
    recipient        TEXT NOT NULL,
    user_id          TEXT,
    subject          TEXT,
    body_text        TEXT,
    body_html        TEXT,
    template_id      TEXT,
    template_version INTEGER,
    locale           TEXT,
    urgent           INTEGER NOT NULL DEFAULT 0,
    idempotency_key  TEXT,
    status           TEXT NOT NULL,            -- queued | held | sending | sent | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_ms          INTEGER,
    held_until_ms    INTEGER,
    message_id       TEXT,                     -- email: our Message-ID
    provider_id      TEXT,                     -- sms/push: the provider's message id
    error            TEXT,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    sent_ms          INTEGER
);
CREATE UNIQUE INDEX notifications_idem ON notifications(tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX notifications_list ON notifications(tenant_id, created_ms, id);
CREATE INDEX notifications_due ON notifications(next_ms) WHERE status IN ('queued', 'held');

CREATE TABLE attempts (
    notification_id  TEXT NOT NULL,
    tenant_id        TEXT NOT NULL,
    n                INTEGER NOT NULL,
    started_ms       INTEGER NOT NULL,
    finished_ms      INTEGER,
    ok               INTEGER NOT NULL DEFAULT 0,
    status           INTEGER,                  -- SMTP reply code or HTTP status, 0: no answer
    answer           TEXT,                     -- the provider's answer (cut to 2 KiB)
    error            TEXT,
    PRIMARY KEY (notification_id, n)
);

-- One row per version of a template; the highest version is the current one.
CREATE TABLE templates (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,
    version          INTEGER NOT NULL,
    name             TEXT NOT NULL,
    channel          TEXT,                     -- NULL: any
    strict           INTEGER NOT NULL DEFAULT 0,
    default_locale   TEXT NOT NULL,
    locales          TEXT NOT NULL,            -- JSON: {"en": {"subject", "text", "html"}, ...}
    partials         TEXT,                     -- JSON: {"name": "template text"}
    created_ms       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id, version)
);

CREATE TABLE preferences (
    tenant_id        TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    doc              TEXT NOT NULL,            -- JSON: {"channels", "quietHours"}
    revision         INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
