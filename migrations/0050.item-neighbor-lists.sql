-- The item-neighbour score reads one row per present of the user's history instead of two:
-- recs.item_neighbor_lists holds, per present i, the union of its item neighbours
-- (recs.item_neighbors) and of the presents whose learned regression reads it
-- (recs.item_learned_weights), each with its similarity and its learned weight (0 where it is in
-- one list only). recs.item_neighbor_scores sums both from it, so the scores are those of the two
-- lists; the blend and its settings still apply when ranking. The full similarity run rewrites it
-- after the learned weights (recs.similarity_item_lists); an incremental run keeps it, as it
-- keeps the two lists.
CREATE TABLE recs.item_neighbor_lists (
    item_id          integer PRIMARY KEY,
    neighbor_ids     integer[] NOT NULL,
    similarities     double precision[] NOT NULL,
    learned_weights  double precision[] NOT NULL
);
ALTER TABLE recs.item_neighbor_lists
    SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
COMMENT ON TABLE recs.item_neighbor_lists IS
    'Per present: its item neighbours and the presents whose learned regression reads it (neighbor_ids), with the similarity (similarities) and the learned weight (learned_weights) of each, same order, 0 where the present is in one list only. Read by recs.item_neighbor_scores; written by the full similarity run (recs.similarity_item_lists) from recs.item_neighbors and recs.item_learned_weights.';

-- Filled now from the two lists, so serving reads it at once (the full run rewrites it the same way).
INSERT INTO recs.item_neighbor_lists (item_id, neighbor_ids, similarities, learned_weights)
SELECT n.item_id, n.neighbor_ids, n.similarities, array_fill(0::double precision, ARRAY[cardinality(n.neighbor_ids)])
FROM recs.item_neighbors n
WHERE NOT EXISTS (SELECT FROM recs.item_learned_weights w WHERE w.item_id = n.item_id)
UNION ALL
SELECT coalesce(n.item_id, w.item_id), merged.neighbor_ids, merged.similarities, merged.learned_weights
FROM recs.item_learned_weights w
LEFT JOIN recs.item_neighbors n ON n.item_id = w.item_id
CROSS JOIN LATERAL (
    SELECT array_agg(coalesce(s.item_id, l.item_id) ORDER BY s.position, l.position) AS neighbor_ids,
           array_agg(coalesce(s.weight, 0) ORDER BY s.position, l.position) AS similarities,
           array_agg(coalesce(l.weight, 0) ORDER BY s.position, l.position) AS learned_weights
    FROM unnest(n.neighbor_ids, n.similarities) WITH ORDINALITY AS s(item_id, weight, position)
    FULL JOIN unnest(w.target_ids, w.weights) WITH ORDINALITY AS l(item_id, weight, position)
        ON l.item_id = s.item_id
) merged;
ANALYZE recs.item_neighbor_lists;
