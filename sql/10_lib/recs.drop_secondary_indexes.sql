-- recs.drop_secondary_indexes: before a bulk load into an empty table, drop its secondary
-- indexes, so that recs.create_indexes builds them once afterwards rather than maintaining them
-- row by row (for a covering index on another column than the load's order, 2-4x faster).
-- Arguments: p_table; every index of it but the primary key is dropped.
-- Result: the dropped indexes' definitions (NULL when there were none).
-- Errors: those of DROP INDEX (the caller's transaction rolls back with them).
-- Caller: recs.sync_load_interactions (first load of recs.interactions), recs.popular_rebuild
--   (recs.popular_items when empty), recs.similarity_rebuild_vectors (recs.user_vectors on a full run).
CREATE OR REPLACE FUNCTION recs.drop_secondary_indexes(p_table regclass) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    v_definitions text[];
    v_names text[];
BEGIN
    SELECT array_agg(pg_get_indexdef(x.indexrelid)), array_agg(x.indexrelid::regclass::text)
    INTO v_definitions, v_names
    FROM pg_index x
    WHERE x.indrelid = p_table AND NOT x.indisprimary;
    IF v_names IS NOT NULL THEN
        EXECUTE 'DROP INDEX ' || array_to_string(v_names, ', ');
    END IF;
    RETURN v_definitions;
END;
$$;
COMMENT ON FUNCTION recs.drop_secondary_indexes(regclass) IS
    'Drop a table''s indexes but its primary key before a bulk load; returns their definitions for recs.create_indexes.';
