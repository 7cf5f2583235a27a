-- popularity_prior_users: the neighbourhood rankings (collaborative and content-based tiers) are
-- shrunk towards the global popular ranking by how little data backs them: the popularity share
-- is 2^(-s / k), s the other users' interactions with the user's recent presents
-- (recs.popularity_share), k this setting; recs.rank_collaborative takes the share as an
-- argument (its file drops the former signature). 30 was chosen on the validation splits
-- (docs/quality.md, "Short histories: a popularity prior by support").
INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('popularity_prior_users', '30',
     'Collaborative and content-based tiers: the global popular ranking''s share of a user''s ranking halves with every this many interactions of other users with the user''s recent presents (2^(-support / this)); 0 = the neighbours alone.',
     'number', 0, 1000000);
