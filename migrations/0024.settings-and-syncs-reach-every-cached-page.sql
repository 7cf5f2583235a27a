-- A setting is read at request time by /popular (min_segment_users) as well as /personalized: a
-- change now bumps both data versions, so no cached page of either kind outlives it. The
-- 'synced' version (bumped by recs.sync_main when it changed presents or interactions) keys the
-- pages and profile copies that read recs.items and recs.interactions directly.
DROP TRIGGER settings_bump_personalized_version ON recs.settings;
DROP FUNCTION recs.bump_personalized_version();
CREATE FUNCTION recs.bump_serving_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM recs.bump_data_version('popular');
    PERFORM recs.bump_data_version('personalized');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION recs.bump_serving_versions() IS
    'Trigger: a changed setting bumps the popular and personalized data versions (cached pages are keyed on them).';
CREATE TRIGGER settings_bump_serving_versions AFTER UPDATE ON recs.settings
    FOR EACH ROW WHEN (OLD.value IS DISTINCT FROM NEW.value) EXECUTE FUNCTION recs.bump_serving_versions();
-- The API reads the new version columns; sql/ creates the functions again.
DROP FUNCTION IF EXISTS api.personalized_cache_state(uuid, boolean);
DROP FUNCTION IF EXISTS api.user_profile(uuid);
