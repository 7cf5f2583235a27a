-- api.online_rates: the click- and like-through rates of recorded pages per route, algorithm,
-- experiment and variant (recs.report_online_rates), for GET /stats and GET /metrics.
-- Arguments: none. Result: the view's rows, most impressions first.
-- Errors: none (plpgsql: the view is created after the api functions). Caller: GET /stats, GET /metrics. SECURITY DEFINER: the app role cannot read recs.
CREATE OR REPLACE FUNCTION api.online_rates()
RETURNS TABLE (route text, algorithm text, experiment text, variant text, pages bigint, users bigint,
               impressions bigint, open_impressions bigint, clicks bigint, likes bigint,
               ctr double precision, ctr_low double precision, ctr_high double precision,
               ltr double precision, ltr_low double precision, ltr_high double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT r.route, r.algorithm, r.experiment, r.variant, r.pages, r.users, r.impressions, r.open_impressions,
           r.clicks, r.likes, r.ctr, r.ctr_low, r.ctr_high, r.ltr, r.ltr_low, r.ltr_high
    FROM recs.report_online_rates r
    ORDER BY r.impressions DESC, r.route, r.algorithm, r.experiment, r.variant;
END;
$$;
COMMENT ON FUNCTION api.online_rates() IS
    'Click- and like-through rates with 95 % Wilson intervals per route, algorithm and variant. Called by GET /stats and /metrics.';
