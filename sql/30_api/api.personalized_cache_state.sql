-- api.personalized_cache_state: what a cached personalised page depends on, so the cache key
-- changes the moment any of it does: the popular, personalized and synced data versions and a
-- fingerprint of the user's events not yet synced (read live from main: their count, the newest
-- time and a digest of every (present, time), so an unlike and a like stamped before the newest
-- event change it too), of their key in
-- recs.users (an erasure removes it: their cached pages are never served again), of their
-- stored demographics (a PUT /user-profile moves them to another segment or region at once) and
-- of their lasting dismissals (a dismissal, its undoing or its expiry changes the key).
-- Arguments: p_user_id; p_read_main (false: do not try main, as while the API's circuit breaker
--   is open). Result: one row (popular_version, personalized_version, synced_version,
--   fresh_fingerprint, fresh_checked); fresh_checked is false when main was not or could not be read, and the
--   fingerprint then says 'unchecked' (a page ranked without main is cached apart).
-- Errors: none of main's (a main-DB failure, its own cancel included, is reported, not raised); a
--   cancel of this statement (57014) is raised.
-- Caller: POST /personalized and POST /similar with a user_id, before looking in Redis.
CREATE OR REPLACE FUNCTION api.personalized_cache_state(p_user_id uuid, p_read_main boolean)
RETURNS TABLE (popular_version bigint, personalized_version bigint, synced_version bigint, fresh_fingerprint text,
               fresh_checked boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT v.version INTO popular_version FROM recs.data_versions v WHERE v.name = 'popular';
    SELECT v.version INTO personalized_version FROM recs.data_versions v WHERE v.name = 'personalized';
    SELECT coalesce(max(v.version), 0) INTO synced_version FROM recs.data_versions v WHERE v.name = 'synced';
    fresh_fingerprint := 'unchecked';
    fresh_checked := false;
    IF p_read_main THEN
        -- Every event counts, not only how many there are and the newest: an unlike and a like
        -- stamped before the newest event (a Rails server's clock behind, a late commit) keep both.
        SELECT CASE WHEN NOT r.checked THEN 'unchecked'
                    WHEN cardinality(r.item_ids) = 0 THEN '0/-'  -- service/user_pages.py: NO_FRESH_EVENTS
                    ELSE cardinality(r.item_ids) || '/' || coalesce((SELECT max(c) FROM unnest(r.created_ats) c)::text, '-')
                         || '/' || md5(ARRAY(SELECT e.item_id || '@' || coalesce(e.created_at::text, '-')
                                             FROM unnest(r.item_ids, r.created_ats) e(item_id, created_at)
                                             ORDER BY 1)::text) END,
               r.checked
        INTO fresh_fingerprint, fresh_checked
        FROM recs.read_fresh_interactions(p_user_id) r;
    END IF;
    -- The key is never reused: once the user is erased (api.erase_user), no key of their old
    -- pages can be built again, whatever else stays the same.
    fresh_fingerprint := fresh_fingerprint || '|' || coalesce(
        (SELECT u.user_key || '@' || coalesce(d.updated_at::text, '-')
                || '|' || md5(recs.dismissed_items(u.user_key)::text)
         FROM recs.users u LEFT JOIN recs.user_demographics d ON d.user_key = u.user_key
         WHERE u.user_id = p_user_id), '-');
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.personalized_cache_state(uuid, boolean) IS
    'Data versions and a fingerprint of the user''s not-yet-synced events, key, demographics and dismissals (cache key of POST /personalized and /similar with a user).';
