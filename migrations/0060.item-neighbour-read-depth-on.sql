-- item_neighbor_depth_per_weight 4: a present that weighs little in the user's history (a like
-- more than six steps back at the item_history_half_life fading of 3) reads its item-neighbour
-- list to a depth in proportion to its weight instead of whole. Measured with the user similarity's
-- inverse user frequency on (migration 0059), paired against 0 on the validation splits: MovieLens
-- 100K temporal −0.0000 ± 0.0014, ml-latest-small −0.0000 ± 0.0010, instacart-sample +0.0001 ±
-- 0.0002; files without times read every list whole at 4 (every present weighs at least a click,
-- 0.3 x 4 >= 1), so they do not move. At the target scale it takes the collaborative ranking's p95
-- under its 5 ms (docs/quality.md, "How much of each neighbourhood a page reads"). A serving
-- setting: it applies at the next page, and the similarity job does not read it.
-- The value moves from 0 to 4 whoever set it (an operator's 0 cannot be told from the former
-- default; recs.set_setting sets it again).
UPDATE recs.settings
SET value = CASE WHEN value = '0' THEN '4' ELSE value END,
    description = 'Item neighbours read per present of the user''s history: a present weighing w reads the first item_neighbor_pool_size x min(1, this x w) of its list, at least one; 0 = the whole list of every present. At 4 a like up to six steps back (two half-lives of item_history_half_life 3) reads its whole list.',
    updated_at = now()
WHERE key = 'item_neighbor_depth_per_weight';
