"""api.similar in SQL: item neighbours first, then the category, then popularity; the present itself,
the user's presents and the excluded left out; unknown and private presents alike not found."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.conftest import app_connect
from tests.data import World


def similar(
    present: uuid.UUID,
    user: uuid.UUID | None = None,
    *,
    category: str | None = None,
    price_to: float | None = None,
    page: int = 1,
    limit: int = 20,
    exclude: list[uuid.UUID] | None = None,
) -> dict[str, Any]:
    """api.similar as the app role calls it."""
    with app_connect() as app:
        cursor = app.execute(
            "SELECT * FROM api.similar(%s, %s, NULL, NULL, %s, %s, NULL, %s, %s, %s)",
            (present, user, price_to, category, page, limit, exclude),
        )
        columns = [column.name for column in cursor.description or []]
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(columns, row, strict=True))


def co_taken_world(world: World) -> dict[str, uuid.UUID]:
    """anchor taken with close (by 3 users) and with far (by 1); two more books, one toy, all popular."""
    anchor, close, far = world.present(), world.present(), world.present()
    books = [world.present() for _ in range(2)]
    toy = world.present(category="toys")
    for user in world.users(3):
        world.like(user, anchor)
        world.like(user, close)
    loner = world.users(1)[0]
    world.like(loner, anchor)
    world.like(loner, far)
    for count, present in ((6, books[0]), (5, books[1]), (7, toy)):
        for user in world.users(count):
            world.like(user, present)
    world.refresh_all()
    return {"anchor": anchor, "close": close, "far": far, "book0": books[0], "book1": books[1], "toy": toy}


def test_neighbours_first_then_the_category_then_popularity(world: World) -> None:
    p = co_taken_world(world)
    result = similar(p["anchor"], limit=4)
    assert result["items"] == [p["close"], p["far"], p["book0"], p["book1"]]
    assert result["fallback_level"] == "co_liked" and result["levels_used"] == ["co_liked", "same_category"]
    second = similar(p["anchor"], limit=4, page=2)
    assert second["items"][0] == p["toy"] and second["levels_used"] == ["popular"]
    assert p["anchor"] not in result["items"] + second["items"]
    assert result["total_items"] == 5  # every available present but the anchor itself


def test_a_present_nobody_shares_falls_back_to_its_category(world: World) -> None:
    p = co_taken_world(world)
    alone = world.present(category="toys")
    world.refresh_all()
    result = similar(alone, limit=2)
    assert result["items"][0] == p["toy"]
    assert result["fallback_level"] == "same_category" and result["levels_used"][0] == "same_category"


def test_the_users_presents_and_the_excluded_are_left_out_even_unsynced(world: World) -> None:
    p = co_taken_world(world)
    user = world.users(1)[0]
    world.like(user, p["close"])
    world.refresh_all()
    assert p["close"] not in similar(p["anchor"], user)["items"]
    assert similar(p["anchor"], user)["items"][0] == p["far"]
    world.click(user, p["far"])  # in main only: no job ran since
    items = similar(p["anchor"], user, exclude=[p["book0"]])["items"]
    assert items[0] == p["book1"] and not {p["close"], p["far"], p["book0"]} & set(items)
    assert similar(p["anchor"])["items"][0] == p["close"]  # anonymous: nothing of the user's


def test_filters_apply_to_every_level(world: World) -> None:
    p = co_taken_world(world)
    result = similar(p["anchor"], category="toys")
    assert result["items"] == [p["toy"]] and result["levels_used"] == ["popular"]
    assert result["total_items"] == 1
    world.main.execute("UPDATE handpicked_presents SET price = 99 WHERE id = %s", (p["close"],))
    world.refresh()
    assert p["close"] not in similar(p["anchor"], price_to=50)["items"]


def test_unknown_and_private_presents_are_not_found_alike(world: World) -> None:
    p = co_taken_world(world)
    private = world.present(owner=uuid.uuid4())
    world.like(world.users(1)[0], private)
    world.refresh_all()
    messages = []
    for present in (uuid.uuid4(), private):
        with pytest.raises(psycopg.errors.NoDataFound) as raised:
            similar(present)
        messages.append(str(raised.value).replace(str(present), "<id>"))
    assert messages[0] == messages[1]
    assert private not in similar(p["anchor"], limit=100)["items"]


def test_a_neighbour_that_turns_private_or_unavailable_is_never_served(world: World) -> None:
    p = co_taken_world(world)
    world.main.execute(
        "UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), p["close"])
    )
    world.main.execute("UPDATE handpicked_presents SET available = false WHERE id = %s", (p["far"],))
    world.refresh()  # the presents' sync only: the item neighbours still list both
    for page in (1, 2, 3):
        items = similar(p["anchor"], page=page, limit=2)["items"]
        assert p["close"] not in items and p["far"] not in items


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"page": 0}, "page must be >= 1"),
        ({"limit": 0}, "limit must be between"),
        ({"exclude": [uuid.uuid4()] * 1001}, "at most 1000"),
    ],
)
def test_bad_arguments_are_named(world: World, arguments: dict[str, Any], message: str) -> None:
    anchor = world.present()
    world.refresh()
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
        similar(anchor, **arguments)
