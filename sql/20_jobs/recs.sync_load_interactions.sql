-- recs.sync_load_interactions: step 4b of recs.sync_main on its first load (recs.interactions
-- empty): a plain insert of sync_pairs (millions of rows, no conflicts possible: one row per
-- (user, present)), with the primary key and the secondary indexes built once afterwards, each by
-- one sort, rather than maintained row by row (and no sort of the rows for the key's order before
-- the insert). No user is marked changed: with nothing computed yet, the jobs build everything.
-- Arguments: none. Result: rows inserted. Errors: none.
-- Caller: recs.sync_main.
CREATE OR REPLACE FUNCTION recs.sync_load_interactions() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_index_definitions text[] := recs.drop_secondary_indexes('recs.interactions');
    v_primary_key text := recs.drop_primary_key('recs.interactions');
    v_rows bigint;
BEGIN
    INSERT INTO recs.interactions (user_key, item_id, liked_at, clicks, click_decay, first_at, last_at)
    SELECT * FROM sync_pairs;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    PERFORM recs.create_indexes(v_primary_key || v_index_definitions);
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.sync_load_interactions() IS
    'Sync step 4b, first load: sync_pairs into an empty recs.interactions, primary key and indexes built afterwards.';
