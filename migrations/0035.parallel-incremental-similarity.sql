-- The incremental similarity run ranks its changed users in parallel, as the full run does:
-- recs.similarity_rank_users (sql/20_jobs) now finds them through recs.dirty_users and takes the
-- job's parallel workers, so its old signature goes.
DROP FUNCTION IF EXISTS recs.similarity_rank_users(integer[], integer);
