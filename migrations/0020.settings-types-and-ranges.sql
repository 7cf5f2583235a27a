-- Every setting gets a type and a range, checked on every write (trigger settings_check_value,
-- function recs.check_setting_value in sql/00_domain): a value that would break a refresh or a
-- request (text where a number is read, a negative count, a history so long that a request would
-- time out) is refused with an error naming the key and the allowed range. The ranges are data:
-- a DBA reads them beside the values (SELECT key, value, value_type, min_value, max_value FROM
-- recs.settings), and a migration that adds a setting gives its rule. Values stored before this
-- migration are left as they are; the next write of each is checked.
ALTER TABLE recs.settings
    ADD COLUMN value_type text,
    ADD COLUMN min_value numeric,
    ADD COLUMN max_value numeric;

UPDATE recs.settings s
SET value_type = r.value_type, min_value = r.min_value, max_value = r.max_value
FROM (VALUES
    ('like_weight', 'number', 0, 1000),
    ('click_weight', 'number', 0, 1000),
    ('popularity_half_life_days', 'number', 0.01, 1000000),
    ('min_segment_users', 'integer', 0, 100000000),
    ('sync_overlap_minutes', 'integer', 0, 1440),
    ('full_resync_hours', 'integer', 1, 8760),
    ('max_similar_users', 'integer', 1, 500),
    ('min_interactions_for_similarity', 'integer', 1, 1000),
    ('similarity_item_degree_cap', 'integer', 0, 100000000),
    ('similarity_iuf', 'boolean', NULL, NULL),
    ('similarity_click_cap', 'integer', 0, 1000),
    ('similarity_full_rebuild_hours', 'integer', 1, 8760),
    ('neighbor_history_limit', 'integer', 1, 1000),
    ('collaborative_min_interactions', 'integer', 1, 1000),
    ('content_price_band_factor', 'number', 1, 1000),
    ('job_run_retention_days', 'integer', 1, 36500),
    ('cron_history_retention_days', 'integer', 1, 36500),
    ('neighbor_pool_size', 'integer', 1, 500),
    ('similarity_candidate_budget', 'integer', 0, 2000000000),
    ('neighbor_history_half_life', 'number', 0, 100000),
    ('similarity_parallel_workers', 'integer', 0, 64)
) AS r(key, value_type, min_value, max_value)
WHERE s.key = r.key;

ALTER TABLE recs.settings
    ALTER COLUMN value_type SET NOT NULL,
    ADD CONSTRAINT settings_value_type_check CHECK (value_type IN ('boolean', 'integer', 'number')),
    ADD CONSTRAINT settings_range_check CHECK (CASE WHEN value_type = 'boolean'
                                                    THEN min_value IS NULL AND max_value IS NULL
                                                    ELSE coalesce(min_value <= max_value, false) END);
COMMENT ON COLUMN recs.settings.value_type IS 'boolean (true/false), integer or number: what the value must be.';
COMMENT ON COLUMN recs.settings.min_value IS 'Smallest value accepted (integer and number settings).';
COMMENT ON COLUMN recs.settings.max_value IS 'Largest value accepted (integer and number settings).';

CREATE TRIGGER settings_check_value BEFORE INSERT OR UPDATE ON recs.settings
    FOR EACH ROW EXECUTE FUNCTION recs.check_setting_value();
