-- recs.user_interactions: what api.personalized needs of a user's history: the presents of their
-- likes and clicks not yet synced (recs.fresh_interactions, read live from main), whether main
-- could be read, and the count of distinct presents interacted with, synced or not.
-- Arguments: p_user_id, p_user_key (NULL for a user the recs DB has never seen).
-- Result: fresh (item ids, '{}' when main is unreachable), fresh_checked (false then),
--   interactions.
-- Errors: none: a main-DB failure is reported in fresh_checked. Caller: api.personalized.
CREATE OR REPLACE FUNCTION recs.user_interactions(
    p_user_id uuid, p_user_key integer,
    OUT fresh integer[], OUT fresh_checked boolean, OUT interactions integer
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    fresh := '{}';
    BEGIN
        SELECT coalesce(array_agg(DISTINCT f.item_id), '{}') INTO fresh FROM recs.fresh_interactions(p_user_id) f;
        fresh_checked := true;
    EXCEPTION WHEN OTHERS THEN
        fresh_checked := false;
    END;
    SELECT count(*) + (SELECT count(*) FROM unnest(fresh) f(item_id)
                       WHERE NOT EXISTS (SELECT 1 FROM recs.interactions x
                                         WHERE x.user_key = p_user_key AND x.item_id = f.item_id))
    INTO interactions
    FROM recs.interactions x WHERE x.user_key = p_user_key;
END;
$$;
COMMENT ON FUNCTION recs.user_interactions(uuid, integer) IS
    'A user''s unsynced interactions (live from main; fresh_checked false if unreachable) and their count of interacted presents.';
