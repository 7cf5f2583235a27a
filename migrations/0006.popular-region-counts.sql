-- Available public presents per region, category and platform, so that counting a page's total
-- for a user with a region (every personalised request of a user whose profile has one) reads
-- a few pre-counted rows instead of scanning the global ranking.

CREATE MATERIALIZED VIEW recs.popular_region_counts AS
SELECT coalesce(g.geo_id, -1) AS geo_id,
       CASE WHEN GROUPING(p.category) = 1 THEN '*' ELSE p.category END AS category,
       CASE WHEN GROUPING(p.platform) = 1 THEN '*' ELSE p.platform END AS platform,
       count(*) AS presents
FROM recs.popular_items p
LEFT JOIN LATERAL unnest(p.geo_ids) AS g(geo_id) ON true
WHERE p.gender = '*' AND p.age_group = '*'
GROUP BY GROUPING SETS ((coalesce(g.geo_id, -1), p.category, p.platform), (coalesce(g.geo_id, -1), p.category),
                        (coalesce(g.geo_id, -1), p.platform), (coalesce(g.geo_id, -1)))
HAVING (GROUPING(p.category) = 1 OR p.category IS NOT NULL) AND (GROUPING(p.platform) = 1 OR p.platform IS NOT NULL)
WITH DATA;  -- empty until the first refresh, but readable at once
CREATE UNIQUE INDEX popular_region_counts_idx ON recs.popular_region_counts (geo_id, category, platform);
COMMENT ON MATERIALIZED VIEW recs.popular_region_counts IS
    'Available public presents per region (geo_id; -1 = presents without a region list, which deliver everywhere), category and platform (''*'' = any). Refreshed with recs.popular_items; read by recs.count_available.';
