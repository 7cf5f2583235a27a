"""migrate: yoyo migrations, then the repeatable sql/ files, then the pg_cron schedules."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

from service.dsn import parse_pg_url
from service.jobs import CronJob, cron_jobs
from service.settings import Settings

log = logging.getLogger("service.migrate")
PROJECT_DIR = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_DIR / "migrations"
SQL_DIR = PROJECT_DIR / "sql"
MAIN_SERVER = "main_db"
CRON_SERVER = "cron_db"


@dataclass
class MigrationReport:
    """What one migrate run changed; all empty on a second run."""

    migrations: list[str] = field(default_factory=list)
    fdw_options: list[str] = field(default_factory=list)
    sql_files: list[str] = field(default_factory=list)
    env_settings: list[str] = field(default_factory=list)
    cron_jobs: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when anything was applied."""
        return bool(
            self.migrations or self.fdw_options or self.sql_files or self.env_settings or self.cron_jobs
        )


def apply_migrations(owner_url: str) -> list[str]:
    """Apply pending yoyo migrations; return their ids."""
    backend = get_backend(parse_pg_url(owner_url).for_yoyo())
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [migration.id for migration in pending]
    finally:
        backend.connection.close()


def configure_fdw_servers(conn: psycopg.Connection, settings: Settings) -> list[str]:
    """Point both FDW servers and the owner's user mappings at their databases; only what differs.

    main_db reads Rails' tables as MAIN_DATABASE_URL's read-only role; cron_db reads pg_cron's
    job tables in CRON_DATABASE_NAME on the recs cluster as the owner role (who owns the jobs).
    """
    owner = parse_pg_url(settings.recommendations_owner_database_url)
    cron_url = owner.with_dbname(settings.cron_database_name)
    # pg_cron's tables are read rarely (/stats, /metrics, psql): no connection kept open per
    # session, and an unreachable cron database costs at most a second (the readers go on without).
    return configure_fdw_server(conn, MAIN_SERVER, settings.main_database_url) + configure_fdw_server(
        conn, CRON_SERVER, cron_url, {"keep_connections": "off", "connect_timeout": "1"}
    )


def configure_fdw_server(
    conn: psycopg.Connection, server: str, url: str, extra_options: dict[str, str] | None = None
) -> list[str]:
    """Set one server's host/port/dbname (and extra options) and the current user's mapping from a
    URL; return what changed."""
    target = parse_pg_url(url)
    wanted_server = {"host": target.host, "port": str(target.port), "dbname": target.dbname}
    wanted_server.update(extra_options or {})
    wanted_mapping = {"user": target.user, "password": target.password or ""}
    changed: list[str] = []
    row = conn.execute("SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s", (server,)).fetchone()
    current_server = _options(row[0] if row else None)
    row = conn.execute(
        "SELECT umoptions FROM pg_user_mappings WHERE srvname = %s AND usename = current_user", (server,)
    ).fetchone()
    current_mapping = _options(row[0] if row else None)
    server_changes = _option_changes(current_server, wanted_server)
    if server_changes:
        conn.execute(sql.SQL("ALTER SERVER {} OPTIONS ({})").format(sql.Identifier(server), server_changes))
        changed += [
            f"{server}.{key}" for key in wanted_server if current_server.get(key) != wanted_server[key]
        ]
    mapping_changes = _option_changes(current_mapping, wanted_mapping)
    if mapping_changes:
        conn.execute(
            sql.SQL("ALTER USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS ({})").format(
                sql.Identifier(server), mapping_changes
            )
        )
        changed += [
            f"{server}.mapping.{key}"
            for key in wanted_mapping
            if current_mapping.get(key) != wanted_mapping[key]
        ]
    return changed


def _options(raw: list[str] | None) -> dict[str, str]:
    return dict(option.split("=", 1) for option in raw or [])


def _option_changes(current: dict[str, str], wanted: dict[str, str]) -> sql.Composed | None:
    parts = [
        sql.SQL("{} {} {}").format(
            sql.SQL("SET" if key in current else "ADD"), sql.Identifier(key), sql.Literal(value)
        )
        for key, value in wanted.items()
        if current.get(key) != value
    ]
    return sql.SQL(", ").join(parts) if parts else None


def apply_env_settings(conn: psycopg.Connection, settings: Settings) -> list[str]:
    """Copy the knobs that come from env vars into recs.settings, where the SQL jobs read them."""
    wanted = {"max_similar_users": str(settings.max_similar_users)}
    changed: list[str] = []
    for key, value in wanted.items():
        cursor = conn.execute(
            "UPDATE recs.settings SET value = %s WHERE key = %s AND value IS DISTINCT FROM %s",
            (value, key, value),
        )
        if cursor.rowcount:
            changed.append(key)
    return changed


def sql_files() -> list[Path]:
    """The repeatable files in dependency order: numbered folders, then file names."""
    return sorted(path for path in SQL_DIR.glob("[0-9][0-9]_*/*.sql"))


def apply_sql_files(conn: psycopg.Connection, force: bool) -> list[str]:
    """Apply each sql/ file whose checksum changed (all of them when force); one transaction each."""
    rows = conn.execute("SELECT path, sha256 FROM recs.applied_sql_files").fetchall()
    applied_sums: dict[str, str] = dict(rows)
    applied: list[str] = []
    for path in sql_files():
        name = str(path.relative_to(SQL_DIR))
        text = path.read_text()
        checksum = hashlib.sha256(text.encode()).hexdigest()
        if not force and applied_sums.get(name) == checksum:
            continue
        with conn.transaction():
            conn.execute(text.encode())
            conn.execute(
                "INSERT INTO recs.applied_sql_files (path, sha256) VALUES (%s, %s) "
                "ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, applied_at = now()",
                (name, checksum),
            )
        applied.append(name)
    return applied


def schedule_cron_jobs(settings: Settings, jobs: list[CronJob] | None = None) -> list[str]:
    """Register each job with cron.schedule_in_database; an identical job is left untouched."""
    owner = parse_pg_url(settings.recommendations_owner_database_url)
    cron_url = owner.with_dbname(settings.cron_database_name)
    changed: list[str] = []
    if jobs is None:
        with psycopg.connect(settings.recommendations_owner_database_url) as recs:
            row = recs.execute("SELECT recs.setting('cron_history_retention_days')::int").fetchone()
        jobs = cron_jobs(settings, cron_history_retention_days=row[0] if row else 7)
    with psycopg.connect(cron_url, autocommit=True) as conn:
        for job in jobs:
            database = job.database or owner.dbname
            current = conn.execute(
                "SELECT schedule, command, database, username, active FROM cron.job WHERE jobname = %s",
                (job.name,),
            ).fetchone()
            if current == (job.schedule, job.command, database, owner.user, True):
                continue
            # pg_cron refuses an explicit username from a non-superuser, even its own: NULL = me.
            conn.execute(
                "SELECT cron.schedule_in_database(%s, %s, %s, %s, NULL, true)",
                (job.name, job.schedule, job.command, database),
            )
            changed.append(job.name)
    return changed


def unschedule_cron_jobs(settings: Settings, names: list[str]) -> None:
    """Remove the named jobs of the owner role (used by tests and when a job is retired)."""
    owner = parse_pg_url(settings.recommendations_owner_database_url)
    with psycopg.connect(owner.with_dbname(settings.cron_database_name), autocommit=True) as conn:
        for name in names:
            conn.execute("SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = %s", (name,))


def migrate(settings: Settings, schedule: bool = True) -> MigrationReport:
    """The whole migrate step; a second run changes nothing."""
    owner_url = settings.recommendations_owner_database_url
    report = MigrationReport(migrations=apply_migrations(owner_url))
    with psycopg.connect(owner_url, autocommit=True) as conn:
        report.fdw_options = configure_fdw_servers(conn, settings)
        report.sql_files = apply_sql_files(conn, force=bool(report.migrations))
        report.env_settings = apply_env_settings(conn, settings)
    if schedule:
        report.cron_jobs = schedule_cron_jobs(settings)
    log.info(
        "migrate.done",
        extra={
            "migrations": report.migrations,
            "fdw_options": report.fdw_options,
            "sql_files": len(report.sql_files),
            "cron_jobs": report.cron_jobs,
        },
    )
    return report
