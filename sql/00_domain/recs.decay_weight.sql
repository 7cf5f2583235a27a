-- recs.decay_weight: the weight of an event at p_at in time-decayed sums with a fixed epoch,
-- 2^((p_at - p_epoch) / half-life), the exponent clamped to +-1000 (float8 range): a sum of these
-- ranks as decay measured from now does, and changes only where events are added.
-- Arguments: p_at, p_epoch, p_half_life_days. Result: the weight. Errors: none.
-- Caller: recs.sync_pairs (decayed click sums), recs.sync_decay_epoch (rebasing).
CREATE OR REPLACE FUNCTION recs.decay_weight(
    p_at timestamptz, p_epoch timestamptz, p_half_life_days double precision
) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT power(2::double precision, greatest(-1000, least(1000,
               date_part('epoch', p_at - p_epoch) / (p_half_life_days * 86400))));
$$;
COMMENT ON FUNCTION recs.decay_weight(timestamptz, timestamptz, double precision) IS
    '2^((at - epoch) / half-life), exponent clamped: an event''s weight in fixed-epoch decayed sums.';
