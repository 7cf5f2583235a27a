-- recs.popular_write_blended takes the segments it writes (NULL, NULL: every one, as the
-- popularity job calls it; a gender and an age group: those a request of theirs reads, as the
-- offline evaluation's leave-one-user-out cold start calls it once per user). A new argument list
-- is a new function, so the one without arguments is dropped here and created again with the
-- arguments by sql/20_jobs/recs.popular_write_blended.sql in the same migrate step. Meanwhile, a
-- few seconds, a popularity run that reaches it fails and is logged, keeping the previous rows;
-- the next run does the work.
DROP FUNCTION IF EXISTS recs.popular_write_blended();
