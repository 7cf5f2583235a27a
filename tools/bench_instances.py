"""make bench's instances step: cache hits served by one API instance directly, by the same instance
behind nginx (docker/nginx.conf), and by two instances behind nginx, which balances them; bounded (a
few seconds per run). On 2 cores it measures the proxy's overhead and that two instances serve
correctly side by side, not a speed-up: both instances and nginx share the same 2 cores."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tools.processes import running_process

PROJECT_DIR = Path(__file__).resolve().parents[1]
NGINX_CONFIG = PROJECT_DIR / "docker" / "nginx.conf"
CONNECTIONS = 16
SECONDS = 5  # each run: 3 setups x 2 loads, about 40 s in all with the starts


def nginx_config(directory: Path, listen_port: int, api_ports: list[int]) -> Path:
    """docker/nginx.conf with its container addresses swapped for loopback ones, one `server` per instance."""
    text = NGINX_CONFIG.read_text()
    text = text.replace("server api:8000;", " ".join(f"server 127.0.0.1:{port};" for port in api_ports))
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen_port};")
    path = directory / f"nginx-{listen_port}.conf"
    path.write_text(text)
    return path


@contextmanager
def nginx_in_front_of(directory: Path, listen_port: int, api_ports: list[int]) -> Iterator[str]:
    """nginx with the project's configuration on listen_port, balancing api_ports; yields its URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    user = "user root root; " if os.getuid() == 0 else ""
    config = nginx_config(directory, listen_port, api_ports)
    directives = f"{user}pid {directory}/nginx-{listen_port}.pid; daemon off;"
    log = (directory / f"nginx-{listen_port}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - nginx with our own configuration
        [binary, "-p", str(directory), "-c", str(config), "-e", "stderr", "-g", directives],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", listen_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{listen_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def instances_load(
    env: dict[str, str], first_port: int, loads: dict[str, tuple[str, Path]], scratch: Path, wrk: Any
) -> dict[str, Any]:
    """wrk at CONNECTIONS for SECONDS per load against: one instance (one worker) directly, the same
    behind nginx, and two such instances behind nginx. loads: name -> (path, request bodies file);
    wrk: tools.bench.wrk. Ports: first_port, +1 (the second instance), +2 and +3 (the two nginx)."""
    ports = [first_port, first_port + 1]
    proxy_port = first_port + 2
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        for port in ports:
            command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", "1"]
            url = f"http://127.0.0.1:{port}"
            stack.enter_context(running_process(command, env, f"{url}/health", scratch / f"serve-{port}.log"))
        setups = {
            "one_instance": f"http://127.0.0.1:{ports[0]}",
            "one_instance_proxied": stack.enter_context(nginx_in_front_of(scratch, proxy_port, ports[:1])),
            "two_instances_proxied": stack.enter_context(nginx_in_front_of(scratch, proxy_port + 1, ports)),
        }
        for setup, url in setups.items():
            results[setup] = {}
            for name, (path, bodies) in loads.items():
                wrk(url, path, "POST", bodies, 4, 1, scratch)  # warm the cache and the connections
                results[setup][name] = wrk(url, path, "POST", bodies, CONNECTIONS, SECONDS, scratch)
    return results


def summary(results: dict[str, Any]) -> dict[str, float]:
    """Requests per second of each setup over one instance served directly, per load."""
    ratios = {}
    for setup in ("one_instance_proxied", "two_instances_proxied"):
        for name, measured in results[setup].items():
            ratios[f"{setup}/{name}"] = round(measured["rps"] / results["one_instance"][name]["rps"], 3)
    return ratios
