"""Private PostgreSQL clusters a test starts and stops itself, with the project's own scripts/infra.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import _free_port

INFRA = Path(__file__).resolve().parents[1] / "scripts" / "infra.sh"


class Cluster:
    """A PostgreSQL 15 cluster (pg_cron preloaded, no fsync) on a free port, in its own state directory."""

    def __init__(self, prefix: str = "mysanta-cluster-") -> None:
        self.port = _free_port()
        self.state_dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.state_dir, 0o755)  # noqa: S103 - the postgres OS user must enter it
        self.env = os.environ | {"PG_PORT": str(self.port), "STATE_DIR": self.state_dir, "PG_FAST": "1"}

    def infra(self, command: str) -> str:
        """Run scripts/infra.sh for this cluster; its output."""
        done = subprocess.run([str(INFRA), command], env=self.env, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def superuser_url(self, dbname: str = "postgres") -> str:
        """The superuser's URL (Unix socket, no password) for a database of this cluster."""
        return self.infra("superuser-url").replace("/postgres?", f"/{dbname}?")

    def remove(self) -> None:
        """Stop the cluster and delete its files."""
        subprocess.run([str(INFRA), "stop-postgres"], env=self.env, check=False, capture_output=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)
