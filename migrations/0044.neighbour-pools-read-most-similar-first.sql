-- The collaborative ranking reads the first neighbor_pool_size users of each pool and the first
-- item_neighbor_pool_size presents of each item-neighbour list (both kept most similar first), so
-- a smaller value applies to the ranking at once, before the similarity job rebuilds the lists at
-- that size. The defaults stay at 100: half of each costs about a third less CPU per page but
-- measured lower NDCG@10 (docs/quality.md, "How much of each neighbourhood a page reads").
UPDATE recs.settings
SET description = 'Most similar users kept per user (recs.user_neighbors), most similar first. A candidate present is scored by the max_similar_users most similar of them who liked it; a smaller value applies to the ranking at once (it reads the first this many), and the similarity job rebuilds the pools at its next run.',
    updated_at = now()
WHERE key = 'neighbor_pool_size';
UPDATE recs.settings
SET description = 'Most similar presents kept per present (recs.item_neighbors), most similar first; a smaller value applies to the ranking at once (it reads the first this many of each list), and the similarity job rebuilds the lists at its next run.',
    updated_at = now()
WHERE key = 'item_neighbor_pool_size';
