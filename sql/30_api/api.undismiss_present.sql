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
