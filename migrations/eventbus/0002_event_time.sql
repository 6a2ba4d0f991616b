-- Replay ?from= and subscriptions from a time select by the event's own `time`
-- attribute (epoch ms), not by when the log appended it. Rows logged before this
-- migration take their append time.
ALTER TABLE events ADD COLUMN time_ms INTEGER;
UPDATE events SET time_ms = logged_ms;
CREATE INDEX events_evtime ON events(tenant_id, time_ms, seq);
