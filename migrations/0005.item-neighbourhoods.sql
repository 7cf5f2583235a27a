-- Collaborative scoring by per-present neighbourhoods: each user keeps a pool of their
-- neighbor_pool_size most similar users, and a candidate present is scored by the
-- max_similar_users (K) most similar users of that pool who liked it (classic user-kNN).
-- Similarity weighs presents evenly (no IUF) by default: chosen on the validation split.

INSERT INTO recs.settings (key, value, description) VALUES
    ('neighbor_pool_size', '100', 'Most similar users kept per user (recs.user_neighbors). A candidate present is scored by the max_similar_users most similar of them who liked it.');

UPDATE recs.settings
SET value = 'false'
WHERE key = 'similarity_iuf' AND value = 'true';

UPDATE recs.settings
SET description = 'K: a candidate present is scored by the sum of similarities of the K most similar pool neighbours who liked it. migrate sets it from MAX_SIMILAR_USERS.'
WHERE key = 'max_similar_users';

COMMENT ON TABLE recs.user_neighbors IS
    'The neighbor_pool_size most similar users per user by cosine similarity of interactions (likes above clicks). See recs.user_neighbors_readable for uuids.';
