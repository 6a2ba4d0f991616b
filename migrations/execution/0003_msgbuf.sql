-- Message buffering (docs/execution.md, "Buffered messages"): a message published with a
-- timeToLive that nobody waits for is kept here until a subscription opened later takes
-- it (taken_by set) or it expires. A row with a message_id stays until it expires (also
-- when it was correlated at once), so publishing the same messageId again within the TTL
-- is refused. Expired rows are removed in small batches by the engine's loop.
CREATE TABLE msg_buffer (
    id          INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    corr_key    TEXT NOT NULL DEFAULT '',
    message_id  TEXT,
    variables   TEXT NOT NULL DEFAULT '{}',
    size        INTEGER NOT NULL,               -- bytes counted against the tenant's bound
    expires_ms  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    taken_by    TEXT                            -- the instance that got it; NULL: waiting
);
CREATE INDEX msg_buffer_name ON msg_buffer(tenant_id, name, corr_key, id) WHERE taken_by IS NULL;
CREATE INDEX msg_buffer_tenant ON msg_buffer(tenant_id, expires_ms);
CREATE INDEX msg_buffer_expires ON msg_buffer(expires_ms);
CREATE UNIQUE INDEX msg_buffer_msgid ON msg_buffer(tenant_id, message_id) WHERE message_id IS NOT NULL;
