-- recs.user_neighbors_readable: each user's neighbour pool (recs.user_neighbors) by uuid, one
-- row per neighbour, rank 1 the most similar.
-- Columns: user_id, neighbor_key, neighbor_id, similarity, rank. Errors: none.
-- Caller: DBAs, analysts: SELECT * FROM recs.user_neighbors_readable WHERE user_id = '<uuid>' ORDER BY rank;
CREATE OR REPLACE VIEW recs.user_neighbors_readable AS
SELECT u.user_id, n.neighbor_key, nu.user_id AS neighbor_id, n.similarity, n.rank
FROM recs.user_neighbors pool
CROSS JOIN LATERAL unnest(pool.neighbor_keys, pool.similarities) WITH ORDINALITY AS n(neighbor_key, similarity, rank)
JOIN recs.users u ON u.user_key = pool.user_key
JOIN recs.users nu ON nu.user_key = n.neighbor_key;
COMMENT ON VIEW recs.user_neighbors_readable IS
    'Neighbours by uuid, one row each: SELECT * FROM recs.user_neighbors_readable WHERE user_id = ''<uuid>'' ORDER BY rank;';
