-- recs.user_key_for: a user's key in recs.users, drawn from the sequence only for a user not seen
-- before (an upsert would draw one on every call); a concurrent first call for the same user
-- inserts nothing and reads the other's key back.
-- Arguments: p_user_id. Result: the key.
-- Errors: none of its own. Caller: api.upsert_user_demographics (and api.patch_user_demographics
--   through it), api.dismiss_present; each retries once when an erasure removes the key before its own
--   write refers to it.
CREATE OR REPLACE FUNCTION recs.user_key_for(p_user_id uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_user_key integer;
BEGIN
    SELECT u.user_key INTO v_user_key FROM recs.users u WHERE u.user_id = p_user_id;
    IF v_user_key IS NULL THEN
        INSERT INTO recs.users AS u (user_id) VALUES (p_user_id)
        ON CONFLICT ON CONSTRAINT users_user_id_key DO NOTHING
        RETURNING u.user_key INTO v_user_key;
        IF v_user_key IS NULL THEN
            SELECT u.user_key INTO v_user_key FROM recs.users u WHERE u.user_id = p_user_id;
        END IF;
    END IF;
    RETURN v_user_key;
END;
$$;
COMMENT ON FUNCTION recs.user_key_for(uuid) IS
    'A user''s key in recs.users, drawn only for a user not seen before. For the API''s writes of a user''s data.';
