-- Schemas that express visibility, the settings table DBAs tune, the job run log, and the
-- bookkeeping of repeatable sql/ files.
--   recs: private tables, views and job functions (owner only)
--   api:  the functions the app's role may execute (through the mysanta_api group role)
--   main: foreign tables onto the Rails database (read-only role on the other side)
-- Requires the cluster bootstrap (python -m service bootstrap, or the DBA equivalent in README):
-- the mysanta_api role and USAGE on the postgres_fdw wrapper.

CREATE SCHEMA recs;
CREATE SCHEMA api;
CREATE SCHEMA main;
REVOKE ALL ON SCHEMA recs, main FROM PUBLIC;
REVOKE ALL ON SCHEMA api FROM PUBLIC;
GRANT USAGE ON SCHEMA api TO mysanta_api;

-- Functions are not executable by PUBLIC unless granted; api functions are granted to the app.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA api GRANT EXECUTE ON FUNCTIONS TO mysanta_api;

CREATE TABLE recs.settings (
    key          text PRIMARY KEY,
    value        text NOT NULL,
    description  text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE recs.settings IS
    'Tuning knobs read by the SQL functions (weights, half-lives, thresholds, retention). Change with UPDATE; effective on the next refresh or request.';

INSERT INTO recs.settings (key, value, description) VALUES
    ('job_run_retention_days', '30', 'Days of recs.job_runs history the cleanup job keeps.');

CREATE TABLE recs.job_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job          text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    duration_ms  double precision,
    rows         bigint,
    error        text,
    details      jsonb
);
CREATE INDEX job_runs_job_started_idx ON recs.job_runs (job, started_at DESC);
COMMENT ON TABLE recs.job_runs IS
    'One row per job run (pg_cron, psql or admin API): start, duration, rows, error. finished_at NULL = running or killed.';

CREATE TABLE recs.applied_sql_files (
    path        text PRIMARY KEY,
    sha256      text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE recs.applied_sql_files IS
    'Checksums of the repeatable sql/ files as last applied by migrate; an unchanged file is skipped.';
