-- item_neighbor_depth_per_weight: how deep recs.item_neighbor_scores reads the item-neighbour list
-- of a present that weighs little in the user's history (a like several steps back, at the
-- item_history_half_life fading). 0 keeps the whole list for every present (the default); d > 0
-- reads the first item_neighbor_pool_size x min(1, d x weight) of each, at least one. At 4 a
-- collaborative page costs a sixth less backend CPU at the target scale and its slowest rankings
-- 40 % less, for 0.002 NDCG@10 on one of three test splits (docs/quality.md, "How much of each
-- neighbourhood a page reads"). A serving setting: the similarity job does not read it.
INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('item_neighbor_depth_per_weight', '0',
     'Item neighbours read per present of the user''s history: a present weighing w reads the first item_neighbor_pool_size x min(1, this x w) of its list, at least one; 0 = the whole list of every present.',
     'number', 0, 1000);
