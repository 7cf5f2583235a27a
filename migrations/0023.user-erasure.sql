-- Erasure of a user's data: DELETE /user-profile/{user_id} (api.erase_user) and the
-- erase_absent_users job, which erases the users main no longer has.
--   main.users                        the ids of main's users (the only column read), so the job
--                                     can tell who left; the main DB's DBA grants it by running
--                                     sql/main/reader_role.sql again
--   recs.users.absent_from_main_since since when the job has not found the user in main.users
--   recs.user_erasures                one row per erasure (when, by which path, how many users and
--                                     interaction rows), without the users' ids; the popularity
--                                     refresh recomputes after one
--   setting absent_user_retention_days  how long a user may be absent from main before the job
--                                     erases them

CREATE FOREIGN TABLE main.users (
    id  uuid NOT NULL
) SERVER main_db OPTIONS (schema_name 'public', table_name 'users');
COMMENT ON FOREIGN TABLE main.users IS
    'Rails users (read-only): only their ids, read once a day by recs.job_erase_absent_users to find the users main no longer has.';

ALTER TABLE recs.users ADD COLUMN absent_from_main_since timestamptz;
COMMENT ON COLUMN recs.users.absent_from_main_since IS
    'Since when recs.job_erase_absent_users has not found the user in main.users; NULL: found at its last run, or not checked yet.';

CREATE TABLE recs.user_erasures (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    erased_at     timestamptz NOT NULL DEFAULT now(),
    source        text NOT NULL CHECK (source IN ('api', 'retention')),
    users         integer NOT NULL,
    interactions  bigint NOT NULL
);
CREATE INDEX user_erasures_erased_at_idx ON recs.user_erasures (erased_at);
COMMENT ON TABLE recs.user_erasures IS
    'One row per erasure that removed something: when, by which path (api: DELETE /user-profile; retention: recs.job_erase_absent_users), how many users and interaction rows. Holds no user id. Trimmed by the cleanup job with job_run_retention_days.';

INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('absent_user_retention_days', '30',
     'Days a user may be absent from main''s users before recs.job_erase_absent_users erases what this service holds of them (demographics, interactions, profile, neighbours).',
     'integer', 1, 36500);
