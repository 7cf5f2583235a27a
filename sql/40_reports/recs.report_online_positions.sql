-- recs.report_online_positions: click-through by position on the page, per route: impressions,
-- clicks, CTR and its 95 % Wilson interval of the recorded pages of known users (how much the
-- first places draw; compare variants in recs.report_online_variants).
-- Columns: route, position, impressions, clicks, ctr, ctr_low, ctr_high.
-- Unnests every retained served page's presents: for analysts, not for polling.
-- Errors: none. Caller: analysts.
CREATE OR REPLACE VIEW recs.report_online_positions AS
WITH shown AS (
    SELECT p.route, x.position::smallint AS position, count(*) AS impressions
    FROM recs.served_pages p
    CROSS JOIN LATERAL unnest(p.items) WITH ORDINALITY AS x(present_id, position)
    WHERE p.user_id IS NOT NULL AND x.present_id IS NOT NULL
    GROUP BY p.route, x.position
), clicked AS (
    SELECT p.route, a.position, count(a.clicked_at) AS clicks
    FROM recs.served_attributions a
    JOIN recs.served_pages p ON p.recommendation_id = a.recommendation_id
    WHERE p.user_id IS NOT NULL
    GROUP BY p.route, a.position
)
SELECT s.route, s.position, s.impressions, coalesce(c.clicks, 0) AS clicks,
       coalesce(c.clicks, 0)::double precision / s.impressions AS ctr,
       recs.wilson_bound(coalesce(c.clicks, 0), s.impressions, -1.96) AS ctr_low,
       recs.wilson_bound(coalesce(c.clicks, 0), s.impressions, 1.96) AS ctr_high
FROM shown s
LEFT JOIN clicked c ON c.route = s.route AND c.position = s.position;
COMMENT ON VIEW recs.report_online_positions IS
    'CTR (95 % Wilson interval) by route and position on the page, recorded pages of known users.';
