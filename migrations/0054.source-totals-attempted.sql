-- When a count of main's totals was last tried, beside when one last counted: a count main
-- cancels (its statement_timeout for the reader, shorter than counting a large table) is tried
-- again an hour later, as a stale count is, not at every sync of every job.
ALTER TABLE recs.source_totals ADD COLUMN attempted_at timestamptz;
UPDATE recs.source_totals SET attempted_at = counted_at;
COMMENT ON COLUMN recs.source_totals.attempted_at IS
    'When recs.sync_source_totals last tried to count (counted_at: last counted); a count is tried at most hourly but at a full sync.';
