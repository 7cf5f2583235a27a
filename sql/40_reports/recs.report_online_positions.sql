-- recs.report_online_positions: click-through by position on the page, per route: impressions,
-- clicks, CTR and its 95 % Wilson interval of the recorded pages of known users (how much the
-- first places draw; compare variants in recs.report_online_variants).
-- Columns: route, position, impressions, clicks, ctr, ctr_low, ctr_high.
-- Scans the retained served presents: for analysts, not for polling.
-- Errors: none. Caller: analysts.
CREATE OR REPLACE VIEW recs.report_online_positions AS
SELECT s_route.route, s.position, count(*) AS impressions, count(s.clicked_at) AS clicks,
       count(s.clicked_at)::double precision / count(*) AS ctr,
       recs.wilson_bound(count(s.clicked_at), count(*), -1.96) AS ctr_low,
       recs.wilson_bound(count(s.clicked_at), count(*), 1.96) AS ctr_high
FROM recs.served_presents s
JOIN recs.served_pages s_route ON s_route.recommendation_id = s.recommendation_id
WHERE s.user_id IS NOT NULL
GROUP BY s_route.route, s.position;
COMMENT ON VIEW recs.report_online_positions IS
    'CTR (95 % Wilson interval) by route and position on the page, recorded pages of known users.';
