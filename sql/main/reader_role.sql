-- The role the recommendations service reads the Rails main database with, and nothing more.
-- Purpose: run ONCE by the main database's DBA (in production the service never runs DDL on
--   Rails' database), and again whenever the service's release notes say so. Idempotent.
-- What the role gets: CONNECT to this database, USAGE on schema public, and SELECT on exactly
--   the columns the service reads (the foreign tables of migrations/0002.main-foreign-tables.sql:
--   a test compares the two): no other table, no other column, no default privileges on future
--   tables. It can write nothing (no grant allows it); default_transaction_read_only is a second
--   layer. Broader grants an earlier version of this service gave are revoked first.
-- How: psql -v reader=mysanta_main_reader -f sql/main/reader_role.sql "$MAIN_ADMIN_DATABASE_URL"
--   then set its password with psql's \password mysanta_main_reader (sent hashed), the one in
--   MAIN_DATABASE_URL; postgres_fdw needs pg_hba.conf to ask this role for a password (scram-sha-256).
--   python -m service main-grants prints this script for your role name, and with --apply runs it
--   and sets the password from MAIN_DATABASE_URL.
-- Variables: reader (the role name).
SELECT set_config('mysanta.reader', :'reader', false);
DO $$
DECLARE
    v_reader text := current_setting('mysanta.reader');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = v_reader) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', v_reader);
    END IF;
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', v_reader);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM %I', v_reader);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), v_reader);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', v_reader);
    EXECUTE format('GRANT SELECT (id, user_id, price, category, platform, geo_ids, available, created_at, updated_at)'
                   ' ON public.handpicked_presents TO %I', v_reader);
    EXECUTE format('GRANT SELECT (id, user_id, handpicked_present_id, created_at)'
                   ' ON public.handpicked_likes TO %I', v_reader);
    EXECUTE format('GRANT SELECT (id, user_id, handpicked_present_id, created_at)'
                   ' ON public.handpicked_present_clicks TO %I', v_reader);
    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', v_reader);
END;
$$;
