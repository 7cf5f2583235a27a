-- recs.sync_clock: the running sync's clock, which recs.sync_main reads once it holds the sync lock
-- (so it is never before the clock of a sync that committed first); no watermark passes it.
-- Outside a sync: the current time.
-- Arguments: none. Result: the clock. Errors: none.
-- Caller: recs.sync_is_full, recs.sync_read_events, recs.sync_decay_epoch, recs.sync_pairs,
--   recs.sync_watermarks.
CREATE OR REPLACE FUNCTION recs.sync_clock() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('recs.sync_clock', true), '')::timestamptz, clock_timestamp());
$$;
COMMENT ON FUNCTION recs.sync_clock() IS
    'The running sync''s clock (read after its lock), bounding the watermarks; the current time outside a sync.';
