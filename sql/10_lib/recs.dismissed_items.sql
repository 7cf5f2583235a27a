-- recs.dismissed_items: the presents a user dismissed (POST /feedback, kind dismiss) whose
-- dismissal still lasts (dismissal_days; 0: for ever), to leave out of their pages, as today's
-- item ids (a dismissed present not public now has none). A user without dismissals, the common
-- case, costs one index probe and no setting read.
-- Arguments: p_user_key (NULL: an unknown user, who has none).
-- Result: item ids (empty when none). Errors: none.
-- Caller: api.personalized, api.similar, api.personalized_cache_state.
CREATE OR REPLACE FUNCTION recs.dismissed_items(p_user_key integer) RETURNS integer[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_days integer;
    v_items integer[];
BEGIN
    IF p_user_key IS NULL OR NOT EXISTS (SELECT 1 FROM recs.dismissals d WHERE d.user_key = p_user_key) THEN
        RETURN '{}';
    END IF;
    v_days := recs.setting('dismissal_days')::integer;
    SELECT coalesce(array_agg(i.item_id ORDER BY i.item_id), '{}') INTO v_items
    FROM recs.dismissals d
    JOIN recs.items i ON i.present_id = d.present_id
    WHERE d.user_key = p_user_key
      AND (v_days = 0 OR d.dismissed_at > now() - make_interval(days => v_days));
    RETURN v_items;
END;
$$;
COMMENT ON FUNCTION recs.dismissed_items(integer) IS
    'Item ids a user dismissed whose dismissal still lasts (dismissal_days). For api.personalized and api.similar.';
