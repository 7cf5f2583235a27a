-- recs.check_page_arguments: the argument checks api.popular and api.personalized share.
-- Arguments: p_page, p_limit, p_price_from, p_price_to (a price_from above price_to is allowed:
--   the range matches nothing). Result: none.
-- Errors: 22023 (invalid_parameter_value) naming the bad argument.
-- Caller: api.popular, api.personalized.
CREATE OR REPLACE FUNCTION recs.check_page_arguments(
    p_page integer, p_limit integer, p_price_from numeric, p_price_to numeric
) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_page IS NULL OR p_page < 1 THEN
        RAISE EXCEPTION 'page must be >= 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_price_from < 0 OR p_price_to < 0 THEN
        RAISE EXCEPTION 'price_from and price_to must be >= 0' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;
COMMENT ON FUNCTION recs.check_page_arguments(integer, integer, numeric, numeric) IS
    'Validate page, limit and prices (22023 naming the argument).';
