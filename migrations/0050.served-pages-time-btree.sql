-- recs.served_pages' time index as a B-tree instead of BRIN. The cleanup job deletes the pages
-- older than online_retention_days and new pages reuse the freed space, so after one retention
-- period every block range holds pages of the whole window: a BRIN summary only widens, and the
-- cleanup's range scan read every block of the table (a month of recorded pages) every 6 hours.
DROP INDEX recs.served_pages_served_at_idx;
CREATE INDEX served_pages_served_at_idx ON recs.served_pages (served_at);
