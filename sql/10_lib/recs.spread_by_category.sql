-- recs.spread_by_category: a ranking reordered so that no page holds more than p_max presents of
-- one category (presents without a category count as one more category), for the
-- max_per_category request option. Pages are filled in turn, each from the best presents not yet
-- placed among the first page_number * p_limit + lookahead of the ranking (recs.spread_lookahead): those within the
-- cap first, in rank order, then (only when the window holds too few categories) the best of the
-- rest, so every page is full. A page depends on the ranking's first page_number * p_limit +
-- lookahead presents only: a deeper ranking (a request for a later page) leaves the pages
-- before it unchanged, so pages stay consistent while a user pages on.
-- Arguments: p_items (item ids, best first), p_limit (page size), p_max (>= 1).
-- Result: the positions of p_items (1-based) in their new order, as many as p_items has.
-- Errors: none. Caller: api.popular, api.personalized, api.similar.
CREATE OR REPLACE FUNCTION recs.spread_by_category(
    p_items integer[], p_limit integer, p_max integer
) RETURNS integer[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_categories text[];
    v_placed boolean[] := array_fill(false, ARRAY[cardinality(p_items)]);
    v_order integer[] := '{}';
    v_page integer[];
    v_counts jsonb;
    v_window integer;
    v_position integer;
    v_category text;
    v_page_number integer := 0;
    v_lookahead integer := recs.spread_lookahead(p_limit, p_max);
BEGIN
    SELECT array_agg(coalesce(i.category, '') ORDER BY r.position)
    INTO v_categories
    FROM unnest(p_items) WITH ORDINALITY AS r(item_id, position)
    LEFT JOIN recs.items i ON i.item_id = r.item_id;
    WHILE cardinality(v_order) < cardinality(p_items) LOOP
        v_page_number := v_page_number + 1;
        v_window := least(cardinality(p_items), v_page_number * p_limit + v_lookahead);
        v_page := '{}';
        v_counts := '{}';
        -- Within the cap, best first.
        FOR v_position IN 1..v_window LOOP
            EXIT WHEN cardinality(v_page) = p_limit;
            CONTINUE WHEN v_placed[v_position];
            v_category := v_categories[v_position];
            IF coalesce((v_counts ->> v_category)::integer, 0) < p_max THEN
                v_page := v_page || v_position;
                v_placed[v_position] := true;
                v_counts := v_counts || jsonb_build_object(v_category, coalesce((v_counts ->> v_category)::integer, 0) + 1);
            END IF;
        END LOOP;
        -- Too few categories in reach: the best of the rest, so the page is full.
        FOR v_position IN 1..v_window LOOP
            EXIT WHEN cardinality(v_page) = p_limit;
            CONTINUE WHEN v_placed[v_position];
            v_page := v_page || v_position;
            v_placed[v_position] := true;
        END LOOP;
        v_order := v_order || v_page;
    END LOOP;
    RETURN v_order;
END;
$$;
COMMENT ON FUNCTION recs.spread_by_category(integer[], integer, integer) IS
    'A ranking reordered so no page holds more than p_max presents of one category (best first within the cap, pages stay consistent as one pages on). For max_per_category.';
