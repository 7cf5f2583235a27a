-- api.dismiss_present: a user says they are not interested in a present (POST /feedback, kind
-- dismiss): it leaves their pages of every route (api.personalized, api.similar) while the
-- dismissal lasts (dismissal_days; 0: for ever). Dismissing again renews it. A user not seen
-- before gets a key in recs.users.
-- Arguments: p_user_id, p_present_id (a public present this database knows).
-- Result: one row (user_id, present_id, dismissed_at, expires_at; expires_at NULL: for ever).
-- Errors: P0002 when p_present_id is not a public present this database knows (a private one
--   gets the same answer as an unknown one); 22023 for a NULL argument.
-- Caller: POST /feedback.
CREATE OR REPLACE FUNCTION api.dismiss_present(p_user_id uuid, p_present_id uuid)
RETURNS TABLE (user_id uuid, present_id uuid, dismissed_at timestamptz, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_item_id integer;
    v_user_key integer;
    v_days integer := recs.setting('dismissal_days')::integer;
    v_attempt integer;
BEGIN
    IF p_user_id IS NULL OR p_present_id IS NULL THEN
        RAISE EXCEPTION '% is required', CASE WHEN p_user_id IS NULL THEN 'user_id' ELSE 'present_id' END
            USING ERRCODE = 'invalid_parameter_value',
                  COLUMN = CASE WHEN p_user_id IS NULL THEN 'user_id' ELSE 'present_id' END;
    END IF;
    SELECT i.item_id INTO v_item_id FROM recs.items i WHERE i.present_id = p_present_id;
    IF v_item_id IS NULL THEN
        RAISE EXCEPTION 'no public present %', p_present_id USING ERRCODE = 'no_data_found', COLUMN = 'present_id';
    END IF;
    -- The user's key (recs.user_key_for); an erasure committing meanwhile (its key gone) is met
    -- by a second attempt on a new snapshot, as in api.upsert_user_demographics.
    FOR v_attempt IN 1..2 LOOP
        BEGIN
            v_user_key := recs.user_key_for(p_user_id);
            INSERT INTO recs.dismissals AS d (user_key, present_id, dismissed_at)
            VALUES (v_user_key, p_present_id, clock_timestamp())
            ON CONFLICT ON CONSTRAINT dismissals_pkey DO UPDATE SET dismissed_at = excluded.dismissed_at
            RETURNING d.dismissed_at INTO dismissed_at;
            EXIT;
        EXCEPTION WHEN foreign_key_violation THEN
            IF v_attempt = 2 THEN
                RAISE;
            END IF;
        END;
    END LOOP;
    user_id := p_user_id;
    present_id := p_present_id;
    expires_at := CASE WHEN v_days > 0 THEN dismissed_at + make_interval(days => v_days) END;
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.dismiss_present(uuid, uuid) IS
    'A user is not interested in a present: left out of their pages for dismissal_days (0: for ever). P0002 for an unknown or private present. Called by POST /feedback.';
