"""Cluster bootstrap a DBA runs once as superuser on the recs cluster (roles, database, extensions,
grants), and the main database's reader role, which the service never sets up on its own."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from psycopg import sql

from service.dsn import PgUrl, parse_pg_url
from service.settings import Settings

log = logging.getLogger("service.bootstrap")
API_GROUP_ROLE = "mysanta_api"
MAIN_SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "main"
DEV_MAIN_SCHEMA_FILE = MAIN_SQL_DIR / "schema.sql"  # development and tests only: Rails owns the real one
READER_ROLE_FILE = MAIN_SQL_DIR / "reader_role.sql"


def hashed_password(conn: psycopg.Connection, role: PgUrl) -> sql.Composable:
    """The role's password as a SCRAM-SHA-256 verifier, computed here: the plain password never
    reaches the server, nor a statement log there."""
    if not role.password:
        return sql.SQL("NULL")
    verifier = conn.pgconn.encrypt_password(role.password.encode(), role.user.encode(), b"scram-sha-256")
    return sql.Literal(verifier.decode())


def ensure_login_role(conn: psycopg.Connection, role: PgUrl) -> None:
    """Create the URL's role if missing and (re)set its password."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.user,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(
        sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(role.user), hashed_password(conn, role)
        )
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


def reader_role_script(reader: str) -> str:
    """sql/main/reader_role.sql for this role name, as psql would run it with -v reader=<name>."""
    return READER_ROLE_FILE.read_text().replace(":'reader'", sql.Literal(reader).as_string(None))


def apply_reader_role(conn: psycopg.Connection, reader: PgUrl) -> None:
    """Run sql/main/reader_role.sql in main (a main-DB admin connection) and set the reader's password
    from its URL (hashed here); a URL without a password leaves the one a DBA set."""
    conn.execute(reader_role_script(reader.user).encode())
    if reader.password:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(reader.user), hashed_password(conn, reader)
            )
        )


def prepare_dev_main_database(conn: psycopg.Connection, reader: PgUrl) -> None:
    """Development and tests only: the expected Rails schema (sql/main/schema.sql) in an empty
    database, then the reader role exactly as production gets it."""
    conn.execute(DEV_MAIN_SCHEMA_FILE.read_bytes())
    apply_reader_role(conn, reader)


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
    """The recs roles: the owner, the app role and the api group role."""
    owner, app = _recs_roles(settings)
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for role in {role.user: role for role in (owner, app)}.values():
            ensure_login_role(conn, role)
        ensure_group_role(conn, API_GROUP_ROLE, app.user)
        if owner.user != app.user:
            # The owner's views then see the app role's sessions in pg_stat_activity, as they see
            # their own: recs.job_status tells when a run an admin call started began. It grants
            # the owner nothing it lacks (the app role runs the api functions the owner owns).
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(app.user), sql.Identifier(owner.user))
            )
        # Refresh jobs run as the owner; only a superuser may bound their temp files. A managed
        # PostgreSQL's admin is none: the bound then comes from the provider's parameters.
        try:
            conn.execute(
                sql.SQL("ALTER ROLE {} SET temp_file_limit = '4GB'").format(sql.Identifier(owner.user))
            )
        except psycopg.errors.InsufficientPrivilege:
            log.warning(
                "bootstrap.temp_file_limit_not_set",
                extra={
                    "role": owner.user,
                    "hint": "no superuser: set temp_file_limit in the server's parameters",
                },
            )


def bootstrap(superuser_url: str, settings: Settings, dev_main: bool = False) -> None:
    """Everything the recs cluster needs before `migrate`: idempotent, safe to rerun. It never
    touches the main database, unless dev_main: then (development and tests, main on the same
    cluster) it creates main with the expected Rails schema and the reader role."""
    owner, app = _recs_roles(settings)
    su = parse_pg_url(superuser_url)
    bootstrap_roles(superuser_url, settings)
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        # A managed PostgreSQL's admin (CREATEROLE, no superuser) may give a database to the owner
        # role only as one of its members.
        if not _is_superuser(conn) and not _is_member(conn, owner.user):
            conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner.user)))
        ensure_database(conn, owner.dbname, owner.user)
    with psycopg.connect(su.with_dbname(owner.dbname), autocommit=True) as conn:
        prepare_recs_database(conn, owner.user, app.user)
    with psycopg.connect(su.with_dbname(settings.cron_database_name), autocommit=True) as conn:
        prepare_cron(conn, owner.user)
    if dev_main:
        main = parse_pg_url(settings.main_database_url)
        with psycopg.connect(superuser_url, autocommit=True) as conn:
            ensure_database(conn, main.dbname, su.user)
        with psycopg.connect(su.with_dbname(main.dbname), autocommit=True) as conn:
            prepare_dev_main_database(conn, main)
    log.info("bootstrap.done", extra={"recs_db": owner.dbname, "dev_main": dev_main})


def main_grants(main_database_url: str, main_admin_url: str | None = None) -> str:
    """The reader-role script for MAIN_DATABASE_URL's role; with main_admin_url, run it there too
    (and set the role's password from MAIN_DATABASE_URL)."""
    reader = parse_pg_url(main_database_url)
    if main_admin_url:
        with psycopg.connect(main_admin_url, autocommit=True) as conn:
            apply_reader_role(conn, reader)
    return reader_role_script(reader.user)


def _is_superuser(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (True,)


def _is_member(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (role,)).fetchone() == (True,)


def _recs_roles(settings: Settings) -> tuple[PgUrl, PgUrl]:
    owner = parse_pg_url(settings.recommendations_owner_database_url)
    app = parse_pg_url(settings.recommendations_database_url)
    if app.dbname != owner.dbname:
        raise ValueError(
            "RECOMMENDATIONS_DATABASE_URL and RECOMMENDATIONS_OWNER_DATABASE_URL name different databases"
        )
    return owner, app
