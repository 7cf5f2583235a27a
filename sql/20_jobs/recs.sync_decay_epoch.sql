-- recs.sync_decay_epoch: step 3 of recs.sync_main. The epoch of the decayed sums
-- (recs.decay_weight): the stored one, unless the newest events read drift more than 400
-- half-lives from it (an event stamped after the sync's clock counts as of that clock, as
-- recs.sync_pairs sums it), when it moves to their day: on an incremental sync the stored click
-- sums are then rebased by multiplication (nothing re-read), a full resync recomputes them. The
-- first sync takes the day of the newest event read. Records the epoch,
-- the half-life and the sync time in recs.sync_state row 'decay'.
-- Arguments: p_full, p_half_life_days. Result: the epoch the new events are summed against.
-- Errors: none. Caller: recs.sync_main, after recs.sync_read_events (reads sync_events).
CREATE OR REPLACE FUNCTION recs.sync_decay_epoch(p_full boolean, p_half_life_days double precision)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    v_stored timestamptz;
    v_newest timestamptz;
    v_epoch timestamptz;
BEGIN
    SELECT decay_epoch INTO v_stored FROM recs.sync_state WHERE source = 'decay';
    SELECT least(max(created_at), recs.sync_clock()) INTO v_newest FROM sync_events;
    IF p_full AND (v_stored IS NULL
                   OR abs(date_part('epoch', coalesce(v_newest, now()) - v_stored)) / (p_half_life_days * 86400) > 400) THEN
        v_epoch := date_trunc('day', coalesce(v_newest, now()));
    ELSIF p_full THEN
        -- Kept: the sums a full resync recomputes against it equal the stored ones (to rounding,
        -- which recs.sync_replace_interactions allows), so the daily full resync rewrites only
        -- the rows that changed, and marks only their users for the profile and similarity jobs.
        v_epoch := v_stored;
    ELSE
        v_epoch := v_stored;
        IF v_newest IS NOT NULL
           AND abs(date_part('epoch', v_newest - v_epoch)) / (p_half_life_days * 86400) > 400 THEN
            v_epoch := date_trunc('day', v_newest);
            -- A sum that would shrink below e^-700 becomes 0: float8 raises on underflow.
            UPDATE recs.interactions
            SET click_decay = CASE WHEN click_decay = 0
                                        OR ln(click_decay) + ln(recs.decay_weight(v_stored, v_epoch, p_half_life_days)) < -700
                                   THEN 0
                                   ELSE click_decay * recs.decay_weight(v_stored, v_epoch, p_half_life_days) END;
        END IF;
    END IF;
    INSERT INTO recs.sync_state AS s (source, decay_epoch, half_life_days, synced_at, full_synced_at)
    VALUES ('decay', v_epoch, p_half_life_days, now(), CASE WHEN p_full THEN now() END)
    ON CONFLICT (source) DO UPDATE
        SET decay_epoch = excluded.decay_epoch, half_life_days = excluded.half_life_days, synced_at = now(),
            full_synced_at = coalesce(excluded.full_synced_at, s.full_synced_at);
    RETURN v_epoch;
END;
$$;
COMMENT ON FUNCTION recs.sync_decay_epoch(boolean, double precision) IS
    'Sync step 3: the decay epoch (set on the first sync, kept, rebased when events drift 400 half-lives away), recorded in recs.sync_state.';
