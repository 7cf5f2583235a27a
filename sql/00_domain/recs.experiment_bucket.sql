-- recs.experiment_bucket: a user's stable place in [0, 1) for an experiment: the first 32 bits of
-- md5('<experiment>:<user id>') over 2^32. The app computes the same (service/online.py), so a
-- user keeps their variant in every worker and replica, and each experiment splits users anew.
-- Arguments: p_experiment, p_user_id. Result: a number in [0, 1). Errors: none.
-- Caller: recs.variant_of (analysts, psql recipes).
CREATE OR REPLACE FUNCTION recs.experiment_bucket(p_experiment text, p_user_id uuid) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || left(md5(p_experiment || ':' || p_user_id::text), 8))::bit(32)::bigint / 4294967296.0;
$$;
COMMENT ON FUNCTION recs.experiment_bucket(text, uuid) IS
    'A user''s stable hash in [0, 1) for an experiment (first 32 bits of md5(experiment:user)).';
