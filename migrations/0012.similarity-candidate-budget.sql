-- The similarity job's cost bound becomes a budget of candidate rows rather than a fixed degree
-- cap: presents enter the neighbour search from the least liked up while the rows they generate
-- stay within the budget, so a small catalogue uses every present (exact cosine) and a large one
-- skips only its most liked presents. The fixed cap stays as an optional hard limit (0 = none).

INSERT INTO recs.settings (key, value, description) VALUES
    ('similarity_candidate_budget', '200000000', 'Most candidate rows a full similarity run scores: presents enter the neighbour search from the least liked up while the sum of users x (users - 1) over them stays within this (the most liked presents beyond it still count in the cosine norms). The run''s time grows with it.');

-- No version bump here (its function comes from sql/, applied after the migrations): the new
-- cap takes effect at the next similarity run, which bumps the version itself.
ALTER TABLE recs.settings DISABLE TRIGGER settings_bump_personalized_version;
UPDATE recs.settings
SET value = CASE WHEN value = '300' THEN '0' ELSE value END,
    description = 'Hard limit on the users of a present that enters the neighbour search, on top of similarity_candidate_budget (0: none).',
    updated_at = now()
WHERE key = 'similarity_item_degree_cap';
ALTER TABLE recs.settings ENABLE TRIGGER settings_bump_personalized_version;

COMMENT ON TABLE recs.user_vectors IS
    'Unit-length user vectors: value = interaction weight x IUF / user norm, so a cosine is a plain sum of products; candidate = the present is within the similarity job''s degree cap (see similarity_candidate_budget). Working table of the similarity job (unlogged: rebuilt after a crash).';
