-- Online measurement: what the service served (recs.served_pages, one row per recorded response,
-- and recs.served_presents, one per present on it with its position), the clicks and likes the
-- sync attributes to them (recs.sync_attribute_served: an event by the same user on the same
-- present within online_attribution_hours of serving), and experiments as data
-- (recs.experiments, recs.experiment_variants: users split by a stable hash, each variant's
-- overrides of recs.settings applied to its users' rankings). The report views
-- recs.report_online_* read them; the cleanup job trims them after online_retention_days; a
-- user's erasure removes their served pages.
INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('online_record_share', '0.1',
     'Share of recommendation responses of known users whose served page the app records (recs.served_pages), picked at random per response; 0: none, 1: all. Read by the app within DATA_VERSION_MAX_AGE_MS.',
     'number', 0, 1),
    ('online_attribution_hours', '24',
     'A click or like counts for a served present when the same user makes it within this many hours after the page was served.',
     'integer', 1, 720),
    ('online_retention_days', '30',
     'Days of served pages (recs.served_pages, recs.served_presents) the cleanup job keeps.',
     'integer', 1, 3650);

CREATE TABLE recs.served_pages (
    recommendation_id  uuid PRIMARY KEY,
    served_at          timestamptz NOT NULL,
    route              text NOT NULL CHECK (route IN ('popular', 'personalized', 'similar')),
    user_id            uuid,
    algorithm          text NOT NULL,
    experiment         text,
    variant            text,
    presents           integer NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX served_pages_served_at_idx ON recs.served_pages (served_at);
CREATE INDEX served_pages_user_id_idx ON recs.served_pages (user_id) WHERE user_id IS NOT NULL;
COMMENT ON TABLE recs.served_pages IS
    'Recommendation responses the app recorded (online_record_share of them): recommendation_id (the response''s), when, route, user (NULL: anonymous), algorithm (tier), experiment and variant. Written by api.record_served; trimmed by the cleanup job after online_retention_days.';

CREATE TABLE recs.served_presents (
    recommendation_id  uuid NOT NULL REFERENCES recs.served_pages ON DELETE CASCADE,
    position           smallint NOT NULL,
    item_id            integer NOT NULL,
    user_id            uuid,
    served_at          timestamptz NOT NULL,
    clicked_at         timestamptz,
    liked_at           timestamptz,
    PRIMARY KEY (recommendation_id, position)
);
CREATE INDEX served_presents_attribution_idx ON recs.served_presents (user_id, item_id, served_at)
    WHERE user_id IS NOT NULL;
COMMENT ON TABLE recs.served_presents IS
    'Each present of a recorded page: position on the page (1 = first), recs.items key, the page''s user and time (copied for the attribution lookup), and the first click and like by that user on it within online_attribution_hours (set by the sync).';

CREATE TABLE recs.experiments (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    description  text NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz,
    CHECK (stopped_at IS NULL OR stopped_at >= started_at)
);
-- At most one experiment runs at a time: every user is in at most one variant.
CREATE UNIQUE INDEX experiments_one_running_idx ON recs.experiments ((true)) WHERE stopped_at IS NULL;
COMMENT ON TABLE recs.experiments IS
    'Experiments on live traffic: one runs at a time (stopped_at NULL); its variants split the users (recs.experiment_variants).';

CREATE TABLE recs.experiment_variants (
    experiment  text NOT NULL REFERENCES recs.experiments ON DELETE CASCADE,
    variant     text NOT NULL CHECK (variant ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    share       numeric(5, 4) NOT NULL CHECK (share > 0 AND share <= 1),
    overrides   jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (experiment, variant)
);
COMMENT ON TABLE recs.experiment_variants IS
    'The variants of an experiment: the share of users each gets (in variant name order over recs.experiment_bucket; shares sum to at most 1, the rest is in no variant) and the recs.settings values it overrides for them (validated as the settings are).';
CREATE TRIGGER experiment_variants_check_overrides BEFORE INSERT OR UPDATE ON recs.experiment_variants
    FOR EACH ROW EXECUTE FUNCTION recs.check_variant_overrides();

-- recs.check_variant_shares: the shares of an experiment's variants sum to at most 1.
-- Arguments: none (constraint trigger). Result: none. Errors: 22023 naming the experiment.
-- Caller: the experiment_variants_check_shares trigger (AFTER INSERT OR UPDATE, at commit).
CREATE FUNCTION recs.check_variant_shares() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_total numeric := (SELECT sum(v.share) FROM recs.experiment_variants v WHERE v.experiment = NEW.experiment);
BEGIN
    IF v_total > 1 THEN
        RAISE EXCEPTION 'the shares of experiment % sum to %, more than 1', NEW.experiment, v_total
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'share';
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION recs.check_variant_shares() IS 'Constraint trigger: an experiment''s variant shares sum to at most 1.';
CREATE CONSTRAINT TRIGGER experiment_variants_check_shares AFTER INSERT OR UPDATE ON recs.experiment_variants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION recs.check_variant_shares();
