-- recs.popular_blended's comment says which combinations of a gender and an age group it holds:
-- every one whose gender and age group each have users, whether or not anyone is in their cell.
COMMENT ON TABLE recs.popular_blended IS
    'Per demographic segment (gender/age_group, ''*'' = any, never both; every gender and every age group with users, and every combination of such a gender and such an age group, whether or not anyone is in their cell), its first popular_segment_depth available public presents by the global score x the present''s lifts in the gender and in the age group, each shrunk towards 1 (popular_lift_prior_users), filter attributes copied in. Written by recs.popular_write_blended at every popularity run; read by recs.rank_popular.';
