"""Cluster bootstrap a DBA runs once as superuser: roles, databases, extensions, grants."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from psycopg import sql

from service.dsn import PgUrl, parse_pg_url
from service.settings import Settings

log = logging.getLogger("service.bootstrap")
API_GROUP_ROLE = "mysanta_api"
MAIN_SCHEMA_FILE = Path(__file__).resolve().parent.parent / "sql" / "main" / "schema.sql"


def ensure_login_role(conn: psycopg.Connection, role: PgUrl) -> None:
    """Create the URL's role if missing and (re)set its password."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.user,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    password = sql.Literal(role.password) if role.password else sql.SQL("NULL")
    conn.execute(
        sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(sql.SQL(verb), sql.Identifier(role.user), password)
    )


def ensure_group_role(conn: psycopg.Connection, name: str, member: str) -> None:
    """Create a NOLOGIN role and grant it to member."""
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(name), sql.Identifier(member)))


def ensure_database(conn: psycopg.Connection, dbname: str, owner: str) -> None:
    """Create the database if missing, owned by owner."""
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(owner))
        )


def prepare_main_database(conn: psycopg.Connection, reader: str) -> None:
    """Create the expected Rails schema (if missing) and give the FDW role read-only access."""
    conn.execute(MAIN_SCHEMA_FILE.read_bytes())
    reader_id = sql.Identifier(reader)
    dbname = conn.execute("SELECT current_database()").fetchone()
    assert dbname is not None
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname[0]), reader_id))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(reader_id))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(reader_id))
    conn.execute(
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {}").format(reader_id)
    )
    conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(reader_id))


def prepare_recs_database(conn: psycopg.Connection, owner: str, app: str) -> None:
    """postgres_fdw for the owner; CONNECT only for the owner and the app role."""
    dbname = conn.execute("SELECT current_database()").fetchone()
    assert dbname is not None
    database = sql.Identifier(dbname[0])
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
    conn.execute(
        sql.SQL("GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {}").format(sql.Identifier(owner))
    )
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
    conn.execute(
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, sql.Identifier(owner))
    )
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, sql.Identifier(app)))
    conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(database, sql.Identifier(owner)))


def prepare_cron(conn: psycopg.Connection, owner: str) -> None:
    """pg_cron in its database; the owner may schedule its own jobs there."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
    role = sql.Identifier(owner)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA cron TO {}").format(role))
    # pg_cron only lets a non-superuser schedule jobs that run as itself.
    conn.execute(
        sql.SQL(
            "GRANT EXECUTE ON FUNCTION cron.schedule_in_database(text, text, text, text, text, boolean) TO {}"
        ).format(role)
    )


def bootstrap_roles(superuser_url: str, settings: Settings) -> None:
    """Roles only: the FDW reader, the recs owner, the app role and the api group role."""
    main, owner, app = _roles(settings)
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for role in {role.user: role for role in (main, owner, app)}.values():
            ensure_login_role(conn, role)
        ensure_group_role(conn, API_GROUP_ROLE, app.user)
        # Refresh jobs run as the owner; only a superuser may bound their temp files.
        conn.execute(sql.SQL("ALTER ROLE {} SET temp_file_limit = '4GB'").format(sql.Identifier(owner.user)))


def bootstrap(superuser_url: str, settings: Settings) -> None:
    """Everything a fresh cluster needs before `migrate`: idempotent, safe to rerun."""
    main, owner, app = _roles(settings)
    su = parse_pg_url(superuser_url)
    bootstrap_roles(superuser_url, settings)
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        ensure_database(conn, main.dbname, su.user)
        ensure_database(conn, owner.dbname, owner.user)
    with psycopg.connect(su.with_dbname(main.dbname), autocommit=True) as conn:
        prepare_main_database(conn, main.user)
    with psycopg.connect(su.with_dbname(owner.dbname), autocommit=True) as conn:
        prepare_recs_database(conn, owner.user, app.user)
    with psycopg.connect(su.with_dbname(settings.cron_database_name), autocommit=True) as conn:
        prepare_cron(conn, owner.user)
    log.info("bootstrap.done", extra={"main_db": main.dbname, "recs_db": owner.dbname})


def _roles(settings: Settings) -> tuple[PgUrl, PgUrl, PgUrl]:
    main = parse_pg_url(settings.main_database_url)
    owner = parse_pg_url(settings.recommendations_owner_database_url)
    app = parse_pg_url(settings.recommendations_database_url)
    if app.dbname != owner.dbname:
        raise ValueError(
            "RECOMMENDATIONS_DATABASE_URL and RECOMMENDATIONS_OWNER_DATABASE_URL name different databases"
        )
    return main, owner, app
