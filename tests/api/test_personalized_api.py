"""POST /personalized and GET /user-profile over HTTP: shape, tiers, cache keyed on unsynced
events, validation, admin refresh routes."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import ADMIN_AUTH, AUTH
from tests.data import World


@pytest.fixture
def shoppers(world: World) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A user with 3 likes, five like-minded users who liked 6 more presents, and a crowd elsewhere;
    the neighbours alone rank (World.neighbours_alone)."""
    world.neighbours_alone()
    presents = [world.present(price=10 + index) for index in range(9)]
    user = world.users(1, "f", "25-34")[0]
    for present in presents[:3]:
        world.like(user, present)
    for twin in world.users(5, "f", "25-34"):
        for present in presents:
            world.like(twin, present)
    elsewhere = world.present(category="music")
    for person in world.users(10):
        world.like(person, elsewhere)
    return user, presents


async def refresh_everything(client: AsyncTestClient) -> None:
    for route in (
        "/admin/refresh-popular-items",
        "/admin/update-user-profiles",
        "/admin/update-user-similarities",
    ):
        response = await client.post(route, auth=ADMIN_AUTH)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "succeeded" and response.json()["duration_ms"] >= 0


async def test_personalized_shape_tiers_and_pagination(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    user, presents = shoppers
    await refresh_everything(client)
    body = {"user_id": str(user), "pagination": {"page": 1, "limit": 4}}
    response = await client.post("/personalized", json=body, auth=AUTH)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["algorithm_used"] == "collaborative" and page["tiers_used"][0] == "collaborative"
    assert page["interactions"] == 3 and page["degraded"] is False and page["cache_hit"] is False
    assert page["pagination"] == {
        "page": 1, "limit": 4, "total_pages": 2, "total_items": 7, "has_next": True, "has_previous": False,
    }  # fmt: skip
    assert set(page["items"]) <= {str(present) for present in presents[3:]}
    second = await client.post(
        "/personalized", json={**body, "pagination": {"page": 2, "limit": 4}}, auth=AUTH
    )
    assert len(set(page["items"]) | set(second.json()["items"])) == 7


async def test_a_new_like_changes_the_cache_key_at_once(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, _ = shoppers
    await refresh_everything(client)
    body = {"user_id": str(user)}
    first = (await client.post("/personalized", json=body, auth=AUTH)).json()
    assert (await client.post("/personalized", json=body, auth=AUTH)).json()["cache_hit"] is True
    world.like(user, uuid.UUID(first["items"][0]))  # in main, not yet synced
    after = (await client.post("/personalized", json=body, auth=AUTH)).json()
    assert after["cache_hit"] is False and first["items"][0] not in after["items"]
    assert after["interactions"] == 4


async def test_a_settings_change_changes_the_cache_key_at_once(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, _ = shoppers
    await refresh_everything(client)
    body = {"user_id": str(user)}
    await client.post("/personalized", json=body, auth=AUTH)
    assert (await client.post("/personalized", json=body, auth=AUTH)).json()["cache_hit"] is True
    world.setting("max_similar_users", "1")  # read per request: the cached page is stale now
    assert (await client.post("/personalized", json=body, auth=AUTH)).json()["cache_hit"] is False


async def test_a_profile_change_changes_the_cache_key_at_once(client: AsyncTestClient, world: World) -> None:
    for_her, for_him = world.present(), world.present()
    for fan in world.users(25, "f", "25-34"):
        world.like(fan, for_her)
    for fan in world.users(25, "m", "55+"):
        world.like(fan, for_him)
    await refresh_everything(client)
    user = str(uuid.uuid4())
    put = await client.put(f"/user-profile/{user}", json={"gender": "f", "age_group": "25-34"}, auth=AUTH)
    assert put.status_code == 200
    body = {"user_id": user, "pagination": {"limit": 1}}
    assert (await client.post("/personalized", json=body, auth=AUTH)).json()["items"] == [str(for_her)]
    assert (await client.post("/personalized", json=body, auth=AUTH)).json()["cache_hit"] is True
    await client.put(f"/user-profile/{user}", json={"gender": "m", "age_group": "55+"}, auth=AUTH)
    moved = (await client.post("/personalized", json=body, auth=AUTH)).json()
    assert moved["cache_hit"] is False and moved["items"] == [str(for_him)]


async def test_an_unknown_user_is_served_popular(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    await refresh_everything(client)
    response = await client.post("/personalized", json={"user_id": str(uuid.uuid4()), "geo_id": 4}, auth=AUTH)
    assert response.status_code == 200 and response.json()["algorithm_used"] == "popular"
    assert response.json()["fallback_level"] == "global" and len(response.json()["items"]) == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "nope"}, "user_id"),
        ({}, "user_id"),
        ({"user_id": str(uuid.uuid4()), "exclude": ["x"]}, "exclude[0]"),
        ({"user_id": str(uuid.uuid4()), "exclude": [str(uuid.uuid4())] * 1001}, "exclude"),
        ({"user_id": str(uuid.uuid4()), "pagination": {"limit": 1000}}, "pagination.limit"),
        ({"user_id": str(uuid.uuid4()), "user_params": {}}, "user_params"),
    ],
)
async def test_bad_personalized_input_is_a_422(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...], body: dict[str, object], field: str
) -> None:
    response = await client.post("/personalized", json=body, auth=AUTH)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


async def test_user_profile_shows_preferences_and_tier(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    user, _ = shoppers
    await refresh_everything(client)
    profile = (await client.get(f"/user-profile/{user}", auth=AUTH)).json()
    assert profile["tier"] == "collaborative" and profile["demographics"]["gender"] == "f"
    preferences = profile["preferences"]
    assert (preferences["interactions"], preferences["likes"], preferences["clicks"]) == (3, 3, 0)
    assert preferences["categories"] == {"books": 1.0} and preferences["platforms"] == ["etsy"]
    assert preferences["price_band"] == {"p25": 10.5, "p75": 11.5} and preferences["neighbors"] == 5


async def test_a_user_known_only_by_interactions_has_a_profile(client: AsyncTestClient, world: World) -> None:
    user = world.users(1)[0]
    world.like(user, world.present())
    await refresh_everything(client)
    profile = (await client.get(f"/user-profile/{user}", auth=AUTH)).json()
    assert profile["demographics"] is None and profile["tier"] == "content_based"
