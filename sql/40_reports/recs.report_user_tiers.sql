-- recs.report_user_tiers: how many known users each personalisation tier serves, by their synced
-- interaction count (recs.tier_of decides), with their share.
-- Columns: tier, users, percent. Errors: none. Caller: analysts, DBAs.
CREATE OR REPLACE VIEW recs.report_user_tiers AS
WITH counts AS (
    SELECT u.user_key, count(x.item_id) AS interactions
    FROM recs.users u LEFT JOIN recs.interactions x ON x.user_key = u.user_key
    GROUP BY u.user_key
),
tiers AS (
    SELECT recs.tier_of(c.interactions) AS tier FROM counts c
)
SELECT t.tier, count(*) AS users, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent
FROM tiers t
GROUP BY t.tier;
COMMENT ON VIEW recs.report_user_tiers IS
    'Known users per tier (recs.tier_of: popular with 0 synced interactions, content_based below collaborative_min_interactions, collaborative the rest), with their share.';
