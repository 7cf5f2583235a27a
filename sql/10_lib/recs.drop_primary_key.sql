-- recs.drop_primary_key: before a bulk load into an empty table, drop its primary key too, so
-- that recs.create_indexes builds it once by sorting the loaded rows rather than inserting them
-- one by one into its btree (recs.interactions at the target scale: 4.4M rows loaded and keyed in
-- 6.3 s of CPU against 9.5 s with the key maintained and the rows sorted for it first).
-- Arguments: p_table. Result: the ALTER TABLE statement that adds the key again (NULL when the
-- table has none), for recs.create_indexes. Errors: those of ALTER TABLE (the caller's
-- transaction rolls back with them); a key other tables' foreign keys depend on cannot be dropped.
-- Caller: recs.sync_load_interactions (first load of recs.interactions), recs.popular_rebuild
--   (recs.popular_items when empty).
CREATE OR REPLACE FUNCTION recs.drop_primary_key(p_table regclass) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_name text;
    v_definition text;
BEGIN
    SELECT c.conname, pg_get_constraintdef(c.oid) INTO v_name, v_definition
    FROM pg_constraint c
    WHERE c.conrelid = p_table AND c.contype = 'p';
    IF v_name IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', p_table, v_name);
    RETURN format('ALTER TABLE %s ADD CONSTRAINT %I %s', p_table, v_name, v_definition);
END;
$$;
COMMENT ON FUNCTION recs.drop_primary_key(regclass) IS
    'Drop a table''s primary key before a bulk load; returns the ALTER TABLE that adds it again (for recs.create_indexes).';
