-- A segment's popularity multiplies the lifts of its gender and of its age group, each counted in
-- users over all time, onto the (decayed) global score:
--   popular_lift_prior_users  the prior strength, in users, of the empirical-Bayes shrinkage of a
--       present's lift in a gender or an age group (its interacting users there over what the
--       group would give it at the global rate) towards 1; recs.popular_write_blended ranks a
--       gender × age group by the global score × the gender's lift × the age group's lift, so
--       every combination borrows the evidence of both of its groups, whatever the size of the
--       cell they share;
--   popular_segment_prior_events  (the prior of the former lift, in decayed likes within one cell)
--       is gone, also from the overrides of experiment variants, with recs.popular_segment_prior.
-- (The settings trigger bumps the serving data versions; the next popularity run rewrites
-- recs.popular_blended.)
INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('popular_lift_prior_users', '20',
     'Popularity by segment: a present ranks by its global score x its lift in the gender x its lift in the age group, each (users of the group who interacted with it + this) / (the users expected at the global rate + this); 0 = each group by its own users only, large = the global ranking. Takes effect at the next popularity run.',
     'number', 0, 1000000);
UPDATE recs.experiment_variants SET overrides = overrides - 'popular_segment_prior_events'
WHERE overrides ? 'popular_segment_prior_events';
DELETE FROM recs.settings WHERE key = 'popular_segment_prior_events';
DROP FUNCTION IF EXISTS recs.popular_segment_prior();

COMMENT ON TABLE recs.popular_blended IS
    'Per demographic segment (gender/age_group, ''*'' = any, never both; every combination of a gender and an age group that has users), its first popular_segment_depth available public presents by the global score x the present''s lifts in the gender and in the age group, each shrunk towards 1 (popular_lift_prior_users), filter attributes copied in. Written by recs.popular_write_blended at every popularity run; read by recs.rank_popular.';
