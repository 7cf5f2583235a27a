-- recs.candidate_hash: breaks ties in a present's candidate sample for the neighbour search. The
-- search takes a present's users by their vector value, largest first, up to the job's cap
-- (recs.similarity_degree_cap); users of equal value (the same weights and norm) come in the order
-- of a hash of the pair (user, present): deterministic, the same in a full and an incremental
-- run, and a different draw for every present (a hash of the user alone would make the same users
-- everyone's candidates).
-- Arguments: p_user_key, p_item_id. Result: a hash (lower = earlier). Errors: none.
-- Caller: recs.similarity_rebuild_vectors, recs.similarity_patch_vectors.
CREATE OR REPLACE FUNCTION recs.candidate_hash(p_user_key integer, p_item_id integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashint4(p_user_key # hashint4(p_item_id));
$$;
COMMENT ON FUNCTION recs.candidate_hash(integer, integer) IS
    'Order among the users of equal value in a present''s candidate sample for the neighbour search (a hash of the pair).';
