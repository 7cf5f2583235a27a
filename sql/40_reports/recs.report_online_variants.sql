-- recs.report_online_variants: an experiment's read-out: per experiment, variant and route, the
-- recorded pages of known users (all algorithms together) with impressions, clicks, likes,
-- click- and like-through rates and their 95 % Wilson intervals (as recs.report_online_rates),
-- and the experiment's start and stop. Pages served outside any variant have variant NULL.
-- Columns: experiment, variant, route, users, pages, impressions, open_impressions, clicks, likes,
--   ctr, ctr_low, ctr_high, ltr, ltr_low, ltr_high, started_at, stopped_at.
-- Scans the retained served pages and credited impressions: for analysts, not for polling.
-- Errors: none. Caller: analysts (the psql recipe "read an experiment" in docs/operations.md).
CREATE OR REPLACE VIEW recs.report_online_variants AS
WITH credited AS (
    SELECT a.recommendation_id, count(a.clicked_at) AS clicks, count(a.liked_at) AS likes
    FROM recs.served_attributions a
    GROUP BY a.recommendation_id
), counts AS (
    SELECT p.experiment, p.variant, p.route,
           count(DISTINCT p.user_id) AS users, count(*) AS pages,
           sum(p.presents)::bigint AS impressions,
           coalesce(sum(p.presents) FILTER (WHERE p.served_at > now() - make_interval(
               hours => recs.setting('online_attribution_hours')::int)), 0)::bigint AS open_impressions,
           coalesce(sum(c.clicks), 0)::bigint AS clicks, coalesce(sum(c.likes), 0)::bigint AS likes
    FROM recs.served_pages p
    LEFT JOIN credited c ON c.recommendation_id = p.recommendation_id
    WHERE p.user_id IS NOT NULL AND p.experiment IS NOT NULL AND p.presents > 0
    GROUP BY p.experiment, p.variant, p.route
)
SELECT c.experiment, c.variant, c.route, c.users, c.pages, c.impressions, c.open_impressions, c.clicks, c.likes,
       c.clicks::double precision / c.impressions AS ctr,
       recs.wilson_bound(c.clicks, c.impressions, -1.96) AS ctr_low,
       recs.wilson_bound(c.clicks, c.impressions, 1.96) AS ctr_high,
       c.likes::double precision / c.impressions AS ltr,
       recs.wilson_bound(c.likes, c.impressions, -1.96) AS ltr_low,
       recs.wilson_bound(c.likes, c.impressions, 1.96) AS ltr_high,
       e.started_at, e.stopped_at
FROM counts c
LEFT JOIN recs.experiments e ON e.name = c.experiment;
COMMENT ON VIEW recs.report_online_variants IS
    'Per experiment, variant and route: impressions, clicks, likes, CTR and LTR with 95 % Wilson intervals.';
