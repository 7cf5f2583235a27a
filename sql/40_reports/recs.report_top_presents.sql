-- recs.report_top_presents: the ten most popular presents of every level recs.popular_items
-- counts (each gender, each age group, everyone: the segments of recs.popular_segments with
-- '*' in either attribute), with decayed score and users; presents nobody touched (score 0, the
-- global level's tail) are left out. A gender x age group is ranked from its two groups' lifts
-- (recs.popular_blended, what api.popular serves for it), not from counts of its own.
-- Columns: gender, age_group ('*' = any), segment_users, rank, present_id, category, platform,
--   price, score, users. Errors: none. Caller: analysts, DBAs, api.dashboard. Cost: ten index rows
--   per segment.
CREATE OR REPLACE VIEW recs.report_top_presents AS
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
) t
WHERE s.gender = '*' OR s.age_group = '*';
COMMENT ON VIEW recs.report_top_presents IS
    'Top 10 presents per popularity level (a gender, an age group, or everyone: ''*'' = any) with decayed score and users: SELECT * FROM recs.report_top_presents WHERE gender = ''f'' AND age_group = ''*'';';
