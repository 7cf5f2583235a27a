-- recs.report_online_rates: click-through (CTR) and like-through (LTR) rates of the recorded pages
-- of known users, per route, algorithm (the tier that served the page's first present),
-- experiment and variant: pages, users, impressions (presents served), open_impressions (those
-- served less than online_attribution_hours ago, whose clicks may still come), clicks and likes
-- (served presents the same user clicked / liked within online_attribution_hours, as the sync
-- attributed them), the rates and their 95 % Wilson intervals (which treat impressions as
-- independent: with few users who each see many pages, read them as too narrow). Anonymous pages
-- (no user) cannot be attributed and are left out. Only the pages of the online_record_share of
-- users in the recording sample are recorded (all of theirs).
-- Columns: route, algorithm, experiment, variant, pages, users, impressions, open_impressions,
--   clicks, likes, ctr, ctr_low, ctr_high, ltr, ltr_low, ltr_high, first_served_at, last_served_at.
-- It scans every retained served page (impressions: the sum of their presents) and the credited
-- impressions (recs.served_attributions): for analysts in psql, not for polling. GET /stats and
-- /metrics read the same counts (but users) from the hourly counters recs.online_hourly through
-- api.online_rates.
-- Errors: none. Caller: analysts.
CREATE OR REPLACE VIEW recs.report_online_rates AS
WITH credited AS (
    SELECT a.recommendation_id, count(a.clicked_at) AS clicks, count(a.liked_at) AS likes
    FROM recs.served_attributions a
    GROUP BY a.recommendation_id
), counts AS (
    SELECT p.route, p.algorithm, p.experiment, p.variant,
           count(*) AS pages, count(DISTINCT p.user_id) AS users,
           sum(p.presents)::bigint AS impressions,
           coalesce(sum(p.presents) FILTER (WHERE p.served_at > now() - make_interval(
               hours => recs.setting('online_attribution_hours')::int)), 0)::bigint AS open_impressions,
           coalesce(sum(c.clicks), 0)::bigint AS clicks, coalesce(sum(c.likes), 0)::bigint AS likes,
           min(p.served_at) AS first_served_at, max(p.served_at) AS last_served_at
    FROM recs.served_pages p
    LEFT JOIN credited c ON c.recommendation_id = p.recommendation_id
    WHERE p.user_id IS NOT NULL AND p.presents > 0
    GROUP BY p.route, p.algorithm, p.experiment, p.variant
)
SELECT c.route, c.algorithm, c.experiment, c.variant, c.pages, c.users, c.impressions, c.open_impressions,
       c.clicks, c.likes,
       c.clicks::double precision / c.impressions AS ctr,
       recs.wilson_bound(c.clicks, c.impressions, -1.96) AS ctr_low,
       recs.wilson_bound(c.clicks, c.impressions, 1.96) AS ctr_high,
       c.likes::double precision / c.impressions AS ltr,
       recs.wilson_bound(c.likes, c.impressions, -1.96) AS ltr_low,
       recs.wilson_bound(c.likes, c.impressions, 1.96) AS ltr_high,
       c.first_served_at, c.last_served_at
FROM counts c;
COMMENT ON VIEW recs.report_online_rates IS
    'CTR and LTR (95 % Wilson intervals) of recorded pages of known users per route, algorithm, experiment and variant.';
