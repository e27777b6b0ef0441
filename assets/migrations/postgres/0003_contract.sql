-- Departments change under If-Match like cases: two admins editing at once cannot silently
-- overwrite each other.
ALTER TABLE departments ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- A revoked token answers 401 saying so; `jieyou user rotate` retires the old token the same
-- way.
ALTER TABLE users ADD COLUMN revoked_at BIGINT;
CREATE TABLE retired_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    retired_at BIGINT NOT NULL
);

-- The earliest unmet deadline of the case (NULL: none), kept by every write, so `overdue`
-- searches read an index instead of computing every case's deadlines. Filled at start-up
-- (see `Store::refresh_next_due`): it depends on the configured policy.
ALTER TABLE cases ADD COLUMN next_due_at BIGINT;
CREATE INDEX cases_next_due ON cases (next_due_at);

-- Expired idempotency records are purged by age.
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Small facts about the store itself, e.g. the policy `next_due_at` was computed with.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
