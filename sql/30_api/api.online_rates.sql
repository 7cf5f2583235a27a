-- api.online_rates: the click- and like-through rates of recorded pages of known users per route,
-- algorithm, experiment and variant, for GET /stats and GET /metrics, from the counters
-- recs.online_hourly (summed over the hours kept: a few rows per hour, never the served presents):
-- pages, impressions, open_impressions (impressions of the hours less than online_attribution_hours
-- old, counted by whole hours: their clicks may still come), clicks, likes, and the rates with 95 %
-- Wilson intervals. The same numbers as recs.report_online_rates, except open_impressions (by
-- hour here) and after an erasure (the counters keep the erased users' counts).
-- Arguments: none. Result: one row per route, algorithm, experiment and variant, most impressions first.
-- Errors: none. Caller: GET /stats, GET /metrics. SECURITY DEFINER: the app role cannot read recs.
CREATE OR REPLACE FUNCTION api.online_rates()
RETURNS TABLE (route text, algorithm text, experiment text, variant text, pages bigint,
               impressions bigint, open_impressions bigint, clicks bigint, likes bigint,
               ctr double precision, ctr_low double precision, ctr_high double precision,
               ltr double precision, ltr_low double precision, ltr_high double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_open_since timestamptz := date_trunc('hour', now() - make_interval(
        hours => recs.setting('online_attribution_hours')::int), 'UTC');
BEGIN
    RETURN QUERY
    WITH counts AS (
        SELECT h.route, h.algorithm, h.experiment, h.variant, sum(h.pages)::bigint AS pages,
               sum(h.impressions)::bigint AS impressions,
               coalesce(sum(h.impressions) FILTER (WHERE h.hour >= v_open_since), 0)::bigint AS open_impressions,
               sum(h.clicks)::bigint AS clicks, sum(h.likes)::bigint AS likes
        FROM recs.online_hourly h
        GROUP BY h.route, h.algorithm, h.experiment, h.variant
        HAVING sum(h.impressions) > 0
    )
    SELECT c.route, c.algorithm, c.experiment, c.variant, c.pages, c.impressions, c.open_impressions,
           c.clicks, c.likes,
           c.clicks::double precision / c.impressions,
           recs.wilson_bound(c.clicks, c.impressions, -1.96),
           recs.wilson_bound(c.clicks, c.impressions, 1.96),
           c.likes::double precision / c.impressions,
           recs.wilson_bound(c.likes, c.impressions, -1.96),
           recs.wilson_bound(c.likes, c.impressions, 1.96)
    FROM counts c
    ORDER BY c.impressions DESC, c.route, c.algorithm, c.experiment, c.variant;
END;
$$;
COMMENT ON FUNCTION api.online_rates() IS
    'Click- and like-through rates with 95 % Wilson intervals per route, algorithm and variant, from the hourly counters recs.online_hourly. Called by GET /stats and /metrics.';
