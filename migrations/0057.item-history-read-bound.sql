-- item_neighbor_history_limit now also bounds how many of a user's own presents a page's item
-- score reads: recs.item_neighbor_scores reads the neighbor_history_limit most recent ones and
-- those at the same time as the last of them (a history without an order of its own is read
-- whole), at most this many. The value stays; the description says it.
UPDATE recs.settings
SET description = 'Item neighbours: each sampled user contributes at most this many of their most recent interactions to the similarity job; a page''s item score reads at most this many of the user''s own synced presents (those at the same time as the neighbor_history_limit-th most recent are read with it).',
    updated_at = now()
WHERE key = 'item_neighbor_history_limit';
-- Pages cached before it were ranked from a sample of such a history: they go. (migrate applies
-- the new recs.item_neighbor_scores right after the migrations: a page cached in those seconds,
-- ranked the old way, lives until its TTL.)
SELECT recs.bump_data_version('personalized');
