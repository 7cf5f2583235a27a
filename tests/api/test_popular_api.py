"""POST /popular and /user-profile over HTTP: validation, response shape, pagination, caching,
refresh visibility, and serving while a refresh runs."""

from __future__ import annotations

import asyncio
import threading
import uuid

import msgspec
import psycopg
import pytest
import redis
from litestar.testing import AsyncTestClient

from service.cache import KEY_PREFIX
from service.settings import Settings
from tests.conftest import ADMIN_AUTH, AUTH, owner_connect
from tests.data import World


def _body(page: int = 1, limit: int = 5, **user_params: object) -> dict[str, object]:
    return {"user_params": user_params, "filters": {}, "pagination": {"page": page, "limit": limit}}


@pytest.fixture
def catalogue(world: World) -> list[uuid.UUID]:
    """12 public presents ranked by likes (present 0 most liked), women 25-34 liking them."""
    presents = [world.present(price=10 + index) for index in range(12)]
    fans = world.users(30, "f", "25-34")
    for index, present in enumerate(presents):
        for fan in fans[: 30 - 2 * index]:
            world.like(fan, present)
    world.setting("min_segment_users", "5")
    world.refresh()
    return presents


async def test_response_shape_pagination_and_segment(
    client: AsyncTestClient, catalogue: list[uuid.UUID]
) -> None:
    response = await client.post("/popular", json=_body(gender="Female", age="25-34"), auth=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["items"] == [str(present) for present in catalogue[:5]]
    assert body["pagination"] == {
        "page": 1, "limit": 5, "total_pages": 3, "total_items": 12, "has_next": True, "has_previous": False,
    }  # fmt: skip
    assert body["algorithm_used"] == "popular" and body["fallback_level"] == "exact"
    assert body["cache_hit"] is False and body["computation_time_ms"] >= 0 and body["data_as_of"]

    last = (await client.post("/popular", json=_body(page=3, gender="f", age=30), auth=AUTH)).json()
    assert last["items"] == [str(present) for present in catalogue[10:]]
    assert last["pagination"]["has_next"] is False and last["pagination"]["has_previous"] is True
    past = (await client.post("/popular", json=_body(page=9), auth=AUTH)).json()
    assert past["items"] == [] and past["pagination"]["has_next"] is False

    pages = [
        (await client.post("/popular", json=_body(page=p), auth=AUTH)).json()["items"] for p in (1, 2, 3)
    ]
    flat = [item for page in pages for item in page]
    assert len(flat) == len(set(flat)) == 12  # no item on two pages, none skipped


async def test_default_page_size_and_empty_body(client: AsyncTestClient, catalogue: list[uuid.UUID]) -> None:
    response = await client.post("/popular", json={}, auth=AUTH)
    assert response.status_code == 200
    assert response.json()["pagination"]["limit"] == 20 and len(response.json()["items"]) == 12


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_params": {"gender": "x"}}, "user_params"),
        ({"user_params": {"age": "teen"}}, "user_params"),
        ({"user_params": {"age": 200}}, "user_params"),
        ({"filters": {"price_from": -1}}, "filters.price_from"),
        ({"filters": {"price_to": "cheap"}}, "filters.price_to"),
        ({"pagination": {"page": 0}}, "pagination.page"),
        ({"pagination": {"limit": 0}}, "pagination.limit"),
        ({"pagination": {"limit": 101}}, "pagination.limit"),
        ({"pagination": {"limit": 5}, "extra": 1}, "extra"),
        ({"user_params": {"geo_id": "three"}}, "user_params.geo_id"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...], body: dict[str, object], field: str
) -> None:
    response = await client.post("/popular", json=body, auth=AUTH)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


async def test_malformed_json_is_a_4xx(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...]
) -> None:
    response = await client.post(
        "/popular", content=b'{"user_params": ', headers={"content-type": "application/json"}, auth=AUTH
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_unknown_category_or_platform_is_an_empty_page(
    client: AsyncTestClient, catalogue: list[uuid.UUID]
) -> None:
    for filters in ({"category": "unicorns"}, {"platform": "mars-shop"}):
        response = await client.post("/popular", json={"filters": filters}, auth=AUTH)
        assert response.status_code == 200
        assert response.json()["items"] == [] and response.json()["pagination"]["total_pages"] == 0


async def test_cache_hit_then_a_refresh_shows_at_once(
    client: AsyncTestClient, catalogue: list[uuid.UUID], world: World, redis_url: str
) -> None:
    first = (await client.post("/popular", json=_body(), auth=AUTH)).json()
    again = (await client.post("/popular", json=_body(), auth=AUTH)).json()
    assert first["cache_hit"] is False and again["cache_hit"] is True
    assert again["items"] == first["items"]
    assert all(key.startswith(KEY_PREFIX.encode()) for key in redis.Redis.from_url(redis_url).keys("*"))

    newcomer = world.present(price=1)
    for fan in world.users(40):
        world.like(fan, newcomer)
    refreshed = await client.post("/admin/refresh-popular-items", auth=ADMIN_AUTH)
    assert refreshed.status_code == 200 and refreshed.json()["rows"] > 0
    after = (await client.post("/popular", json=_body(), auth=AUTH)).json()
    assert after["cache_hit"] is False and after["items"][0] == str(newcomer)


async def test_data_versions_are_reread_only_after_their_max_age(
    settings: Settings, catalogue: list[uuid.UUID], world: World
) -> None:
    from service.app import create_app

    patient = msgspec.structs.replace(settings, data_version_max_age_ms=60_000)
    async with AsyncTestClient(app=create_app(patient)) as client:
        first = (await client.post("/popular", json=_body(), auth=AUTH)).json()
        newcomer = world.present(price=1)
        for fan in world.users(40):
            world.like(fan, newcomer)
        world.refresh()
        within = (await client.post("/popular", json=_body(), auth=AUTH)).json()
        assert within["cache_hit"] is True and within["items"] == first["items"]  # no reread yet
        client.app.state["clients"].versions.max_age_seconds = 0  # the window has passed
        after = (await client.post("/popular", json=_body(), auth=AUTH)).json()
        assert after["cache_hit"] is False and after["items"][0] == str(newcomer)


async def test_serving_goes_on_while_a_refresh_runs(
    client: AsyncTestClient, catalogue: list[uuid.UUID], world: World
) -> None:
    world.like(world.users(1)[0], catalogue[-1])
    started, release = threading.Event(), threading.Event()

    def refresh_and_hold() -> None:
        with owner_connect() as owner, owner.transaction():
            owner.execute("SELECT recs.job_refresh_popular_items()")
            started.set()
            release.wait(10)  # the refresh's locks are held until this transaction ends

    refresher = threading.Thread(target=refresh_and_hold)
    refresher.start()
    try:
        assert await asyncio.to_thread(started.wait, 10)
        responses = await asyncio.wait_for(
            asyncio.gather(
                *(client.post("/popular", json=_body(page=page, limit=1), auth=AUTH) for page in range(1, 13))
            ),
            timeout=5,
        )
        assert [response.status_code for response in responses] == [200] * 12
        assert {response.json()["items"][0] for response in responses} == {str(p) for p in catalogue}
    finally:
        release.set()
        refresher.join()


async def test_user_profile_put_normalises_persists_and_caches(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    user = uuid.uuid4()
    body = {"gender": "FEMALE", "birth_date": "1995-06-01", "locale": "de", "geo_id": 4}
    stored = await client.put(f"/user-profile/{user}", json=body, auth=AUTH)
    assert stored.status_code == 200, stored.text
    demographics = stored.json()["demographics"]
    assert demographics["gender"] == "f" and demographics["age_group"] in ("25-34", "35-44")
    assert stored.json()["tier"] == "popular" and stored.json()["preferences"]["interactions"] == 0
    _, recs = databases
    row = recs.execute(
        "SELECT d.gender, d.locale, d.geo_id, d.updated_at FROM recs.user_demographics d "
        "JOIN recs.users u USING (user_key) WHERE u.user_id = %s",
        (user,),
    ).fetchone()
    assert row is not None and row[:3] == ("f", "de", 4)
    cache = redis.Redis.from_url(redis_url)
    copies = cache.keys(f"{KEY_PREFIX}user-profile:*")
    assert len(copies) == 1  # the Redis copy, under a digest: no key or value in Redis names the user
    assert all(str(user).encode() not in key + cache.get(key) for key in cache.keys(f"{KEY_PREFIX}*"))

    again = await client.put(f"/user-profile/{user}", json=body, auth=AUTH)
    assert again.json() == stored.json()  # idempotent: same row, same updated_at
    fetched = await client.get(f"/user-profile/{user}", auth=AUTH)
    assert fetched.status_code == 200 and fetched.json() == stored.json()

    changed = await client.put(f"/user-profile/{user}", json={"gender": "m", "age_group": "55+"}, auth=AUTH)
    assert (
        changed.json()["demographics"]["gender"] == "m"
        and changed.json()["demographics"]["age_group"] == "55+"
    )
    assert changed.json()["demographics"]["locale"] is None  # PUT replaces
    assert (await client.get(f"/user-profile/{user}", auth=AUTH)).json() == changed.json()  # the Redis copy
    redis.Redis.from_url(redis_url).flushall()
    from_db = (await client.get(f"/user-profile/{user}", auth=AUTH)).json()
    assert from_db["demographics"]["age_group"] == "55+"

    ageless = await client.put(f"/user-profile/{user}", json={"gender": "f"}, auth=AUTH)
    assert ageless.json()["demographics"]["age_group"] is None  # PUT replaces: no age, no group


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/user-profile/not-a-uuid", {}, "user_id"),
        (f"/user-profile/{uuid.uuid4()}", {"gender": "robot"}, "gender"),
        (f"/user-profile/{uuid.uuid4()}", {"age_group": "30s"}, "age_group"),
        (f"/user-profile/{uuid.uuid4()}", {"birth_date": "yesterday"}, "birth_date"),
        (f"/user-profile/{uuid.uuid4()}", {"geo_id": -1}, "geo_id"),
        (f"/user-profile/{uuid.uuid4()}", {"nickname": "x"}, "nickname"),
    ],
)
async def test_user_profile_rejects_bad_input(
    client: AsyncTestClient,
    databases: tuple[psycopg.Connection, ...],
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    response = await client.put(path, json=body, auth=AUTH)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    _, recs = databases
    assert recs.execute("SELECT count(*) FROM recs.user_demographics").fetchone() == (0,)


async def test_unknown_user_profile_is_a_404(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...]
) -> None:
    response = await client.get(f"/user-profile/{uuid.uuid4()}", auth=AUTH)
    assert response.status_code == 404 and "no profile for user" in response.json()["detail"]


async def test_redis_down_is_a_cache_miss_not_an_error(
    databases: tuple[psycopg.Connection, ...], catalogue: list[uuid.UUID]
) -> None:
    from service.app import create_app
    from tests.conftest import make_settings

    async with AsyncTestClient(app=create_app(make_settings("redis://127.0.0.1:1/0"))) as client:
        for _ in range(2):
            response = await client.post("/popular", json=_body(), auth=AUTH)
            assert response.status_code == 200 and response.json()["cache_hit"] is False
        assert (
            await client.put(f"/user-profile/{uuid.uuid4()}", json={"gender": "f"}, auth=AUTH)
        ).status_code == 200
