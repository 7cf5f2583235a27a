-- Dismissals are kept by present, not by recs.items row: a present that leaves recs.items (made
-- private, or deleted) and comes back gets a new item_id, and a dismissal that went with the old
-- row (ON DELETE CASCADE) let the present the user said no to back into their pages. A dismissal
-- now outlives its present's absence and applies again when the present is public; it still goes
-- with its user (an erasure), with its undoing (DELETE /feedback) and at its expiry (cleanup job).
-- recs.dismissed_items resolves the presents to the item ids of today's recs.items.
-- Dropping the item_id column drops its foreign key, which locks recs.items too: the migration
-- waits at most 10 s for a running job's sync to let go (then fails, and is run again), rather than
-- queueing every reader of recs.items behind it. The three functions that read or write the table
-- are replaced in the same transaction (as their sql/ files, which migrate applies next, have them),
-- so no request meets the new table with the old functions.
SET LOCAL lock_timeout = '10s';
ALTER TABLE recs.dismissals ADD COLUMN present_id uuid;
UPDATE recs.dismissals d SET present_id = i.present_id FROM recs.items i WHERE i.item_id = d.item_id;
ALTER TABLE recs.dismissals DROP CONSTRAINT dismissals_pkey;
ALTER TABLE recs.dismissals DROP COLUMN item_id;  -- with its foreign key and index
ALTER TABLE recs.dismissals ALTER COLUMN present_id SET NOT NULL;
ALTER TABLE recs.dismissals ADD PRIMARY KEY (user_key, present_id);
COMMENT ON TABLE recs.dismissals IS
    'Presents a user said they are not interested in (POST /feedback, kind dismiss), by present id: left out of their pages for dismissal_days (0: for ever), also after the present was private or gone for a while.';

-- recs.dismissed_items: the presents a user dismissed (POST /feedback, kind dismiss) whose
-- dismissal still lasts (dismissal_days; 0: for ever), to leave out of their pages, as today's
-- item ids (a dismissed present not public now has none). A user without dismissals, the common
-- case, costs one index probe and no setting read.
-- Arguments: p_user_key (NULL: an unknown user, who has none).
-- Result: item ids (empty when none). Errors: none.
-- Caller: api.personalized, api.similar, api.personalized_cache_state.
CREATE OR REPLACE FUNCTION recs.dismissed_items(p_user_key integer) RETURNS integer[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_days integer;
    v_items integer[];
BEGIN
    IF p_user_key IS NULL OR NOT EXISTS (SELECT 1 FROM recs.dismissals d WHERE d.user_key = p_user_key) THEN
        RETURN '{}';
    END IF;
    v_days := recs.setting('dismissal_days')::integer;
    SELECT coalesce(array_agg(i.item_id ORDER BY i.item_id), '{}') INTO v_items
    FROM recs.dismissals d
    JOIN recs.items i ON i.present_id = d.present_id
    WHERE d.user_key = p_user_key
      AND (v_days = 0 OR d.dismissed_at > now() - make_interval(days => v_days));
    RETURN v_items;
END;
$$;
COMMENT ON FUNCTION recs.dismissed_items(integer) IS
    'Item ids a user dismissed whose dismissal still lasts (dismissal_days). For api.personalized and api.similar.';

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

-- api.undismiss_present: undoes a dismissal (DELETE /feedback): the present may come back in the
-- user's pages. Idempotent: nothing to undo is not an error. A present not public now can be
-- undismissed too (its dismissal is kept by present id).
-- Arguments: p_user_id, p_present_id.
-- Result: true when a dismissal was removed. Errors: 22023 for a NULL argument.
-- Caller: DELETE /feedback.
CREATE OR REPLACE FUNCTION api.undismiss_present(p_user_id uuid, p_present_id uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_user_id IS NULL OR p_present_id IS NULL THEN
        RAISE EXCEPTION '% is required', CASE WHEN p_user_id IS NULL THEN 'user_id' ELSE 'present_id' END
            USING ERRCODE = 'invalid_parameter_value',
                  COLUMN = CASE WHEN p_user_id IS NULL THEN 'user_id' ELSE 'present_id' END;
    END IF;
    DELETE FROM recs.dismissals d
    USING recs.users u
    WHERE u.user_id = p_user_id AND d.user_key = u.user_key AND d.present_id = p_present_id;
    RETURN FOUND;
END;
$$;
COMMENT ON FUNCTION api.undismiss_present(uuid, uuid) IS
    'Undo a dismissal (idempotent; true when one was removed). Called by DELETE /feedback.';
