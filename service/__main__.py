"""Command line: serve, migrate, refresh, bootstrap (superuser), generate, evaluate, bench."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from service.settings import SettingsError, load_settings


def _serve(args: argparse.Namespace) -> None:
    import shutil
    import tempfile

    settings = load_settings()
    settings.auth_credentials  # noqa: B018 - refuse to start without credentials, before forking workers
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

    # DEBUG auto-reloads on code changes, which uvicorn can do with one worker only: WORKERS > 1 wins.
    reload = settings.debug and args.workers == 1
    try:
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=None if reload else args.workers,
            reload=reload,
            log_config=None,
            access_log=False,
            proxy_headers=True,
        )
    finally:
        if own_metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _migrate(args: argparse.Namespace) -> None:
    from service.migrate import migrate

    report = migrate(load_settings(), schedule=not args.no_schedule)
    print(
        f"migrations: {len(report.migrations)} applied; sql files: {len(report.sql_files)} applied; "
        f"fdw options: {len(report.fdw_options)} changed; cron jobs: {len(report.cron_jobs)} changed"
    )


def _bootstrap(args: argparse.Namespace) -> None:
    from service.bootstrap import bootstrap

    if not args.superuser_url:
        raise SettingsError("POSTGRES_SUPERUSER_URL (or --superuser-url) is required for bootstrap")
    bootstrap(args.superuser_url, load_settings())
    print("bootstrap: roles, databases, extensions and grants are in place")


def _generate(args: argparse.Namespace) -> None:
    from service.generate import PRESETS, generate, main_is_empty, sync_demo_demographics

    if not args.main_url:
        raise SettingsError("MAIN_ADMIN_DATABASE_URL (or --main-url) is required: a role that may write main")
    if not main_is_empty(args.main_url):
        print("generate: the main database already has data; left as it is")
        return
    written = generate(args.main_url, PRESETS[args.preset])
    print("generate: " + ", ".join(f"{name} {count:,}" for name, count in written.items()))
    synced = sync_demo_demographics(args.main_url, load_settings().recommendations_database_url)
    print(f"generate: demographics of {synced:,} users synced through api.upsert_user_demographics")


def _refresh(args: argparse.Namespace) -> None:
    from service.jobs import REFRESH_JOBS, run_jobs

    for run in run_jobs(load_settings(), args.jobs or REFRESH_JOBS):
        print(f"refresh: {run.job} {run.rows:,} rows in {run.duration_ms / 1000:.1f} s")


def _evaluate(args: argparse.Namespace) -> None:
    from pathlib import Path

    from service.evaluate import MOVIELENS_DIR, format_table, run

    if not args.superuser_url:
        raise SettingsError(
            "POSTGRES_SUPERUSER_URL (or --superuser-url) is required: evaluate recreates databases"
        )
    dataset = Path(args.dataset) if args.dataset else MOVIELENS_DIR
    if not dataset.exists():
        print(f"evaluate: no dataset at {dataset}", file=sys.stderr)
        raise SystemExit(2)
    try:
        overrides = dict(item.split("=", 1) for item in args.set)
        report, path = run(
            args.superuser_url, load_settings(), dataset, args.main_db, args.recs_db,
            overrides=overrides, validation=args.validation,
        )  # fmt: skip
    except ValueError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(format_table(report))
    print(f"evaluate: wrote {path}")


def _bench(args: argparse.Namespace) -> None:
    from service.bench import RESULTS_PATH, BenchConfig, format_report, run
    from service.generate import PRESETS

    if not args.superuser_url:
        raise SettingsError(
            "POSTGRES_SUPERUSER_URL (or --superuser-url) is required: bench creates databases"
        )
    config = BenchConfig(
        superuser_url=args.superuser_url, main_db=args.main_db, recs_db=args.recs_db, port=args.port,
        baseline_port=args.port + 1, workers=args.workers, load_seconds=args.seconds,
        size=PRESETS[args.preset],
    )  # fmt: skip
    path = RESULTS_PATH if args.preset == "target" else RESULTS_PATH.with_name(f"bench-{args.preset}.json")
    report = run(load_settings(), config, path, serving_only=args.serving_only)
    print(format_report(report))
    print(f"bench: wrote {path}")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one command; configuration errors exit with status 2."""
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API with uvicorn")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply migrations, sql/ files and pg_cron schedules")
    migrate.add_argument("--no-schedule", action="store_true", help="skip the pg_cron step")
    migrate.set_defaults(run=_migrate)

    bootstrap = commands.add_parser("bootstrap", help="create roles, databases and extensions (superuser)")
    bootstrap.add_argument("--superuser-url", default=os.environ.get("POSTGRES_SUPERUSER_URL"))
    bootstrap.set_defaults(run=_bootstrap)

    generate = commands.add_parser("generate", help="fill an empty main database with generated data")
    generate.add_argument("--main-url", default=os.environ.get("MAIN_ADMIN_DATABASE_URL"))
    generate.add_argument("--preset", choices=("tiny", "demo", "target"), default="demo")
    generate.set_defaults(run=_generate)

    refresh = commands.add_parser("refresh", help="run refresh jobs now, as pg_cron would (all by default)")
    refresh.add_argument("jobs", nargs="*", help="job names, e.g. refresh_popular_items")
    refresh.set_defaults(run=_refresh)

    evaluate = commands.add_parser(
        "evaluate",
        help="offline quality: load a dataset's train split into fresh databases, score the api.* SQL",
    )
    evaluate.add_argument("--dataset", help="MovieLens 100K directory or user,item,weight[,timestamp] file")
    evaluate.add_argument("--superuser-url", default=os.environ.get("POSTGRES_SUPERUSER_URL"))
    evaluate.add_argument("--main-db", default=os.environ.get("EVAL_MAIN_DB") or "mysanta_eval_main")
    evaluate.add_argument("--recs-db", default=os.environ.get("EVAL_RECS_DB") or "mysanta_eval_recs")
    evaluate.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a recs.settings knob"
    )
    evaluate.add_argument(
        "--validation", action="store_true", help="evaluate on a split of the train data (for tuning)"
    )
    evaluate.set_defaults(run=_evaluate)

    bench = commands.add_parser(
        "bench",
        help="target-scale benchmark: refresh times, SQL latency, HTTP load (bench/results/latest.json)",
    )
    bench.add_argument("--superuser-url", default=os.environ.get("POSTGRES_SUPERUSER_URL"))
    bench.add_argument("--main-db", default=os.environ.get("BENCH_MAIN_DB") or "mysanta_bench_main")
    bench.add_argument("--recs-db", default=os.environ.get("BENCH_RECS_DB") or "mysanta_bench_recs")
    bench.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8100")))
    bench.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    bench.add_argument("--seconds", type=int, default=8, help="length of each load run")
    bench.add_argument(
        "--preset", choices=("tiny", "demo", "target"), default="target",
        help="size of a newly generated bench main DB (smaller: a quick check, with another --main-db)",
    )  # fmt: skip
    bench.add_argument(
        "--serving-only", action="store_true",
        help="skip the refresh timings: measure SQL and HTTP on the last run's recs database",
    )  # fmt: skip
    bench.set_defaults(run=_bench)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        args.run(args)
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
