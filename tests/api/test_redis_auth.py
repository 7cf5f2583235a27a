"""A Redis that asks for a password: the password or an ACL user in RECOMMENDATIONS_REDIS_URL works
end to end, a wrong one is a cache miss, and no password reaches a log line, /health or a repr."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.cache import KEY_PREFIX
from service.logs import JsonFormatter
from service.settings import Settings
from service.telemetry import Telemetry
from tests.conftest import ADMIN_AUTH, APP_PASSWORD, AUTH, OWNER_PASSWORD, READER_PASSWORD, RedisServer
from tests.data import World

PASSWORD = "p@ss:w/rd#1-default"  # characters a URL must percent-encode
USER, USER_PASSWORD = "mysanta-cache", "user-secret-2"


@pytest.fixture
def guarded_redis(databases: tuple[psycopg.Connection, ...]) -> Iterator[RedisServer]:
    """A Redis asking for PASSWORD, with an ACL user limited to the service's keys and no admin commands."""
    main, recs = databases
    world = World(main, recs)
    for fan in world.users(6, "f", "25-34"):
        world.like(fan, world.present())
    world.refresh()
    server = RedisServer(password=PASSWORD)
    server.start()
    server.client().acl_setuser(
        USER, enabled=True, passwords=[f"+{USER_PASSWORD}"],
        keys=[f"{KEY_PREFIX}*", f"{Telemetry.KEY_PREFIX}*"], categories=["+@all", "-@dangerous"],
    )  # fmt: skip
    yield server
    server.stop()


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as the service writes it (one JSON line each)."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.mark.parametrize(
    "userinfo", [f":{quote(PASSWORD, safe='')}", f"{USER}:{USER_PASSWORD}"], ids=["password", "acl-user"]
)
async def test_a_password_or_an_acl_user_in_the_url_works_end_to_end(
    settings: Settings, guarded_redis: RedisServer, userinfo: str
) -> None:
    url = f"redis://{userinfo}@127.0.0.1:{guarded_redis.port}/0"
    async with AsyncTestClient(
        app=create_app(msgspec.structs.replace(settings, recommendations_redis_url=url))
    ) as client:
        await client.post("/popular", json={}, auth=AUTH)
        assert (await client.post("/popular", json={}, auth=AUTH)).json()["cache_hit"] is True
        user = str(uuid.uuid4())
        assert (await client.put(f"/user-profile/{user}", json={"gender": "f"}, auth=AUTH)).status_code == 200
        assert (await client.get(f"/user-profile/{user}", auth=AUTH)).status_code == 200
        health = await client.get("/health")
        assert health.json()["checks"]["redis"]["status"] == "up"
        stats = (await client.get("/stats", auth=ADMIN_AUTH)).json()
        assert stats["telemetry_available"] is True and stats["cache_by_kind"]["user-profile"]["hits"] == 1


async def test_a_wrong_password_is_a_cache_miss_and_no_password_is_ever_shown(
    settings: Settings, guarded_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-password-9"
    url = f"redis://{USER}:{wrong}@127.0.0.1:{guarded_redis.port}/0"
    wrong_settings = msgspec.structs.replace(settings, recommendations_redis_url=url)
    app = create_app(wrong_settings)
    logging.getLogger().addHandler(caplog.handler)  # create_app replaced the root handlers
    try:
        with caplog.at_level(logging.DEBUG):
            async with AsyncTestClient(app=app) as client:
                for _ in range(2):
                    response = await client.post("/popular", json={}, auth=AUTH)
                    assert response.status_code == 200 and response.json()["cache_hit"] is False
                health = await client.get("/health")
                assert health.status_code == 200 and health.json()["checks"]["redis"]["status"] == "down"
                stats = await client.get("/stats", auth=ADMIN_AUTH)
                assert stats.status_code == 200 and stats.json()["telemetry_available"] is False
    finally:
        logging.getLogger().removeHandler(caplog.handler)
    logged = _logged(caplog)
    assert "cache.unavailable" in logged  # the outage is reported...
    shown = logged + health.text + stats.text + repr(wrong_settings) + str(wrong_settings)
    secrets = (
        wrong,
        PASSWORD,
        quote(PASSWORD, safe=""),
        USER_PASSWORD,
        APP_PASSWORD,
        OWNER_PASSWORD,
        READER_PASSWORD,
    )
    for secret in (*secrets, settings.basic_auth_password, settings.admin_basic_auth_password):
        assert secret and secret not in shown  # ...without the password
    assert "recommendations_redis_url='redis://mysanta-cache:***@" in repr(wrong_settings)
