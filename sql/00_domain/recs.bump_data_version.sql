-- recs.bump_data_version: a new version of a derived dataset; cache keys include it, so cached
-- responses of the previous version are never served again.
-- Arguments: p_name: 'popular' (popularity tables), 'profiles' (profile table), 'personalized'
--   (neighbour pools), 'synced' (recs.items or recs.interactions). Result: the new version.
-- Errors: none.
-- Caller: job functions and recs.sync_main, when they changed something; the settings trigger
--   (recs.bump_serving_versions), which also fires in migrations; recs.erase_users.
CREATE OR REPLACE FUNCTION recs.bump_data_version(p_name text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO recs.data_versions AS v (name, version, as_of) VALUES (p_name, 1, now())
    ON CONFLICT (name) DO UPDATE SET version = v.version + 1, as_of = now()
    RETURNING version;
$$;
COMMENT ON FUNCTION recs.bump_data_version(text) IS 'Increment a dataset''s version (cache keys change at once).';
