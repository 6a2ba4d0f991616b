-- History retention (docs/execution.md, "History retention"): purge_ms is when an ended
-- instance of a process with its own historyTimeToLive is removed with its history;
-- ended instances without it follow execution.history_retention_days by ended_at. Both
-- indexes hold ended instances only, so the sweep finds its batch without a scan.
ALTER TABLE instances ADD COLUMN purge_ms INTEGER;
CREATE INDEX instances_purge ON instances(purge_ms) WHERE purge_ms IS NOT NULL;
CREATE INDEX instances_ended ON instances(ended_at) WHERE ended_at IS NOT NULL AND purge_ms IS NULL;
