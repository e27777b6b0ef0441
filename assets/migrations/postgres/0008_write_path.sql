-- The PostgreSQL twin of sqlite/0016_write_path.sql: the reference counter of the current desk
-- day lives in the feed counter's row, taken with the sequence number in one statement.
ALTER TABLE feed_counter ADD COLUMN reference_prefix TEXT, ADD COLUMN reference_count BIGINT;
DELETE FROM store_meta WHERE key LIKE 'reference:%';
