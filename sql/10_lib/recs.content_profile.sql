-- recs.content_profile: what the content-based tier ranks for a user: the categories of the
-- user's most recent presents (neighbor_history_limit synced ones, plus the unsynced ones), and
-- a price span from the cheapest / content_price_band_factor to the dearest x the factor,
-- narrowed by the request's own category and price filters.
-- Arguments: p_user_key; p_fresh (item ids of unsynced interactions); p_categories (the request's
--   categories as recs.resolve_filters gives them), p_price_from, p_price_to (NULL = any).
-- Result: categories (those of the request among them; '{}' when none is), price_from, price_to
--   (price_from > price_to: no present can match).
-- Errors: none. Caller: api.personalized (content-based tier).
CREATE OR REPLACE FUNCTION recs.content_profile(
    p_user_key integer, p_fresh integer[], p_categories text[], p_price_from numeric, p_price_to numeric,
    OUT categories text[], OUT price_from numeric, OUT price_to numeric
)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_history integer := recs.setting('neighbor_history_limit')::integer;
    v_band double precision := recs.setting('content_price_band_factor')::double precision;
BEGIN
    SELECT array_agg(DISTINCT i.category) FILTER (WHERE i.category IS NOT NULL),
           (min(i.price) / v_band::numeric), (max(i.price) * v_band::numeric)
    INTO categories, price_from, price_to
    FROM (SELECT recent.item_id FROM (SELECT x.item_id FROM recs.interactions x WHERE x.user_key = p_user_key
                                      ORDER BY x.last_at DESC LIMIT v_history) recent
          UNION
          SELECT f.item_id FROM unnest(p_fresh) f(item_id)) mine
    JOIN recs.items i ON i.item_id = mine.item_id;
    IF p_categories IS NOT NULL THEN
        categories := ARRAY(SELECT unnest(categories) INTERSECT SELECT unnest(p_categories) ORDER BY 1);
    END IF;
    price_from := greatest(price_from, p_price_from);
    price_to := least(price_to, p_price_to);
END;
$$;
COMMENT ON FUNCTION recs.content_profile(integer, integer[], text[], numeric, numeric) IS
    'Categories and price span of a user''s recent presents, narrowed by the request''s filters (content-based tier).';
