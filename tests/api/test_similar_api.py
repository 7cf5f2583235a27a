"""POST /similar over HTTP: the page and its levels, 404 alike for unknown and private presents,
caching for anyone and per user, a user's new like left out at once, validation."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from service.models import SimilarResponse
from tests.conftest import AUTH
from tests.data import World
from tests.sql.test_similar import co_taken_world


@pytest.fixture
def presents(world: World) -> dict[str, uuid.UUID]:
    return co_taken_world(world)


async def test_neighbours_then_fallbacks_with_the_response_shape(
    client: AsyncTestClient, presents: dict[str, uuid.UUID]
) -> None:
    body = {"present_id": str(presents["anchor"]), "pagination": {"limit": 4}}
    response = await client.post("/similar", json=body, auth=AUTH)
    assert response.status_code == 200, response.text
    page = msgspec.json.decode(response.content, type=SimilarResponse, strict=True)
    expected = [presents[name] for name in ("close", "far", "book0", "book1")]
    assert page.items == [str(present) for present in expected]
    assert page.algorithm_used == "similar" and page.fallback_level == "co_liked"
    assert page.levels_used == ["co_liked", "same_category"] and page.degraded is False
    assert (page.pagination.total_items, page.pagination.total_pages, page.pagination.has_next) == (
        5,
        2,
        True,
    )
    assert page.cache_hit is False
    again = (await client.post("/similar", json=body, auth=AUTH)).json()
    assert again["cache_hit"] is True and again["items"] == page.items


async def test_unknown_and_private_presents_get_the_same_404(
    client: AsyncTestClient, presents: dict[str, uuid.UUID], world: World
) -> None:
    owner = world.users(1)[0]
    private = world.present(owner=owner)
    world.refresh_all()
    answers = []
    for present in (private, uuid.uuid4()):
        response = await client.post("/similar", json={"present_id": str(present)}, auth=AUTH)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        answers.append(response.json()["detail"].replace(str(present), "<id>"))
        assert [(e["field"], e["in"]) for e in response.json()["errors"]] == [("present_id", "body")]
    assert answers[0] == answers[1]


async def test_private_presents_never_appear(
    client: AsyncTestClient, presents: dict[str, uuid.UUID], world: World
) -> None:
    owner = world.users(1)[0]
    private = world.present(owner=owner)
    for user in world.users(4):  # taken with the anchor more than any public present
        world.like(user, presents["anchor"])
        world.like(user, private)
    world.refresh_all()
    body = {"present_id": str(presents["anchor"]), "pagination": {"limit": 100}}
    page = (await client.post("/similar", json=body, auth=AUTH)).json()
    assert str(private) not in page["items"] and page["items"][0] == str(presents["close"])


async def test_with_a_user_what_they_take_leaves_the_page_at_once(
    client: AsyncTestClient, presents: dict[str, uuid.UUID], world: World
) -> None:
    user = world.users(1)[0]
    world.like(user, presents["book0"])
    world.refresh_all()
    body = {"present_id": str(presents["anchor"]), "user_id": str(user), "pagination": {"limit": 4}}
    first = (await client.post("/similar", json=body, auth=AUTH)).json()
    assert str(presents["book0"]) not in first["items"] and first["items"][0] == str(presents["close"])
    assert first["cache_hit"] is False and first["degraded"] is False
    assert (await client.post("/similar", json=body, auth=AUTH)).json()["cache_hit"] is True
    world.like(user, presents["close"])  # in main, not synced yet
    # The user's stored state lives for PERSONALIZED_STATE_MAX_AGE_MS (0 in tests): read again now.
    after = (await client.post("/similar", json=body, auth=AUTH)).json()
    assert after["cache_hit"] is False and str(presents["close"]) not in after["items"]
    anonymous = {"present_id": str(presents["anchor"]), "pagination": {"limit": 4}}
    assert (await client.post("/similar", json=anonymous, auth=AUTH)).json()["items"][0] == str(
        presents["close"]
    )


async def test_filters_and_exclude_apply_before_ranking(
    client: AsyncTestClient, presents: dict[str, uuid.UUID]
) -> None:
    body = {
        "present_id": str(presents["anchor"]),
        "filters": {"category": "toys"},
        "exclude": [str(presents["close"])],
    }
    page = (await client.post("/similar", json=body, auth=AUTH)).json()
    assert page["items"] == [str(presents["toy"])] and page["levels_used"] == ["popular"]
    excluded = {"present_id": str(presents["anchor"]), "exclude": [str(presents["close"])]}
    page = (await client.post("/similar", json=excluded, auth=AUTH)).json()
    assert str(presents["close"]) not in page["items"] and page["items"][0] == str(presents["far"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "present_id"),
        ({"present_id": "not-a-uuid"}, "present_id"),
        ({"present_id": str(uuid.UUID(int=1)), "user_id": "x"}, "user_id"),
        ({"present_id": str(uuid.UUID(int=1)), "pagination": {"limit": 0}}, "pagination.limit"),
        ({"present_id": str(uuid.UUID(int=1)), "exclude": ["nope"]}, "exclude[0]"),
        ({"present_id": str(uuid.UUID(int=1)), "colour": "red"}, "colour"),
    ],
)
async def test_bad_bodies_are_422_naming_the_field(
    client: AsyncTestClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/similar", json=body, auth=AUTH)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
