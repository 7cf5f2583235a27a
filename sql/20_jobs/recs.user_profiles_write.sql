-- recs.user_profiles_write: writes the profiles the profile job computed (temp table
-- profiles_computed) into recs.user_profiles where they differ: rows of the given users that
-- were not computed (no interactions left) deleted, changed ones updated, new ones inserted.
-- Readers keep the old rows until the job commits.
-- Arguments: p_user_keys, the users that were recomputed (NULL: everyone).
-- Result: rows written. Errors: none. Caller: recs.job_refresh_user_profiles.
CREATE OR REPLACE FUNCTION recs.user_profiles_write(p_user_keys integer[]) RETURNS bigint
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_rows bigint;
    v_written bigint := 0;
BEGIN
    CREATE UNIQUE INDEX ON profiles_computed (user_key);
    ANALYZE profiles_computed;
    DELETE FROM recs.user_profiles p
    WHERE (p_user_keys IS NULL OR p.user_key = ANY (p_user_keys))
      AND NOT EXISTS (SELECT 1 FROM profiles_computed c WHERE c.user_key = p.user_key);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_written := v_written + v_rows;
    INSERT INTO recs.user_profiles AS p
    SELECT * FROM profiles_computed ORDER BY user_key
    ON CONFLICT (user_key) DO UPDATE
        SET interactions = excluded.interactions, likes = excluded.likes, clicks = excluded.clicks,
            price_p25 = excluded.price_p25, price_p75 = excluded.price_p75,
            last_activity_at = excluded.last_activity_at, categories = excluded.categories,
            platforms = excluded.platforms
        WHERE (p.interactions, p.likes, p.clicks, p.price_p25, p.price_p75, p.last_activity_at,
               p.categories, p.platforms)
              IS DISTINCT FROM (excluded.interactions, excluded.likes, excluded.clicks,
                                excluded.price_p25, excluded.price_p75, excluded.last_activity_at,
                                excluded.categories, excluded.platforms);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_written + v_rows;
END;
$$;
COMMENT ON FUNCTION recs.user_profiles_write(integer[]) IS
    'Profile job: the computed profiles written into recs.user_profiles where they differ (rows of users left without interactions deleted).';
