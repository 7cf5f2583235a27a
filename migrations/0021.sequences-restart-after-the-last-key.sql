-- The syncs and PUT /user-profile drew a value of recs.items.item_id's and recs.users.user_key's
-- sequences on every upsert, used or not (millions a day at the target scale: the integer limit
-- within months). They now draw one per real insert; this restarts both sequences just after
-- the largest key in use, giving back what was burnt. Keys in use do not change.
DO $$
BEGIN
    PERFORM setval(pg_get_serial_sequence('recs.items', 'item_id'),
                   coalesce((SELECT max(item_id) FROM recs.items), 0) + 1, false);
    PERFORM setval(pg_get_serial_sequence('recs.users', 'user_key'),
                   coalesce((SELECT max(user_key) FROM recs.users), 0) + 1, false);
END;
$$;
