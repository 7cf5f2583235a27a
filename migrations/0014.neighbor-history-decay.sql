-- A neighbour's recent taste counts more than their old one: in collaborative scoring a
-- neighbour's n-th most recent interaction is weighted 2^(-(n - 1) / neighbor_history_half_life),
-- a smooth form of the hard window neighbor_history_limit, which now only bounds the work per
-- request (weights beyond 4 half-lives are below 1/16). Chosen on the validation split.

INSERT INTO recs.settings (key, value, description) VALUES
    ('neighbor_history_half_life', '50', 'Collaborative scoring: a neighbour''s n-th most recent interaction counts 2^(-(n - 1) / this), so recent taste weighs more (0: every interaction within neighbor_history_limit counts fully).');

-- The settings trigger calls a function that sql/ defines after the migrations; the version bump
-- it would make (cached personalised pages are scored the old way) is made here directly.
ALTER TABLE recs.settings DISABLE TRIGGER settings_bump_personalized_version;
UPDATE recs.settings
SET value = CASE WHEN value = '100' THEN '200' ELSE value END,
    description = 'Most recent interactions of each neighbour read when scoring a user''s candidates (bounds the work per request; see neighbor_history_half_life for their weights).',
    updated_at = now()
WHERE key = 'neighbor_history_limit';
ALTER TABLE recs.settings ENABLE TRIGGER settings_bump_personalized_version;
UPDATE recs.data_versions SET version = version + 1, as_of = now() WHERE name = 'personalized';
