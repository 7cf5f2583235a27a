-- What operators watch: totals counted at each sync (never a full count over the FDW per
-- request), and pg_cron's own tables read through postgres_fdw from the database pg_cron lives
-- in, so a job's schedule and pg_cron's last outcome sit beside its run log (recs.job_status).
-- Host, port, dbname and the owner's credentials of server cron_db are set by migrate from
-- RECOMMENDATIONS_OWNER_DATABASE_URL and CRON_DATABASE_NAME on every run.

CREATE TABLE recs.source_totals (
    name        text PRIMARY KEY,
    total       bigint NOT NULL,
    counted_at  timestamptz NOT NULL
);
COMMENT ON TABLE recs.source_totals IS
    'Totals of the main database (public_presents, private_presents, likes, clicks) counted by recs.sync_main at each sync; read by api.stats.';

CREATE SCHEMA cron_link;
COMMENT ON SCHEMA cron_link IS 'pg_cron''s job tables, read through postgres_fdw from the cron database (read-only).';

CREATE SERVER cron_db FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host 'localhost', port '5432', dbname 'postgres', connect_timeout '3');
CREATE USER MAPPING FOR CURRENT_USER SERVER cron_db;

CREATE FOREIGN TABLE cron_link.job (
    jobid     bigint NOT NULL,
    schedule  text NOT NULL,
    command   text NOT NULL,
    database  text NOT NULL,
    username  text NOT NULL,
    active    boolean NOT NULL,
    jobname   text
) SERVER cron_db OPTIONS (schema_name 'cron', table_name 'job');
COMMENT ON FOREIGN TABLE cron_link.job IS
    'pg_cron''s cron.job (the owner role sees its own jobs). Read through recs.cron_jobs(), which never raises.';

CREATE FOREIGN TABLE cron_link.job_run_details (
    jobid           bigint,
    runid           bigint NOT NULL,
    status          text,
    return_message  text,
    start_time      timestamptz,
    end_time        timestamptz
) SERVER cron_db OPTIONS (schema_name 'cron', table_name 'job_run_details');
COMMENT ON FOREIGN TABLE cron_link.job_run_details IS
    'pg_cron''s cron.job_run_details: what pg_cron started and how it ended (the owner role sees its own runs).';

-- api.job_status gains the schedule and pg_cron's last outcome: its result type changes.
DROP FUNCTION IF EXISTS api.job_status();
