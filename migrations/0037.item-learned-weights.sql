-- Learned item weights: for each present j, a ridge regression of its column of the interaction
-- matrix on the columns of its first item_learned_neighbors item neighbours, (G_kk + λI) b = G_kj
-- over their co-occurrences (EASE restricted to the neighbours: one small solve per present, no
-- dense item × item inverse). The item-neighbour score blends Σ weight × b with the cosine score,
-- each scaled to its best candidate (item_learned_weight, the learned share).
--   recs.item_learned_weights  per present i: the presents j whose regression reads i
--                              (target_ids) and i's coefficient in each (weights, same order),
--                              the transpose of the solves, so a user's presents are looked up
--                              as in recs.item_neighbors.
-- Written by the full similarity run (recs.similarity_item_learned) after the item neighbours.
-- The next run is a full one (the settings below join recs.item_neighbor_settings).
CREATE TABLE recs.item_learned_weights (
    item_id     integer PRIMARY KEY,
    target_ids  integer[] NOT NULL,
    weights     double precision[] NOT NULL
);
ALTER TABLE recs.item_learned_weights
    SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
COMMENT ON TABLE recs.item_learned_weights IS
    'Per present i: the presents whose learned regression reads i (target_ids) and i''s coefficient in each (weights, same order, largest first). Written by the full similarity run (recs.similarity_item_learned).';

INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('item_learned_neighbors', '30',
     'Learned item weights: each present is regressed on its first this many item neighbours (one solve of this size per present); 0 = no learned weights.',
     'integer', 0, 200),
    ('item_learned_ridge', '200',
     'Learned item weights: λ added to the diagonal of the neighbours'' co-occurrences (larger: smaller, smoother weights).',
     'number', 1, 1000000),
    ('item_learned_presents', '2000',
     'Learned item weights: most presents solved per full similarity run, those with the most users first (the rest keep the cosine score alone).',
     'integer', 0, 10000000),
    ('item_learned_weight', '0.5',
     'Share of the learned weights'' score in the item-neighbour score, each scaled to its best candidate; 0 = the cosine score alone.',
     'number', 0, 1);

-- With the learned weights the item neighbours' score is the stronger one: its share in the
-- collaborative blend goes from 0.4 to 0.7 where it was left at its default (docs/quality.md).
-- (The settings trigger bumps the serving data versions: cached pages are scored the new way.)
UPDATE recs.settings SET value = '0.7', updated_at = now()
WHERE key = 'collaborative_item_weight' AND value = '0.4';

UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'user_similarities';
