-- How long pg_cron keeps its own run history (cron.job_run_details, in the cron database).
-- migrate writes the value into the "purge-cron-history" job's command; rerun migrate after a
-- change.
INSERT INTO recs.settings (key, value, description) VALUES
    ('cron_history_retention_days', '7', 'Days of cron.job_run_details the purge-cron-history job keeps (applied by migrate to the job''s command).');
