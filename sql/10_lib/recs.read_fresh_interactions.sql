-- recs.read_fresh_interactions: the live read of a user's unsynced likes and clicks
-- (recs.fresh_interactions) for the serving path, which degrades when main fails: checked false
-- and empty arrays when main is unreachable, errs or cancels the read itself (its
-- statement_timeout, its DBA's pg_cancel_backend: recs.cancelled_by_main), instead of raising.
-- A cancel of the caller's own statement (the API's time limit, this database's
-- statement_timeout) is raised (57014): the request is over.
-- Arguments: p_user_id.
-- Result: item_ids and created_ats (one entry per event, in the same order), checked.
-- Errors: 57014 for a cancel of the statement itself; none of main's.
-- Caller: recs.user_interactions (api.personalized), api.personalized_cache_state.
CREATE OR REPLACE FUNCTION recs.read_fresh_interactions(
    p_user_id uuid, OUT item_ids integer[], OUT created_ats timestamptz[], OUT checked boolean
)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_context text;
BEGIN
    SELECT coalesce(array_agg(f.item_id), '{}'), coalesce(array_agg(f.created_at), '{}')
    INTO item_ids, created_ats
    FROM recs.fresh_interactions(p_user_id) f;
    checked := true;
EXCEPTION
    WHEN query_canceled THEN
        -- PL/pgSQL's OTHERS does not catch 57014: main's own cancel degrades as main failing.
        GET STACKED DIAGNOSTICS v_context = PG_EXCEPTION_CONTEXT;
        IF NOT recs.cancelled_by_main(v_context) THEN
            RAISE;
        END IF;
        item_ids := '{}';
        created_ats := '{}';
        checked := false;
    WHEN OTHERS THEN
        item_ids := '{}';
        created_ats := '{}';
        checked := false;
END;
$$;
COMMENT ON FUNCTION recs.read_fresh_interactions(uuid) IS
    'A user''s unsynced events live from main, or checked false when main fails or cancels the read (a cancel of the statement itself is raised). Used by the serving path.';
