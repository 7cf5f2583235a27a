-- Faster full similarity runs, measured at the target scale (295k users, 4.4M vectors):
--   1. The neighbour search reads, per present within the degree cap, one row holding all its
--      users and their vector values (recs.item_vectors) instead of one index entry per user: a
--      freshly written recs.user_vectors has no visibility map (VACUUM cannot run inside a job),
--      so every entry cost a heap visit, and the search ran 3.4 times slower than on a vacuumed
--      table. Membership of recs.item_vectors replaces the candidate flag of recs.user_vectors.
--   2. A user's neighbour pool is one row of arrays (most similar first) instead of one row per
--      neighbour: a full run deleted and wrote 29.5M rows and their index entries, now 295k; a
--      request reads one row.
-- The pools are rebuilt by the next similarity run (hourly, or POST /admin/update-user-similarities),
-- which this migration makes a full one; until then collaborative users are served by the
-- content-based and popular tiers.

CREATE UNLOGGED TABLE recs.item_vectors (
    item_id        integer PRIMARY KEY,
    user_keys      integer[] NOT NULL,
    vector_values  double precision[] NOT NULL
);
-- Read once per present and user in the search: kept in the row and uncompressed up to a page
-- (about 670 users), not compressed into the TOAST table past 2 kB.
ALTER TABLE recs.item_vectors ALTER user_keys SET STORAGE EXTERNAL, ALTER vector_values SET STORAGE EXTERNAL,
    SET (toast_tuple_target = 8160);
COMMENT ON TABLE recs.item_vectors IS
    'Per present within the similarity job''s degree cap: its users (user_keys) and their unit vector values (vector_values, same order), as recs.user_vectors holds them. The neighbour search reads one row per present. Working table of the similarity job (unlogged: rebuilt after a crash).';

DROP FUNCTION IF EXISTS recs.compute_neighbors(integer[]);  -- defined by sql/, which runs after the migrations
ALTER TABLE recs.user_vectors DROP COLUMN candidate;  -- and with it user_vectors_user_idx, which included it
CREATE INDEX user_vectors_user_idx ON recs.user_vectors (user_key) INCLUDE (item_id, value);
COMMENT ON TABLE recs.user_vectors IS
    'Unit-length user vectors: value = interaction weight x IUF / user norm, so a cosine is a plain sum of products. Working table of the similarity job (unlogged: rebuilt after a crash); recs.item_vectors holds the same values by present.';

DROP VIEW recs.user_neighbors_readable;
DROP TABLE recs.user_neighbors;
CREATE TABLE recs.user_neighbors (
    user_key       integer PRIMARY KEY,
    neighbor_keys  integer[] NOT NULL,
    similarities   double precision[] NOT NULL
);
ALTER TABLE recs.user_neighbors
    SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
COMMENT ON TABLE recs.user_neighbors IS
    'Each user''s neighbour pool: the neighbor_pool_size most similar users (neighbor_keys) and their cosine similarities (similarities, same order, most similar first). Users without a neighbour have no row. See recs.user_neighbors_readable for uuids.';

CREATE VIEW recs.user_neighbors_readable AS
SELECT u.user_id, n.neighbor_key, nu.user_id AS neighbor_id, n.similarity, n.rank
FROM recs.user_neighbors pool
CROSS JOIN LATERAL unnest(pool.neighbor_keys, pool.similarities) WITH ORDINALITY AS n(neighbor_key, similarity, rank)
JOIN recs.users u ON u.user_key = pool.user_key
JOIN recs.users nu ON nu.user_key = n.neighbor_key;
COMMENT ON VIEW recs.user_neighbors_readable IS
    'Neighbours by uuid, one row each: SELECT * FROM recs.user_neighbors_readable WHERE user_id = ''<uuid>'' ORDER BY rank;';

UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'user_similarities';
