"""DELETE /user-profile/{user_id} over HTTP: 204 and idempotent, the Rails pair, a uuid, and no
cached profile or personalised page of the erased user served afterwards."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import msgspec
import pytest
import redis
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.cache import KEY_PREFIX
from service.settings import Settings
from tests.conftest import ADMIN_AUTH, AUTH
from tests.data import NOW, World


@pytest.fixture
def shoppers(world: World) -> dict[str, uuid.UUID]:
    """A user with demographics and likes, one with likes only (a day old: no sync or live read of
    main's newest events sees them again), and like-minded others; refreshed."""
    presents = [world.present(price=10 + index) for index in range(8)]
    (with_demographics,) = world.users(1, "f", "25-34")
    (likes_only,) = world.users(1)
    for user in (with_demographics, likes_only):
        for present in presents[:3]:
            world.like(user, present, at=NOW - dt.timedelta(days=1))
    for other in world.users(4, "f", "25-34"):
        for present in presents:
            world.like(other, present)
    world.refresh_all()
    return {"with_demographics": with_demographics, "likes_only": likes_only}


def cached_profile(redis_url: str, user: uuid.UUID) -> bytes | None:
    """The Redis copy of the user's profile (keyed by a digest of the id), or None."""
    digest = hashlib.sha256(str(user).encode()).hexdigest()[:40]
    value: bytes | None = redis.Redis.from_url(redis_url).get(f"{KEY_PREFIX}user-profile:{digest}")
    return value


@pytest.mark.parametrize("kind", ["with_demographics", "likes_only"])
async def test_delete_erases_the_profile_and_no_cached_copy_is_served_again(
    client: AsyncTestClient, shoppers: dict[str, uuid.UUID], redis_url: str, kind: str
) -> None:
    user = shoppers[kind]
    assert (await client.get(f"/user-profile/{user}", auth=AUTH)).status_code == 200
    assert cached_profile(redis_url, user) is not None
    body = {"user_id": str(user)}
    page = (await client.post("/personalized", json=body, auth=AUTH)).json()
    assert page["algorithm_used"] == "collaborative"
    assert (await client.post("/personalized", json=body, auth=AUTH)).json()["cache_hit"] is True

    response = await client.delete(f"/user-profile/{user}", auth=AUTH)
    assert response.status_code == 204 and response.content == b""
    assert cached_profile(redis_url, user) is None
    after = (await client.post("/personalized", json=body, auth=AUTH)).json()
    assert after["cache_hit"] is False  # the page cached before the erasure is not served
    assert after["interactions"] == 0 and after["algorithm_used"] == "popular"  # as an unknown user

    gone = await client.get(f"/user-profile/{user}", auth=AUTH)
    unknown = await client.get(f"/user-profile/{uuid.uuid4()}", auth=AUTH)
    assert gone.status_code == unknown.status_code == 404
    assert gone.json()["title"] == unknown.json()["title"]
    assert (await client.delete(f"/user-profile/{user}", auth=AUTH)).status_code == 204  # idempotent


async def test_delete_of_an_unknown_user_is_a_204(client: AsyncTestClient) -> None:
    response = await client.delete(f"/user-profile/{uuid.uuid4()}", auth=AUTH)
    assert response.status_code == 204


async def test_delete_needs_the_rails_pair_and_a_uuid(
    client: AsyncTestClient, shoppers: dict[str, uuid.UUID], world: World
) -> None:
    user = shoppers["with_demographics"]
    for auth in (None, (AUTH[0], "wrong")):
        refused = await client.delete(f"/user-profile/{user}", auth=auth)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic ")
    bad = await client.delete("/user-profile/not-a-uuid", auth=AUTH)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "user_id"
    assert world.recs.execute("SELECT count(*) FROM recs.user_erasures").fetchone() == (0,)
    assert (await client.get(f"/user-profile/{user}", auth=AUTH)).status_code == 200  # untouched
    assert (await client.delete(f"/user-profile/{user}", auth=ADMIN_AUTH)).status_code == 204


async def test_delete_is_a_503_to_retry_when_the_cached_copy_cannot_be_removed(
    settings: Settings, shoppers: dict[str, uuid.UUID]
) -> None:
    user = shoppers["with_demographics"]
    no_redis = msgspec.structs.replace(settings, recommendations_redis_url="redis://127.0.0.1:1/0")
    async with AsyncTestClient(app=create_app(no_redis)) as client:
        response = await client.delete(f"/user-profile/{user}", auth=AUTH)
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert "retry" in response.json()["detail"]
        assert (
            await client.get(f"/user-profile/{user}", auth=AUTH)
        ).status_code == 404  # the DB part is done


async def test_the_openapi_schema_documents_the_erasure(client: AsyncTestClient) -> None:
    schema = (await client.get("/docs/openapi.json")).json()
    operation = schema["paths"]["/user-profile/{user_id}"]["delete"]
    assert "204" in operation["responses"] and "503" in operation["responses"]
    assert operation["parameters"][0]["schema"]["format"] == "uuid"
