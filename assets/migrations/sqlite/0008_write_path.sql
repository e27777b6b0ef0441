-- A new case takes its feed sequence number and its reference number in one statement: the
-- reference counter of the current desk day (prefix `PREFIX-YYYYMMDD-`) moves into the feed
-- counter's row. A day with no counter yet counts its cases once (see `store/write_path.rs`),
-- so the per-day counters of `store_meta` are no longer read.
ALTER TABLE feed_counter ADD COLUMN reference_prefix TEXT;
ALTER TABLE feed_counter ADD COLUMN reference_count INTEGER;
DELETE FROM store_meta WHERE key LIKE 'reference:%';
