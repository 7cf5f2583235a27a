"""Start a server process for a measurement or a test, wait until it answers, stop it and its workers."""

from __future__ import annotations

import os
import signal
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
