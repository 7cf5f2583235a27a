-- Available public presents per region, category and platform, so that counting a page's total
-- for a user with a region (every personalised request of a user whose profile has one) reads
-- a few pre-counted rows instead of scanning the global ranking.

CREATE MATERIALIZED VIEW recs.popular_region_counts AS
SELECT g.geo_id,
       CASE WHEN GROUPING(p.category) = 1 THEN '*' ELSE p.category END AS category,
       CASE WHEN GROUPING(p.platform) = 1 THEN '*' ELSE p.platform END AS platform,
       count(*) AS presents
FROM recs.popular_items p
-- Each present once per region it lists (duplicates and NULL entries dropped; an empty list
-- delivers nowhere), or once under -1 when it has no list and so delivers everywhere:
-- the same rule as recs.matches_filters.
CROSS JOIN LATERAL (SELECT DISTINCT e.geo_id FROM unnest(p.geo_ids) AS e(geo_id) WHERE e.geo_id IS NOT NULL
                    UNION ALL
                    SELECT -1 WHERE p.geo_ids IS NULL) AS g(geo_id)
WHERE p.gender = '*' AND p.age_group = '*'
GROUP BY GROUPING SETS ((g.geo_id, p.category, p.platform), (g.geo_id, p.category), (g.geo_id, p.platform), (g.geo_id))
HAVING (GROUPING(p.category) = 1 OR p.category IS NOT NULL) AND (GROUPING(p.platform) = 1 OR p.platform IS NOT NULL)
WITH DATA;  -- empty until the first refresh, but readable at once
CREATE UNIQUE INDEX popular_region_counts_idx ON recs.popular_region_counts (geo_id, category, platform);
COMMENT ON MATERIALIZED VIEW recs.popular_region_counts IS
    'Available public presents per region (geo_id; -1 = presents without a region list, which deliver everywhere), category and platform (''*'' = any). Refreshed with recs.popular_items; read by recs.count_available.';
