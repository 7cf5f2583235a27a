-- api.online_config: what the app needs to record and to split users: the share of responses to
-- record (online_record_share) and the running experiment with its variants.
-- Arguments: none.
-- Result: one row (record_share, experiment, variants): experiment NULL when none runs; variants
--   a JSON array of {variant, share, overrides} in variant name order (the order the shares are
--   laid out over recs.experiment_bucket), empty when none runs.
-- Errors: none. Caller: the app, at most once per DATA_VERSION_MAX_AGE_MS per worker.
CREATE OR REPLACE FUNCTION api.online_config()
RETURNS TABLE (record_share double precision, experiment text, variants jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT recs.setting('online_record_share')::double precision, e.name,
           coalesce((SELECT jsonb_agg(jsonb_build_object('variant', v.variant, 'share', v.share,
                                                         'overrides', v.overrides) ORDER BY v.variant)
                     FROM recs.experiment_variants v WHERE v.experiment = e.name), '[]')
    FROM (SELECT 1) one
    LEFT JOIN recs.experiments e ON e.stopped_at IS NULL;
$$;
COMMENT ON FUNCTION api.online_config() IS
    'The recorded share of responses and the running experiment''s variants (share, overrides). Called by the app.';
