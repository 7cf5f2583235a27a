-- The collaborative page reads every user neighbour of the user's pool and every item neighbour of
-- each of the user's recent presents; at the target scale that is a few thousand rows per page and
-- its cost grows with them. Half of each (50 users, 50 presents per present) measured the same
-- NDCG@10 on the validation splits of all three suite datasets and cuts the page's backend CPU
-- by about a third (docs/performance.md, docs/quality.md). Where a setting was left at its default
-- of 100 it becomes 50; the similarity job rebuilds the pools at its next run (both settings are
-- in its full-rebuild check), and the ranking reads only the first 50 of each kept list until then.
-- (The settings trigger bumps the serving data versions: cached pages are scored the new way.)
UPDATE recs.settings
SET value = CASE WHEN value = '100' THEN '50' ELSE value END,
    description = 'Most similar users kept per user (recs.user_neighbors), most similar first. A candidate present is scored by the max_similar_users most similar of them who liked it; a smaller value applies to the ranking at once (it reads the first this many), and the similarity job rebuilds the pools at its next run.',
    updated_at = now()
WHERE key = 'neighbor_pool_size';
UPDATE recs.settings
SET value = CASE WHEN value = '100' THEN '50' ELSE value END,
    description = 'Most similar presents kept per present (recs.item_neighbors), most similar first; a smaller value applies to the ranking at once (it reads the first this many of each list), and the similarity job rebuilds the lists at its next run.',
    updated_at = now()
WHERE key = 'item_neighbor_pool_size';
