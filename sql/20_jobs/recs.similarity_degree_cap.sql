-- recs.similarity_degree_cap: the most users a present may have to enter the neighbour search.
-- Presents enter from the least liked up while the candidate rows they generate (each of a
-- present's users meets every other one: users x (users - 1)) stay within
-- similarity_candidate_budget; similarity_item_degree_cap, when set (> 0), limits it further.
-- Presents of one degree enter together. Reads recs.item_stats as the run's step 1 left it.
-- Arguments: none. Result: the cap (0 when no present fits). Errors: bad settings (22P02).
-- Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_degree_cap() RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_budget bigint := recs.setting('similarity_candidate_budget')::bigint;
    v_fixed_cap integer := recs.setting('similarity_item_degree_cap')::integer;
    v_cap integer;
BEGIN
    SELECT coalesce(max(d.users), 0) INTO v_cap
    FROM (SELECT s.users, sum(s.users::bigint * (s.users - 1)) OVER (ORDER BY s.users) AS rows_so_far
          FROM recs.item_stats s) d
    WHERE d.rows_so_far <= v_budget;
    IF v_fixed_cap > 0 THEN
        v_cap := least(v_cap, v_fixed_cap);
    END IF;
    RETURN v_cap;
END;
$$;
COMMENT ON FUNCTION recs.similarity_degree_cap() IS
    'Most users a present may have to enter the neighbour search (similarity_candidate_budget, similarity_item_degree_cap).';
