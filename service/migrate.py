"""migrate: yoyo migrations, then the repeatable sql/ files, then the pg_cron schedules."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations
from yoyo.migrations import MigrationList

from service.dsn import parse_pg_url, query_options
from service.jobs import CronJob, cron_jobs
from service.main_reads import MAIN_SERVER
from service.settings import Settings

log = logging.getLogger("service.migrate")
PROJECT_DIR = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_DIR / "migrations"
SQL_DIR = PROJECT_DIR / "sql"
DOMAIN_STAGE = "00_domain"  # applied before the migrations after the first, which may use it
# libpq options of the link to main: an unreachable host fails a connect in 2 s (libpq's least,
# under /health's 2.5 s budget); keepalives and a TCP user timeout find a peer that vanished
# mid-query in about 20 s instead of the kernel's default of hours.
MAIN_LINK_OPTIONS = {
    "connect_timeout": "2",
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "20000",
}
CRON_SERVER = "cron_db"
# Query options of MAIN_DATABASE_URL (sslmode, sslrootcert, ...) that are not server options: the
# address, which parse_pg_url reads from the query too.
_ADDRESS_OPTIONS = {"host", "port"}


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


class MigrationChanged(RuntimeError):
    """An applied migration's file differs from what was applied: applied migrations are frozen."""


def migration_checksums() -> dict[str, str]:
    """The sha256 of every migration file, by file name, in apply order."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(MIGRATIONS_DIR.glob("*.sql"))
        if not path.name.endswith(".rollback.sql")
    }


def check_applied_migrations_unchanged(conn: psycopg.Connection, on_disk: dict[str, str]) -> None:
    """Raise MigrationChanged naming every applied migration whose file no longer has its recorded sum."""
    if not _exists(conn, "to_regclass", "recs.applied_migrations"):
        return
    recorded: dict[str, str] = dict(
        conn.execute("SELECT migration, sha256 FROM recs.applied_migrations").fetchall()
    )
    changed = sorted(name for name, checksum in recorded.items() if on_disk.get(name, checksum) != checksum)
    if changed:
        raise MigrationChanged(
            f"applied migrations changed since they were applied: {', '.join(changed)}. Applied migrations "
            "are frozen: restore them and put the change in a new migration."
        )


def record_applied_migrations(conn: psycopg.Connection, on_disk: dict[str, str], applied: list[str]) -> None:
    """Remember the sum of each applied migration not yet recorded (the guard of later runs); nothing
    before the migration that creates the record table."""
    if not _exists(conn, "to_regclass", "recs.applied_migrations"):
        return
    rows = [(name, on_disk[name]) for name in applied if name in on_disk]
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO recs.applied_migrations (migration, sha256) VALUES (%s, %s) "
            "ON CONFLICT (migration) DO NOTHING",
            rows,
        )


def apply_migrations(owner_url: str) -> list[str]:
    """Apply pending yoyo migrations one by one; return their ids.

    The domain stage (sql/00_domain) is applied once the schemas exist and before the next pending
    migration, so migrations may use its functions. Refuses to run, applying nothing, when an
    applied migration's file changed (MigrationChanged).
    """
    on_disk = migration_checksums()
    backend = get_backend(parse_pg_url(owner_url).for_yoyo())
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock(), psycopg.connect(owner_url, autocommit=True) as conn:
            check_applied_migrations_unchanged(conn, on_disk)
            pending = backend.to_apply(migrations)
            domain_applied = False
            for migration in pending:
                if not domain_applied and _exists(conn, "to_regnamespace", "recs"):
                    apply_sql_files(conn, force=True, stages=(DOMAIN_STAGE,))
                    domain_applied = True
                backend.apply_migrations(MigrationList([migration]))
                # Recorded as it is applied (once the table exists), so a later failure in this
                # run cannot leave it to be recorded from a file edited in between.
                record_applied_migrations(conn, on_disk, [Path(migration.path).name])
            applied_hashes = backend.get_applied_migration_hashes()
            applied = [Path(m.path).name for m in migrations if m.hash in applied_hashes]
            record_applied_migrations(conn, on_disk, applied)
        return [migration.id for migration in pending]
    finally:
        backend.connection.close()


def _exists(conn: psycopg.Connection, lookup: str, name: str) -> bool:
    """Whether to_regclass / to_regnamespace finds name."""
    query = sql.SQL("SELECT {}(%s) IS NOT NULL").format(sql.Identifier(lookup))
    return conn.execute(query, (name,)).fetchone() == (True,)


def configure_fdw_servers(conn: psycopg.Connection, settings: Settings) -> list[str]:
    """Point both FDW servers and the owner's user mappings at their databases; only what differs.

    main_db reads Rails' tables as MAIN_DATABASE_URL's read-only role; cron_db reads pg_cron's
    job tables in CRON_DATABASE_NAME on the recs cluster as the owner role (who owns the jobs).
    """
    owner = parse_pg_url(settings.recommendations_owner_database_url)
    cron_url = owner.with_dbname(settings.cron_database_name)
    # pg_cron's tables are read rarely (/stats, /metrics, psql): no connection kept open per
    # session, and an unreachable cron database costs at most 2 s (the readers go on without).
    return configure_fdw_server(
        conn, MAIN_SERVER, settings.main_database_url, MAIN_LINK_OPTIONS, url_options=True
    ) + configure_fdw_server(conn, CRON_SERVER, cron_url, {"keep_connections": "off", "connect_timeout": "2"})


def configure_fdw_server(
    conn: psycopg.Connection,
    server: str,
    url: str,
    extra_options: dict[str, str] | None = None,
    url_options: bool = False,
) -> list[str]:
    """Set one server's host/port/dbname (and extra options) and the current user's mapping from a
    URL; return what changed. With url_options, the URL's query options (`?sslmode=verify-full&
    sslrootcert=...`) become server options too (sslpassword a mapping option), the extra options
    winning; an option later left out of the URL stays on the server until dropped there."""
    target = parse_pg_url(url)
    wanted_server = {"host": target.host, "port": str(target.port), "dbname": target.dbname}
    wanted_mapping = {"user": target.user, "password": target.password or ""}
    if url_options:
        for key, value in query_options(url):
            if key in ("user", "password", "dbname"):
                raise ValueError(
                    f"the {key} of {server}'s URL goes in its authority or path, not in its query (?{key}=)"
                )
            if key == "sslpassword":
                wanted_mapping[key] = value
            elif key not in _ADDRESS_OPTIONS:
                wanted_server[key] = value
    wanted_server.update(extra_options or {})
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
    if _set_job_statement_timeout(conn, settings.job_statement_timeout_s):
        changed.append("job_statement_timeout_s")
    return changed


def _set_job_statement_timeout(conn: psycopg.Connection, seconds: int) -> bool:
    """Make JOB_STATEMENT_TIMEOUT_S the owner role's statement_timeout in the recs database, which
    every session pg_cron opens for a job starts with (a timeout set inside a running statement
    would not bound it); True when it changed. Migrations and DBA sessions as the owner get it too."""
    wanted = f"statement_timeout={seconds}s"
    row = conn.execute(
        "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
        " WHERE d.datname = current_database() AND s.setrole = current_user::regrole"
    ).fetchone()
    if row is not None and wanted in (row[0] or []):
        return False
    database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    conn.execute(
        sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} SET statement_timeout = {}").format(
            sql.Identifier(database[0]), sql.Literal(f"{seconds}s")
        )
    )
    return True


def sql_files(stages: tuple[str, ...] | None = None) -> list[Path]:
    """The repeatable files in dependency order: numbered stage folders, then file names."""
    return sorted(
        path for path in SQL_DIR.glob("[0-9][0-9]_*/*.sql") if stages is None or path.parent.name in stages
    )


# A file whose object depends on one that a later file creates fails with these; it is retried
# after the others, so the order inside a stage need not follow every dependency.
_MISSING_DEPENDENCY = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction)


def apply_sql_files(
    conn: psycopg.Connection, force: bool, stages: tuple[str, ...] | None = None
) -> list[str]:
    """Apply the sql/ files when any checksum changed (or force); one transaction each.

    Every file is applied, not only the changed ones, so a file that drops and recreates a view
    recreates the views that depend on it too. Returns the changed files (all of them when force).
    The domain stage is applied without checking function bodies: before the later migrations it
    may refer to tables they create (the full pass after the migrations checks them).
    """
    applied_sums: dict[str, str] = dict(
        conn.execute("SELECT path, sha256 FROM recs.applied_sql_files").fetchall()
    )
    files = {str(path.relative_to(SQL_DIR)): path.read_text() for path in sql_files(stages)}
    checksums = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()}
    changed = [name for name in files if applied_sums.get(name) != checksums[name]]
    if stages is None:
        stale = [name for name in applied_sums if name not in files]
        if stale:
            conn.execute("DELETE FROM recs.applied_sql_files WHERE path = ANY(%s)", (stale,))
    if not changed and not force:
        return []
    check_bodies = stages != (DOMAIN_STAGE,)
    pending = list(files)
    while pending:
        failed: dict[str, Exception] = {}
        for name in pending:
            try:
                with conn.transaction():
                    if not check_bodies:
                        conn.execute("SET LOCAL check_function_bodies = off")
                    conn.execute(files[name].encode())
                    conn.execute(
                        "INSERT INTO recs.applied_sql_files (path, sha256) VALUES (%s, %s) "
                        "ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, applied_at = now()",
                        (name, checksums[name]),
                    )
            except _MISSING_DEPENDENCY as error:
                failed[name] = error
        if len(failed) == len(pending):
            first, cause = next(iter(failed.items()))
            raise RuntimeError(f"sql/{first}: {cause}") from cause
        pending = list(failed)
    return list(files) if force else changed


def schedule_cron_jobs(settings: Settings, jobs: list[CronJob] | None = None) -> list[str]:
    """Register each job with cron.schedule_in_database; an identical job is left untouched."""
    owner = parse_pg_url(settings.recommendations_owner_database_url)
    cron_url = owner.with_dbname(settings.cron_database_name)
    changed: list[str] = []
    if jobs is None:
        jobs = cron_jobs(settings)
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
