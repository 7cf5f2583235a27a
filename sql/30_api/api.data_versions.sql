-- api.data_versions: the current version and computation time of each derived dataset.
-- Arguments: none. Result: (name, version, as_of) per dataset. Errors: none.
-- Caller: every cached route, to build its cache key (a refresh changes the key at once).
CREATE OR REPLACE FUNCTION api.data_versions()
RETURNS TABLE (name text, version bigint, as_of timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT v.name, v.version, v.as_of FROM recs.data_versions v ORDER BY v.name;
$$;
COMMENT ON FUNCTION api.data_versions() IS 'Version and as-of time per derived dataset. Called by cached routes.';
