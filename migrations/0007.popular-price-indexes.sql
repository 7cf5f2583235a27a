-- Counting a filtered page's total (price range, with or without a category) walks only the
-- presents in the range: partial indexes on the global ranking, which holds every available
-- public present once.
CREATE INDEX popular_items_global_price_idx ON recs.popular_items (price)
    INCLUDE (item_id, category, platform, geo_ids)
    WHERE gender = '*' AND age_group = '*';
CREATE INDEX popular_items_global_category_price_idx ON recs.popular_items (category, price)
    INCLUDE (item_id, platform, geo_ids)
    WHERE gender = '*' AND age_group = '*';
