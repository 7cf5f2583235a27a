-- The item neighbours (recs.item_neighbors, and the users' recent histories they are computed
-- from) move out of the full similarity run into a job of their own, refresh_item_neighbors
-- (recs.job_refresh_item_neighbors, scheduled by migrate between the similarity job and
-- refresh_learned_weights). It recomputes them when a full similarity run finished since it last
-- did, every item_neighbor_rebuild_hours (6, so a new present has a list the same day) or when one
-- of their settings changed, so the full similarity run no longer carries their time
-- (docs/performance.md, "Refresh jobs"), and a change of an item-neighbour setting recomputes the
-- lists alone instead of every user's pool.
-- The similarity run's old step goes (migrate applies the new job functions right after the
-- migrations: a similarity run that reaches its old step in those seconds fails, is logged, and
-- the next one succeeds).
DROP FUNCTION IF EXISTS recs.similarity_item_neighbors(boolean, integer, integer);

-- The lists in place were written by the last full similarity run, with the settings it
-- recorded: the new job's state says so, so neither it nor refresh_learned_weights recomputes
-- what is current. The similarity run keeps, of those settings, the interaction weights its
-- vectors read (recs.interaction_weight_settings), so this change alone does not make its next
-- run a full one.
INSERT INTO recs.sync_state (source, synced_at, full_synced_at, details)
SELECT 'item_neighbors', s.full_synced_at, s.full_synced_at,
       jsonb_build_object('lists_as_of', s.full_synced_at, 'computed_with', s.details -> 'item_neighbors',
                          'item_history_cap', s.details -> 'item_history_cap',
                          'presents', (SELECT count(*) FROM recs.item_neighbors))
FROM recs.sync_state s
WHERE s.source = 'user_similarities' AND s.full_synced_at IS NOT NULL AND s.details ? 'item_neighbors'
ON CONFLICT (source) DO NOTHING;
UPDATE recs.sync_state
SET details = (details - 'item_neighbors' - 'item_history_cap')
              || jsonb_build_object('interaction_weights',
                                    jsonb_build_object('like_weight', details -> 'item_neighbors' -> 'like_weight',
                                                       'click_weight', details -> 'item_neighbors' -> 'click_weight',
                                                       'click_cap', details -> 'item_neighbors' -> 'click_cap'))
WHERE source = 'user_similarities' AND details ? 'item_neighbors';

INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('item_neighbor_rebuild_hours', '6',
     'Hours between recomputes of every present''s item neighbours by the job refresh_item_neighbors (it also recomputes them after each full similarity run); a present new since the last recompute has no list until the next.',
     'integer', 1, 8760)
ON CONFLICT (key) DO NOTHING;

UPDATE recs.settings
SET description = 'Most similar presents kept per present (recs.item_neighbors), most similar first; a smaller value applies to the ranking at once (it reads the first this many of each list), and the job refresh_item_neighbors rebuilds the lists at its next run.',
    updated_at = now()
WHERE key = 'item_neighbor_pool_size';
UPDATE recs.settings
SET description = 'Item neighbours: each sampled user contributes at most this many of their most recent interactions to the job refresh_item_neighbors; a page''s item score reads at most this many of the user''s own synced presents (those at the same time as the neighbor_history_limit-th most recent are read with it).',
    updated_at = now()
WHERE key = 'item_neighbor_history_limit';
UPDATE recs.settings
SET description = 'Item neighbours: most pairs of presents a run of refresh_item_neighbors reads, Σ over users of min(interactions, cap)^2; the cap on each user''s history falls below item_neighbor_history_limit until it fits (recs.item_history_cap).',
    updated_at = now()
WHERE key = 'item_neighbor_pair_budget';
UPDATE recs.settings
SET description = 'Parallel workers beside the job''s own backend that rank users in a similarity run, full or incremental, and presents in a run of refresh_item_neighbors (0: the job''s backend alone; more than the cores minus one does not help; max_parallel_workers bounds it).',
    updated_at = now()
WHERE key = 'similarity_parallel_workers';

COMMENT ON TABLE recs.item_neighbors IS
    'Per present: the item_neighbor_pool_size presents most taken by the same users (neighbor_ids) and their asymmetric cosines (similarities, same order, most similar first). Presents no user shares have no row. Written by the job refresh_item_neighbors.';
COMMENT ON TABLE recs.user_histories IS
    'Per user: their item_neighbor_history_limit most recent presents (item_ids) and interaction weights divided by norm (weights, same order); norm is the length of the weight vector; neighbor_weights, each weight also divided by its present''s recs.item_history_norms.squared ^ (1 - item_similarity_asymmetry) (0 where that is 0). Working table of the job refresh_item_neighbors, read by refresh_learned_weights (unlogged: rebuilt after a crash).';
COMMENT ON TABLE recs.item_history_norms IS
    'Per present: Σ over the users of recs.user_histories of their (normalised) weight for it, squared. Working table of the job refresh_item_neighbors (unlogged: rebuilt after a crash).';
