-- recs.job_refresh_learned_weights: keeps recs.item_learned_weights, the learned item weights,
-- current with the item neighbour lists they are computed from. For each of the
-- item_learned_presents presents with the most users that have item neighbours (the target j),
-- its regressors R are the first item_learned_neighbors presents of its list; b = (G_RR + λI)⁻¹
-- (G_Rj + λ c s_Rj) with G the co-occurrences Σ_u x_ua x_ub over the users' histories
-- (recs.user_histories, as the item neighbours read them; x the interaction weight), λ =
-- item_learned_ridge, c = item_learned_prior and s_ij the similarity of i to j as i's own list
-- measures it, dot(i, j) / (|i|^(2a) |j|^(2(1 - a))) with a the lists' asymmetry, derived from j's
-- list entry for i and the two presents' lengths (recs.item_history_norms). j's entry is computed
-- over j's sample of users (item_neighbor_user_sample), so for a present with more users than
-- that the derived value is lower than i's by about (the sample's share of j's users)^(1 - a).
-- EASE restricted to the neighbours and shrunk towards c times the similarities rather than
-- towards 0: a target whose co-occurrences are few next to λ keeps weights near c times its
-- similarities, one with many gets its regression. The co-occurrences are counted once for every
-- pair of presents that some solve reads (recs.learned_weight_pairs), the systems built in one
-- join (their prior terms in another, with the lengths), each solved by
-- recs.cholesky_solve; recs.item_learned_weights is rewritten with the transpose (per regressor i,
-- the targets j and b_ij, at most item_neighbor_pool_size of them, the largest |b_ij|), which
-- recs.item_neighbor_scores reads.
-- The lists change only when the job refresh_item_neighbors recomputes them, so the weights are
-- recomputed only when it did since they were (recs.sync_state 'item_neighbors'.full_synced_at)
-- or a setting they depend on changed (recorded in recs.sync_state row 'learned_weights'; deleting
-- it forces a recompute); otherwise a run only checks and returns 0. A job of its own, so that
-- the size of the solves (k³/6 multiply-adds each) is not taken from the lists' time: until it
-- runs, pages blend the new lists with the weights of the previous ones, each read on its own.
-- It reads only this database (no sync from main). It first locks the histories, the presents'
-- lengths and the lists against writes (SHARE): a run of refresh_item_neighbors in progress finishes first, and the
-- weights are solved from one state of all three, the one whose recompute it records; a run of it
-- that starts meanwhile waits for this one (at the target scale the half minute of a recompute;
-- a run that only checks takes no time). One transaction: readers keep the old weights until it commits; a failed
-- run leaves them. Marks the step learned.checked when the weights were current, learned.written
-- when it recomputed them, and then bumps the 'personalized' data version.
-- Arguments: none. Result: presents solved (0 when the weights were current).
-- Errors: bad settings (22P02), logged by recs.run_job; the old weights stay.
-- Caller: recs.run_job('refresh_learned_weights') from pg_cron (job "refresh-learned-weights",
--   hourly, after the job refresh_item_neighbors), psql, POST /admin/jobs/refresh_learned_weights.
CREATE OR REPLACE FUNCTION recs.job_refresh_learned_weights() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_neighbors integer;
    v_ridge double precision;
    v_presents integer;
    v_pool integer;
    v_prior double precision;
    v_asymmetry double precision;
    v_settings jsonb;
    v_lists_as_of timestamptz;
    v_state recs.sync_state;
    v_started timestamptz := now();
    v_solved bigint := 0;
BEGIN
    PERFORM recs.set_job_limits();
    -- In the order refresh_item_neighbors writes them (histories and lengths, then lists), so neither waits
    -- for the other while holding what the other waits for.
    LOCK TABLE recs.user_histories, recs.item_history_norms, recs.item_neighbors IN SHARE MODE;
    v_neighbors := recs.setting('item_learned_neighbors')::integer;
    v_ridge := recs.setting('item_learned_ridge')::double precision;
    v_presents := recs.setting('item_learned_presents')::integer;
    v_pool := recs.setting('item_neighbor_pool_size')::integer;
    v_prior := recs.setting('item_learned_prior')::double precision;
    v_settings := jsonb_build_object('neighbors', v_neighbors, 'ridge', v_ridge, 'presents', v_presents,
                                     'pool', v_pool, 'prior', v_prior);
    -- The asymmetry the lists were computed with (a change of the setting recomputes them first);
    -- the setting's value when their state is not recorded (its row deleted).
    SELECT s.full_synced_at, (s.details -> 'computed_with' ->> 'asymmetry')::double precision
    INTO v_lists_as_of, v_asymmetry
    FROM recs.sync_state s WHERE s.source = 'item_neighbors';
    v_asymmetry := coalesce(v_asymmetry, recs.setting('item_similarity_asymmetry')::double precision);
    SELECT * INTO v_state FROM recs.sync_state s WHERE s.source = 'learned_weights' FOR UPDATE;
    IF FOUND AND (v_state.details ->> 'lists_as_of')::timestamptz IS NOT DISTINCT FROM v_lists_as_of
       AND v_state.details -> 'computed_with' = v_settings THEN
        PERFORM recs.job_step('learned.checked');
        RETURN 0;  -- computed from these lists with these settings
    END IF;

    DELETE FROM recs.item_learned_weights;  -- not TRUNCATE: readers keep the old rows until commit
    IF v_neighbors > 0 AND v_presents > 0 THEN
        CREATE TEMP TABLE learned_targets ON COMMIT DROP AS
        SELECT n.item_id, n.neighbor_ids[1:v_neighbors] AS regressors,
               n.similarities[1:v_neighbors] AS similarities, l.squared
        FROM recs.item_neighbors n
        JOIN recs.item_stats s ON s.item_id = n.item_id
        LEFT JOIN recs.item_history_norms l ON l.item_id = n.item_id
        ORDER BY s.users DESC, n.item_id
        LIMIT v_presents;
        -- Each system's prior term λ c s_ij, in regressor order: s_ij from j's list entry for i,
        -- dot(i, j) / (|j|^(2a) |i|^(2(1 - a))), times (|j|² / |i|²)^(2a - 1); 0 where an entry is
        -- missing or not above 0, or a length is. One join with the lengths for every pair (not a
        -- probe per system).
        CREATE TEMP TABLE learned_priors ON COMMIT DROP AS
        SELECT t.item_id,
               array_agg(CASE WHEN v_prior > 0 AND t.similarities[r.n] > 0
                                   AND l.squared > 0 AND t.squared > 0
                              THEN v_ridge * v_prior * t.similarities[r.n]
                                   * (t.squared / l.squared) ^ (2 * v_asymmetry - 1)
                              ELSE 0 END
                         ORDER BY r.n) AS terms
        FROM learned_targets t
        CROSS JOIN LATERAL unnest(t.regressors) WITH ORDINALITY AS r(item_id, n)
        LEFT JOIN recs.item_history_norms l ON l.item_id = r.item_id
        GROUP BY t.item_id;
        ALTER TABLE learned_priors ADD PRIMARY KEY (item_id);
        -- The histories' entries for the presents some solve reads, then their co-occurrences.
        CREATE TEMP TABLE learned_entries ON COMMIT DROP AS
        SELECT h.user_key, e.item_id, e.weight * h.norm AS weight
        FROM recs.user_histories h
        CROSS JOIN LATERAL unnest(h.item_ids, h.weights) AS e(item_id, weight)
        WHERE e.item_id IN (SELECT t.item_id FROM learned_targets t
                            UNION
                            SELECT r.item_id FROM learned_targets t CROSS JOIN LATERAL unnest(t.regressors) AS r(item_id));
        ANALYZE learned_entries;
        PERFORM recs.learned_weight_pairs();  -- the pairs the systems read, summed
        ANALYZE learned_pairs;
        PERFORM recs.job_step('learned.pairs');

        -- Each system: the lower triangle of G_RR + λI packed by rows, and G_Rj + λ c s_Rj.
        CREATE TEMP TABLE learned_solved ON COMMIT DROP AS
        SELECT t.item_id, t.regressors,
               recs.cholesky_solve(
                   (SELECT array_agg(coalesce(p.together, 0) + CASE WHEN r.n = c.n THEN v_ridge ELSE 0 END
                                     ORDER BY r.n, c.n)
                    FROM unnest(t.regressors) WITH ORDINALITY AS r(item_id, n)
                    JOIN unnest(t.regressors) WITH ORDINALITY AS c(item_id, n) ON c.n <= r.n
                    LEFT JOIN learned_pairs p
                        ON p.low_id = least(r.item_id, c.item_id) AND p.high_id = greatest(r.item_id, c.item_id)),
                   (SELECT array_agg(coalesce(p.together, 0) + q.terms[r.n] ORDER BY r.n)
                    FROM unnest(t.regressors) WITH ORDINALITY AS r(item_id, n)
                    LEFT JOIN learned_pairs p
                        ON p.low_id = least(r.item_id, t.item_id) AND p.high_id = greatest(r.item_id, t.item_id))
               ) AS weights
        FROM learned_targets t
        JOIN learned_priors q ON q.item_id = t.item_id;
        GET DIAGNOSTICS v_solved = ROW_COUNT;
        PERFORM recs.job_step('learned.solved');

        -- Per regressor at most item_neighbor_pool_size targets, the largest weights by size: a
        -- present that many regressions read (a popular one) costs a request no more than its list.
        INSERT INTO recs.item_learned_weights (item_id, target_ids, weights)
        SELECT w.item_id, array_agg(w.target_id ORDER BY w.weight DESC, w.target_id),
               array_agg(w.weight ORDER BY w.weight DESC, w.target_id)
        FROM (SELECT r.item_id, s.item_id AS target_id, r.weight,
                     row_number() OVER (PARTITION BY r.item_id ORDER BY abs(r.weight) DESC, s.item_id) AS rank
              FROM learned_solved s
              CROSS JOIN LATERAL unnest(s.regressors, s.weights) AS r(item_id, weight)
              WHERE r.weight <> 0) w
        WHERE w.rank <= v_pool
        GROUP BY w.item_id
        ORDER BY w.item_id;
        DROP TABLE learned_targets, learned_priors, learned_entries, learned_pairs, learned_solved;
    END IF;
    ANALYZE recs.item_learned_weights;
    PERFORM recs.job_step('learned.written');

    INSERT INTO recs.sync_state AS s (source, synced_at, details)
    VALUES ('learned_weights', v_started,
            jsonb_build_object('lists_as_of', v_lists_as_of, 'computed_with', v_settings, 'presents', v_solved))
    ON CONFLICT (source) DO UPDATE SET synced_at = excluded.synced_at, details = excluded.details;
    PERFORM recs.bump_data_version('personalized');
    RETURN v_solved;
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_learned_weights() IS
    'Recompute the learned item weights (a ridge regression of each present on its item neighbours, written transposed to recs.item_learned_weights) when the lists or the settings changed. CALL recs.run_job(''refresh_learned_weights'');';
