-- recs.cancelled_by_main: whether a query_canceled (57014) caught around a read of main was main's
-- own cancel (its statement_timeout, its DBA's pg_cancel_backend), which postgres_fdw raises here
-- with the remote command in the error's context, rather than a cancel of the statement in this
-- database (the API's time limit, this database's statement_timeout), which has no such context
-- and must go on. PL/pgSQL's WHEN OTHERS does not catch query_canceled, so the readers of main that
-- degrade when main fails catch it apart and ask this. The context is postgres_fdw's message, in
-- lc_messages' language: under a translation that does not say "remote SQL command", main's cancel
-- is raised as this database's would be (a 503, as before such cancels were told apart).
-- Arguments: p_context, the PG_EXCEPTION_CONTEXT of the caught error.
-- Result: true for main's cancel. Errors: none.
-- Caller: recs.read_fresh_interactions, api.health, recs.sync_source_totals.
CREATE OR REPLACE FUNCTION recs.cancelled_by_main(p_context text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT position('remote SQL command' IN coalesce(p_context, '')) > 0
$$;
COMMENT ON FUNCTION recs.cancelled_by_main(text) IS
    'Whether a caught query_canceled around a read of main was main''s own cancel (postgres_fdw''s remote context), not this database''s.';
