"""Filters on every recommendation route: categories (any of) and exclude_categories, names matched
case-insensitively, a warning for a name that matches nothing, exclude on /popular; GET /facets."""

from __future__ import annotations

import uuid

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import AUTH
from tests.data import World


@pytest.fixture
def catalogue(world: World) -> dict[str, list[uuid.UUID]]:
    """Presents of three categories and none, on two platforms, liked so that each ranks."""
    made: dict[str, list[uuid.UUID]] = {}
    for category, platform, count in (("books", "Amazon", 3), ("toys", "etsy", 2), ("Music", "etsy", 2)):
        made[category] = [world.present(category=category, platform=platform, price=10 * (n + 1))
                          for n in range(count)]  # fmt: skip
    made["none"] = [world.present(category=None, platform="etsy", price=99)]  # type: ignore[arg-type]
    fans = world.users(4, "f", "25-34")
    for present in [present for presents in made.values() for present in presents]:
        for fan in fans:
            world.like(fan, present)
    world.refresh_all()
    return made


async def popular(client: AsyncTestClient, filters: dict[str, object], **extra: object) -> dict:  # type: ignore[type-arg]
    body = {"filters": filters, "pagination": {"limit": 50}, **extra}
    response = await client.post("/popular", json=body, auth=AUTH)
    assert response.status_code == 200, response.text
    page: dict = response.json()  # type: ignore[type-arg]
    return page


def ids(presents: list[uuid.UUID]) -> set[str]:
    return {str(present) for present in presents}


async def test_names_match_case_insensitively_and_a_name_matching_nothing_is_a_warning(
    client: AsyncTestClient, catalogue: dict[str, list[uuid.UUID]]
) -> None:
    for spelling in ("books", "BOOKS", "Books"):
        page = await popular(client, {"category": spelling})
        assert set(page["items"]) == ids(catalogue["books"]) and page["warnings"] == []
    page = await popular(client, {"category": "music", "platform": "ETSY"})
    assert set(page["items"]) == ids(catalogue["Music"]) and page["warnings"] == []
    page = await popular(client, {"category": "bookz", "platform": "amazon"})
    assert page["items"] == [] and page["pagination"]["total_items"] == 0
    assert page["warnings"] == [
        {"field": "filters.category", "value": "bookz", "message": "no available present has category bookz"}
    ]
    page = await popular(client, {"platform": "ebay"})
    assert page["items"] == [] and [w["field"] for w in page["warnings"]] == ["filters.platform"]


async def test_categories_any_of_and_exclude_categories(
    client: AsyncTestClient, catalogue: dict[str, list[uuid.UUID]]
) -> None:
    page = await popular(client, {"categories": ["toys", "MUSIC"]})
    assert set(page["items"]) == ids(catalogue["toys"] + catalogue["Music"])
    assert page["pagination"]["total_items"] == 4
    page = await popular(client, {"category": "books", "categories": ["toys"]})
    assert set(page["items"]) == ids(catalogue["books"] + catalogue["toys"])
    # Excluding keeps every other present, those without a category too.
    page = await popular(client, {"exclude_categories": ["Books", "toys"]})
    assert set(page["items"]) == ids(catalogue["Music"] + catalogue["none"])
    assert page["pagination"]["total_items"] == 3
    page = await popular(client, {"categories": ["toys", "music"], "exclude_categories": ["toys", "nope"]})
    assert set(page["items"]) == ids(catalogue["Music"])
    assert page["warnings"] == [
        {"field": "filters.exclude_categories", "value": "nope",
         "message": "no available present has category nope"}
    ]  # fmt: skip


async def test_exclude_on_popular(client: AsyncTestClient, catalogue: dict[str, list[uuid.UUID]]) -> None:
    everything = await popular(client, {})
    left_out = catalogue["books"][:2]
    page = await popular(client, {}, exclude=[str(present) for present in left_out])
    assert set(page["items"]) == set(everything["items"]) - ids(left_out)
    assert page["pagination"]["total_items"] == everything["pagination"]["total_items"] - 2
    bad = await client.post("/popular", json={"exclude": ["nope"]}, auth=AUTH)
    assert bad.status_code == 422 and "exclude[0]" in bad.text


async def test_personalized_and_similar_take_the_same_filters(
    client: AsyncTestClient, catalogue: dict[str, list[uuid.UUID]], world: World
) -> None:
    user = world.users(1, "f", "25-34")[0]
    world.like(user, catalogue["books"][0])
    world.refresh_all()
    filters = {"categories": ["TOYS"], "exclude_categories": ["music"], "platform": "Etsy"}
    personal = await client.post(
        "/personalized",
        json={"user_id": str(user), "filters": filters, "pagination": {"limit": 50}},
        auth=AUTH,
    )
    assert personal.status_code == 200, personal.text
    assert set(personal.json()["items"]) == ids(catalogue["toys"]) and personal.json()["warnings"] == []
    similar = await client.post(
        "/similar",
        json={"present_id": str(catalogue["books"][0]), "filters": {"exclude_categories": ["books", "toyz"]},
              "pagination": {"limit": 50}},
        auth=AUTH,
    )  # fmt: skip
    assert similar.status_code == 200, similar.text
    page = similar.json()
    assert set(page["items"]) == ids(catalogue["toys"] + catalogue["Music"] + catalogue["none"])
    assert [(w["field"], w["value"]) for w in page["warnings"]] == [("filters.exclude_categories", "toyz")]


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"categories": ["ok", "bad\u0000name"]}, "filters.categories[1]"),
        ({"exclude_categories": ["x"] * 101}, "filters.exclude_categories"),
        ({"categories": "books"}, "filters.categories"),
    ],
)
async def test_bad_category_lists_are_422_naming_the_field(
    client: AsyncTestClient, filters: dict[str, object], field: str
) -> None:
    response = await client.post("/popular", json={"filters": filters}, auth=AUTH)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_facets_list_what_the_filters_take_and_follow_the_refresh(
    client: AsyncTestClient, catalogue: dict[str, list[uuid.UUID]], world: World
) -> None:
    response = await client.get("/facets", auth=AUTH)
    assert response.status_code == 200, response.text
    facets = response.json()
    assert facets["categories"] == [
        {"name": "books", "presents": 3}, {"name": "Music", "presents": 2}, {"name": "toys", "presents": 2},
    ]  # fmt: skip
    assert facets["platforms"] == [{"name": "etsy", "presents": 5}, {"name": "Amazon", "presents": 3}]
    assert facets["available_presents"] == 8
    prices = facets["prices"]
    assert (prices["min"], prices["max"]) == (10, 99) and prices["p10"] <= prices["p50"] <= prices["p90"]
    assert (await client.get("/facets", auth=AUTH)).content == response.content
    world.present(category="games", platform="etsy", price=5)
    world.refresh_all()
    after = (await client.get("/facets", auth=AUTH)).json()
    assert {"name": "games", "presents": 1} in after["categories"] and after["prices"]["min"] == 5
    assert (await client.get("/facets")).status_code == 401


async def test_every_name_facets_lists_is_a_filter_the_routes_take(
    client: AsyncTestClient, world: World
) -> None:
    """Names are free text in the catalogue: quotes, brackets, signs and outer spaces included, a name
    /facets lists filters every route."""
    names = ["Kids' books", "Shop (online)", "#1 store!", "x;y", "  spaced  ", "tab\there", "long " * 60]
    made = {name: world.present(category=name, platform=name) for name in names}
    fan = world.users(1)[0]
    for present in made.values():
        world.like(fan, present)
    world.refresh_all()
    facets = (await client.get("/facets", auth=AUTH)).json()
    assert sorted(c["name"] for c in facets["categories"]) == sorted(names)
    for category in facets["categories"]:
        filters = {"category": category["name"], "platform": category["name"].upper()}
        page = await popular(client, filters)
        assert page["items"] == [str(made[category["name"]])] and page["warnings"] == []
        body = {"present_id": page["items"][0], "filters": {"exclude_categories": [category["name"]]}}
        similar = await client.post("/similar", json=body, auth=AUTH)
        assert similar.status_code == 200 and page["items"][0] not in similar.json()["items"]


async def test_max_per_category_spreads_every_route_and_is_checked(
    client: AsyncTestClient, catalogue: dict[str, list[uuid.UUID]], world: World
) -> None:
    category_of = {str(present): name for name, presents in catalogue.items() for present in presents}
    user = world.users(1)[0]
    bodies = {
        "/popular": {},
        "/personalized": {"user_id": str(user)},
        "/similar": {"present_id": str(catalogue["books"][0])},
    }
    for route, body in bodies.items():
        response = await client.post(
            route, json={**body, "max_per_category": 1, "pagination": {"limit": 4}}, auth=AUTH
        )
        assert response.status_code == 200, (route, response.text)
        page = response.json()["items"]
        assert len(page) == 4 and len({category_of[present] for present in page}) == 4, route
    bad = await client.post("/popular", json={"max_per_category": 0}, auth=AUTH)
    assert bad.status_code == 422 and "max_per_category" in bad.text


async def test_private_presents_add_nothing_to_facets_filters_or_reasons(
    client: AsyncTestClient, catalogue: dict[str, list[uuid.UUID]], world: World
) -> None:
    owner = world.users(1)[0]
    private = world.present(category="secret", platform="hidden", price=1, owner=owner)
    for fan in world.users(6, "f", "25-34"):  # taken with a public book more than anything else
        world.like(fan, private)
        world.like(fan, catalogue["books"][0])
    world.refresh_all()
    facets = (await client.get("/facets", auth=AUTH)).json()
    assert "secret" not in {c["name"] for c in facets["categories"]} and facets["prices"]["min"] == 10
    assert "hidden" not in {p["name"] for p in facets["platforms"]} and facets["available_presents"] == 8
    page = await popular(client, {"category": "secret"}, explain=True)
    assert page["items"] == [] and page["warnings"][0]["value"] == "secret"
    similar = await client.post(
        "/similar",
        json={"present_id": str(catalogue["books"][0]), "explain": True, "pagination": {"limit": 50}},
        auth=AUTH,
    )
    body = similar.text
    assert similar.status_code == 200 and str(private) not in body
