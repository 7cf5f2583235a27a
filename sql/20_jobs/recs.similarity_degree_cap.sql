-- recs.similarity_degree_cap: the most users of one present that enter the neighbour search as
-- candidates (those with the largest vector values, recs.similarity_rebuild_vectors). A user
-- meets, through each of their presents, the present's candidates: with a cap of M a present of
-- n users generates min(n, M) x (n - 1) candidate rows, and the cap is the largest M whose sum
-- over all presents stays within similarity_candidate_budget (the sum grows by Σ (n - 1) over
-- the presents of more than M users per unit of M; no larger than the most users of a present:
-- then every user of every present is a candidate); similarity_item_degree_cap, when set (> 0),
-- limits it further. Reads recs.item_stats as the run's step 1 left it.
-- Arguments: none. Result: the cap (0 when the budget cannot give every present one candidate).
-- Errors: bad settings (22P02). Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_degree_cap() RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_budget bigint := recs.setting('similarity_candidate_budget')::bigint;
    v_fixed_cap integer := recs.setting('similarity_item_degree_cap')::integer;
    v_cap bigint;
BEGIN
    -- At each degree d: rows(d) = Σ_{n <= d} n (n - 1) + d Σ_{n > d} (n - 1), growing by the
    -- tail's Σ (n - 1) per unit up to the next degree. The largest d within the budget (or 0),
    -- then as many units of its tail as the rest of the budget pays for.
    WITH degrees AS (
        SELECT s.users::bigint AS degree, sum(s.users::bigint * (s.users - 1)) AS squares,
               sum(s.users::bigint - 1) AS links
        FROM recs.item_stats s GROUP BY s.users
    ), steps AS (
        SELECT 0::bigint AS degree, 0::numeric AS within, (SELECT coalesce(sum(links), 0) FROM degrees) AS tail
        UNION ALL
        SELECT d.degree, sum(d.squares) OVER w,
               (SELECT coalesce(sum(links), 0) FROM degrees) - sum(d.links) OVER w
        FROM degrees d
        WINDOW w AS (ORDER BY d.degree)
    )
    SELECT s.degree + CASE WHEN s.tail > 0 THEN floor((v_budget - s.within - s.degree * s.tail) / s.tail)::bigint
                           ELSE 0 END
    INTO v_cap
    FROM steps s
    WHERE s.within + s.degree * s.tail <= v_budget
    ORDER BY s.degree DESC
    LIMIT 1;
    v_cap := least(coalesce(v_cap, 0), 2147483647);
    IF v_fixed_cap > 0 THEN
        v_cap := least(v_cap, v_fixed_cap);
    END IF;
    RETURN v_cap;
END;
$$;
COMMENT ON FUNCTION recs.similarity_degree_cap() IS
    'Most users of a present that are candidates in the neighbour search (similarity_candidate_budget, similarity_item_degree_cap).';
