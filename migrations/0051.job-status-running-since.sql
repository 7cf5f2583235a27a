-- api.job_status gains running_since, the start of a run of the job in progress: its result type
-- changes, which CREATE OR REPLACE cannot do, so the function is dropped here and created again by
-- sql/30_api/api.job_status.sql in the same migrate step, once the files it depends on are applied
-- (on a new database they do not exist yet at this point). Meanwhile, a few seconds, what lists
-- the jobs (/admin/jobs, /stats, /metrics' job families, the dashboard) cannot read them; the
-- Rails routes are not affected. The default privileges of schema api grant it to the app role
-- again.
DROP FUNCTION IF EXISTS api.job_status();
