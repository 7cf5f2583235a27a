-- User profiles and user-user similarities for personalised recommendations.
--   recs.item_stats     users per item and its inverse user frequency (IUF)
--   recs.user_stats     interactions per user and the norm of the user's IUF-weighted vector
--   recs.user_vectors   unit-length IUF-weighted user vectors (the similarity job's working table)
--   recs.user_neighbors top-K most similar users per user (cosine), rebuilt or patched by the job
--   recs.dirty_users    users whose interactions changed since a job last looked
--   recs.user_profiles (MV) counts, preferred categories and platforms, price band per user

INSERT INTO recs.settings (key, value, description) VALUES
    ('max_similar_users', '20', 'Neighbours kept per user (K). migrate sets it from MAX_SIMILAR_USERS.'),
    ('min_interactions_for_similarity', '3', 'Users with fewer interactions get no neighbours (they are served by content-based or popular).'),
    ('similarity_item_degree_cap', '300', 'Items with more users than this are skipped when looking for neighbour candidates (they still count in the cosine norms). Bounds the cost per user.'),
    ('similarity_iuf', 'true', 'Weight each present by its inverse user frequency in similarities (true) or not (false).'),
    ('similarity_click_cap', '5', 'Clicks beyond this many on one present add nothing to a user''s interaction weight.'),
    ('similarity_full_rebuild_hours', '24', 'Hours between full rebuilds of recs.user_neighbors; runs in between recompute only users whose interactions changed.'),
    ('neighbor_history_limit', '100', 'Most recent interactions of each neighbour considered when scoring a user''s candidates.'),
    ('collaborative_min_interactions', '3', 'Interactions from which a user is served by the collaborative tier (1 .. this-1: content-based, 0: popular).'),
    ('content_price_band_factor', '2.0', 'Content-based candidates cost between (cheapest of the user''s presents / factor) and (dearest * factor).');

CREATE INDEX interactions_user_recent_idx ON recs.interactions (user_key, last_at DESC)
    INCLUDE (item_id, liked_at, clicks);

CREATE TABLE recs.item_stats (
    item_id  integer PRIMARY KEY,
    users    integer NOT NULL,
    iuf      double precision NOT NULL
);
COMMENT ON TABLE recs.item_stats IS
    'Per public present: interacting users and IUF = ln((1 + all users) / (1 + users)). Rebuilt by the similarity job.';

CREATE TABLE recs.user_stats (
    user_key      integer PRIMARY KEY,
    interactions  integer NOT NULL,
    norm          double precision NOT NULL
);
COMMENT ON TABLE recs.user_stats IS
    'Per user: interactions and the Euclidean norm of the IUF-weighted interaction vector (cosine denominator).';

CREATE UNLOGGED TABLE recs.user_vectors (
    user_key   integer NOT NULL,
    item_id    integer NOT NULL,
    value      double precision NOT NULL,
    candidate  boolean NOT NULL
);
CREATE INDEX user_vectors_user_idx ON recs.user_vectors (user_key) INCLUDE (item_id, value, candidate);
CREATE INDEX user_vectors_item_idx ON recs.user_vectors (item_id) INCLUDE (user_key, value);
COMMENT ON TABLE recs.user_vectors IS
    'Unit-length user vectors: value = interaction weight x IUF / user norm, so a cosine is a plain sum of products; candidate = the present has at most similarity_item_degree_cap users. Working table of the similarity job (unlogged: rebuilt after a crash).';

CREATE TABLE recs.user_neighbors (
    user_key      integer NOT NULL,
    neighbor_key  integer NOT NULL,
    similarity    double precision NOT NULL,
    PRIMARY KEY (user_key, neighbor_key)
);
COMMENT ON TABLE recs.user_neighbors IS
    'Top-K neighbours per user by cosine similarity of IUF-weighted interactions (likes above clicks). See recs.user_neighbors_readable for uuids.';

CREATE TABLE recs.dirty_users (
    user_key    integer PRIMARY KEY,
    changed_at  timestamptz NOT NULL
);
COMMENT ON TABLE recs.dirty_users IS
    'Users whose interactions changed, with when; the similarity job recomputes those changed since its last run.';

INSERT INTO recs.data_versions (name) VALUES ('personalized'), ('profiles');

CREATE VIEW recs.user_neighbors_readable AS
SELECT u.user_id, n.neighbor_key, nu.user_id AS neighbor_id, n.similarity,
       rank() OVER (PARTITION BY n.user_key ORDER BY n.similarity DESC) AS rank
FROM recs.user_neighbors n
JOIN recs.users u ON u.user_key = n.user_key
JOIN recs.users nu ON nu.user_key = n.neighbor_key;
COMMENT ON VIEW recs.user_neighbors_readable IS
    'Neighbours by uuid: SELECT * FROM recs.user_neighbors_readable WHERE user_id = ''<uuid>'' ORDER BY rank;';

-- Per-user preference profile, from the synced interactions on public presents.
CREATE MATERIALIZED VIEW recs.user_profiles AS
WITH params AS (
    SELECT (SELECT value FROM recs.settings WHERE key = 'like_weight')::double precision AS like_weight,
           (SELECT value FROM recs.settings WHERE key = 'click_weight')::double precision AS click_weight,
           (SELECT value FROM recs.settings WHERE key = 'similarity_click_cap')::integer AS click_cap
),
weights AS (
    SELECT x.user_key, i.category, i.platform, i.price, x.liked_at, x.clicks, x.last_at,
           CASE WHEN x.liked_at IS NOT NULL THEN p.like_weight ELSE 0 END
           + least(x.clicks, p.click_cap) * p.click_weight AS weight
    FROM recs.interactions x
    JOIN recs.items i ON i.item_id = x.item_id
    CROSS JOIN params p
),
categories AS (
    SELECT user_key, jsonb_object_agg(category, round(share::numeric, 3) ORDER BY share DESC) AS categories
    FROM (SELECT user_key, category, weight / nullif(sum(weight) OVER (PARTITION BY user_key), 0) AS share,
                 row_number() OVER (PARTITION BY user_key ORDER BY weight DESC, category) AS rank
          FROM (SELECT user_key, category, sum(weight) AS weight FROM weights
                WHERE category IS NOT NULL GROUP BY user_key, category) c) ranked
    WHERE rank <= 5 AND share IS NOT NULL
    GROUP BY user_key
),
platforms AS (
    SELECT user_key, array_agg(platform ORDER BY weight DESC, platform) AS platforms
    FROM (SELECT user_key, platform, sum(weight) AS weight FROM weights
          WHERE platform IS NOT NULL GROUP BY user_key, platform) p
    GROUP BY user_key
)
SELECT w.user_key,
       count(*)::integer AS interactions,
       count(w.liked_at)::integer AS likes,
       sum(w.clicks)::integer AS clicks,
       percentile_cont(0.25) WITHIN GROUP (ORDER BY w.price) AS price_p25,
       percentile_cont(0.75) WITHIN GROUP (ORDER BY w.price) AS price_p75,
       max(w.last_at) AS last_activity_at,
       c.categories,
       p.platforms
FROM weights w
LEFT JOIN categories c ON c.user_key = w.user_key
LEFT JOIN platforms p ON p.user_key = w.user_key
GROUP BY w.user_key, c.categories, p.platforms
WITH DATA;  -- empty until the first refresh, but readable at once
CREATE UNIQUE INDEX user_profiles_user_idx ON recs.user_profiles (user_key);
COMMENT ON MATERIALIZED VIEW recs.user_profiles IS
    'Per user: interactions, likes, clicks on public presents, price band (25th-75th percentile), top-5 categories with weight shares, platforms by weight, last activity. Refreshed CONCURRENTLY by recs.job_refresh_user_profiles.';
