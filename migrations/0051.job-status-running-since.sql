-- api.job_status gains running_since, the start of a run of the job in progress: its result type
-- changes, which CREATE OR REPLACE cannot do, so the function is dropped here and created again by
-- sql/30_api/api.job_status.sql in the same migrate step (api.stats and api.dashboard call it by
-- name at run time; the default privileges of schema api grant it to the app role again).
DROP FUNCTION IF EXISTS api.job_status();
