-- transactional: false
-- recs.served_pages' time index as a B-tree instead of BRIN. The cleanup job deletes the pages
-- older than online_retention_days and new pages reuse the freed space, so after one retention
-- period every block range holds pages of the whole window: a BRIN summary only widens, and the
-- cleanup's range scan read every block of the table (a month of recorded pages) every 6 hours.
-- Built and swapped concurrently, so the recording, the syncs' attribution and erasures go on
-- writing meanwhile; run again after an interruption, each step is skipped once done (an invalid
-- index a stopped build leaves is dropped first).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
               WHERE c.oid = 'recs.served_pages_served_at_btree'::regclass AND NOT x.indisvalid) THEN
        DROP INDEX recs.served_pages_served_at_btree;
    END IF;
EXCEPTION WHEN undefined_table THEN
    NULL;  -- not built yet
END;
$$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS served_pages_served_at_btree ON recs.served_pages (served_at);
DROP INDEX CONCURRENTLY IF EXISTS recs.served_pages_served_at_idx;
ALTER INDEX recs.served_pages_served_at_btree RENAME TO served_pages_served_at_idx;
