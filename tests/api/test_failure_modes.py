"""Failure modes on real services: Redis stopped mid-run, main unreachable during a refresh,
concurrent writers and readers, and no private present on any path."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from typing import Any

import asyncpg
import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg import sql

from service import db
from service.app import create_app
from service.main_reads import main_link_failed
from service.settings import Settings
from tests.conftest import ADMIN_AUTH, APP_PASSWORD, AUTH, RECS_DB, RedisServer, owner_connect
from tests.data import World

SEGMENTS = [("f", "25-34"), ("m", "18-24"), ("f", "55+"), (None, None)]


@pytest.fixture
def community(world: World) -> dict[str, Any]:
    """Public and private presents, users of every tier, every private present liked by everybody."""
    public = [
        world.present(price=5 + 7 * index, category=("books", "toys", "home")[index % 3])
        for index in range(24)
    ]
    users = {segment: world.users(6, *segment) if segment[0] else world.users(6) for segment in SEGMENTS}
    everybody = [user for group in users.values() for user in group]
    private = [world.present(owner=everybody[index], price=20, category="books") for index in range(4)]
    rng = random.Random(3)  # noqa: S311 - test data, not security
    for index, user in enumerate(everybody):
        for present in rng.sample(public, 3 + index % 6):
            world.like(user, present)
        for present in private:
            world.like(user, present)
            world.click(user, present, times=3)
    content_user = world.users(1, "f", "25-34")[0]
    world.like(content_user, public[0])
    world.refresh_all()
    return {
        "public": public,
        "private": private,
        "collaborative": everybody,
        "content_based": [content_user],
        "popular": [uuid.uuid4() for _ in range(3)],
    }


def _popular_body(rng: random.Random) -> dict[str, Any]:
    gender, group = rng.choice(SEGMENTS)
    body: dict[str, Any] = {
        "user_params": {},
        "pagination": {"page": rng.randint(1, 3), "limit": rng.randint(1, 10)},
    }
    if gender:
        body["user_params"] = {"gender": gender, "age_group": group}
    if rng.random() < 0.5:
        low = rng.randint(0, 100)
        body["filters"] = {"price_from": low, "price_to": low + rng.randint(0, 100)}
    if rng.random() < 0.3:
        body.setdefault("filters", {})["category"] = rng.choice(["books", "toys", "home"])
    return body


async def test_no_private_present_on_any_endpoint_tier_or_filter(
    client: AsyncTestClient, community: dict[str, Any]
) -> None:
    private = {str(present) for present in community["private"]}
    rng = random.Random(11)  # noqa: S311 - random requests, not security
    served: set[str] = set()
    tiers: set[str] = set()
    for _ in range(60):
        response = await client.post("/popular", json=_popular_body(rng), auth=AUTH)
        assert response.status_code == 200, response.text
        assert not private & set(response.json()["items"])
        served |= set(response.json()["items"])
    for tier in ("collaborative", "content_based", "popular"):
        for user in community[tier]:
            filtered = _popular_body(rng)
            filtered.pop("user_params")
            for body in ({}, filtered):
                response = await client.post("/personalized", json=body | {"user_id": str(user)}, auth=AUTH)
                assert response.status_code == 200, response.text
                assert not private & set(response.json()["items"])
                served |= set(response.json()["items"])
                tiers |= set(response.json()["tiers_used"])
    assert tiers == {"collaborative", "content_based", "popular"}  # every tier was exercised
    assert served  # and pages were not empty
    with owner_connect() as owner:  # nor does any derived table hold one
        held = owner.execute(
            "SELECT count(*) FROM recs.items WHERE present_id = ANY (%s)", (community["private"],)
        ).fetchone()
        assert held == (0,)


async def test_redis_stopped_mid_run_is_served_from_the_database_logged_once_and_used_again(
    databases: tuple[psycopg.Connection, ...],
    settings: Settings,
    community: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = RedisServer()
    server.start()
    user = str(community["collaborative"][0])
    popular = {"user_params": {"gender": "f", "age_group": "25-34"}}
    try:
        own_settings = msgspec.structs.replace(settings, recommendations_redis_url=server.url)
        app = create_app(own_settings)  # replaces the root log handlers: give caplog its own back
        logging.getLogger().addHandler(caplog.handler)
        async with AsyncTestClient(app=app) as client:
            await client.post("/popular", json=popular, auth=AUTH)
            assert (await client.post("/popular", json=popular, auth=AUTH)).json()["cache_hit"] is True
            server.stop()
            caplog.clear()
            with caplog.at_level(logging.INFO):
                for _ in range(3):
                    for path, body in (("/popular", popular), ("/personalized", {"user_id": user})):
                        response = await client.post(path, json=body, auth=AUTH)
                        assert response.status_code == 200, response.text
                        assert response.json()["cache_hit"] is False and response.json()["items"]
                    put = await client.put(f"/user-profile/{user}", json={"gender": "m"}, auth=AUTH)
                    assert put.status_code == 200
                    got = await client.get(f"/user-profile/{user}", auth=AUTH)
                    assert got.status_code == 200 and got.json()["demographics"]["gender"] == "m"
                health = await client.get("/health")
                assert health.status_code == 200 and health.json()["checks"]["redis"]["status"] == "down"
            outages = [record for record in caplog.records if record.getMessage() == "cache.unavailable"]
            assert len(outages) == 1  # once per outage, not once per request
            server.start()  # same port: the client reconnects by itself
            await asyncio.sleep(own_settings.redis_breaker_open_ms / 1000)  # then the breaker tries Redis
            await client.post("/popular", json=popular, auth=AUTH)
            assert (await client.post("/popular", json=popular, auth=AUTH)).json()["cache_hit"] is True
            assert (await client.get("/health")).json()["checks"]["redis"]["status"] == "up"
            assert any(record.getMessage() == "cache.recovered" for record in caplog.records)
    finally:
        logging.getLogger().removeHandler(caplog.handler)
        server.stop()


async def test_main_down_keeps_serving_records_the_failed_refresh_and_recovers(
    databases: tuple[psycopg.Connection, ...], settings: Settings, community: dict[str, Any]
) -> None:
    _, recs = databases
    async with AsyncTestClient(
        app=create_app(msgspec.structs.replace(settings, main_breaker_open_s=1))
    ) as client:
        await _main_down_and_back(recs, client, community)


async def _main_down_and_back(
    recs: psycopg.Connection, client: AsyncTestClient, community: dict[str, Any]
) -> None:
    user = str(community["collaborative"][0])
    before = (await client.post("/popular", json={}, auth=AUTH)).json()["items"]
    port = _fdw_port(recs)
    recs.execute("ALTER SERVER main_db OPTIONS (SET port '1')")  # main unreachable from the recs DB
    try:
        failed = await client.post("/admin/refresh-popular-items", auth=ADMIN_AUTH)
        assert failed.status_code == 500 and "refresh_popular_items failed" in failed.json()["detail"]
        assert "main_db" not in failed.text  # the error's text stays in the run log
        with owner_connect() as owner:
            row = owner.execute(
                "SELECT finished_at IS NOT NULL, error FROM recs.job_runs WHERE job = 'refresh_popular_items'"
                " ORDER BY id DESC LIMIT 1"
            ).fetchone()
        assert row is not None and row[0] is True and "main_db" in row[1]
        still = await client.post("/popular", json={"pagination": {"limit": 20}}, auth=AUTH)
        assert still.status_code == 200 and still.json()["items"] == before  # the last good data
        page = await client.post("/personalized", json={"user_id": user}, auth=AUTH)
        assert page.status_code == 200 and page.json()["degraded"] is True and page.json()["items"]
    finally:
        recs.execute(sql.SQL("ALTER SERVER main_db OPTIONS (SET port {})").format(sql.Literal(port)))
    recovered = await client.post("/admin/refresh-popular-items", auth=ADMIN_AUTH)
    assert recovered.status_code == 200 and recovered.json()["status"] == "succeeded"
    await asyncio.sleep(1.1)  # MAIN_BREAKER_OPEN_S: the next request tries main again
    page = await client.post("/personalized", json={"user_id": user, "pagination": {"page": 2}}, auth=AUTH)
    assert page.status_code == 200 and page.json()["degraded"] is False


def _fdw_port(conn: psycopg.Connection) -> str:
    row = conn.execute(
        "SELECT option_value FROM pg_foreign_server s, pg_options_to_table(s.srvoptions)"
        " WHERE s.srvname = 'main_db' AND option_name = 'port'"
    ).fetchone()
    assert row is not None
    return str(row[0])


async def test_concurrent_profile_writes_reads_and_a_refresh(
    client: AsyncTestClient, community: dict[str, Any]
) -> None:
    writers = [uuid.uuid4() for _ in range(50)]
    genders = ["f" if index % 2 else "m" for index in range(50)]

    async def write(user: uuid.UUID, gender: str) -> int:
        response = await client.put(
            f"/user-profile/{user}", json={"gender": gender, "age_group": "25-34"}, auth=AUTH
        )
        return response.status_code

    async def read(index: int) -> int:
        if index % 2:
            response = await client.post("/popular", json={"user_params": {"gender": "f"}}, auth=AUTH)
        else:
            user = community["collaborative"][index % len(community["collaborative"])]
            response = await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)
        return response.status_code

    statuses = await asyncio.gather(
        *(write(user, gender) for user, gender in zip(writers, genders, strict=True)),
        *(read(index) for index in range(30)),
        client.post("/admin/refresh-popular-items", auth=ADMIN_AUTH),
    )
    refresh = statuses.pop()
    assert refresh.status_code == 200, refresh.text
    assert statuses == [200] * 80
    with owner_connect() as owner:
        rows = owner.execute(
            "SELECT u.user_id, d.gender, d.age_group FROM recs.user_demographics d"
            " JOIN recs.users u USING (user_key) WHERE u.user_id = ANY (%s)",
            (writers,),
        ).fetchall()
    assert sorted(rows) == sorted(
        (user, gender, "25-34") for user, gender in zip(writers, genders, strict=True)
    )


INJECTION = "x'); DROP TABLE recs.items; --"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/popular", {"user_params": {"gender": INJECTION}}, "user_params.gender"),
        ("post", "/popular", {"user_params": {"age_group": INJECTION}}, "user_params.age_group"),
        ("post", "/personalized", {"user_id": INJECTION}, "user_id"),
        ("post", "/personalized", {"user_id": str(uuid.uuid4()), "exclude": [INJECTION]}, "exclude"),
        ("put", f"/user-profile/{uuid.uuid4()}", {"locale": INJECTION}, "locale"),
        ("put", f"/user-profile/{uuid.uuid4()}", {"gender": INJECTION}, "gender"),
        ("put", f"/user-profile/{INJECTION}", {}, "user_id"),
        ("get", f"/user-profile/{INJECTION}", None, "user_id"),
    ],
)
async def test_injection_strings_are_a_422_naming_the_field_and_write_nothing(
    client: AsyncTestClient,
    databases: tuple[psycopg.Connection, ...],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    _, recs = databases
    before = recs.execute(
        "SELECT (SELECT count(*) FROM recs.user_demographics), (SELECT count(*) FROM recs.items)"
    )
    counts = before.fetchone()
    kwargs: dict[str, Any] = {"auth": AUTH} | ({"json": body} if body is not None else {})
    response = await getattr(client, method)(path, **kwargs)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]
    after = recs.execute(
        "SELECT (SELECT count(*) FROM recs.user_demographics), (SELECT count(*) FROM recs.items)"
    )
    assert after.fetchone() == counts


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/popular", {"user_params": {"category": INJECTION}}, "user_params.category"),
        ("/popular", {"filters": {"category": INJECTION}}, "filters.category"),
        ("/popular", {"filters": {"platform": INJECTION}}, "filters.platform"),
        (
            "/personalized",
            {"user_id": str(uuid.uuid4()), "filters": {"category": INJECTION}},
            "filters.category",
        ),
    ],
)
async def test_a_name_holding_sql_is_a_name_that_matches_nothing_and_writes_nothing(
    client: AsyncTestClient,
    databases: tuple[psycopg.Connection, ...],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    """Category and platform names are free text, as in the catalogue (GET /facets): SQL in one is a
    name like any other, passed as a parameter: a 200 whose warning names it, nothing written."""
    _, recs = databases
    counts = "SELECT (SELECT count(*) FROM recs.user_demographics), (SELECT count(*) FROM recs.items)"
    before = recs.execute(counts).fetchone()
    response = await client.post(path, json=body, auth=AUTH)
    assert response.status_code == 200, response.text
    warned = [(warning["field"], warning["value"]) for warning in response.json()["warnings"]]
    assert warned == [(field, INJECTION)]
    assert recs.execute(counts).fetchone() == before


@pytest.mark.parametrize("path", ["/popular", "/personalized", f"/user-profile/{uuid.uuid4()}"])
async def test_an_oversized_body_is_a_413(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...], path: str
) -> None:
    huge = b'{"user_id": "' + b"a" * (65 * 1024) + b'"}'
    method = client.put if path.startswith("/user-profile") else client.post
    response = await method(path, content=huge, headers={"content-type": "application/json"}, auth=AUTH)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    _, recs = databases
    assert recs.execute("SELECT count(*) FROM recs.user_demographics").fetchone() == (0,)


async def test_a_read_only_recs_db_answers_writes_503_and_still_serves_reads(
    databases: tuple[psycopg.Connection, ...], settings: Settings, community: dict[str, Any]
) -> None:
    """As after a failover that leaves the service on a standby: writes are refused with 503 and
    Retry-After (not a 500 with a traceback per request), reads answer."""
    _, recs = databases
    database = recs.info.dbname
    recs.execute(
        sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(sql.Identifier(database))
    )
    try:
        async with AsyncTestClient(app=create_app(settings)) as client:
            user = str(community["collaborative"][0])
            put = await client.put(f"/user-profile/{user}", json={"gender": "f"}, auth=AUTH)
            assert put.status_code == 503, put.text
            assert put.headers["retry-after"] and put.json()["title"] == "Database read-only"
            popular = await client.post("/popular", json={"user_params": {}}, auth=AUTH)
            assert popular.status_code == 200 and popular.json()["items"]
    finally:
        recs.execute(
            sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(sql.Identifier(database))
        )


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
async def test_a_transaction_the_database_rolled_back_answers_503_for_a_retry(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient, sqlstate: str
) -> None:
    """A deadlock's victim or a serialization failure is worth a retry: 503 with Retry-After, not a
    500 (here raised by a trigger on the table a PUT writes, as the database raises them)."""
    _, recs = databases
    recs.execute(
        "CREATE FUNCTION public.conflict() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '{sqlstate}'; END $$"
    )
    recs.execute(
        "CREATE TRIGGER conflict BEFORE INSERT OR UPDATE ON recs.user_demographics"
        " FOR EACH ROW EXECUTE FUNCTION public.conflict()"
    )
    try:
        response = await client.put(f"/user-profile/{uuid.uuid4()}", json={"gender": "f"}, auth=AUTH)
    finally:
        recs.execute("DROP TRIGGER conflict ON recs.user_demographics")
        recs.execute("DROP FUNCTION public.conflict()")
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] and response.json()["title"] == "Database conflict"


async def test_a_recs_table_locked_is_a_503_and_not_a_failure_of_main(
    databases: tuple[psycopg.Connection, ...], settings: Settings, community: dict[str, Any]
) -> None:
    """A lock held on a table the serving path reads (a DBA's, a migration's) makes the call that
    reads main time out as a hanging main does; the call without main then hangs too: the request is
    a 503, and main, which answered all along, is not skipped afterwards (the breaker opened and
    every /personalized answered degraded for MAIN_BREAKER_OPEN_S once the lock was gone)."""
    _, recs = databases
    user = str(community["collaborative"][0])
    own = msgspec.structs.replace(
        settings, main_read_timeout_ms=300, main_breaker_open_s=600, db_statement_timeout_ms=1000,
        personalized_state_max_age_ms=0,
    )  # fmt: skip
    async with AsyncTestClient(app=create_app(own)) as client:
        healthy = await client.post("/personalized", json={"user_id": user}, auth=AUTH)
        assert healthy.status_code == 200 and healthy.json()["degraded"] is False
        with psycopg.connect(recs.info.dsn) as locker:
            locker.execute("LOCK TABLE recs.user_demographics IN ACCESS EXCLUSIVE MODE")
            locked = await client.post("/personalized", json={"user_id": user}, auth=AUTH)
            assert locked.status_code == 503, locked.text
            assert locked.headers["retry-after"]
        after = await client.post("/personalized", json={"user_id": user}, auth=AUTH)
        assert after.status_code == 200 and after.json()["degraded"] is False


# The recs DB refusing the pool's new connections: (statement, its undoing, the title of the 503).
# The app role's password changed before the app's URL (a rotation done in the wrong order) is
# SQLSTATE 28P01, CONNECT revoked 42501, the role's connection limit reached 53300.
REFUSALS = {
    "password-changed": (
        "ALTER ROLE mysanta_app PASSWORD 'another-app-password'",
        f"ALTER ROLE mysanta_app PASSWORD '{APP_PASSWORD}'",
        "Database unavailable",
    ),
    "connect-revoked": (
        "REVOKE CONNECT ON DATABASE {db} FROM PUBLIC, mysanta_app",
        "GRANT CONNECT ON DATABASE {db} TO mysanta_app",
        "Database unavailable",
    ),
    "connection-limit": (
        "ALTER ROLE mysanta_app CONNECTION LIMIT 0",
        "ALTER ROLE mysanta_app CONNECTION LIMIT -1",
        "Database overloaded",
    ),
}


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
async def test_the_recs_db_refusing_new_connections_is_a_503_not_a_500(
    databases: tuple[psycopg.Connection, ...], settings: Settings, refusal: str
) -> None:
    """The app role's password changed, CONNECT on the recs database revoked from it, or its
    connection limit reached: the server refuses the connections the pool reopens with the same
    errors a call raises, and a changed password or a revoked CONNECT was a 500 with a traceback on
    every request. A refused connection is the recs DB unreachable, a 503 with Retry-After, and the
    service answers again once the refusal is undone."""
    _, recs = databases
    refuse, undo, title = REFUSALS[refusal]
    db = sql.Identifier(recs.info.dbname)
    async with AsyncTestClient(app=create_app(settings)) as client:
        recs.execute(sql.SQL(refuse).format(db=db))
        try:
            recs.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE usename = 'mysanta_app' AND datname = current_database()"
            )
            await asyncio.sleep(1)  # the pool has seen its connections end: it reopens them
            for _ in range(3):
                refused = await client.post("/popular", json={"user_params": {}}, auth=AUTH)
                assert refused.status_code == 503, refused.text
                assert refused.headers["retry-after"] and refused.json()["title"] == title
            health = await client.get("/health")
            assert health.status_code == 503
            assert health.json()["checks"]["recommendations_db"]["status"] == "down"
        finally:
            recs.execute(sql.SQL(undo).format(db=db))
        for _ in range(50):  # the pool reopens its connections in the background, with a backoff
            answered = await client.post("/popular", json={"user_params": {}}, auth=AUTH)
            if answered.status_code == 200:
                break
            await asyncio.sleep(0.2)
        assert answered.status_code == 200, answered.text


async def test_a_connect_error_that_is_no_refusal_keeps_its_own_type(settings: Settings) -> None:
    """Only a refusal (the role, the grant, the database, the slots, a shutdown) is the database
    unreachable; an error of the app's own connection settings (a server setting unknown to the
    server, 42704) stays what it is, a 500 with its traceback, not a lasting 503."""
    with pytest.raises(asyncpg.exceptions.UndefinedObjectError):
        await db._connect(settings.recommendations_database_url, server_settings={"no_such_setting": "1"})
    with pytest.raises(db.DatabaseRefusedConnection) as refused:
        await db._connect(settings.recommendations_database_url.replace(f"/{RECS_DB}", "/no_such_database"))
    assert refused.value.sqlstate == "3D000"


def test_the_recs_connection_lost_is_not_a_failure_of_main() -> None:
    lost = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    assert not main_link_failed(lost)  # the recs DB failed: a 503, and main is not skipped for it
    unreachable = asyncpg.exceptions.ClientCannotConnectError('could not connect to server "main_db"')
    assert main_link_failed(unreachable)  # 08001 from the FDW: main is
