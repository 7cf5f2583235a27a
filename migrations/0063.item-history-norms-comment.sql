-- recs.item_history_norms is read by the job refresh_learned_weights as well (the lengths that
-- turn a list entry into the learned weights' prior, migration 0062): its comment says so.
COMMENT ON TABLE recs.item_history_norms IS
    'Per present: Σ over the users of recs.user_histories of their (normalised) weight for it, squared. Working table of the job refresh_item_neighbors (unlogged: rebuilt after a crash), also read by the job refresh_learned_weights.';
