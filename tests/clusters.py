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


PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(command: list[str]) -> list[str]:
    """The command as the postgres OS user when run as root (PostgreSQL refuses root), as infra.sh does."""
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command


class Standby:
    """A hot standby of a running cluster: `pg_basebackup -R` of it into a temporary directory,
    started on a free port as the postgres OS user, streaming from the cluster's Unix socket."""

    def __init__(self, primary_socket_dir: str, primary_port: int, prefix: str = "mysanta-standby-") -> None:
        self.primary_socket_dir, self.primary_port = primary_socket_dir, primary_port
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.data, self.socket_dir, self.log = (
            self.dir / "data",
            self.dir / "run",
            self.dir / "postgresql.log",
        )

    def create(self) -> None:
        """Copy the primary (pg_basebackup -R: a standby.signal and primary_conninfo), then give the
        copy its own port, socket directory and a small shared_buffers."""
        os.chmod(self.dir, 0o755)  # noqa: S103 - the postgres OS user must enter it
        self.socket_dir.mkdir()
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        subprocess.run(
            _as_postgres([
                str(PG_BIN / "pg_basebackup"), "-h", self.primary_socket_dir, "-p", str(self.primary_port),
                "-U", "postgres", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
            ]),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        settings = (
            f"\n# The standby's own (after the primary's, which the copy holds):\nport = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\nshared_buffers = '64MB'\n"
            "hot_standby = on\nhot_standby_feedback = on\n"
        )
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(settings)

    def start(self) -> None:
        """Start it and wait until it accepts connections (read-only, in recovery)."""
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60"]
        command.append("start")
        subprocess.run(_as_postgres(command), check=True, capture_output=True, text=True)

    def stop(self, mode: str = "fast") -> None:
        """Stop it (mode immediate: as if killed, no shutdown checkpoint)."""
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False, capture_output=True, text=True,
        )  # fmt: skip

    def superuser_url(self, dbname: str = "postgres") -> str:
        """The superuser's URL over the standby's Unix socket."""
        return f"postgresql://postgres@localhost:{self.port}/{dbname}?host={self.socket_dir}"

    def remove(self) -> None:
        """Stop it and delete its files."""
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
