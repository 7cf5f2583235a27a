-- recs.refresh_jobs: the refresh jobs in the order they run (each reads what the previous one
-- synced or computed): popularity, profiles, similarities, the item neighbours (after a full
-- similarity run), then the learned item weights from them. The one list of them.
-- Arguments: none. Result: (job, position), position 1 first. Errors: none.
-- Caller: recs.refresh_all, `python -m service refresh` and the tools that refresh everything.
CREATE OR REPLACE FUNCTION recs.refresh_jobs()
RETURNS TABLE (job text, "position" integer)
LANGUAGE sql IMMUTABLE AS $$
    SELECT j.job, j.position
    FROM (VALUES ('refresh_popular_items', 1), ('refresh_user_profiles', 2),
                 ('refresh_user_similarities', 3), ('refresh_item_neighbors', 4),
                 ('refresh_learned_weights', 5)) AS j(job, position)
    ORDER BY j.position;
$$;
COMMENT ON FUNCTION recs.refresh_jobs() IS
    'The refresh jobs in run order (popularity, profiles, similarities, item neighbours, learned item weights).';
