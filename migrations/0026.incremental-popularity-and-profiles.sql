-- Popularity and profiles become tables their jobs maintain incrementally, instead of
-- materialized views recomputed whole on every run (a REFRESH ... CONCURRENTLY recomputes and
-- diffs every row, 35 s of popularity at the target scale after only 20k new events):
--   recs.popular_items, popular_segments, popular_filter_counts, popular_region_counts,
--   recs.user_profiles     the same columns and serving indexes as the views they replace,
--                          filled from them here so serving goes on until the next run
--   recs.popular_changes   what syncs and erasures changed in the decayed sums since the last
--                          popularity run, per (segment, present): applied and deleted by it
--   recs.popular_user_segments  the demographic segment each interacting user's events are
--                          counted under (a changed segment moves them at the next run)
--   recs.popular_prior_items    the available presents' attributes as the popularity rows hold
--                          them (a present that changed, left or came back is rewritten whole)
--   recs.dirty_profiles    users whose preference profile must be recomputed
-- The tables have no job state yet: the first run of each job rebuilds them whole.

DROP VIEW recs.report_catalogue_coverage;  -- sql/40_reports creates both again
DROP VIEW recs.report_top_presents;
ALTER MATERIALIZED VIEW recs.popular_items RENAME TO popular_items_view;
ALTER MATERIALIZED VIEW recs.popular_segments RENAME TO popular_segments_view;
ALTER MATERIALIZED VIEW recs.popular_filter_counts RENAME TO popular_filter_counts_view;
ALTER MATERIALIZED VIEW recs.popular_region_counts RENAME TO popular_region_counts_view;
ALTER MATERIALIZED VIEW recs.user_profiles RENAME TO user_profiles_view;

CREATE TABLE recs.popular_items (
    gender      text NOT NULL,
    age_group   text NOT NULL,
    item_id     integer NOT NULL,
    present_id  uuid NOT NULL,
    score       double precision NOT NULL,
    users       integer NOT NULL,
    price       numeric(12, 2),
    category    text,
    platform    text,
    geo_ids     integer[],
    PRIMARY KEY (gender, age_group, item_id)
);
INSERT INTO recs.popular_items
SELECT gender, age_group, item_id, present_id, score, users, price, category, platform, geo_ids
FROM recs.popular_items_view;
COMMENT ON TABLE recs.popular_items IS
    'Time-decayed popularity of available public presents per segment (gender/age_group, ''*'' = any), filter attributes copied in. Maintained by recs.job_refresh_popular_items: rows of changed (segment, present) pairs updated from recs.popular_changes, rebuilt whole at a full resync.';

CREATE TABLE recs.popular_segments (
    gender     text NOT NULL,
    age_group  text NOT NULL,
    users      integer NOT NULL,
    PRIMARY KEY (gender, age_group)
);
INSERT INTO recs.popular_segments SELECT gender, age_group, users FROM recs.popular_segments_view;
COMMENT ON TABLE recs.popular_segments IS
    'Distinct interacting users per popularity segment (''*'' = any), from recs.popular_user_segments. Written with recs.popular_items.';

CREATE TABLE recs.popular_filter_counts (
    category  text NOT NULL,
    platform  text NOT NULL,
    presents  bigint NOT NULL,
    PRIMARY KEY (category, platform)
);
INSERT INTO recs.popular_filter_counts SELECT category, platform, presents FROM recs.popular_filter_counts_view;
COMMENT ON TABLE recs.popular_filter_counts IS
    'Available public presents per category and platform filter (''*'' = any). Written with recs.popular_items when presents changed.';

CREATE TABLE recs.popular_region_counts (
    geo_id    integer NOT NULL,
    category  text NOT NULL,
    platform  text NOT NULL,
    presents  bigint NOT NULL,
    PRIMARY KEY (geo_id, category, platform)
);
INSERT INTO recs.popular_region_counts SELECT geo_id, category, platform, presents FROM recs.popular_region_counts_view;
COMMENT ON TABLE recs.popular_region_counts IS
    'Available public presents per region (geo_id; -1 = presents without a region list, which deliver everywhere), category and platform (''*'' = any). Written with recs.popular_items when presents changed; read by recs.count_available.';

CREATE TABLE recs.user_profiles (
    user_key          integer PRIMARY KEY,
    interactions      integer NOT NULL,
    likes             integer NOT NULL,
    clicks            integer NOT NULL,
    price_p25         double precision,
    price_p75         double precision,
    last_activity_at  timestamptz NOT NULL,
    categories        jsonb,
    platforms         text[]
);
INSERT INTO recs.user_profiles
SELECT user_key, interactions, likes, clicks, price_p25, price_p75, last_activity_at, categories, platforms
FROM recs.user_profiles_view;
COMMENT ON TABLE recs.user_profiles IS
    'Per user: interactions, likes, clicks on public presents, price band (25th-75th percentile), top-5 categories with weight shares, platforms by weight, last activity. Maintained by recs.job_refresh_user_profiles: the users of recs.dirty_profiles recomputed, all of them at a full resync.';

DROP MATERIALIZED VIEW recs.popular_region_counts_view;
DROP MATERIALIZED VIEW recs.popular_filter_counts_view;
DROP MATERIALIZED VIEW recs.popular_segments_view;
DROP MATERIALIZED VIEW recs.popular_items_view;
DROP MATERIALIZED VIEW recs.user_profiles_view;

-- The serving indexes of the views, under the same names.
CREATE INDEX popular_items_ranking_idx ON recs.popular_items (gender, age_group, score DESC, item_id)
    INCLUDE (present_id, price, platform, geo_ids, category);
CREATE INDEX popular_items_category_ranking_idx ON recs.popular_items (gender, age_group, category, score DESC, item_id)
    INCLUDE (present_id, price, platform, geo_ids);
CREATE INDEX popular_items_global_price_idx ON recs.popular_items (price)
    INCLUDE (item_id, category, platform, geo_ids)
    WHERE gender = '*' AND age_group = '*';
CREATE INDEX popular_items_global_category_price_idx ON recs.popular_items (category, price)
    INCLUDE (item_id, platform, geo_ids)
    WHERE gender = '*' AND age_group = '*';
-- Serving reads it by index only: vacuumed soon after each run (see migration 0013's reason).
ALTER TABLE recs.popular_items
    SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);

CREATE TABLE recs.popular_changes (
    gender       text,
    age_group    text,
    item_id      integer NOT NULL,
    score        double precision NOT NULL,
    users        integer NOT NULL
);
COMMENT ON TABLE recs.popular_changes IS
    'Changes to the decayed sums not yet in recs.popular_items, per exact segment (gender, age_group; NULL = unknown) and present: decayed score (like_weight and click_weight applied) and interacting users, positive or negative. Appended by recs.sync_add_interactions and recs.erase_users; applied and deleted by recs.job_refresh_popular_items.';

CREATE TABLE recs.popular_user_segments (
    user_key   integer PRIMARY KEY,
    gender     text,
    age_group  text
);
COMMENT ON TABLE recs.popular_user_segments IS
    'The segment each user with interactions is counted under in recs.popular_items and recs.popular_changes; the popularity job moves a user whose demographics changed.';

CREATE TABLE recs.popular_prior_items (
    item_id     integer PRIMARY KEY,
    present_id  uuid NOT NULL,
    price       numeric(12, 2),
    category    text,
    platform    text,
    geo_ids     integer[]
);
COMMENT ON TABLE recs.popular_prior_items IS
    'The available public presents as recs.popular_items holds them: a present whose attributes or availability differ from recs.items is rewritten whole by the next popularity run.';

CREATE TABLE recs.dirty_profiles (
    user_key    integer PRIMARY KEY,
    changed_at  timestamptz NOT NULL
);
COMMENT ON TABLE recs.dirty_profiles IS
    'Users whose preference profile must be recomputed (their interactions or their presents'' attributes changed); filled by the sync, emptied by recs.job_refresh_user_profiles.';

-- Nothing refreshes a materialized view any more.
DROP FUNCTION IF EXISTS recs.refresh_materialized_view(regclass);  -- sql/ defined it (a fresh database has none yet)
