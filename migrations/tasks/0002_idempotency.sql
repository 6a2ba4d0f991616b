-- POST /tasks with an Idempotency-Key: the same key in the same tenant answers with the
-- task the first request made (the engine keys each user task it creates this way).
ALTER TABLE tasks ADD COLUMN idem_key TEXT;
CREATE UNIQUE INDEX tasks_idem ON tasks(tenant_id, idem_key) WHERE idem_key IS NOT NULL;
