-- The learned item weights move out of the full similarity run into a job of their own,
-- refresh_learned_weights (recs.job_refresh_learned_weights, scheduled by migrate), which
-- recomputes them when a full similarity run wrote new item neighbour lists or one of their
-- settings changed. Their solves no longer take from the similarity run's time, so each present
-- is regressed on 50 neighbours instead of 30 (docs/quality.md, "Learned item weights").
-- The similarity run's old steps go (migrate applies the new job functions right after the
-- migrations: a similarity run that reaches its old step in those seconds fails, is logged, and
-- the next one succeeds).
DROP FUNCTION IF EXISTS recs.similarity_item_learned(boolean);
DROP FUNCTION IF EXISTS recs.similarity_learned_pairs();

-- Their settings leave those of the item neighbours (recs.item_neighbor_settings): they go from
-- what the last similarity run recorded too, so this change alone does not make the next
-- similarity run a full one.
UPDATE recs.sync_state
SET details = jsonb_set(details, '{item_neighbors}',
                        (details -> 'item_neighbors') - 'learned_neighbors' - 'learned_ridge' - 'learned_presents')
WHERE source = 'user_similarities' AND details ? 'item_neighbors';

UPDATE recs.settings
SET value = CASE WHEN value = '30' THEN '50' ELSE value END,
    description = 'Learned item weights: each present is regressed on its first this many item neighbours (one solve of this size per present, about this³/6 multiply-adds, in the job refresh_learned_weights); 0 = no learned weights.',
    updated_at = now()
WHERE key = 'item_learned_neighbors';
UPDATE recs.settings
SET description = 'Learned item weights: most presents solved per run of the job refresh_learned_weights, those with the most users first (the rest keep the cosine score alone).',
    updated_at = now()
WHERE key = 'item_learned_presents';

COMMENT ON TABLE recs.item_learned_weights IS
    'Per present i: the presents whose learned regression reads i (target_ids) and i''s coefficient in each (weights, same order, largest first). Written by the job refresh_learned_weights (recs.job_refresh_learned_weights).';
