-- popular_lift_exponent: a segment ranks a present by its global score times its lifts in the
-- segment's gender and age group, each raised to this exponent (recs.popular_write_blended), so
-- the groups' evidence weighs e times as much as the global score's in the log of the score. 1.5
-- was chosen on two validation splits of MovieLens 100K (docs/quality.md, "Popularity: clicks and
-- segments"); 1 is the ranking before it. The next popularity run rewrites recs.popular_blended
-- (the settings trigger bumps the serving data versions).
INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('popular_lift_exponent', '1.5',
     'Popularity by segment: each of a present''s lifts (in the gender, in the age group) is raised to this power before it multiplies the global score; 1 = the lifts as they are, above 1 = the groups weigh more against the global ranking, 0 = the global ranking. Takes effect at the next popularity run.',
     'number', 0, 4);

COMMENT ON TABLE recs.popular_blended IS
    'Per demographic segment (gender/age_group, ''*'' = any, never both; every gender and every age group with users, and every combination of such a gender and such an age group, whether or not anyone is in their cell), its first popular_segment_depth available public presents by the global score x the present''s lifts in the gender and in the age group, each shrunk towards 1 (popular_lift_prior_users) and raised to popular_lift_exponent, filter attributes copied in. Written by recs.popular_write_blended at every popularity run; read by recs.rank_popular.';
