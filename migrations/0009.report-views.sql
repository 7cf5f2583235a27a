-- Views for analysts (psql, BI tools): what the rankings hold, which tier serves whom, and how
-- much of the catalogue the recommendations reach. Read-only; owned by the recs owner role.

-- recs.report_top_presents: the ten most popular presents of every segment with interacting
-- users (recs.popular_segments), with decayed score and users; presents nobody touched (score 0,
-- the global level's tail) are left out.
-- Caller: analysts. Cost: ten index rows per segment.
CREATE VIEW recs.report_top_presents AS
SELECT s.gender, s.age_group, s.users AS segment_users, t.rank, t.present_id, t.category, t.platform, t.price,
       round(t.score::numeric, 3) AS score, t.users
FROM recs.popular_segments s
CROSS JOIN LATERAL (
    SELECT p.present_id, p.category, p.platform, p.price, p.score, p.users,
           row_number() OVER (ORDER BY p.score DESC, p.item_id) AS rank
    FROM recs.popular_items p
    WHERE p.gender = s.gender AND p.age_group = s.age_group AND p.score > 0
    ORDER BY p.score DESC, p.item_id
    LIMIT 10
) t;
COMMENT ON VIEW recs.report_top_presents IS
    'Top 10 presents per popularity segment (gender x age group, ''*'' = any) with decayed score and users: SELECT * FROM recs.report_top_presents WHERE gender = ''f'' AND age_group = ''25-34'';';

-- recs.report_user_tiers: how many known users each personalisation tier serves, by their
-- synced interaction count (collaborative_min_interactions decides). Caller: analysts.
CREATE VIEW recs.report_user_tiers AS
WITH counts AS (
    SELECT u.user_key, count(x.item_id) AS interactions
    FROM recs.users u LEFT JOIN recs.interactions x ON x.user_key = u.user_key
    GROUP BY u.user_key
),
tiers AS (
    SELECT CASE WHEN c.interactions = 0 THEN 'popular'
                WHEN c.interactions < (SELECT s.value::int FROM recs.settings s
                                       WHERE s.key = 'collaborative_min_interactions') THEN 'content_based'
                ELSE 'collaborative' END AS tier
    FROM counts c
)
SELECT t.tier, count(*) AS users, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent
FROM tiers t
GROUP BY t.tier;
COMMENT ON VIEW recs.report_user_tiers IS
    'Known users per tier (popular: 0 synced interactions, content_based: fewer than collaborative_min_interactions, collaborative: the rest), with their share.';

-- recs.report_catalogue_coverage: available public presents, how many anybody interacted with,
-- and how many appear in some segment's top 10. Caller: analysts.
CREATE VIEW recs.report_catalogue_coverage AS
SELECT count(*) AS available_presents,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM recs.interactions x WHERE x.item_id = i.item_id))
           AS with_interactions,
       count(*) FILTER (WHERE i.present_id IN (SELECT t.present_id FROM recs.report_top_presents t))
           AS in_some_top_10
FROM recs.items i
WHERE i.available;
COMMENT ON VIEW recs.report_catalogue_coverage IS
    'Available public presents, those with any like or click, and those in some segment''s top 10.';
