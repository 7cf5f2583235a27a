"""docker/nginx.conf, run by a real nginx in front of the real served app: valid (`nginx -t`), proxies
requests, drops a slow head within client_header_timeout and refuses oversized heads and bodies."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import ADMIN_AUTH, AUTH, PROJECT_DIR, _free_port, make_settings, running_server

CONFIG = PROJECT_DIR / "docker" / "nginx.conf"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make test installs it)")


def _directive(name: str) -> str:
    """The value of a directive of docker/nginx.conf (the first one of that name)."""
    found = re.search(rf"^\s*{name}\s+([^;]+);", CONFIG.read_text(), re.MULTILINE)
    assert found, name
    return found.group(1)


def _config_for(directory: Path, listen_port: int, *api_ports: int) -> Path:
    """docker/nginx.conf with its two container addresses swapped for loopback ones (the API's: one
    line per instance, as nginx has for each address `api` resolves to when compose scales it)."""
    text = CONFIG.read_text()
    swaps = {
        "server api:8000;": " ".join(f"server 127.0.0.1:{port};" for port in api_ports),
        "listen 8080;": f"listen 127.0.0.1:{listen_port};",
    }
    for container, here in swaps.items():
        assert text.count(container) == 1, container
        text = text.replace(container, here)
    config = directory / "nginx.conf"
    config.write_text(text)
    return config


def _nginx(directory: Path, config: Path, *args: str) -> list[str]:
    # Outside a container: a pid file of its own, and, as root, workers as this user (root).
    user = "user root root; " if os.getuid() == 0 else ""
    directives = f"{user}pid {directory}/nginx.pid; daemon off;"
    return [str(NGINX), "-p", str(directory), "-c", str(config), "-e", "stderr", "-g", directives, *args]


@contextmanager
def proxy_in_front_of(api_port: int | list[int], directory: Path) -> Iterator[str]:
    """nginx with the project's configuration, passing to api_port (or balancing over several);
    yields its base URL."""
    port = _free_port()
    config = _config_for(directory, port, *(api_port if isinstance(api_port, list) else [api_port]))
    log = (directory / "nginx.log").open("wb")
    process = subprocess.Popen(_nginx(directory, config), stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, (directory / "nginx.log").read_text()
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    config = _config_for(tmp_path, _free_port(), _free_port())
    checked = subprocess.run(_nginx(tmp_path, config, "-t"), capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_the_proxy_serves_the_api_and_bounds_slow_and_oversized_requests(
    databases: tuple[psycopg.Connection, ...], redis_url: str, tmp_path: Path
) -> None:
    header_timeout_s = int(_directive("client_header_timeout").removesuffix("s"))
    with (
        running_server(make_settings(redis_url)) as (api_url, _),
        proxy_in_front_of(int(api_url.rsplit(":", 1)[1]), tmp_path) as url,
    ):
        host, port = url.removeprefix("http://").split(":")
        slowloris = socket.create_connection((host, int(port)))  # checked last, after the others ran
        slowloris.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()

        with httpx.Client(base_url=url) as client:
            health = client.get("/health", headers={"x-request-id": "through-the-proxy"})
            assert health.status_code == 200 and health.headers["x-request-id"] == "through-the-proxy"
            popular = client.post("/popular", json={}, auth=AUTH)
            assert popular.status_code == 200 and popular.json()["pagination"]["page"] == 1
            assert client.get("/health", headers={"x-big": "a" * 9000}).status_code == 400  # one line > 8 KB
            assert client.get("/health?" + "a" * 9000).status_code == 414
            many = {f"x-h{index}": "a" * 7000 for index in range(5)}  # 35 KB in all, > 4 x 8 KB
            assert client.get("/health", headers=many).status_code == 400
            assert client.post("/popular", content=b"{" * (65 * 1024), auth=AUTH).status_code == 413

        slowloris.settimeout(header_timeout_s + 10)
        try:
            while slowloris.recv(65536):
                pass
        except ConnectionResetError:
            pass  # reset_timedout_connection: dropped with a reset
        assert time.monotonic() - started < header_timeout_s + 6


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _popular_requests(metrics: str) -> float:
    """Requests to /popular answered 200 that a served app's /metrics counted."""
    found = re.search(
        r'^mysanta_http_requests_total\{[^}]*route="/popular"[^}]*status="200"[^}]*\} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


def test_the_proxy_balances_two_instances_and_stats_counts_both(
    databases: tuple[psycopg.Connection, ...], redis_url: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url, stats_flush_ms=100)
    with (
        running_server(settings) as (first_url, _),
        running_server(settings) as (second_url, _),
        proxy_in_front_of([_port_of(first_url), _port_of(second_url)], tmp_path) as url,
        httpx.Client(base_url=url) as client,
    ):
        sent = 20
        for index in range(sent):
            body = {"pagination": {"limit": 1 + index % 5}}
            assert client.post("/popular", json=body, auth=AUTH).status_code == 200
        served = [
            _popular_requests(httpx.get(f"{base}/metrics", auth=ADMIN_AUTH).text)
            for base in (first_url, second_url)
        ]
        assert sum(served) == sent and min(served) >= sent / 4, served  # round robin: about half each

        deadline = time.monotonic() + 10  # each instance adds its counts to Redis every STATS_FLUSH_MS
        while True:
            stats = client.get("/stats", auth=ADMIN_AUTH).json()
            counted = sum(row["requests"] for row in stats["requests"] if row["route"] == "/popular")
            if counted == sent or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert counted == sent, stats["requests"]
        assert stats["cache"]["hits"] + stats["cache"]["misses"] >= sent
