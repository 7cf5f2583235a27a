"""Start a server process for a measurement or a test, wait until it answers, stop it and its workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def running_process(
    command: list[str], env: dict[str, str], ready_url: str, log_path: Path, timeout_s: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """Start command in its own session, wait until ready_url answers, then SIGTERM the session on exit.

    The process's output goes to log_path; its last lines are in the error when it never answers.
    """
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - the caller's own server command
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    urllib.request.urlopen(ready_url, timeout=2)  # noqa: S310 - a loopback URL of ours
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
                        raise RuntimeError(f"{ready_url} did not answer:\n{tail}") from None
                    time.sleep(0.3)
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


# The development defaults (PostgreSQL, the test cluster, Redis, make run): never handed out, so a
# tool's private servers cannot take a port a developer's own may want next.
RESERVED_PORTS = frozenset({55432, 55433, 56379, 8000})


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (the kernel's choice, never a reserved one)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def worker_rss_by_pid(server_pid: int) -> dict[int, float]:
    """Resident memory (MB) of each uvicorn worker, by pid: the server's child processes, less
    multiprocessing's resource tracker."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    sizes = {}
    for child in children:
        try:
            if b"resource_tracker" in Path(f"/proc/{child}/cmdline").read_bytes():
                continue
            status = Path(f"/proc/{child}/status").read_text()
        except FileNotFoundError:  # the process exited between the reads
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes[int(child)] = round(int(line.split()[1]) / 1024, 1)
    return sizes


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its living descendants (from /proc); 0 for a
    process that has exited."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) ": state is fields[0]
    own = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime: fields 14 and 15 of stat
    return own + sum(process_tree_cpu_s(int(child)) for child in children)
