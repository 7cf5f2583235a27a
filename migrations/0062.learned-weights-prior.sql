-- The learned item weights' regressions are shrunk towards the similarities instead of towards 0:
-- b = (G_RR + λI)⁻¹ (G_Rj + λ c s_Rj), c = item_learned_prior (recs.job_refresh_learned_weights).
-- A present with few co-occurrences next to λ keeps about its similarities, one with many gets
-- its regression (docs/quality.md, "A prior for the learned weights"). The setting is among those
-- the job records, so its next run recomputes the weights with it.
INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('item_learned_prior', '0.1',
     'Learned item weights: each regression is shrunk towards this times the item similarities (the weight each regressor''s own list gives the target) instead of towards 0; 0 = plain ridge regressions (EASE restricted to the neighbours).',
     'number', 0, 100)
ON CONFLICT (key) DO NOTHING;
