-- The incremental similarity run ranks its changed users in parallel, as the full run does:
-- recs.similarity_rank_users (sql/20_jobs) now finds them through recs.dirty_users and takes the
-- job's parallel workers, so its old signature goes.
DROP FUNCTION IF EXISTS recs.similarity_rank_users(integer[], integer);
UPDATE recs.settings
SET description = 'Parallel workers beside the job''s own backend that rank users in a similarity run, full or incremental (0: the job''s backend alone; more than the cores minus one does not help; max_parallel_workers bounds it).'
WHERE key = 'similarity_parallel_workers';
