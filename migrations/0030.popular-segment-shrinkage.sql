-- Popularity by segment borrows strength from the global ranking, and weighs clicks by its own knob:
--   recs.popular_blended  per demographic segment, the first popular_segment_depth presents by the
--       segment's score shrunk towards the global one (score + popular_segment_prior_users / users
--       counted globally × global score), recomputed by every popularity run from the segment's and
--       the global top candidates (recs.popular_write_blended); the segment levels of the popular
--       ranking are served from it (recs.rank_popular), so a small segment leans on the global
--       ranking and a large one follows its own;
--   popular_click_weight  what a click adds to a present's popularity (click_weight stays the
--       weight of a click in profiles and similarities); a change rebuilds the popularity tables at
--       the next run, as a change of like_weight does.
CREATE TABLE recs.popular_blended (
    gender      text NOT NULL,
    age_group   text NOT NULL,
    item_id     integer NOT NULL,
    present_id  uuid NOT NULL,
    score       double precision NOT NULL,
    price       numeric(12, 2),
    category    text,
    platform    text,
    geo_ids     integer[],
    PRIMARY KEY (gender, age_group, item_id)
);
COMMENT ON TABLE recs.popular_blended IS
    'Per demographic segment (gender/age_group, ''*'' = any, never both), its first popular_segment_depth available public presents by the segment''s score plus popular_segment_prior_users / users counted globally × the global score, filter attributes copied in. Written by recs.popular_write_blended at every popularity run; read by recs.rank_popular.';
CREATE INDEX popular_blended_ranking_idx ON recs.popular_blended (gender, age_group, score DESC, item_id)
    INCLUDE (present_id, price, platform, geo_ids, category);
CREATE INDEX popular_blended_category_ranking_idx ON recs.popular_blended (gender, age_group, category, score DESC, item_id)
    INCLUDE (present_id, price, platform, geo_ids);
ALTER TABLE recs.popular_blended
    SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);

INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('popular_segment_prior_users', '100',
     'Popularity by segment: the global ranking counts as this many users of the segment (its score added with weight this / users counted globally); 0 = a segment ranks by its own events only. Takes effect at the next popularity run.',
     'number', 0, 1000000),
    ('popular_segment_depth', '1000',
     'Popularity by segment: presents kept per segment in the blended ranking (recs.popular_blended), from the segment''s and the global top this many; a page past them continues at the next level.',
     'integer', 1, 100000),
    ('popular_click_weight', '0.05',
     'Popularity: what one (decayed) click adds to a present''s score, beside like_weight for a like; click_weight is the same for profiles and similarities.',
     'number', 0, 1000);

COMMENT ON TABLE recs.popular_changes IS
    'Changes to the decayed sums not yet in recs.popular_items, per exact segment (gender, age_group; NULL = unknown) and present: decayed score (like_weight and popular_click_weight applied) and interacting users, positive or negative. Appended by recs.sync_add_interactions and recs.erase_users; applied and deleted by recs.job_refresh_popular_items.';
