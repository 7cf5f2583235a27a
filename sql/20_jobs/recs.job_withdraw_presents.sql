-- recs.job_withdraw_presents: between syncs, takes the presents main has made private (or deleted)
-- out of every page at once, rather than at the next refresh job's sync (up to
-- POPULAR_ITEMS_REFRESH_MINUTES later): reads the ids of main's public presents (one remote scan
-- of two columns), and removes the known presents missing from them as a sync does
-- (recs.remove_presents), bumping the 'synced' data version (and 'popular', through it) so no
-- cached page shows them. Writes nothing and bumps nothing when no present went, so the caches
-- keep their pages. Scheduled every minute (withdraw-presents).
-- Main is read before any lock is taken: a main that hangs holds up this run alone (pg_cron's next
-- runs are skipped meanwhile), never a refresh job or an erasure. Then the erasures' lock and the
-- sync's, in the refresh jobs' order, each only if free (else the run returns 0 and the next one
-- tries again): this run never waits for a job or an erasure, nor one for it beyond its few
-- deletions. Only presents known before main was read are judged: one a sync added meanwhile is
-- not in the read and stays. One made public again after the read goes, and comes back at the
-- next sync.
-- Arguments: none. Result: presents removed.
-- Errors: 55000 when main has no public present while recs.items has some (as recs.sync_presents);
--   FDW errors when main is unreachable.
-- Caller: recs.execute_job (pg_cron, admin API).
CREATE OR REPLACE FUNCTION recs.job_withdraw_presents() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_known integer := (SELECT max(i.item_id) FROM recs.items i);  -- item keys only grow
    v_gone integer[];
    v_removed bigint;
BEGIN
    PERFORM recs.set_job_limits();
    IF v_known IS NULL THEN
        RETURN 0;
    END IF;
    CREATE TEMP TABLE withdraw_public ON COMMIT DROP AS
    SELECT p.id FROM main.handpicked_presents p WHERE p.user_id IS NULL;
    CREATE UNIQUE INDEX ON withdraw_public (id);
    ANALYZE withdraw_public;
    PERFORM recs.job_step('withdraw.presents_read');
    IF NOT EXISTS (SELECT 1 FROM withdraw_public) THEN
        RAISE EXCEPTION 'main.handpicked_presents holds no public present while % are known here: is MAIN_DATABASE_URL the Rails database? Nothing was removed',
            (SELECT count(*) FROM recs.items)
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT pg_try_advisory_xact_lock(recs.job_lock_key('derived_rows'))
       OR NOT pg_try_advisory_xact_lock(recs.sync_lock_key()) THEN
        RETURN 0;
    END IF;
    v_gone := ARRAY(
        SELECT i.item_id FROM recs.items i
        WHERE i.item_id <= v_known AND NOT EXISTS (SELECT 1 FROM withdraw_public w WHERE w.id = i.present_id)
    );
    DROP TABLE withdraw_public;
    IF cardinality(v_gone) = 0 THEN
        RETURN 0;
    END IF;
    v_removed := recs.remove_presents(v_gone);
    UPDATE recs.sync_state SET changed_at = now() WHERE source = 'decay';
    PERFORM recs.bump_data_version('synced');  -- pages and profiles read these tables directly
    PERFORM recs.job_step('withdraw.presents_removed');
    RETURN v_removed;
END;
$$;
COMMENT ON FUNCTION recs.job_withdraw_presents() IS
    'Every minute: presents main made private or deleted leave recs.items, their interactions and every page before the next sync.';
