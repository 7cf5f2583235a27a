-- recs.job_erase_absent_users: the retention of users main no longer has. Reads the ids of
-- main's users once (one remote scan of one column: about 5 MB at 300k users), then in named
-- steps: clears the absence mark of users found in main again; marks users not found
-- (recs.users.absent_from_main_since = now); erases (recs.erase_users) those absent for longer
-- than absent_user_retention_days. A user known only from PUT /user-profile is treated alike: a
-- PUT that reaches the service before the user's row reaches main is kept as long as that
-- setting allows. Refuses to mark anyone when main has no users at all while users are known
-- here (a MAIN_DATABASE_URL pointing at the wrong database must not erase everyone).
-- Arguments: none. Result: users erased.
-- Errors: 42501 when the main reader role may not read users.id (its DBA runs
--   sql/main/reader_role.sql again); 55000 when main.users is empty; main unreachable; a bad
--   setting (the run is logged with the error; nothing is marked or erased).
-- Caller: recs.run_job('erase_absent_users') from pg_cron (job "erase-absent-users", daily), psql,
--   POST /admin/jobs/erase_absent_users.
CREATE OR REPLACE FUNCTION recs.job_erase_absent_users() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_retention interval;
    v_main_users bigint;
    v_expired integer[];
    v_erased bigint;
BEGIN
    PERFORM recs.set_job_limits();
    v_retention := make_interval(days => recs.setting('absent_user_retention_days')::integer);
    BEGIN
        CREATE TEMP TABLE retention_main_users ON COMMIT DROP AS SELECT m.id FROM main.users m;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'the main database''s reader role may not read users.id: its DBA runs sql/main/reader_role.sql again (%)',
            SQLERRM USING ERRCODE = 'insufficient_privilege';
    END;
    CREATE UNIQUE INDEX ON retention_main_users (id);
    ANALYZE retention_main_users;
    SELECT count(*) INTO v_main_users FROM retention_main_users;
    PERFORM recs.job_step('retention.main_users_read');
    IF v_main_users = 0 AND EXISTS (SELECT 1 FROM recs.users) THEN
        RAISE EXCEPTION 'main.users is empty while users are known here: is MAIN_DATABASE_URL the Rails database? Nobody was marked or erased'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    UPDATE recs.users u SET absent_from_main_since = NULL
    WHERE u.absent_from_main_since IS NOT NULL
      AND EXISTS (SELECT 1 FROM retention_main_users m WHERE m.id = u.user_id);
    UPDATE recs.users u SET absent_from_main_since = now()
    WHERE u.absent_from_main_since IS NULL
      AND NOT EXISTS (SELECT 1 FROM retention_main_users m WHERE m.id = u.user_id);
    PERFORM recs.job_step('retention.absences_marked');

    SELECT array_agg(u.user_key) INTO v_expired
    FROM recs.users u WHERE u.absent_from_main_since < now() - v_retention;
    SELECT e.users_erased INTO v_erased FROM recs.erase_users(coalesce(v_expired, '{}'), 'retention') e;
    PERFORM recs.job_step('retention.users_erased');
    DROP TABLE retention_main_users;
    RETURN v_erased;
END;
$$;
COMMENT ON FUNCTION recs.job_erase_absent_users() IS
    'Mark users absent from main.users, erase those absent longer than absent_user_retention_days. CALL recs.run_job(''erase_absent_users'');';
