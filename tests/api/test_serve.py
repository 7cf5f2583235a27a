"""`python -m service serve` as make run starts it: WORKERS uvicorn workers, also with DEBUG=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from service.settings import settings_environ
from tests.conftest import make_settings, running_server


def test_serve_starts_the_requested_workers_even_in_debug_mode(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    with running_server(make_settings(redis_url), workers=2, debug=True) as (_, pid):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        workers = [
            child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
        ]
        assert len(workers) == 2, children


def test_serve_names_a_recs_database_it_cannot_reach_in_one_line(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    settings = make_settings(redis_url)
    wrong = settings.recommendations_database_url.replace(":test-app-", ":not-the-app-", 1)
    assert wrong != settings.recommendations_database_url
    for url, reason in (
        (wrong, "password authentication failed"),
        (f"{wrong.split('@')[0]}@127.0.0.1:1/x", ""),
    ):
        env = os.environ | settings_environ(settings) | {"RECOMMENDATIONS_DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "service", "serve", "--port", "1"], env=env,
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("configuration error: RECOMMENDATIONS_DATABASE_URL (postgresql://")
        assert "cannot connect" in done.stderr and reason in done.stderr and "Traceback" not in done.stderr
        assert "not-the-app-" not in done.stderr and done.stderr.count("\n") == 1
