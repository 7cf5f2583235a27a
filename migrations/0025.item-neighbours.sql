-- Item neighbours: per present, the presents most often liked or clicked by the same users
-- ("people who liked this also liked"), kept by the similarity job beside the user pools. The
-- collaborative tier blends them with the user neighbourhoods, and a user with a short history
-- (the content-based tier) is served by them first.
--   recs.item_neighbors  per present: its item_neighbor_pool_size most similar presents and
--                        their asymmetric cosines, most similar first
-- The similarity of a present i to a present j is dot(i, j) / (|i|^(2a) |j|^(2(1 - a))) over the
-- interaction weights of the users they share, each user's weights divided by the length of
-- their weight vector (a user who took a thousand presents says less about any two of them than
-- one who took ten), with a = item_similarity_asymmetry: a = 0.5 is a cosine; towards 1 it
-- approaches "the share of i's users who also took j", which favours presents that many people
-- take. The work is bounded: each present is computed from its item_neighbor_user_sample most
-- recent users, each read through their item_neighbor_history_limit most recent interactions.
-- A user's score for j sums their presents' similarities to j, each faded by its place in their
-- history (item_history_half_life).
-- The next similarity run (hourly, or POST /admin/update-user-similarities) is a full one, which
-- fills the table; until then the tiers serve as before.

CREATE TABLE recs.item_neighbors (
    item_id       integer PRIMARY KEY,
    neighbor_ids  integer[] NOT NULL,
    similarities  double precision[] NOT NULL
);
ALTER TABLE recs.item_neighbors
    SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
COMMENT ON TABLE recs.item_neighbors IS
    'Per present: the item_neighbor_pool_size presents most taken by the same users (neighbor_ids) and their asymmetric cosines (similarities, same order, most similar first). Presents no user shares have no row. Written by the similarity job.';

-- The sample's histories: each user's item_neighbor_history_limit most recent interactions as
-- one row, so a present's computation reads one row per sampled user. The weights are divided
-- by the length of the user's weight vector (norm), so a user who took a thousand presents
-- says less about any two of them than a user who took ten.
CREATE UNLOGGED TABLE recs.user_histories (
    user_key  integer PRIMARY KEY,
    item_ids  integer[] NOT NULL,
    weights   double precision[] NOT NULL,
    norm      double precision NOT NULL
);
COMMENT ON TABLE recs.user_histories IS
    'Per user: their item_neighbor_history_limit most recent presents (item_ids) and interaction weights divided by norm (weights, same order); norm is the length of the weight vector. Working table of the similarity job for item neighbours (unlogged: rebuilt after a crash).';

-- Per present, the squared length of its column of those weights (Σ over users of their weight
-- for it, divided by the length of their vector, squared): |j|^2 in the similarity.
CREATE UNLOGGED TABLE recs.item_history_norms (
    item_id  integer PRIMARY KEY,
    squared  double precision NOT NULL
);
COMMENT ON TABLE recs.item_history_norms IS
    'Per present: Σ over the users of recs.user_histories of their (normalised) weight for it, squared. Working table of the similarity job for item neighbours (unlogged: rebuilt after a crash).';

-- A present's most recent users, for the per-present sample of the neighbour computation.
CREATE INDEX interactions_item_recent_idx ON recs.interactions (item_id, last_at DESC)
    INCLUDE (user_key, liked_at, clicks);

INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('item_neighbor_pool_size', '100',
     'Most similar presents kept per present (recs.item_neighbors).', 'integer', 1, 500),
    ('item_neighbor_user_sample', '500',
     'Item neighbours: each present is computed from at most this many of its most recent users (bounds the work for very popular presents).',
     'integer', 1, 100000),
    ('item_neighbor_history_limit', '1000',
     'Item neighbours: each sampled user contributes at most this many of their most recent interactions.',
     'integer', 1, 10000),
    ('item_neighbor_pair_budget', '25000000',
     'Item neighbours: most pairs of presents a full run reads, Σ over users of min(interactions, cap)^2; the cap on each user''s history falls below item_neighbor_history_limit until it fits (recs.item_history_cap).',
     'integer', 0, 2000000000),
    ('item_similarity_asymmetry', '0.7',
     'a in dot(i, j) / (|i|^(2a) |j|^(2(1 - a))): 0.5 is the cosine; towards 1, the share of i''s users who also took j (favours popular presents).',
     'number', 0, 1),
    ('item_history_half_life', '3',
     'Item neighbours: a present in the user''s history counts half every this many steps back (events at the same time are one step); 0 = every present counts the same.',
     'number', 0, 10000),
    ('collaborative_item_weight', '0.4',
     'Collaborative tier: share of the item-neighbour score in the blend with the user-neighbour score (each scaled to its best candidate); 0 = user neighbours only, 1 = item neighbours only.',
     'number', 0, 1);

-- The next run rebuilds everything, item neighbours included.
UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'user_similarities';

-- recs.rank_collaborative takes the unsynced presents too (they feed the item neighbours); sql/
-- creates the new signature.
DROP FUNCTION IF EXISTS recs.rank_collaborative(integer, integer, text[], text[], numeric, numeric, integer, integer[]);
