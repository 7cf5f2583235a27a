-- recs.sync_source_totals: step 6 of recs.sync_main. Main's totals of public and private
-- presents, likes and clicks for GET /stats, counted here (the aggregates run on main's side) so
-- that no request ever counts over the FDW: at a full sync, or when the last count is an hour
-- old, to spare main.
-- Arguments: p_full. Result: none. Errors: FDW errors when main is unreachable.
-- Caller: recs.sync_main (reads sync_presents).
CREATE OR REPLACE FUNCTION recs.sync_source_totals(p_full boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_full OR coalesce((SELECT min(counted_at) FROM recs.source_totals), '-infinity') < now() - interval '1 hour'
       OR (SELECT count(*) FROM recs.source_totals) < 4 THEN
        INSERT INTO recs.source_totals AS t (name, total, counted_at)
        VALUES ('public_presents', (SELECT count(*) FROM sync_presents), now()),
               ('private_presents', (SELECT count(*) FROM main.handpicked_presents WHERE user_id IS NOT NULL), now()),
               ('likes', (SELECT count(*) FROM main.handpicked_likes), now()),
               ('clicks', (SELECT count(*) FROM main.handpicked_present_clicks), now())
        ON CONFLICT (name) DO UPDATE SET total = excluded.total, counted_at = excluded.counted_at;
    END IF;
    PERFORM recs.job_step('sync.totals_counted');
END;
$$;
COMMENT ON FUNCTION recs.sync_source_totals(boolean) IS
    'Sync step 6: main''s totals (public/private presents, likes, clicks) for /stats, at most hourly.';
