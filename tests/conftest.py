"""Real services for the suite: template databases built by the real migrate step, one clone
of main and of recs per test (pytest-postgresql), and a private Redis server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec
import psycopg
import pytest
import redis
from litestar.testing import AsyncTestClient
from pytest_postgresql import factories
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.app import create_app
from service.bootstrap import bootstrap_roles, prepare_cron, prepare_dev_main_database, prepare_recs_database
from service.cache import EVICTION_POLICY
from service.dsn import parse_pg_url
from service.migrate import migrate
from service.settings import Settings, settings_environ

if TYPE_CHECKING:
    from tests.data import World
from tools.processes import running_process

SUPERUSER_URL = os.environ.get("TEST_POSTGRES_SUPERUSER_URL", "")
if not SUPERUSER_URL:
    pytest.exit("TEST_POSTGRES_SUPERUSER_URL is not set: run the suite with `make test`", returncode=2)
SUPERUSER = parse_pg_url(SUPERUSER_URL)
PG_PORT = SUPERUSER.port
MAIN_DB = "test_main"
RECS_DB = "test_recs"
AUTH = ("test-user", "test-password-123")  # the Rails pair
ADMIN_AUTH = ("test-admin", "test-admin-password-456")  # the admin pair: /admin, /stats, /metrics
READER_PASSWORD = "test-reader-password"
OWNER_PASSWORD = "test-owner-password"
APP_PASSWORD = "test-app-password"


def make_settings(redis_url: str = "redis://127.0.0.1:1/0", **overrides: object) -> Settings:
    """Settings for the per-test databases (the same role names and shape as production)."""
    values: dict[str, object] = {
        "main_database_url": f"postgresql://mysanta_main_reader:{READER_PASSWORD}@127.0.0.1:{PG_PORT}/{MAIN_DB}",
        "recommendations_database_url": f"postgresql://mysanta_app:{APP_PASSWORD}@127.0.0.1:{PG_PORT}/{RECS_DB}",
        "recommendations_owner_database_url": (
            f"postgresql://mysanta_owner:{OWNER_PASSWORD}@127.0.0.1:{PG_PORT}/{RECS_DB}"
        ),
        "recommendations_redis_url": redis_url,
        "basic_auth_username": AUTH[0],
        "basic_auth_password": AUTH[1],
        "admin_basic_auth_username": ADMIN_AUTH[0],
        "admin_basic_auth_password": ADMIN_AUTH[1],
        "db_pool_min_size": 1,
        "db_pool_max_size": 4,
        "data_version_max_age_ms": 0,  # every request rereads the data versions: refreshes show at once
        # Every /personalized request reads the user's state from the database, and no worker keeps
        # pages of its own: what the database says shows at once (tests/api/test_serving_path.py
        # covers both with their defaults).
        "personalized_state_max_age_ms": 0,
        "local_cache_entries": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _superuser_connect(dbname: str) -> psycopg.Connection:
    return psycopg.connect(SUPERUSER.with_dbname(dbname), autocommit=True)


def load_main_template(dbname: str, **_: object) -> None:
    """The main template: the expected Rails schema and the read-only grants, no rows."""
    settings = make_settings()
    with _superuser_connect(dbname) as conn:
        prepare_dev_main_database(conn, parse_pg_url(settings.main_database_url))


def load_recs_template(dbname: str, **_: object) -> None:
    """The recs template, built by the real migrate step (without cron: never point cron at tests)."""
    settings = make_settings()
    bootstrap_roles(SUPERUSER_URL, settings)
    with _superuser_connect("postgres") as conn:
        prepare_cron(conn, "mysanta_owner")
    with _superuser_connect(dbname) as conn:
        prepare_recs_database(conn, "mysanta_owner", "mysanta_app")
    owner_url = f"postgresql://mysanta_owner:{OWNER_PASSWORD}@127.0.0.1:{PG_PORT}/{dbname}"
    migrate(make_settings(recommendations_owner_database_url=owner_url), schedule=False)


main_noproc = factories.postgresql_noproc(
    host=SUPERUSER.host, port=PG_PORT, user=SUPERUSER.user, dbname=MAIN_DB, load=[load_main_template]
)
recs_noproc = factories.postgresql_noproc(
    host=SUPERUSER.host, port=PG_PORT, user=SUPERUSER.user, dbname=RECS_DB, load=[load_recs_template]
)
main_db = factories.postgresql("main_noproc")
recs_db = factories.postgresql("recs_noproc")


@pytest.fixture
def databases(main_db: psycopg.Connection, recs_db: psycopg.Connection) -> tuple[psycopg.Connection, ...]:
    """Fresh clones of main and recs for this test, as superuser connections (autocommit)."""
    main_db.autocommit = True
    recs_db.autocommit = True
    return main_db, recs_db


@pytest.fixture
def world(databases: tuple[psycopg.Connection, ...]) -> World:
    """Writes presents, users, likes and clicks into this test's main database and runs the jobs."""
    from tests.data import World

    main, recs = databases
    return World(main, recs)


@pytest.fixture
def shoppers(world: World) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A user with 3 likes, five like-minded users who liked 6 more presents, all refreshed."""
    presents = [world.present(price=10 + index) for index in range(9)]
    user = world.users(1, "f", "25-34")[0]
    for present in presents[:3]:
        world.like(user, present)
    for twin in world.users(5, "f", "25-34"):
        for present in presents:
            world.like(twin, present)
    world.refresh_all()
    return user, presents


STATE_MAX_AGE_MS = 400  # the serving path's state lifetime in tests: short, so a test waits little past it


def serving_settings(settings: Settings, **overrides: Any) -> Settings:
    """The test settings with the serving path's defaults back (the settings fixture turns them off)."""
    values = {"personalized_state_max_age_ms": STATE_MAX_AGE_MS, "local_cache_entries": 500} | overrides
    return msgspec.structs.replace(settings, **values)


@pytest.fixture
async def serving(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """A client on an app with a personalised state lifetime and a per-worker cache."""
    async with AsyncTestClient(app=create_app(serving_settings(settings))) as client:
        yield client


def owner_connect(dbname: str = RECS_DB) -> psycopg.Connection:
    """A connection as the recs owner role (what pg_cron and migrate use)."""
    return psycopg.connect(
        f"postgresql://mysanta_owner:{OWNER_PASSWORD}@127.0.0.1:{PG_PORT}/{dbname}", autocommit=True
    )


def app_connect() -> psycopg.Connection:
    """A connection as the app's least-privilege role."""
    return psycopg.connect(
        f"postgresql://mysanta_app:{APP_PASSWORD}@127.0.0.1:{PG_PORT}/{RECS_DB}", autocommit=True
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(settings: Settings, workers: int = 1, debug: bool = False) -> Iterator[tuple[str, int]]:
    """`python -m service serve` as make run starts it, on a free port; yields (base URL, pid)."""
    port = _free_port()
    env = os.environ | settings_environ(msgspec.structs.replace(settings, debug=debug))
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", str(workers)]
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="mysanta-serve-") as scratch:
        with running_process(command, env, f"{base_url}/health", Path(scratch) / "serve.log") as process:
            yield base_url, process.pid


class RedisServer:
    """A private redis-server process the test controls (start, stop, restart), bounded in memory and
    evicting as production's (service.cache.EVICTION_POLICY); with a password when one is given."""

    def __init__(
        self, maxmemory: str = "64mb", policy: str = EVICTION_POLICY, password: str | None = None
    ) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="mysanta-redis-")
        self.maxmemory, self.policy, self.password = maxmemory, policy, password
        userinfo = f":{quote(password, safe='')}@" if password else ""  # percent-encoded, as a URL needs
        self.url = f"redis://{userinfo}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A synchronous client of this server, authenticated when it asks for a password, that
        never retries (redis-py's default retries a refused connection with backoff, for seconds)."""
        return redis.Redis(
            port=self.port, password=self.password, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )

    def start(self) -> None:
        """Start and wait until it answers PING; the password goes in on stdin, as scripts/infra.sh does."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (make test installs it)"
        subprocess.run(
            [
                binary, "-", "--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "yes",
                "--dir", self.dir, "--save", "", "--appendonly", "no",
                "--maxmemory", self.maxmemory, "--maxmemory-policy", self.policy,
                "--pidfile", f"{self.dir}/redis.pid", "--logfile", f"{self.dir}/redis.log",
            ],
            input=f'requirepass "{self.password}"\n' if self.password else "",
            text=True,
            check=True,
        )  # fmt: skip
        client = self.client()
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """Shut it down and wait until the port is closed."""
        try:
            self.client().shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        for _ in range(100):
            try:
                self.client().ping()
                time.sleep(0.05)
            except redis.ConnectionError:
                return

    def flush(self) -> None:
        """Empty every database."""
        self.client().flushall()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis for the session; each test that uses it starts from an empty one."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session Redis, flushed for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def settings(databases: tuple[psycopg.Connection, ...], redis_url: str) -> Settings:
    """Settings pointing at this test's database clones and the session Redis."""
    return make_settings(redis_url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """An HTTP client on the real app (lifespan run: real pool, real Redis)."""
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session", autouse=True)
def no_cron_jobs_left_on_test_databases() -> Iterator[None]:
    """Cron must never keep pointing at a test database: clean up, then fail if any remained."""
    yield
    with _superuser_connect("postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'").fetchone():
            return
        leftovers = conn.execute(
            "SELECT jobname, database FROM cron.job WHERE database LIKE 'test\\_%'"
        ).fetchall()
        conn.execute("DELETE FROM cron.job WHERE database LIKE 'test\\_%'")
    assert not leftovers, f"tests left cron jobs on test databases: {leftovers}"


PROJECT_DIR = Path(__file__).resolve().parent.parent


def start_experiment(
    recs: psycopg.Connection, name: str, variants: dict[str, tuple[float, dict[str, Any]]]
) -> None:
    """The psql recipe of docs/operations.md: an experiment row and its variants, in one transaction."""
    with recs.transaction():
        recs.execute("INSERT INTO recs.experiments (name) VALUES (%s)", (name,))
        for variant, (share, overrides) in variants.items():
            recs.execute(
                "INSERT INTO recs.experiment_variants (experiment, variant, share, overrides)"
                " VALUES (%s, %s, %s, %s)",
                (name, variant, share, json.dumps(overrides)),
            )


async def clicked_personalized_page(client: AsyncTestClient, world: World, user: uuid.UUID) -> dict[str, Any]:
    """A first /personalized page of 3 for the user, recorded (waits for the recorder's flush), its
    first present clicked in main now and synced: the page's response."""
    body = {"user_id": str(user), "pagination": {"limit": 3}}
    page: dict[str, Any] = (await client.post("/personalized", json=body, auth=AUTH)).json()
    for _ in range(100):  # the recorder flushes every second
        if world.recs.execute("SELECT count(*) FROM recs.served_pages").fetchone() == (1,):
            break
        await asyncio.sleep(0.05)
    world.click(user, uuid.UUID(page["items"][0]), at=dt.datetime.now(dt.UTC))
    world.refresh()
    return page
