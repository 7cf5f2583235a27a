"""Private PostgreSQL clusters a test starts and stops itself, with the project's own scripts/infra.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import _free_port

INFRA = Path(__file__).resolve().parents[1] / "scripts" / "infra.sh"
# Where a test's own cluster keeps its files: in memory where the machine has a writable /dev/shm
# with 2 GB free (as make test keeps the test cluster), else the temporary directory.
_SHM = "/dev/shm"  # noqa: S108 - only mkdtemp's private directories are made there
CLUSTER_PARENT_DIR = (
    _SHM
    if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK) and shutil.disk_usage(_SHM).free >= 2 * 1024**3
    else None
)


class Cluster:
    """A PostgreSQL 15 cluster (pg_cron preloaded, no fsync) on a free port, in its own state directory."""

    def __init__(self, prefix: str = "mysanta-cluster-") -> None:
        self.port = _free_port()
        self.state_dir = tempfile.mkdtemp(prefix=prefix, dir=CLUSTER_PARENT_DIR)
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
        self.dir = Path(tempfile.mkdtemp(prefix=prefix, dir=CLUSTER_PARENT_DIR))
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


def _free_port_pair() -> tuple[int, int]:
    """Two free ports: a Redis Cluster node's client port and its cluster bus port."""
    while True:
        first, second = _free_port(), _free_port()
        if first != second:
            return first, second


class RedisClusterNodes:
    """A real Redis Cluster of `masters` master nodes (no replicas) on free ports, each a redis-server
    of its own (bounded and evicting as production's Redis), joined by `redis-cli --cluster create`."""

    def __init__(self, masters: int = 3) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mysanta-redis-cluster-"))
        self.ports = [_free_port_pair() for _ in range(masters)]

    @property
    def url(self) -> str:
        """The service's URL for the cluster: any one node; the client learns the others."""
        return f"redis+cluster://127.0.0.1:{self.ports[0][0]}/0"

    def start_node(self, index: int) -> None:
        """Start node index (again: it keeps its id and slots from its nodes file, not its data)."""
        port, bus_port = self.ports[index]
        node_dir = self.dir / str(port)
        node_dir.mkdir(exist_ok=True)
        subprocess.run(
            [
                "redis-server", "--port", str(port), "--cluster-port", str(bus_port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "1000", "--cluster-require-full-coverage", "no",
                "--daemonize", "yes", "--dir", str(node_dir), "--save", "", "--appendonly", "no",
                "--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru",
                "--pidfile", str(node_dir / "redis.pid"), "--logfile", str(node_dir / "redis.log"),
            ],
            check=True,
        )  # fmt: skip
        self._wait(port, lambda reply: reply.startswith("PONG"), "ping")

    def stop_node(self, index: int) -> None:
        """Shut node index down (its cache entries are gone, as with a crash: nothing is saved)."""
        port = self.ports[index][0]
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False, capture_output=True)
        self._wait(port, lambda reply: "PONG" not in reply, "ping")

    def start(self) -> None:
        """Start every node, create the cluster (slots shared evenly) and wait until it is ok."""
        for index in range(len(self.ports)):
            self.start_node(index)
        nodes = [f"127.0.0.1:{port}" for port, _ in self.ports]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-yes"], check=True, capture_output=True
        )
        for port, _ in self.ports:
            self.wait_ok(port)

    def wait_ok(self, port: int) -> None:
        """Wait until the node at port says the cluster is ok."""
        self._wait(port, lambda reply: "cluster_state:ok" in reply, "cluster", "info")

    def node_of(self, key: str) -> int:
        """The index of the node that holds key's slot."""
        for index, (port, _) in enumerate(self.ports):
            reply = self._cli(port, "cluster", "keyslot", key)
            slot = int(reply)
            for line in self._cli(port, "cluster", "nodes").splitlines():
                fields = line.split()
                if "myself" in fields[2]:
                    for span in fields[8:]:
                        low, _, high = span.partition("-")
                        if int(low) <= slot <= int(high or low):
                            return index
        raise AssertionError(f"no node holds the slot of {key}")

    def _cli(self, port: int, *args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(port), *args], check=False, capture_output=True, text=True
        )
        return done.stdout.strip()

    def _wait(self, port: int, ready: Callable[[str], bool], *args: str) -> None:
        for _ in range(200):
            if ready(self._cli(port, *args)):
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis node {port}: not ready for {args}")

    def remove(self) -> None:
        """Stop every node and delete the files."""
        for index in range(len(self.ports)):
            self.stop_node(index)
        shutil.rmtree(self.dir, ignore_errors=True)
