-- transactional: false
-- recs.popular_items holds the levels something reads: each gender ('f', '*'), each age group
-- ('*', '25-34') and the global ranking ('*', '*'). A gender x age group cell is ranked from its
-- two groups' lifts (recs.popular_write_blended, migration 0041) and served from
-- recs.popular_blended, so its own rows (0.99M of the 1.85M at the target scale) were written by
-- every popularity run and read by nothing served: the job no longer computes them, and they go
-- here. Nothing blocks the readers: a DELETE and a plain VACUUM, whose freed heap and index pages
-- later writes reuse (VACUUM FULL or a REINDEX would give them back, under an exclusive lock or,
-- concurrently, with invalid indexes left behind if stopped: an operator may run
-- REINDEX TABLE CONCURRENTLY recs.popular_items at a quiet time). A popularity run between this
-- migration and the new job's functions may write cell rows again: nothing reads them, the next
-- run that sees their present change deletes them, and the next full rebuild leaves them out.
-- The DELETE holds the popularity job's lock (recs.job_lock_key('refresh_popular_items'), spelt out:
-- the function may not exist yet), so it waits for a running popularity run instead of
-- deadlocking with its updates, and a run due meanwhile is skipped. Each statement commits on its
-- own and every one can run again.
SELECT pg_advisory_lock(hashtext('recs.job:refresh_popular_items')::bigint);
DELETE FROM recs.popular_items WHERE gender <> '*' AND age_group <> '*';
SELECT pg_advisory_unlock(hashtext('recs.job:refresh_popular_items')::bigint);
VACUUM (ANALYZE) recs.popular_items;
COMMENT ON TABLE recs.popular_items IS
    'Time-decayed popularity of available public presents per gender, per age group and globally (gender/age_group, ''*'' = any; never a gender x age group cell, ranked from its two groups in recs.popular_blended), filter attributes copied in. Maintained by recs.job_refresh_popular_items: rows of changed (level, present) pairs updated from recs.popular_changes, rebuilt whole at a full resync.';
