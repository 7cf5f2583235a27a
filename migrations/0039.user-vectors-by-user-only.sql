-- recs.user_vectors keeps one index, by user (the neighbour search and the changed users' rows).
-- The index by present served only the rows of recs.item_vectors: a full run now groups the
-- freshly written vectors by present with one sort of the table (a read through the index cost a
-- heap visit per vector, since a table the job has just written has no visibility map: half of
-- the full run's vector step at the target scale, plus building the index), and an incremental
-- run patches each touched present's row from its previous one (recs.similarity_patch_vectors).
DROP INDEX recs.user_vectors_item_idx;
