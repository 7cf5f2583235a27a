-- recs.create_indexes: after a bulk load, build the indexes recs.drop_secondary_indexes and
-- recs.drop_primary_key dropped.
-- Arguments: p_definitions, CREATE INDEX or ADD CONSTRAINT statements, run in order (NULL or NULL
--   elements: none). Result: none.
-- Errors: those of CREATE INDEX and ALTER TABLE (the caller's transaction rolls back with them).
-- Caller: recs.sync_load_interactions (first load of recs.interactions), recs.popular_rebuild
--   (recs.popular_items when empty), recs.similarity_rebuild_vectors (recs.user_vectors on a full run).
CREATE OR REPLACE FUNCTION recs.create_indexes(p_definitions text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_definition text;
BEGIN
    FOREACH v_definition IN ARRAY coalesce(p_definitions, '{}') LOOP
        IF v_definition IS NOT NULL THEN
            EXECUTE v_definition;
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION recs.create_indexes(text[]) IS
    'Run CREATE INDEX / ADD CONSTRAINT statements (from recs.drop_secondary_indexes, recs.drop_primary_key) after a bulk load.';
