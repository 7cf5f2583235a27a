-- recs.unserve_popular: takes presents out of the tables the popular pages are served from
-- (recs.popular_items, recs.popular_blended), which carry every column a page filters on and are
-- read without recs.items; then, if it took any row out, bumps the 'popular' data version, so no
-- cached /popular page (Redis or a worker's copy) shows them either. The popularity job's next
-- run agrees: it ranks only public presents. The pre-counted totals (recs.popular_filter_counts
-- and the others, for total_items and /facets) still count them until that run.
-- Arguments: p_item_ids, the presents (empty or NULL: nothing happens).
-- Result: rows deleted. Errors: none.
-- Caller: recs.remove_presents, for presents gone private or deleted.
CREATE OR REPLACE FUNCTION recs.unserve_popular(p_item_ids integer[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_deleted bigint;
BEGIN
    IF coalesce(cardinality(p_item_ids), 0) = 0 THEN
        RETURN 0;
    END IF;
    -- By primary key: (gender, age_group, item_id) for every segment a row can be in.
    WITH keys AS (
        SELECT g.gender, a.age_group, i.item_id
        FROM unnest(ARRAY['*', 'm', 'f']) AS g(gender)
        CROSS JOIN (SELECT '*' UNION ALL SELECT age_group FROM recs.age_groups()) AS a(age_group)
        CROSS JOIN unnest(p_item_ids) AS i(item_id)
    ), from_items AS (
        DELETE FROM recs.popular_items p USING keys k
        WHERE (p.gender, p.age_group, p.item_id) = (k.gender, k.age_group, k.item_id)
        RETURNING 1
    ), from_blended AS (
        DELETE FROM recs.popular_blended b USING keys k
        WHERE (b.gender, b.age_group, b.item_id) = (k.gender, k.age_group, k.item_id)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM from_items) + (SELECT count(*) FROM from_blended) INTO v_deleted;
    IF v_deleted > 0 THEN
        PERFORM recs.bump_data_version('popular');
    END IF;
    RETURN v_deleted;
END;
$$;
COMMENT ON FUNCTION recs.unserve_popular(integer[]) IS
    'Presents out of the popular serving tables at once (gone private or deleted), and the popular data version bumped. Called by recs.sync_presents.';
