-- api.erase_user: erases what this service holds of a user (recs.erase_users): at once their
-- demographics, synced interactions, preference profile, neighbour pool and key, so that GET
-- /user-profile answers as for an unknown user and their cached personalised pages are never
-- served again (their cache key includes the user's key, which is gone;
-- api.personalized_cache_state); the similarity vectors and the popularity shares follow at the
-- next job runs.
-- Pages served to a user the service does not know otherwise (recs.served_pages) are removed too.
-- Idempotent: an unknown or already erased user is no error. What main holds is not touched:
-- while main has the user's likes and clicks, the sync reads them back (those within
-- sync_overlap_minutes of the newest synced event at the next sync, all at the next full resync,
-- under a new key), so the Rails app deletes them in main first.
-- Arguments: p_user_id.
-- Result: one row (erased): true when the service held something of the user.
-- Errors: 22023 (invalid_parameter_value) for a NULL user id.
-- Caller: DELETE /user-profile/{user_id} (which then removes the Redis copy of the profile).
CREATE OR REPLACE FUNCTION api.erase_user(p_user_id uuid)
RETURNS TABLE (erased boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user_key integer;
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'user_id is required' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'user_id';
    END IF;
    SELECT u.user_key INTO v_user_key FROM recs.users u WHERE u.user_id = p_user_id;
    erased := v_user_key IS NOT NULL
              AND (SELECT e.users_erased FROM recs.erase_users(ARRAY[v_user_key], 'api') e) > 0;
    DELETE FROM recs.served_pages p WHERE p.user_id = p_user_id;
    erased := erased OR FOUND;
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.erase_user(uuid) IS
    'Erase what the service holds of a user (DELETE /user-profile/{user_id}); idempotent; true when something was held.';
