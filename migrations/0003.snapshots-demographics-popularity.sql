-- Local snapshots of the main database, synced demographics, and time-decayed popularity.
--   recs.items         public presents only (a private present never enters this database)
--   recs.users         integer surrogate keys for user uuids
--   recs.interactions  one row per (user, public present): like time, click count, decayed click sum
--   recs.user_demographics  what PUT /user-profile stores
--   recs.popular_items (MV) time-decayed popularity per segment, every filter attribute copied in
--   recs.popular_segments (MV) support (users, items) of each segment, for the fallback chain

INSERT INTO recs.settings (key, value, description) VALUES
    ('like_weight', '1.0', 'Weight of a like in popularity and similarity scores.'),
    ('click_weight', '0.3', 'Weight of one click in popularity and similarity scores.'),
    ('popularity_half_life_days', '30', 'Half-life of an event''s weight in popularity (days). A change triggers a full resync.'),
    ('min_segment_users', '20', 'A demographic segment with fewer interacting users is skipped by the popular fallback chain.'),
    ('sync_overlap_minutes', '10', 'Events up to this long before the sync watermark are read again (late commits), deduplicated by id.'),
    ('full_resync_hours', '24', 'Hours between full resyncs of interactions (they catch unlikes and deleted events, which an incremental sync cannot see).');

-- A DBA's UPDATE of a setting stamps updated_at, so the next refresh knows the knobs moved.
CREATE FUNCTION recs.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION recs.touch_updated_at() IS 'Trigger: set updated_at = now() on UPDATE.';
CREATE TRIGGER settings_touch_updated_at BEFORE UPDATE ON recs.settings
    FOR EACH ROW EXECUTE FUNCTION recs.touch_updated_at();

CREATE TABLE recs.items (
    item_id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    present_id  uuid NOT NULL UNIQUE,
    price       numeric(12, 2),
    category    text,
    platform    text,
    geo_ids     integer[],
    available   boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
COMMENT ON TABLE recs.items IS
    'Snapshot of the PUBLIC presents of main (user_id IS NULL) with an integer key. Private presents are never copied here.';

CREATE TABLE recs.users (
    user_key  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   uuid NOT NULL UNIQUE
);
COMMENT ON TABLE recs.users IS 'Integer surrogate keys for user uuids (from events and from PUT /user-profile).';

CREATE TABLE recs.interactions (
    user_key     integer NOT NULL,
    item_id      integer NOT NULL,
    liked_at     timestamptz,
    clicks       integer NOT NULL DEFAULT 0,
    click_decay  double precision NOT NULL DEFAULT 0,
    first_at     timestamptz NOT NULL,
    last_at      timestamptz NOT NULL,
    PRIMARY KEY (user_key, item_id)
);
CREATE INDEX interactions_item_idx ON recs.interactions (item_id) INCLUDE (user_key, liked_at, clicks);
COMMENT ON TABLE recs.interactions IS
    'One row per (user, public present): like time (NULL = not liked), clicks, and the sum over clicks of 2^((t - decay epoch) / half-life). Written only by recs.sync_main, which keeps it consistent with recs.items and recs.users (no foreign keys: bulk loads of millions of rows).';

CREATE TABLE recs.user_demographics (
    user_key    integer PRIMARY KEY REFERENCES recs.users ON DELETE CASCADE,
    gender      text CHECK (gender IN ('m', 'f')),
    age_group   text CHECK (age_group IN ('under-18', '18-24', '25-34', '35-44', '45-54', '55+')),
    birth_date  date,
    locale      text CHECK (length(locale) <= 35),
    geo_id      integer,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE recs.user_demographics IS 'Demographics synced by PUT /user-profile/{user_id} (the Rails app is the source).';

CREATE TABLE recs.sync_state (
    source          text PRIMARY KEY,
    watermark       timestamptz,
    decay_epoch     timestamptz,
    half_life_days  double precision,
    synced_at       timestamptz,
    full_synced_at  timestamptz,
    changed_at      timestamptz,
    details         jsonb
);
COMMENT ON TABLE recs.sync_state IS
    'Sync position per main table (newest created_at read); row ''decay'': the epoch/half-life the stored sums use and when a sync last changed data; one row per job that keeps its own state. Delete the rows to force a full resync.';

CREATE TABLE recs.recent_click_ids (
    id          uuid PRIMARY KEY,
    created_at  timestamptz NOT NULL
);
COMMENT ON TABLE recs.recent_click_ids IS
    'Ids of clicks inside the sync overlap window, so a click read twice is counted once.';

CREATE TABLE recs.data_versions (
    name        text PRIMARY KEY,
    version     bigint NOT NULL DEFAULT 0,
    as_of       timestamptz
);
INSERT INTO recs.data_versions (name) VALUES ('popular');
COMMENT ON TABLE recs.data_versions IS
    'A counter per derived dataset, bumped when a refresh changes it; part of every cache key, so a refresh shows at once.';

-- Popularity per segment: exact (gender, age group), gender only (age_group '*'), age only
-- (gender '*') and global ('*', '*'). score = sum over the segment's users of
-- like_weight * 2^((liked_at - epoch) / half-life) + click_weight * click_decay: a fixed-epoch
-- decay ranks exactly like decay measured from now, and a refresh only rewrites items that got
-- new events. Every available public present has a global row (score 0 without events), so a
-- filter can always fill its pages. Filter attributes are copied in for index-only serving.
CREATE MATERIALIZED VIEW recs.popular_items AS
WITH params AS (
    SELECT (SELECT value FROM recs.settings WHERE key = 'like_weight')::double precision AS like_weight,
           (SELECT value FROM recs.settings WHERE key = 'click_weight')::double precision AS click_weight,
           date_part('epoch', s.decay_epoch) AS epoch_s,
           s.half_life_days * 86400 AS half_life_s
    FROM recs.sync_state s
    WHERE s.source = 'decay'
),
pair_scores AS (
    SELECT x.item_id, d.gender, d.age_group,
           CASE WHEN x.liked_at IS NULL THEN 0
                ELSE p.like_weight * power(2::double precision, least(1000, greatest(-1000,
                         (date_part('epoch', x.liked_at) - p.epoch_s) / p.half_life_s)))
           END + p.click_weight * x.click_decay AS score
    FROM recs.interactions x
    CROSS JOIN params p
    LEFT JOIN recs.user_demographics d ON d.user_key = x.user_key
),
segment_scores AS (
    SELECT CASE WHEN GROUPING(gender) = 1 THEN '*' ELSE gender END AS gender,
           CASE WHEN GROUPING(age_group) = 1 THEN '*' ELSE age_group END AS age_group,
           item_id, sum(score) AS score, count(*)::integer AS users
    FROM pair_scores
    GROUP BY GROUPING SETS ((gender, age_group, item_id), (gender, item_id), (age_group, item_id), (item_id))
)
SELECT s.gender, s.age_group, i.item_id, i.present_id, s.score, s.users,
       i.price, i.category, i.platform, i.geo_ids
FROM segment_scores s
JOIN recs.items i ON i.item_id = s.item_id
WHERE i.available AND s.gender IS NOT NULL AND s.age_group IS NOT NULL
UNION ALL
SELECT '*', '*', i.item_id, i.present_id, 0, 0, i.price, i.category, i.platform, i.geo_ids
FROM recs.items i
WHERE i.available AND NOT EXISTS (SELECT 1 FROM recs.interactions x WHERE x.item_id = i.item_id)
WITH DATA;  -- empty until the first refresh, but readable at once
CREATE UNIQUE INDEX popular_items_segment_item_idx ON recs.popular_items (gender, age_group, item_id);
CREATE INDEX popular_items_ranking_idx ON recs.popular_items (gender, age_group, score DESC, item_id)
    INCLUDE (present_id, price, platform, geo_ids, category);
CREATE INDEX popular_items_category_ranking_idx ON recs.popular_items (gender, age_group, category, score DESC, item_id)
    INCLUDE (present_id, price, platform, geo_ids);
COMMENT ON MATERIALIZED VIEW recs.popular_items IS
    'Time-decayed popularity of available public presents per segment (gender/age_group, ''*'' = any). Refreshed CONCURRENTLY by recs.job_refresh_popular_items.';

-- How many distinct users interacted in each segment: the fallback chain skips thin segments.
CREATE MATERIALIZED VIEW recs.popular_segments AS
SELECT CASE WHEN GROUPING(d.gender) = 1 THEN '*' ELSE d.gender END AS gender,
       CASE WHEN GROUPING(d.age_group) = 1 THEN '*' ELSE d.age_group END AS age_group,
       count(DISTINCT x.user_key)::integer AS users
FROM recs.interactions x
LEFT JOIN recs.user_demographics d ON d.user_key = x.user_key
GROUP BY GROUPING SETS ((d.gender, d.age_group), (d.gender), (d.age_group), ())
HAVING (GROUPING(d.gender) = 1 OR d.gender IS NOT NULL) AND (GROUPING(d.age_group) = 1 OR d.age_group IS NOT NULL)
WITH DATA;  -- empty until the first refresh, but readable at once
CREATE UNIQUE INDEX popular_segments_idx ON recs.popular_segments (gender, age_group);
COMMENT ON MATERIALIZED VIEW recs.popular_segments IS
    'Distinct interacting users per popularity segment (''*'' = any). Refreshed with recs.popular_items.';

-- How many available public presents each category / platform filter matches (''*'' = any):
-- the size of a ranking without price or region filters, read instead of counted per request.
CREATE MATERIALIZED VIEW recs.popular_filter_counts AS
SELECT CASE WHEN GROUPING(p.category) = 1 THEN '*' ELSE p.category END AS category,
       CASE WHEN GROUPING(p.platform) = 1 THEN '*' ELSE p.platform END AS platform,
       count(*) AS presents
FROM recs.popular_items p
WHERE p.gender = '*' AND p.age_group = '*'
GROUP BY GROUPING SETS ((p.category, p.platform), (p.category), (p.platform), ())
HAVING (GROUPING(p.category) = 1 OR p.category IS NOT NULL) AND (GROUPING(p.platform) = 1 OR p.platform IS NOT NULL)
WITH DATA;  -- empty until the first refresh, but readable at once
CREATE UNIQUE INDEX popular_filter_counts_idx ON recs.popular_filter_counts (category, platform);
COMMENT ON MATERIALIZED VIEW recs.popular_filter_counts IS
    'Available public presents per category and platform filter (''*'' = any), from recs.popular_items. Refreshed with it.';
