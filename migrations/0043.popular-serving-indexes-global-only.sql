-- recs.popular_items' covering serving indexes hold only the rows served from it: the global
-- ranking ('*', '*'). A segment is served from recs.popular_blended; its rows here are read only
-- by recs.popular_write_blended (its first popular_segment_depth by score), recs.explain_page and
-- recs.report_top_presents, through a narrow ranking index without the copied attributes. The
-- covering indexes held every (segment, present) row (1.8M at the target scale against 100k
-- global ones): building them was most of the popularity job's write from empty, and every
-- changed segment row updated them.
DROP INDEX recs.popular_items_ranking_idx;
DROP INDEX recs.popular_items_category_ranking_idx;
CREATE INDEX popular_items_ranking_idx ON recs.popular_items (gender, age_group, score DESC, item_id);
CREATE INDEX popular_items_global_ranking_idx ON recs.popular_items (score DESC, item_id)
    INCLUDE (present_id, price, platform, geo_ids, category)
    WHERE gender = '*' AND age_group = '*';
CREATE INDEX popular_items_global_category_ranking_idx ON recs.popular_items (category, score DESC, item_id)
    INCLUDE (present_id, price, platform, geo_ids)
    WHERE gender = '*' AND age_group = '*';
