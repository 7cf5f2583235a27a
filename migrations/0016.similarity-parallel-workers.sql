-- A full similarity run ranks the users in parallel: the job's backend and this many parallel
-- workers each rank a share of them (recs.job_refresh_user_similarities, with recs.neighbor_pool
-- now a PL/pgSQL function that parallel workers can run).

INSERT INTO recs.settings (key, value, description) VALUES
    ('similarity_parallel_workers', '1', 'Parallel workers beside the job''s own backend that rank users in a full similarity run (0: the job''s backend alone; more than the cores minus one does not help; max_parallel_workers bounds it).');
