"""Command line of the service: serve, migrate, bootstrap (superuser), main-grants, refresh."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from service.settings import SettingsError, integer_in, load_settings, masked_url, postgres_url


def _check_recs_database(url: str) -> None:
    """One connection as the app's role: a wrong password or an unreachable server is one line naming
    RECOMMENDATIONS_DATABASE_URL (its password masked), not each worker's startup traceback."""
    import asyncio

    import asyncpg

    async def connect() -> None:
        connection = await asyncpg.connect(url, timeout=5)
        await connection.close()

    try:
        asyncio.run(connect())
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        reason = f"{type(error).__name__}: {error}"
        raise SettingsError(
            f"RECOMMENDATIONS_DATABASE_URL ({masked_url(url)}): cannot connect: {reason}"
        ) from None


def _serve(args: argparse.Namespace) -> None:
    import shutil
    import tempfile

    settings = load_settings()
    port = integer_in("PORT (--port)", args.port or os.environ.get("PORT", "8000"), 1, 65535)
    workers = integer_in("WORKERS (--workers)", args.workers or os.environ.get("WORKERS", "1"), 1, 64)
    # Refuse to start without credentials, or without the recs DB, before forking workers.
    settings.auth_credentials  # noqa: B018
    settings.admin_credentials  # noqa: B018
    _check_recs_database(settings.recommendations_database_url)
    # Every worker writes its Prometheus series into one directory that /metrics sums. It is set
    # and emptied (an earlier server's files would be summed in) before anything imports
    # prometheus_client: with one worker, this very process serves.
    own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mysanta-metrics-")
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(metrics_dir, exist_ok=True)
    for name in os.listdir(metrics_dir):
        if name.endswith(".db"):
            os.remove(os.path.join(metrics_dir, name))
    import uvicorn

    from service.server import GuardedHttpToolsProtocol

    # DEBUG auto-reloads on code changes, which uvicorn can do with one worker only: WORKERS > 1 wins.
    reload = settings.debug and workers == 1
    try:
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            host=args.host,
            port=port,
            workers=None if reload else workers,
            reload=reload,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            # Limits (README "Configuration"): requests and connections each worker takes on at once
            # (beyond: 503), idle time between requests, and, in the protocol, the time a request may
            # take to arrive and the size of its head.
            http=GuardedHttpToolsProtocol,
            limit_concurrency=settings.http_limit_concurrency,
            timeout_keep_alive=settings.http_keep_alive_timeout_s,
            ws="none",  # no WebSocket routes: upgrade requests are not taken up
            server_header=False,
        )
    finally:
        if own_metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _migrate(args: argparse.Namespace) -> None:
    from service.migrate import MigrationChanged, migrate

    try:
        report = migrate(load_settings().owner_settings(), schedule=not args.no_schedule)
    except MigrationChanged as error:
        print(f"migrate: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f"migrations: {len(report.migrations)} applied; sql files: {len(report.sql_files)} applied; "
        f"fdw options: {len(report.fdw_options)} changed; cron jobs: {len(report.cron_jobs)} changed"
    )


def _bootstrap(args: argparse.Namespace) -> None:
    from service.bootstrap import bootstrap

    if not args.superuser_url:
        raise SettingsError("POSTGRES_SUPERUSER_URL (or --superuser-url) is required for bootstrap")
    bootstrap(args.superuser_url, load_settings().owner_settings(), dev_main=args.dev_main)
    print("bootstrap: roles, database, extensions and grants of the recs cluster are in place")
    if args.dev_main:
        print("bootstrap: the development main database, its schema and the reader role are in place")


def _main_grants(args: argparse.Namespace) -> None:
    from service.bootstrap import main_grants

    if args.apply and not args.main_admin_url:
        raise SettingsError("MAIN_ADMIN_DATABASE_URL (or --main-admin-url) is required with --apply")
    # Only MAIN_DATABASE_URL: the main database's DBA need not hold the rest of the service's settings.
    main_url = os.environ.get("MAIN_DATABASE_URL", "").strip()
    if not main_url:
        raise SettingsError("MAIN_DATABASE_URL is required: its role is the one the script sets up")
    script = main_grants(
        postgres_url("MAIN_DATABASE_URL", main_url), args.main_admin_url if args.apply else None
    )
    if args.apply:
        print("main-grants: the reader role and its grants are in place; its password is MAIN_DATABASE_URL's")
    else:
        print(script)


def _refresh(args: argparse.Namespace) -> None:
    from service.jobs import run_jobs
    from service.models import JOB_NAMES

    for job in args.jobs:
        if job not in JOB_NAMES:
            print(f"refresh: unknown job {job}; the jobs are: {', '.join(JOB_NAMES)}", file=sys.stderr)
            raise SystemExit(2)
    import psycopg

    try:
        runs = run_jobs(load_settings().owner_settings(), args.jobs or None)
    except psycopg.Error as error:  # a job's own failure, logged in recs.job_runs; or no connection
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"refresh: failed (SQLSTATE {error.sqlstate or 'none'}): {reason}", file=sys.stderr)
        raise SystemExit(1) from None
    for logged in runs:
        print(f"refresh: {logged.job} {logged.rows:,} rows in {logged.duration_ms / 1000:.1f} s")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one command; configuration errors exit with status 2."""
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API with uvicorn")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", help="default: $PORT, else 8000")
    serve.add_argument("--workers", help="default: $WORKERS, else 1")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply migrations, sql/ files and pg_cron schedules")
    migrate.add_argument("--no-schedule", action="store_true", help="skip the pg_cron step")
    migrate.set_defaults(handler=_migrate)

    bootstrap = commands.add_parser("bootstrap", help="create roles, databases and extensions (superuser)")
    bootstrap.add_argument("--superuser-url", default=os.environ.get("POSTGRES_SUPERUSER_URL"))
    bootstrap.add_argument(
        "--dev-main", action="store_true",
        help="development only: also create the main database on this cluster with the expected Rails schema",
    )  # fmt: skip
    bootstrap.set_defaults(handler=_bootstrap)

    grants = commands.add_parser(
        "main-grants",
        help="print the SQL giving MAIN_DATABASE_URL's role read access to what the service reads in main",
    )
    grants.add_argument("--apply", action="store_true", help="run it in main and set the role's password")
    grants.add_argument("--main-admin-url", default=os.environ.get("MAIN_ADMIN_DATABASE_URL"))
    grants.set_defaults(handler=_main_grants)

    refresh = commands.add_parser(
        "refresh", help="run jobs now, as pg_cron would (every refresh job by default)"
    )
    refresh.add_argument("jobs", nargs="*", help="job names, e.g. refresh_popular_items")
    refresh.set_defaults(handler=_refresh)

    run_command(parser, argv)


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None) -> None:
    """Parse argv and run the chosen command's handler; a configuration error exits with status 2."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        args.handler(args)
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
