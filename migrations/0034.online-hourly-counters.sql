-- Online measurement counters: recs.online_hourly keeps, per hour served, route, algorithm,
-- experiment and variant, the pages, impressions, clicks and likes of known users' recorded pages,
-- incremented where they happen (api.record_served for what it stores, recs.sync_attribute_served
-- for impressions that newly got a click / a like) and trimmed by the cleanup job with the served
-- pages. api.online_rates (GET /stats, /metrics) reads these instead of aggregating every served
-- present; it no longer reports distinct users (not additive), so its old signature is dropped
-- here and sql/30_api recreates it. Filled once from the served pages already stored.
CREATE TABLE recs.online_hourly (
    hour         timestamptz NOT NULL,
    route        text NOT NULL,
    algorithm    text NOT NULL,
    experiment   text,
    variant      text,
    pages        bigint NOT NULL DEFAULT 0,
    impressions  bigint NOT NULL DEFAULT 0,
    clicks       bigint NOT NULL DEFAULT 0,
    likes        bigint NOT NULL DEFAULT 0,
    CONSTRAINT online_hourly_key UNIQUE NULLS NOT DISTINCT (hour, route, algorithm, experiment, variant)
);
COMMENT ON TABLE recs.online_hourly IS
    'Counters of recorded pages of known users per hour served (UTC hour start), route, algorithm, experiment and variant: pages (with at least one stored present), impressions, impressions clicked / liked. Incremented by api.record_served and recs.sync_attribute_served; trimmed by the cleanup job with the served pages; not touched by erasure (no personal data).';

INSERT INTO recs.online_hourly (hour, route, algorithm, experiment, variant, pages, impressions, clicks, likes)
SELECT date_trunc('hour', p.served_at, 'UTC'), p.route, p.algorithm, p.experiment, p.variant,
       count(DISTINCT p.recommendation_id), count(*), count(s.clicked_at), count(s.liked_at)
FROM recs.served_pages p
JOIN recs.served_presents s ON s.recommendation_id = p.recommendation_id
WHERE p.user_id IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;

DROP FUNCTION IF EXISTS api.online_rates();
