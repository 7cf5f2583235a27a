-- recs.user_interactions: what api.personalized needs of a user's history: the presents of their
-- likes and clicks not yet synced (recs.read_fresh_interactions, read live from main), whether main
-- could be read, and the count of distinct presents interacted with, synced or not.
-- Arguments: p_user_id, p_user_key (NULL for a user the recs DB has never seen), p_read_main
--   (false: do not try main at all, as when the API's circuit breaker is open).
-- Result: fresh (item ids, '{}' when main is unreachable or not read), fresh_checked (false
--   then), interactions.
-- Errors: none of main's (a main-DB failure, its own cancel included, is reported in fresh_checked);
--   a cancel of this statement (57014: the API's time limit, statement_timeout) is raised.
-- Caller: api.personalized.
CREATE OR REPLACE FUNCTION recs.user_interactions(
    p_user_id uuid, p_user_key integer, p_read_main boolean,
    OUT fresh integer[], OUT fresh_checked boolean, OUT interactions integer
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    fresh := '{}';
    fresh_checked := false;
    IF p_read_main THEN
        SELECT ARRAY(SELECT DISTINCT i FROM unnest(r.item_ids) i ORDER BY i), r.checked
        INTO fresh, fresh_checked
        FROM recs.read_fresh_interactions(p_user_id) r;
    END IF;
    SELECT count(*) + (SELECT count(*) FROM unnest(fresh) f(item_id)
                       WHERE NOT EXISTS (SELECT 1 FROM recs.interactions x
                                         WHERE x.user_key = p_user_key AND x.item_id = f.item_id))
    INTO interactions
    FROM recs.interactions x WHERE x.user_key = p_user_key;
END;
$$;
COMMENT ON FUNCTION recs.user_interactions(uuid, integer, boolean) IS
    'A user''s unsynced interactions (live from main; fresh_checked false if unreachable) and their count of interacted presents.';
