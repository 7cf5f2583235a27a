-- recs.create_indexes: after a bulk load, build the indexes recs.drop_secondary_indexes dropped.
-- Arguments: p_definitions, CREATE INDEX statements (NULL: none). Result: none.
-- Errors: those of CREATE INDEX (the caller's transaction rolls back with them).
-- Caller: recs.sync_load_interactions (first load of recs.interactions),
--   recs.similarity_rebuild_vectors (recs.user_vectors on a full run).
CREATE OR REPLACE FUNCTION recs.create_indexes(p_definitions text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_definition text;
BEGIN
    FOREACH v_definition IN ARRAY coalesce(p_definitions, '{}') LOOP
        EXECUTE v_definition;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION recs.create_indexes(text[]) IS
    'Run CREATE INDEX definitions (from recs.drop_secondary_indexes) after a bulk load.';
