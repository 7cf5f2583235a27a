-- Signatures that changed; sql/ (applied after the migrations) creates the new ones.
-- api.run_job and api.job_status report a failure by its SQLSTATE (error texts name hosts and
-- roles and stay in recs.job_runs), a run's status and the skipped runs.
DROP FUNCTION IF EXISTS api.run_job(text);
DROP FUNCTION IF EXISTS api.job_status();
-- The live read of main on the request path can be skipped (the API's circuit breaker).
DROP FUNCTION IF EXISTS api.personalized_cache_state(uuid);
DROP FUNCTION IF EXISTS api.personalized(uuid, integer, numeric, numeric, text, text, integer, integer, uuid[]);
DROP FUNCTION IF EXISTS recs.user_interactions(uuid, integer);
