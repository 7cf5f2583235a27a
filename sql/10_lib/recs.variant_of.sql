-- recs.variant_of: the variant of the running experiment a user is in, as the app assigns it:
-- the variants in name order share [0, 1) by their shares, and the user's
-- recs.experiment_bucket falls in one of them (or past them all: NULL, no variant).
-- Arguments: p_user_id. Result: the variant name, NULL when none (or no experiment runs).
-- Errors: none. Caller: analysts and the psql recipes (docs/operations.md).
CREATE OR REPLACE FUNCTION recs.variant_of(p_user_id uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT v.variant
    FROM (SELECT v.variant, v.experiment,
                 sum(v.share) OVER (PARTITION BY v.experiment ORDER BY v.variant) AS upto
          FROM recs.experiment_variants v
          JOIN recs.experiments e ON e.name = v.experiment AND e.stopped_at IS NULL) v
    WHERE recs.experiment_bucket(v.experiment, p_user_id) < v.upto
    ORDER BY v.upto
    LIMIT 1;
$$;
COMMENT ON FUNCTION recs.variant_of(uuid) IS
    'The running experiment''s variant of a user (stable hash over the shares in name order); NULL if none.';
