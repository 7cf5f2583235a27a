-- Available public presents below each whole price, per category and platform filter, so that the
-- total of a price-filtered page (recs.count_available) is two index probes per category plus the
-- presents between each bound and its whole part, instead of a scan of every present in the
-- range. Written by the popularity job with the other pre-counted totals
-- (recs.popular_write_counts) and filled here, both from the view recs.popular_price_count_rows over
-- the presents the popularity rows hold, so totals stay right until the next run that sees the
-- catalogue change.
CREATE TABLE recs.popular_price_counts (
    category        text NOT NULL,
    platform        text NOT NULL,
    price_floor     numeric(12, 0) NOT NULL,
    presents_below  bigint NOT NULL,
    PRIMARY KEY (category, platform, price_floor) INCLUDE (presents_below)
);
COMMENT ON TABLE recs.popular_price_counts IS
    'Available public presents priced below price_floor + 1 (presents_below), for each whole price_floor some present''s price has, per category (''*'' = any, '''' = presents without one) and platform (''*'' = any); presents without a price are left out. Written with recs.popular_items when presents changed; read by recs.count_available.';
ALTER TABLE recs.popular_price_counts
    SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
-- Filled under the popularity job's lock (recs.job_lock_key('refresh_popular_items'), spelt out:
-- the function may not exist yet): after a running popularity run has committed its presents, and
-- no run of the previous version starts while it fills.
SELECT pg_advisory_xact_lock(hashtext('recs.job:refresh_popular_items')::bigint);
-- recs.popular_price_count_rows: the rows of recs.popular_price_counts, counted from
-- recs.popular_prior_items (the available public presents as the popularity job last saw them;
-- presents without a category under '', as recs.matches_filters takes them; without a platform only
-- under '*'; without a price left out). Columns: category, platform, price_floor, presents_below.
-- Errors: none. Caller: this migration's fill and recs.popular_write_counts.
CREATE VIEW recs.popular_price_count_rows AS
SELECT c.category, c.platform, c.price_floor,
       sum(c.presents) OVER (PARTITION BY c.category, c.platform ORDER BY c.price_floor) AS presents_below
FROM (SELECT CASE WHEN GROUPING(coalesce(p.category, '')) = 1 THEN '*' ELSE coalesce(p.category, '') END AS category,
             CASE WHEN GROUPING(p.platform) = 1 THEN '*' ELSE p.platform END AS platform,
             floor(p.price) AS price_floor, count(*) AS presents
      FROM recs.popular_prior_items p
      WHERE p.price IS NOT NULL
      GROUP BY GROUPING SETS ((coalesce(p.category, ''), p.platform, floor(p.price)),
                              (coalesce(p.category, ''), floor(p.price)), (p.platform, floor(p.price)),
                              (floor(p.price)))
      HAVING GROUPING(p.platform) = 1 OR p.platform IS NOT NULL) c;
COMMENT ON VIEW recs.popular_price_count_rows IS
    'The rows of recs.popular_price_counts, counted from recs.popular_prior_items. Used by recs.popular_write_counts.';
INSERT INTO recs.popular_price_counts (category, platform, price_floor, presents_below)
SELECT r.category, r.platform, r.price_floor, r.presents_below FROM recs.popular_price_count_rows r;
ANALYZE recs.popular_price_counts;
