"""scripts/infra.sh starts the development Redis bounded in memory, evicting as the service expects,
and asking for REDIS_PASSWORD when one is set."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from pathlib import Path

import pytest
import redis

from service.cache import EVICTION_POLICY
from tests.conftest import PROJECT_DIR, _free_port

INFRA = PROJECT_DIR / "scripts" / "infra.sh"


@pytest.mark.parametrize("password", ["", "dev-redis-secret"], ids=["open", "password"])
def test_infra_starts_redis_bounded_and_with_the_password(tmp_path: Path, password: str) -> None:
    port = _free_port()
    env = os.environ | {"STATE_DIR": str(tmp_path), "REDIS_PORT": str(port), "REDIS_MAXMEMORY": "48mb"}
    env["REDIS_PASSWORD"] = password

    def infra(command: str) -> None:
        subprocess.run(["bash", str(INFRA), command], env=env, check=True, capture_output=True, timeout=60)

    infra("start-redis")
    try:
        client = redis.Redis(port=port, password=password or None)
        assert client.config_get("maxmemory")["maxmemory"] == str(48 * 1024 * 1024)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == EVICTION_POLICY
        assert client.config_get("save")["save"] == ""  # a cache: nothing written to disk
        if password:
            with pytest.raises(redis.AuthenticationError):
                redis.Redis(port=port).ping()
            assert password not in Path(f"/proc/{client.info('server')['process_id']}/cmdline").read_text()
        infra("start-redis")  # running already: nothing to do
    finally:
        infra("stop-redis")
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, password=password or None, socket_connect_timeout=1, retry=None).ping()


@pytest.mark.parametrize(
    ("arguments", "stops_test_cluster"),
    [
        ([], "any"),  # the default test port, or the one a developer's .env sets
        (["PG_PORT=55499", "REDIS_PORT=56499"], None),
        (["PG_PORT=55499", "TEST_PG_PORT=55498"], "55498"),
    ],
)
def test_make_stop_with_another_instances_ports_leaves_the_test_cluster(
    arguments: list[str], stops_test_cluster: str | None
) -> None:
    """`make stop PG_PORT=... REDIS_PORT=...` (make run's banner for another instance) stops that one."""
    environ = {key: value for key, value in os.environ.items() if not key.endswith("_PORT")}
    planned = subprocess.run(
        ["make", "-s", "-n", "stop", *arguments], cwd=PROJECT_DIR, env=environ,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "scripts/infra.sh stop\n" in planned
    stopped = [line for line in planned.splitlines() if "stop-postgres" in line]
    if stops_test_cluster is None:
        assert stopped == []
        return
    # The test cluster is stopped where make test starts it (its port, TEST_STATE_DIR's directory).
    started = [
        line
        for line in subprocess.run(
            ["make", "-s", "-n", "test", *arguments],
            cwd=PROJECT_DIR,
            env=environ,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        if line.endswith("scripts/infra.sh start-postgres")
    ]
    port = r"\d+" if stops_test_cluster == "any" else stops_test_cluster
    assert len(started) == 1 and re.match(rf"PG_PORT={port} PG_FAST=1 ", started[0]), started
    assert stopped == [started[0].removesuffix("start-postgres") + "stop-postgres"]


def test_make_finds_the_cluster_in_the_state_dir_it_was_given(tmp_path: Path) -> None:
    """STATE_DIR given to make (its command line, or .env) is where scripts/infra.sh start puts the
    cluster, and where make's superuser URL (bootstrap, main-admin-url) looks for its socket."""
    unset = ("STATE_DIR", "POSTGRES_SUPERUSER_URL", "MAIN_ADMIN_DATABASE_URL")
    environ = {key: value for key, value in os.environ.items() if key not in unset}
    url = subprocess.run(
        ["make", "-s", "main-admin-url", f"STATE_DIR={tmp_path}", "PG_PORT=55499"],
        cwd=PROJECT_DIR, env=environ, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert url.endswith(f"/mysanta_main?host={tmp_path}/pg-55499/run"), url


def test_the_test_cluster_lives_in_memory_only_in_a_directory_of_its_own(tmp_path: Path) -> None:
    """scripts/test-state-dir.sh (make test's TEST_STATE_DIR): <shm>/mysanta-<user> when it is absent
    or this user's own; nothing (STATE_DIR, on disk) when another user's or a link holds the name."""
    script = PROJECT_DIR / "scripts" / "test-state-dir.sh"
    own = tmp_path / f"mysanta-{pwd.getpwuid(os.getuid()).pw_name}"

    def chosen() -> str:
        env = os.environ | {"SHM_DIR": str(tmp_path)}
        return subprocess.run(
            [str(script)], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert chosen() == str(own)  # absent: make test creates it
    own.mkdir()
    assert chosen() == str(own)
    if os.getuid() == 0:  # only root can give a directory away
        os.chown(own, 65534, 65534)
        assert chosen() == ""
    own.rmdir()
    own.symlink_to(tmp_path)
    assert chosen() == ""
