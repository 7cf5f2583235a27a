-- Served pages as one row each: recs.served_pages keeps a page's presents as a uuid[] of present
-- ids in page order, as the app served them (position = array index; no lookup per present when
-- stored) and how many it holds (presents); the row per present (recs.served_presents, its primary
-- key and attribution index) goes. What the sync attributes is kept only where an event happened:
-- recs.served_attributions, one row per credited impression (page, position, present, first click,
-- like), proportional to events, not to impressions. The sync finds a page for an event on
-- (user_id, served_at, recommendation_id) and present = ANY (items), among at most online_attribution_pages of the
-- user's latest pages. served_at gets a BRIN index (the cleanup's
-- range; rows arrive in served order) instead of a B-tree. Existing rows are converted; the report
-- views are dropped here (they read the old tables) and sql/40_reports recreates them.
INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('online_attribution_pages', '200',
     'The sync looks for the page an event follows among at most this many of the user''s latest pages served before it (within online_attribution_hours): bounds its work per event for a user whose pages are served very often.',
     'integer', 1, 100000);
UPDATE recs.settings
SET description = 'Days of served pages (recs.served_pages, with their recs.served_attributions) and of their hourly counters the cleanup job keeps.'
WHERE key = 'online_retention_days';

DROP VIEW IF EXISTS recs.report_online_rates, recs.report_online_variants, recs.report_online_positions;
-- The batch now comes as parallel arrays (sql/30_api/api.record_served.sql).
DROP FUNCTION IF EXISTS api.record_served(jsonb);

CREATE TABLE recs.served_pages_new (
    recommendation_id  uuid NOT NULL,
    served_at          timestamptz NOT NULL,
    route              text NOT NULL CONSTRAINT served_pages_route_check
                            CHECK (route IN ('popular', 'personalized', 'similar')),
    user_id            uuid,
    algorithm          text NOT NULL,
    experiment         text,
    variant            text,
    presents           integer NOT NULL,
    items              uuid[] NOT NULL
);

INSERT INTO recs.served_pages_new (recommendation_id, served_at, route, user_id, algorithm, experiment, variant,
                                   presents, items)
SELECT p.recommendation_id, p.served_at, p.route, p.user_id, p.algorithm, p.experiment, p.variant,
       count(i.present_id),
       coalesce(array_agg(i.present_id ORDER BY k.position) FILTER (WHERE k.position IS NOT NULL), '{}')
FROM recs.served_pages p
LEFT JOIN LATERAL generate_series(1, p.presents) AS k(position) ON true
LEFT JOIN recs.served_presents s ON s.recommendation_id = p.recommendation_id AND s.position = k.position
LEFT JOIN recs.items i ON i.item_id = s.item_id
GROUP BY p.recommendation_id
ORDER BY p.served_at;

CREATE TABLE recs.served_attributions (
    recommendation_id  uuid NOT NULL,
    position           smallint NOT NULL,
    present_id         uuid NOT NULL,
    clicked_at         timestamptz,
    liked_at           timestamptz,
    PRIMARY KEY (recommendation_id, position)
);
INSERT INTO recs.served_attributions (recommendation_id, position, present_id, clicked_at, liked_at)
SELECT s.recommendation_id, s.position, i.present_id, s.clicked_at, s.liked_at
FROM recs.served_presents s
JOIN recs.items i ON i.item_id = s.item_id
WHERE s.clicked_at IS NOT NULL OR s.liked_at IS NOT NULL;

DROP TABLE recs.served_presents;
DROP TABLE recs.served_pages;
ALTER TABLE recs.served_pages_new RENAME TO served_pages;
ALTER TABLE recs.served_pages ADD CONSTRAINT served_pages_pkey PRIMARY KEY (recommendation_id);
ALTER TABLE recs.served_attributions ADD CONSTRAINT served_attributions_recommendation_id_fkey
    FOREIGN KEY (recommendation_id) REFERENCES recs.served_pages ON DELETE CASCADE;
CREATE INDEX served_pages_served_at_idx ON recs.served_pages USING brin (served_at);
-- The sync walks a user's pages newest first in this order (recommendation_id breaks ties): no sort.
CREATE INDEX served_pages_user_idx ON recs.served_pages (user_id, served_at, recommendation_id) WHERE user_id IS NOT NULL;

COMMENT ON TABLE recs.served_pages IS
    'Recommendation responses the app recorded (online_record_share of them), one row each: recommendation_id (the response''s), when, route, user (NULL: anonymous), algorithm (tier), experiment and variant, and the presents shown. Written by api.record_served; trimmed by the cleanup job after online_retention_days; a user''s erasure deletes theirs.';
COMMENT ON COLUMN recs.served_pages.items IS
    'The presents shown (present ids), in page order: position n is items[n]. NULL only in pages stored before this column, for a present no longer in recs.items then.';
COMMENT ON COLUMN recs.served_pages.presents IS
    'The impressions stored: items that are not NULL (all of them, for a page api.record_served stored).';
COMMENT ON TABLE recs.served_attributions IS
    'Impressions a click or like was credited to by the sync (last touch within online_attribution_hours): the page, the position on it (1 = first), the present (its id, as in items) and the time of the first click and of the like. One row per credited impression; deleted with its page.';
