-- recs.sync_source_totals: step 6 of recs.sync_main. Main's totals of public and private
-- presents, likes and clicks for GET /stats, counted here (the aggregates run on main's side) so
-- that no request ever counts over the FDW: at a full sync, or when the last count is an hour
-- old and none was tried within the hour (attempted_at), to spare main. A count main cancels
-- itself (a statement_timeout of its own for the reader, shorter than counting a large table,
-- while every read of the sync is short) leaves the totals as they were and the sync goes on: the
-- counts are for /stats only, and failing the sync for them failed every job from then on, since
-- the last count stayed an hour old. It is tried again an hour later, or at the next full sync.
-- Arguments: p_full. Result: none. Errors: FDW errors when main is unreachable; a cancel of the
--   job's own statement (57014, JOB_STATEMENT_TIMEOUT_S) is raised.
-- Caller: recs.sync_main (reads sync_presents).
CREATE OR REPLACE FUNCTION recs.sync_source_totals(p_full boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_context text;
BEGIN
    IF p_full
       OR ((SELECT count(*) FROM recs.source_totals) < 4
           OR coalesce((SELECT min(counted_at) FROM recs.source_totals), '-infinity') < now() - interval '1 hour')
          AND coalesce((SELECT max(attempted_at) FROM recs.source_totals), '-infinity') < now() - interval '1 hour' THEN
        BEGIN  -- a subtransaction: postgres_fdw rolls main's side back to its savepoint on a cancel
            INSERT INTO recs.source_totals AS t (name, total, counted_at, attempted_at)
            VALUES ('public_presents', (SELECT count(*) FROM sync_presents), now(), now()),
                   ('private_presents', (SELECT count(*) FROM main.handpicked_presents WHERE user_id IS NOT NULL), now(), now()),
                   ('likes', (SELECT count(*) FROM main.handpicked_likes), now(), now()),
                   ('clicks', (SELECT count(*) FROM main.handpicked_present_clicks), now(), now())
            ON CONFLICT (name) DO UPDATE
                SET total = excluded.total, counted_at = excluded.counted_at, attempted_at = excluded.attempted_at;
        EXCEPTION WHEN query_canceled THEN
            GET STACKED DIAGNOSTICS v_context = PG_EXCEPTION_CONTEXT;
            IF NOT recs.cancelled_by_main(v_context) THEN
                RAISE;
            END IF;
            RAISE WARNING 'main cancelled the count of its totals for /stats (its statement_timeout?): they stay as counted at %',
                (SELECT min(counted_at) FROM recs.source_totals);
            UPDATE recs.source_totals SET attempted_at = now();  -- none before: tried at each sync
            PERFORM recs.job_step('sync.totals_cancelled_by_main');
            RETURN;
        END;
    END IF;
    PERFORM recs.job_step('sync.totals_counted');
END;
$$;
COMMENT ON FUNCTION recs.sync_source_totals(boolean) IS
    'Sync step 6: main''s totals (public/private presents, likes, clicks) for /stats, at most hourly.';
