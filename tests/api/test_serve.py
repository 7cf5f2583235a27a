"""`python -m service serve` as make run starts it: WORKERS uvicorn workers, also with DEBUG=true."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

from tests.conftest import AUTH, _free_port, make_settings


def test_serve_starts_the_requested_workers_even_in_debug_mode(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    settings = make_settings(redis_url)
    port = _free_port()
    env = os.environ | {
        "MAIN_DATABASE_URL": settings.main_database_url,
        "RECOMMENDATIONS_DATABASE_URL": settings.recommendations_database_url,
        "RECOMMENDATIONS_OWNER_DATABASE_URL": settings.recommendations_owner_database_url,
        "RECOMMENDATIONS_REDIS_URL": redis_url,
        "BASIC_AUTH_USERNAME": AUTH[0],
        "BASIC_AUTH_PASSWORD": AUTH[1],
        "DEBUG": "true",
        "DB_POOL_MIN_SIZE": "1",
    }
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.3)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        workers = [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2, children
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
