"""Command line of the development tools: generate, evaluate, tune, bench, soak, shapes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from service.__main__ import run_command
from service.settings import SettingsError, load_settings
from tools.shapes import SHAPES


def _generate(args: argparse.Namespace) -> None:
    from tools.generate import PRESETS, generate, main_is_empty, sync_demo_demographics

    if not args.main_url:
        raise SettingsError("MAIN_ADMIN_DATABASE_URL (or --main-url) is required: a role that may write main")
    if not main_is_empty(args.main_url):
        print("generate: the main database already has data; left as it is")
        return
    written = generate(args.main_url, PRESETS[args.preset])
    print("generate: " + ", ".join(f"{name} {count:,}" for name, count in written.items()))
    synced = sync_demo_demographics(args.main_url, load_settings().recommendations_database_url)
    print(f"generate: demographics of {synced:,} users synced through api.upsert_user_demographics")


def _evaluate(args: argparse.Namespace) -> None:
    from tools.evaluate import format_table, run_evaluation
    from tools.suite import DEFAULT_DATASETS_DIR, format_summary, run_suite, summary_row

    if not args.superuser_url:
        raise SettingsError(
            "POSTGRES_SUPERUSER_URL (or --superuser-url) is required: evaluate recreates databases"
        )
    overrides = dict(item.split("=", 1) for item in args.set)
    if args.dataset is None:
        datasets_dir = Path(args.datasets_dir) if args.datasets_dir else DEFAULT_DATASETS_DIR
        suite = run_suite(
            args.superuser_url, load_settings(), datasets_dir, args.main_db, args.recs_db,
            overrides=overrides, validation=args.validation,
        )  # fmt: skip
        if suite.path is None:
            print(
                f"evaluate: no dataset of the suite could run (datasets directory {datasets_dir})",
                file=sys.stderr,
            )
            raise SystemExit(2)
        print(f"evaluate: wrote {suite.path}")
        return
    dataset = Path(args.dataset)
    if not dataset.exists():
        print(f"evaluate: no dataset at {dataset}", file=sys.stderr)
        raise SystemExit(2)
    try:
        report, path = run_evaluation(
            args.superuser_url, load_settings(), dataset, args.main_db, args.recs_db,
            overrides=overrides, validation=args.validation,
        )  # fmt: skip
    except ValueError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(format_table(report))
    print(f"evaluate: wrote {path}")
    print(format_summary({report["dataset"]: summary_row(report, path)}, {}))


def _tune(args: argparse.Namespace) -> None:
    from tools.suite import DEFAULT_DATASETS_DIR
    from tools.tune import parse_grid, run_tuning

    if not args.superuser_url:
        raise SettingsError(
            "POSTGRES_SUPERUSER_URL (or --superuser-url) is required: tune recreates databases"
        )
    try:
        grid = parse_grid(args.grid)
    except ValueError as error:
        print(f"tune: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    datasets_dir = Path(args.datasets_dir) if args.datasets_dir else DEFAULT_DATASETS_DIR
    dataset = Path(args.dataset) if args.dataset else None
    if dataset is not None and not dataset.exists():
        print(f"tune: no dataset at {dataset}", file=sys.stderr)
        raise SystemExit(2)
    try:
        path = run_tuning(
            args.superuser_url, load_settings(), datasets_dir, grid, args.main_db, args.recs_db,
            dataset=dataset, validation_depth=args.validation_depth,
        )  # fmt: skip
    except ValueError as error:
        print(f"tune: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"tune: wrote {path}")


def _bench(args: argparse.Namespace) -> None:
    from tools.bench import RESULTS_PATH, BenchConfig, format_report, run_benchmark, scaled_name
    from tools.generate import PRESETS

    if not args.superuser_url:
        raise SettingsError(
            "POSTGRES_SUPERUSER_URL (or --superuser-url) is required: bench creates databases"
        )
    config = BenchConfig(
        superuser_url=args.superuser_url, main_db=scaled_name(args.main_db, args.scale),
        recs_db=scaled_name(args.recs_db, args.scale), port=args.port, baseline_port=args.port + 1,
        workers=args.workers, load_seconds=args.seconds, size=PRESETS[args.preset].scaled(args.scale),
        series=() if args.no_series else args.series,
    )  # fmt: skip
    name = args.preset if args.scale == 1 else scaled_name(args.preset, args.scale)
    path = RESULTS_PATH if name == "target" else RESULTS_PATH.with_name(f"bench-{name}.json")
    if args.instances_only or args.recording_only:
        from tools.bench import format_instances, instances_step, recording_step, run_step_only
        from tools.bench_recording import format_recording

        key, step, show = (
            ("instances", instances_step, format_instances) if args.instances_only
            else ("recording", recording_step, format_recording)
        )  # fmt: skip
        report = run_step_only(load_settings(), config, key, step, path)
        print(show(report[key]))
        print(f"bench: wrote {path}")
        return
    report = run_benchmark(load_settings(), config, path, serving_only=args.serving_only)
    print(format_report(report))
    print(f"bench: wrote {path}")


def _soak(args: argparse.Namespace) -> None:
    from tools.soak import RESULTS_PATH, SoakConfig, format_report, run_soak

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # so the private clusters, Redis and server are stopped and removed

    signal.signal(signal.SIGTERM, interrupted)
    config = SoakConfig(seconds=args.seconds, rate=args.rate, workers=args.workers, preset=args.preset)
    try:
        report = run_soak(config)
    except KeyboardInterrupt:
        print("soak: interrupted; its server, clusters and Redis are stopped and removed", file=sys.stderr)
        raise SystemExit(130) from None
    print(format_report(report))
    print(f"soak: wrote {RESULTS_PATH}")
    if not report["passed"]:
        raise SystemExit(1)


def _factors(text: str) -> tuple[float, ...]:
    """A comma-separated list of positive scale factors, e.g. 0.25,0.5,1."""
    try:
        factors = tuple(float(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not factors or min(factors) <= 0 or len(set(factors)) != len(factors):
        raise argparse.ArgumentTypeError(f"need distinct positive factors, e.g. 0.25,0.5,1: {text!r}")
    return factors


def _shapes(args: argparse.Namespace) -> None:
    from tools.shapes import write_shapes

    for path in write_shapes(args.directory, tuple(args.shape or SHAPES)):
        print(f"shapes: wrote {path}")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one tool; configuration errors exit with status 2."""
    parser = argparse.ArgumentParser(prog="python -m tools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="fill an empty main database with generated data")
    generate.add_argument("--main-url", default=os.environ.get("MAIN_ADMIN_DATABASE_URL"))
    generate.add_argument("--preset", choices=("tiny", "demo", "target"), default="demo")
    generate.set_defaults(handler=_generate)

    evaluate = commands.add_parser(
        "evaluate",
        help="offline quality: load a dataset's train split into fresh databases, score the api.* SQL",
    )
    evaluate.add_argument(
        "--dataset", default=os.environ.get("DATASET") or None,
        help="MovieLens 100K directory or user,item,weight[,timestamp] file (default: $DATASET;"
        " neither: the suite of MovieLens 100K temporal and generic, and FilmTrust)",
    )  # fmt: skip
    evaluate.add_argument(
        "--datasets-dir", default=os.environ.get("DATASETS_DIR") or None,
        help="where the suite finds movielens-100k/ and filmtrust/"
        " (default: $DATASETS_DIR, else shared/datasets beside the project)",
    )  # fmt: skip
    evaluate.add_argument("--superuser-url", default=os.environ.get("POSTGRES_SUPERUSER_URL"))
    evaluate.add_argument("--main-db", default=os.environ.get("EVAL_MAIN_DB") or "mysanta_eval_main")
    evaluate.add_argument("--recs-db", default=os.environ.get("EVAL_RECS_DB") or "mysanta_eval_recs")
    evaluate.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a recs.settings knob"
    )
    evaluate.add_argument(
        "--validation", action="store_true", help="evaluate on a split of the train data (for tuning)"
    )
    evaluate.set_defaults(handler=_evaluate)

    tune = commands.add_parser(
        "tune",
        help="setting search on the validation splits of the suite (never the test split): every combination",
    )
    tune.add_argument(
        "--grid", action="extend", nargs="+", default=[], metavar="KEY=V1,V2",
        help="recs.settings knobs and the values to try (all combinations run)",
    )  # fmt: skip
    tune.add_argument(
        "--dataset", default=os.environ.get("DATASET") or None,
        help="tune on this user,item,weight[,timestamp] file's validation split instead of the suite's",
    )  # fmt: skip
    tune.add_argument(
        "--validation-depth", type=int, default=1, metavar="N",
        help="split the train data N times (2: the second validation split, the validation split's train"
        " split split again, to confirm a choice on a second look)",
    )  # fmt: skip
    tune.add_argument("--datasets-dir", default=os.environ.get("DATASETS_DIR") or None)
    tune.add_argument("--superuser-url", default=os.environ.get("POSTGRES_SUPERUSER_URL"))
    tune.add_argument("--main-db", default=os.environ.get("EVAL_MAIN_DB") or "mysanta_eval_main")
    tune.add_argument("--recs-db", default=os.environ.get("EVAL_RECS_DB") or "mysanta_eval_recs")
    tune.set_defaults(handler=_tune)

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
        help="skip the refresh timings and the cost curve (the last run's are kept): measure SQL and HTTP"
        " on the last run's recs database",
    )  # fmt: skip
    bench.add_argument(
        "--scale", type=float, default=1.0,
        help="multiply the preset's sizes (e.g. 0.02 for a quick check): databases and results file get an"
        " _x<scale> suffix",
    )  # fmt: skip
    bench.add_argument(
        "--series", type=_factors, default="0.25,0.5,1", metavar="FACTORS",
        help="the cost curve's points as fractions of the scale (default 0.25,0.5,1; 2 adds a doubled point):"
        " refresh and SQL timings again on each, in databases of their own generated once",
    )  # fmt: skip
    bench.add_argument("--no-series", action="store_true", help="skip the cost curve")
    bench.add_argument(
        "--instances-only", action="store_true",
        help="only cache hits through one API instance, nginx in front of it, and nginx balancing two"
        " (about 40 s, on the last run's recs database); added to the results file as `instances`",
    )  # fmt: skip
    bench.add_argument(
        "--recording-only", action="store_true",
        help="only the cost of recording served pages: /personalized hits of a hundred users with"
        " online_record_share 0 and at its value, interleaved (about 80 s, on the last run's recs database);"
        " added as `recording`",
    )  # fmt: skip
    bench.set_defaults(handler=_bench)

    soak = commands.add_parser(
        "soak",
        help="bounded soak: steady mixed traffic, every job several times, Redis and main restarted once"
        " (bench/results/soak.json; exit 1 when a check fails)",
    )
    soak.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "180")))
    soak.add_argument("--rate", type=float, default=float(os.environ.get("SOAK_RATE", "40")),
                      help="Rails requests per second")  # fmt: skip
    soak.add_argument("--workers", type=int, default=2)
    soak.add_argument(
        "--preset", choices=("tiny", "demo"), default="demo", help="size of the generated main DB"
    )
    soak.set_defaults(handler=_soak)

    shapes = commands.add_parser(
        "shapes", help="synthetic files shaped like MovieLens 1M and Last.fm, for make eval DATASET="
    )
    shapes.add_argument("directory", type=Path, help="where to write ml1m-shape.csv and lastfm-shape.tsv")
    shapes.add_argument("--shape", action="append", choices=SHAPES, help="only this shape")
    shapes.set_defaults(handler=_shapes)

    run_command(parser, argv)


if __name__ == "__main__":
    main()
