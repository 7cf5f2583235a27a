-- recs.wilson_bound: a bound of the Wilson score interval of a proportion (successes out of
-- trials): the lower bound with p_z < 0, the upper with p_z > 0 (1.96: a 95 % interval).
-- Arguments: p_successes, p_trials, p_z. Result: the bound in [0, 1]; NULL without trials.
-- Errors: none. Caller: recs.report_online_rates, recs.report_online_positions.
CREATE OR REPLACE FUNCTION recs.wilson_bound(p_successes bigint, p_trials bigint, p_z double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_trials > 0 THEN
        greatest(0, least(1,
            (p_successes::double precision / p_trials + p_z * p_z / (2 * p_trials)
             + p_z * sqrt(p_successes::double precision / p_trials * (1 - p_successes::double precision / p_trials)
                          / p_trials + p_z * p_z / (4.0 * p_trials * p_trials)))
            / (1 + p_z * p_z / p_trials)))
    END;
$$;
COMMENT ON FUNCTION recs.wilson_bound(bigint, bigint, double precision) IS
    'Wilson score interval bound of successes/trials (p_z < 0: lower, > 0: upper); NULL without trials.';
