-- K and the weights are read by api.personalized on every request: a change of any setting
-- makes cached personalised pages stale at once, so it bumps the 'personalized' data version
-- (part of their cache key), the same way a refresh does.
CREATE FUNCTION recs.bump_personalized_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM recs.bump_data_version('personalized');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION recs.bump_personalized_version() IS
    'Trigger: a changed setting bumps the personalized data version (cached pages are keyed on it).';
CREATE TRIGGER settings_bump_personalized_version AFTER UPDATE ON recs.settings
    FOR EACH ROW WHEN (OLD.value IS DISTINCT FROM NEW.value) EXECUTE FUNCTION recs.bump_personalized_version();
