"""explain: details beside items on every recommendation route, with reasons that match the tier or
level that served each present; off by default (details null), and cached apart."""

from __future__ import annotations

import uuid

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import AUTH
from tests.data import World
from tests.sql.test_similar import co_taken_world


@pytest.fixture
def shoppers(world: World) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    """A user with 3 likes, five like-minded users who liked 6 more presents (toys among them), and a
    newcomer with one like."""
    presents = [world.present(price=10 + n, category="books" if n < 6 else "toys") for n in range(9)]
    user, newcomer = world.users(2, "f", "25-34")
    for present in presents[:3]:
        world.like(user, present)
    world.like(newcomer, presents[0])
    for twin in world.users(5, "f", "25-34"):
        for present in presents:
            world.like(twin, present)
    world.refresh_all()
    return user, newcomer, presents


async def post(client: AsyncTestClient, route: str, body: dict[str, object]) -> dict:  # type: ignore[type-arg]
    response = await client.post(route, json=body, auth=AUTH)
    assert response.status_code == 200, response.text
    page: dict = response.json()  # type: ignore[type-arg]
    return page


async def test_collaborative_and_content_based_reasons_follow_the_tier(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]
) -> None:
    user, newcomer, presents = shoppers
    plain = await post(client, "/personalized", {"user_id": str(user)})
    assert plain["details"] is None
    page = await post(client, "/personalized", {"user_id": str(user), "explain": True})
    assert page["cache_hit"] is False and page["items"] == plain["items"]  # cached apart, same ranking
    assert [detail["id"] for detail in page["details"]] == page["items"]
    mine = {str(present) for present in presents[:3]}
    for detail in page["details"]:
        codes = {reason["code"]: reason for reason in detail["reasons"]}
        assert codes["similar_users"]["count"] == 5  # the five twins liked every present
        assert set(codes["liked_with"]["present_ids"]) <= mine and detail["score"] > 0
    scores = [detail["score"] for detail in page["details"]]
    assert all(score > 0 for score in scores)

    fresh = await post(client, "/personalized", {"user_id": str(newcomer), "explain": True})
    assert fresh["algorithm_used"] == "content_based"
    for detail in fresh["details"]:
        codes = [reason["code"] for reason in detail["reasons"]]
        assert "similar_users" not in codes and codes, detail
        assert set(codes) <= {"liked_with", "category_affinity", "popular_in_segment"}


async def test_popular_reasons_name_the_segment(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]
) -> None:
    page = await post(
        client, "/popular", {"user_params": {"gender": "f", "age": "25-34"}, "explain": True,
                             "pagination": {"limit": 3}},
    )  # fmt: skip
    assert len(page["details"]) == 3
    segment_of = {"exact": {"gender": "f", "age_group": "25-34"}, "gender": {"gender": "f"},
                  "age_group": {"age_group": "25-34"}, "global": {}}  # fmt: skip
    for detail in page["details"]:
        (reason,) = detail["reasons"]
        assert reason["level"] in page["levels_used"]
        assert reason == {
            "code": "popular_in_segment",
            "level": reason["level"],
            **segment_of[reason["level"]],
        }
        assert detail["score"] > 0
    scores = [detail["score"] for detail in page["details"]]
    assert scores == sorted(scores, reverse=True)  # the popularity that ranked them
    anyone = await post(client, "/popular", {"explain": True, "pagination": {"limit": 1}})
    assert anyone["details"][0]["reasons"] == [{"code": "popular_in_segment", "level": "global"}]


async def test_similar_reasons_name_the_present_and_the_category(
    client: AsyncTestClient, world: World
) -> None:
    p = co_taken_world(world)
    page = await post(client, "/similar", {"present_id": str(p["anchor"]), "explain": True,
                                           "pagination": {"limit": 5}})  # fmt: skip
    kinds = [detail["reasons"][0] for detail in page["details"]]
    assert kinds[:2] == [{"code": "liked_with", "present_ids": [str(p["anchor"])]}] * 2  # close, far
    assert kinds[2:4] == [{"code": "same_category", "category": "books"}] * 2
    assert kinds[4]["code"] == "popular_in_segment"
    assert page["details"][0]["score"] >= page["details"][1]["score"] > 0
