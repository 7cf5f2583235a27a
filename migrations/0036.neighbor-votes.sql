-- The collaborative tier reads each neighbour's recent likes as one row of arrays instead of
-- ranking the neighbour's history by recency on every request (up to neighbor_history_limit rows
-- per neighbour, for each of up to neighbor_pool_size neighbours): recs.neighbor_votes keeps,
-- per user, the liked presents among their neighbor_history_limit most recent interactions and
-- each one's place in that history (steps back: 0 the most recent; interactions at the same time
-- share their place, as rank() gives it). The vote itself (2^(-steps / neighbor_history_half_life))
-- is computed when ranking, so the half-life still applies at once. Every similarity run rewrites
-- the rows of the users marked in recs.dirty_users (every row on the first run or after
-- neighbor_history_limit changed); an erasure deletes the user's row.
CREATE TABLE recs.neighbor_votes (
    user_key  integer PRIMARY KEY,
    item_ids  integer[] NOT NULL,
    steps     integer[] NOT NULL
);
ALTER TABLE recs.neighbor_votes
    SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
COMMENT ON TABLE recs.neighbor_votes IS
    'Per user with a like among their neighbor_history_limit most recent interactions: those liked presents (item_ids) and their places in that history (steps, same order: 0 the most recent, interactions at the same time share theirs). Read by recs.rank_collaborative for each neighbour; written by the similarity job (recs.similarity_neighbor_votes).';

-- Filled now from the synced interactions, so the collaborative tier keeps its neighbours' votes
-- until the next similarity run (which rewrites every row: the history limit it records is not
-- there yet).
INSERT INTO recs.neighbor_votes (user_key, item_ids, steps)
SELECT r.user_key, array_agg(r.item_id ORDER BY r.step, r.item_id), array_agg(r.step ORDER BY r.step, r.item_id)
FROM (SELECT x.user_key, x.item_id, x.liked_at,
             (rank() OVER (PARTITION BY x.user_key ORDER BY x.last_at DESC) - 1)::integer AS step
      FROM recs.interactions x) r
WHERE r.liked_at IS NOT NULL
  AND r.step < (SELECT s.value::integer FROM recs.settings s WHERE s.key = 'neighbor_history_limit')
GROUP BY r.user_key;
ANALYZE recs.neighbor_votes;

UPDATE recs.settings
SET description = 'Most recent interactions of each neighbour considered when scoring a user''s candidates (recs.neighbor_votes, kept by the similarity job: a larger value takes effect at its next run, which rewrites every row; a smaller one at once).'
WHERE key = 'neighbor_history_limit';
