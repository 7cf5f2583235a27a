"""`python -m service serve` as make run starts it: WORKERS uvicorn workers, also with DEBUG=true."""

from __future__ import annotations

from pathlib import Path

import psycopg

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
