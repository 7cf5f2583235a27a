-- The role the recommendations service reads the Rails main database with, and nothing more.
-- Purpose: run by the main database's DBA, as a superuser or the owner of Rails' tables (a managed
--   PostgreSQL's admin, who is no superuser, needs CREATEROLE too, and no right on other roles' tables; in
--   production the service never runs DDL on Rails' database), and again whenever the service's
--   release notes say so. Idempotent.
-- What the role gets: LOGIN, CONNECT to this database, USAGE on schema public, and SELECT on
--   exactly the columns the service reads (the foreign tables of
--   migrations/0002.main-foreign-tables.sql: a test compares the two); no other table or column,
--   no default privileges on future tables; default_transaction_read_only as a second layer (no
--   grant lets it write); lock_timeout 10 s (a sync gives up behind a migration's lock);
--   idle_in_transaction_session_timeout 3 h (a job's remote transaction idles while it computes). Broader
--   grants and default privileges an earlier version gave are revoked first, and the script ends
--   by checking that nothing else is left.
-- Refuses a database whose columns have other types than the service reads (a bigint id: Rails'
--   default primary key), naming them, before granting anything.
-- Refuses a role that is not a dedicated reader (a superuser, one that may create roles or
--   databases, one that belongs to other roles or owns anything here): Rails' own role must never
--   be turned into this one.
-- How: psql -v reader=mysanta_main_reader -f sql/main/reader_role.sql "$MAIN_ADMIN_DATABASE_URL"
--   then set its password with psql's \password mysanta_main_reader (sent hashed), the one in
--   MAIN_DATABASE_URL; postgres_fdw needs pg_hba.conf to ask this role for a password (scram-sha-256).
--   python -m service main-grants prints this script for your role name, and with --apply runs it
--   and sets the password from MAIN_DATABASE_URL (hashed before it is sent).
-- Variables: reader (the role name).
SET mysanta.reader = :'reader';
DO $$
DECLARE
    v_reader text := current_setting('mysanta.reader');
    -- The columns the service reads: the foreign tables of migrations/0002 (a test compares them).
    v_columns constant jsonb := '{
        "handpicked_presents": ["id", "user_id", "price", "category", "platform", "geo_ids", "available",
                                "created_at", "updated_at"],
        "handpicked_likes": ["id", "user_id", "handpicked_present_id", "created_at"],
        "handpicked_present_clicks": ["id", "user_id", "handpicked_present_id", "created_at"],
        "users": ["id"]}';
    v_role pg_roles;
    v_oid oid;
    v_table text;
    v_default record;
    v_extra text;
BEGIN
    SELECT * INTO v_role FROM pg_roles WHERE rolname = v_reader;
    IF NOT FOUND THEN
        EXECUTE format('CREATE ROLE %I LOGIN', v_reader);
    ELSIF v_role.rolsuper OR v_role.rolcreaterole OR v_role.rolcreatedb OR v_role.rolreplication
          OR v_role.rolbypassrls
          OR EXISTS (SELECT FROM pg_auth_members m WHERE m.member = v_role.oid)
          OR EXISTS (SELECT FROM pg_class c WHERE c.relowner = v_role.oid)
          OR EXISTS (SELECT FROM pg_namespace n WHERE n.nspowner = v_role.oid)
          OR EXISTS (SELECT FROM pg_database d WHERE d.datdba = v_role.oid) THEN
        RAISE EXCEPTION 'role % is not a dedicated reader (it has attributes, memberships or objects of its own): name another role in MAIN_DATABASE_URL', v_reader;
    ELSE
        EXECUTE format('ALTER ROLE %I LOGIN', v_reader);
    END IF;
    v_oid := (SELECT oid FROM pg_roles WHERE rolname = v_reader);

    -- Columns of another type than the foreign tables read them as would fail every sync, naming
    -- no column (a bigint id, Rails' default, read as a uuid: 'invalid input syntax for type
    -- uuid: "1"'): refused here, before any grant. A timestamp without time zone holds UTC;
    -- category and platform are read as text whatever their type (a Rails integer enum reads as
    -- its numbers).
    SELECT string_agg(format('%I.%I is %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod)), ', ')
    INTO v_extra
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND coalesce(v_columns -> c.relname::text ? a.attname::text, false)
      AND NOT CASE
          WHEN a.attname IN ('id', 'user_id', 'handpicked_present_id') THEN a.atttypid = 'uuid'::regtype
          WHEN a.attname IN ('created_at', 'updated_at')
              THEN a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype)
          WHEN a.attname = 'available' THEN a.atttypid = 'boolean'::regtype
          -- money is numeric in kind, but its text ('$12.50', as postgres_fdw reads it) is no number.
          WHEN a.attname = 'price' THEN t.typcategory = 'N' AND 'money'::regtype NOT IN (a.atttypid, t.typbasetype)
          WHEN a.attname = 'geo_ids' THEN a.atttypid IN ('integer[]'::regtype, 'smallint[]'::regtype)
          ELSE true
      END;
    IF v_extra IS NOT NULL THEN
        RAISE EXCEPTION 'the service cannot read this database: % (it reads uuid ids, timestamps, a boolean available, a number price (not money), integer[] geo_ids: docs/operations.md, "Main database")',
            v_extra;
    END IF;

    -- Nothing beyond what follows, whatever an earlier version granted: revoked where the role
    -- holds something (not ON ALL TABLES, which an admin who is no superuser, the owner of Rails'
    -- tables on a managed PostgreSQL, may not run past a table of another role it has no right on).
    FOR v_table IN
        SELECT c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND (EXISTS (SELECT FROM aclexplode(c.relacl) a WHERE a.grantee = v_oid)
               OR EXISTS (SELECT FROM pg_attribute t, aclexplode(t.attacl) x
                          WHERE t.attrelid = c.oid AND x.grantee = v_oid))
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %I', v_table, v_reader);
    END LOOP;
    FOR v_default IN
        SELECT pg_get_userbyid(d.defaclrole) AS owner, n.nspname AS schema_name
        FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
        WHERE EXISTS (SELECT FROM aclexplode(d.defaclacl) a WHERE a.grantee = v_oid)
    LOOP
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I %s REVOKE ALL ON TABLES FROM %I', v_default.owner,
                       CASE WHEN v_default.schema_name IS NOT NULL THEN format('IN SCHEMA %I', v_default.schema_name) END,
                       v_reader);
    END LOOP;

    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), v_reader);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', v_reader);
    FOR v_table IN SELECT jsonb_object_keys(v_columns) LOOP
        EXECUTE format('GRANT SELECT (%s) ON public.%I TO %I',
                       (SELECT string_agg(quote_ident(c), ', ') FROM jsonb_array_elements_text(v_columns -> v_table) c),
                       v_table, v_reader);
    END LOOP;
    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', v_reader);
    -- A sync that meets a lock on these tables (a Rails migration's ACCESS EXCLUSIVE) gives up
    -- after 10 s, logged, and the next run tries again, rather than waiting with the service's
    -- sync lock held while Rails' writes queue behind the migration.
    EXECUTE format('ALTER ROLE %I SET lock_timeout = %L', v_reader, '10s');
    -- A refresh job reads main at its start and keeps the remote transaction open, idle on main's
    -- side, while it computes in the recs DB, until it commits (postgres_fdw ends the remote
    -- transaction with the local one). Under an idle_in_transaction_session_timeout of main's
    -- (postgresql.conf, the database's) shorter than that, main would end the link under the job,
    -- which then failed at its commit, all its work lost, on every run. For this role it is 3 h,
    -- above a job's whole run (JOB_STATEMENT_TIMEOUT_S, 2 h by default; postgres_fdw ends the
    -- remote transaction with the job's), and still finite: a recs backend gone without a word (a
    -- crash, a network split, a DBA's psql left in a transaction) leaves no remote transaction
    -- holding locks on Rails' tables for longer.
    EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', v_reader, '3h');

    -- What is left must be exactly that: a grant another grantor made survives a REVOKE.
    SELECT string_agg(format('%s on %s', a.privilege_type, c.oid::regclass), ', ') INTO v_extra
    FROM pg_class c, aclexplode(c.relacl) a
    WHERE a.grantee = v_oid;
    IF v_extra IS NULL THEN
        SELECT string_agg(format('%s on %s.%I', x.privilege_type, c.oid::regclass, t.attname), ', ') INTO v_extra
        FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid, aclexplode(t.attacl) x
        WHERE x.grantee = v_oid
          AND (x.privilege_type <> 'SELECT' OR c.relnamespace <> 'public'::regnamespace
               OR NOT coalesce(v_columns -> c.relname::text ? t.attname::text, false));
    END IF;
    IF v_extra IS NOT NULL THEN
        RAISE EXCEPTION 'role % still holds %: revoke it as its grantor, then run this again', v_reader, v_extra;
    END IF;
    IF EXISTS (SELECT FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE a.grantee = v_oid) THEN
        RAISE EXCEPTION 'role % still has default privileges: revoke them as their owner, then run this again', v_reader;
    END IF;
    SELECT string_agg(format('%s', c.oid::regclass), ', ') INTO v_extra
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND has_table_privilege(v_reader, c.oid, 'SELECT');
    IF v_extra IS NOT NULL THEN
        RAISE WARNING 'every role (PUBLIC) may read % here, and so may %: revoke it from PUBLIC unless Rails relies on it',
            v_extra, v_reader;
    END IF;
    IF has_schema_privilege(v_reader, 'public', 'CREATE') THEN
        RAISE WARNING 'every role (PUBLIC) may create tables in schema public here (a database from before PostgreSQL 15): REVOKE CREATE ON SCHEMA public FROM PUBLIC, unless Rails relies on it';
    END IF;
END;
$$;
