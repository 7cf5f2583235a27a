-- api.replication_position: where this server stands in the WAL, so the API can route reads to a
-- hot standby only while it is close enough to the primary, and a user's reads after their write
-- only to a server that has replayed it.
-- Arguments: none. Result: one row (in_recovery: true on a standby; wal_position: on the primary
--   the current WAL insert position, on a standby the last replayed one, as bytes from 0/0;
--   replayed_at: a standby's commit time of the last replayed transaction, null on a primary).
-- Errors: none.
-- Caller: the API's replica checker (every REPLICA_CHECK_MS, on the primary and each standby), and
--   the write routes (PUT/PATCH/DELETE /user-profile, /feedback) on the primary after a write.
CREATE OR REPLACE FUNCTION api.replication_position(
    OUT in_recovery boolean, OUT wal_position bigint, OUT replayed_at timestamptz
)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_is_in_recovery(),
           (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END
            - '0/0'::pg_lsn)::bigint,
           pg_last_xact_replay_timestamp();
$$;
COMMENT ON FUNCTION api.replication_position() IS
    'WAL position (primary: insert; standby: replayed) and recovery state. Called by the API''s replica routing.';
