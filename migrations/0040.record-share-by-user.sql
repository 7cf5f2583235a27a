-- online_record_share samples users, not responses: the app records every page of the users whose
-- place (CRC-32 of the user id over 2^32, service.online.recording_point) is below the share, and
-- none of the others', so a click is credited to the page that showed the present rather than to
-- an older recorded page when the one in between was not sampled.
UPDATE recs.settings
SET description = 'Share of known users whose served pages the app records (recs.served_pages), every page of a user in the sample (a stable hash of the user id) and none of the others; 0: none, 1: all. Read by the app within DATA_VERSION_MAX_AGE_MS.'
WHERE key = 'online_record_share';
COMMENT ON TABLE recs.served_pages IS
    'Recommendation responses the app recorded (every page of the online_record_share of users in the sample), one row each: recommendation_id (the response''s), when, route, user (NULL: anonymous), algorithm (tier), experiment and variant, and the presents shown. Written by api.record_served; trimmed by the cleanup job after online_retention_days; a user''s erasure deletes theirs.';
