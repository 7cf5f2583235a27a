-- A segment's popularity borrows from the global ranking per present, not per segment:
--   popular_segment_prior_events  the prior strength of the empirical-Bayes shrinkage of a
--       present's lift in a segment (its score in the segment over what the segment would give it
--       at the global rate) towards 1; recs.popular_write_blended ranks a segment by the global
--       score × the shrunk lift, so a present the segment has little evidence on keeps its global
--       place, and one it has much evidence on moves by its own rate;
--   popular_segment_prior_users  (the previous, per-segment prior) is gone, also from the
--       overrides of experiment variants.
-- (The settings trigger bumps the serving data versions; the next popularity run rewrites
-- recs.popular_blended.)
INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('popular_segment_prior_events', '10',
     'Popularity by segment: a present ranks by its global score x its lift in the segment, (segment score + this) / (expected segment score at the global rate + this), this counted in likes at the newest event; 0 = a segment ranks by its own events only, large = the global ranking. Takes effect at the next popularity run.',
     'number', 0, 1000000);
UPDATE recs.experiment_variants SET overrides = overrides - 'popular_segment_prior_users'
WHERE overrides ? 'popular_segment_prior_users';
DELETE FROM recs.settings WHERE key = 'popular_segment_prior_users';

COMMENT ON TABLE recs.popular_blended IS
    'Per demographic segment (gender/age_group, ''*'' = any, never both), its first popular_segment_depth available public presents by the global score x the present''s lift in the segment shrunk towards 1 (popular_segment_prior_events), filter attributes copied in. Written by recs.popular_write_blended at every popularity run; read by recs.rank_popular.';
