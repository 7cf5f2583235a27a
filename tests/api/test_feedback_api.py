"""POST and DELETE /feedback: a dismissed present leaves the user's pages on every route at once,
under cache hits too, comes back when undone or expired, goes with the user's erasure; bad input is
a clear 4xx."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import ADMIN_AUTH, AUTH
from tests.data import World


async def pages(client: AsyncTestClient, user: uuid.UUID, anchor: uuid.UUID) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """The user's /personalized page and their /similar page about anchor."""
    personal = await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)
    similar = await client.post("/similar", json={"present_id": str(anchor), "user_id": str(user)}, auth=AUTH)
    assert personal.status_code == 200 and similar.status_code == 200, (personal.text, similar.text)
    return personal.json(), similar.json()


async def dismiss(client: AsyncTestClient, user: uuid.UUID, present: uuid.UUID) -> dict:  # type: ignore[type-arg]
    body = {"user_id": str(user), "present_id": str(present), "kind": "dismiss"}
    response = await client.post("/feedback", json=body, auth=AUTH)
    assert response.status_code == 200, response.text
    stored: dict = response.json()  # type: ignore[type-arg]
    return stored


async def test_a_dismissed_present_leaves_every_page_at_once_even_under_cache_hits(
    serving: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    user, presents = shoppers
    personal, similar = await pages(serving, user, presents[0])
    top = personal["items"][0]
    assert top in similar["items"]
    personal, similar = await pages(serving, user, presents[0])
    assert personal["cache_hit"] is True and similar["cache_hit"] is True

    stored = await dismiss(serving, user, uuid.UUID(top))
    assert stored["kind"] == "dismiss" and stored["present_id"] == top and stored["expires_at"] is None
    personal, similar = await pages(serving, user, presents[0])
    assert top not in personal["items"] and top not in similar["items"]
    assert personal["pagination"]["total_items"] == 5  # 9 presents, less 3 liked and 1 dismissed

    undo = await serving.delete(
        "/feedback", params={"user_id": str(user), "present_id": top, "kind": "dismiss"}, auth=AUTH
    )
    assert undo.status_code == 204, undo.text
    personal, similar = await pages(serving, user, presents[0])
    assert personal["items"][0] == top and top in similar["items"]
    again = await serving.delete("/feedback", params={"user_id": str(user), "present_id": top}, auth=AUTH)
    assert again.status_code == 204  # nothing left to undo: still fine


async def test_a_dismissal_lasts_dismissal_days_then_the_cleanup_job_deletes_it(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, presents = shoppers
    world.setting("dismissal_days", "2")
    stored = await dismiss(client, user, presents[5])
    assert stored["expires_at"] is not None and stored["expires_at"] > stored["dismissed_at"]
    personal, _ = await pages(client, user, presents[0])
    assert str(presents[5]) not in personal["items"]
    world.recs.execute("UPDATE recs.dismissals SET dismissed_at = now() - interval '3 days'")
    personal, _ = await pages(client, user, presents[0])
    assert str(presents[5]) in personal["items"]  # expired: back
    run = await client.post("/admin/jobs/cleanup", auth=ADMIN_AUTH)
    assert run.status_code == 200, run.text
    assert world.recs.execute("SELECT count(*) FROM recs.dismissals").fetchone() == (0,)


async def test_a_present_private_for_a_while_comes_back_still_dismissed_and_still_liked(
    client: AsyncTestClient, world: World
) -> None:
    """A present that leaves recs.items (made private) and comes back gets a new row: the user's
    dismissal is kept by present, and the likes older than the sync's window are read again at
    once (an incremental sync), so neither comes back into the user's page."""
    hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)  # older than the sync's overlap
    presents = [world.present(price=10 + index) for index in range(8)]
    liked, dismissed = presents[0], presents[1]
    user = world.users(1, "f", "25-34")[0]
    for present in (liked, *presents[2:4]):
        world.like(user, present, at=hours_ago)
    for twin in world.users(5, "f", "25-34"):
        for present in presents:
            world.like(twin, present, at=hours_ago)
    world.refresh_all()
    await dismiss(client, user, dismissed)
    page = (await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)).json()
    assert str(liked) not in page["items"] and str(dismissed) not in page["items"]

    flipped = [liked, dismissed]
    world.main.execute(
        "UPDATE handpicked_presents SET user_id = %s WHERE id = ANY(%s)", (uuid.uuid4(), flipped)
    )
    world.refresh()
    assert world.recs.execute(
        "SELECT count(*) FROM recs.items WHERE present_id = ANY(%s)", (flipped,)
    ).fetchone() == (0,)
    world.main.execute("UPDATE handpicked_presents SET user_id = NULL WHERE id = ANY(%s)", (flipped,))
    world.refresh()
    page = (await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)).json()
    assert str(liked) not in page["items"] and str(dismissed) not in page["items"]
    assert page["pagination"]["total_items"] == 4  # 8 presents, less 3 liked and 1 dismissed
    likes = world.recs.execute(
        "SELECT count(*) FROM recs.interactions x JOIN recs.items i USING (item_id)"
        " WHERE i.present_id = %s AND x.liked_at IS NOT NULL",
        (liked,),
    )
    assert likes.fetchone() == (6,)
    undo = await client.delete(
        "/feedback", params={"user_id": str(user), "present_id": str(dismissed)}, auth=AUTH
    )
    assert undo.status_code == 204
    page = (await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)).json()
    assert str(dismissed) in page["items"]


async def test_an_erasure_takes_the_dismissals_with_it(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, presents = shoppers
    newcomer = uuid.uuid4()  # a user the service has never seen may dismiss too
    await dismiss(client, newcomer, presents[4])
    await dismiss(client, user, presents[4])
    assert world.recs.execute("SELECT count(*) FROM recs.dismissals").fetchone() == (2,)
    for person in (user, newcomer):
        assert (await client.delete(f"/user-profile/{person}", auth=AUTH)).status_code == 204
    assert world.recs.execute("SELECT count(*) FROM recs.dismissals").fetchone() == (0,)


async def test_unknown_and_private_presents_are_the_same_404(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, _ = shoppers
    private = world.present(owner=user)
    world.refresh_all()
    details = []
    for present in (private, uuid.uuid4()):
        body = {"user_id": str(user), "present_id": str(present), "kind": "dismiss"}
        response = await client.post("/feedback", json=body, auth=AUTH)
        assert response.status_code == 404, response.text
        details.append(response.json()["detail"].replace(str(present), "<id>"))
    assert details[0] == details[1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"present_id": str(uuid.UUID(int=2)), "kind": "dismiss"}, "user_id"),
        ({"user_id": str(uuid.UUID(int=1)), "present_id": "x", "kind": "dismiss"}, "present_id"),
        ({"user_id": str(uuid.UUID(int=1)), "present_id": str(uuid.UUID(int=2)), "kind": "love"}, "kind"),
        ({"user_id": str(uuid.UUID(int=1)), "present_id": str(uuid.UUID(int=2))}, "kind"),
    ],
)
async def test_bad_feedback_is_422_naming_the_field(
    client: AsyncTestClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/feedback", json=body, auth=AUTH)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_bad_undo_parameters_are_422_naming_them(client: AsyncTestClient) -> None:
    response = await client.delete("/feedback", params={"user_id": "nope", "present_id": "x"}, auth=AUTH)
    assert response.status_code == 422, response.text
    assert "user_id" in [error["field"] for error in response.json()["errors"]]
    response = await client.delete(
        "/feedback", params={"user_id": str(uuid.UUID(int=1)), "present_id": str(uuid.UUID(int=2)),
                             "kind": "love"}, auth=AUTH,
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "kind", "message": "must be one of dismiss, got 'love'", "in": "query"}
    ]


async def test_every_bad_undo_parameter_is_named_at_once(client: AsyncTestClient) -> None:
    """As for a body, the 422 lists every bad query parameter, not only the first."""
    response = await client.delete(
        "/feedback", params={"user_id": "nope", "present_id": "x", "kind": "love"}, auth=AUTH
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "user_id", "message": "must be a uuid, got 'nope'", "in": "query"},
        {"field": "present_id", "message": "must be a uuid, got 'x'", "in": "query"},
        {"field": "kind", "message": "must be one of dismiss, got 'love'", "in": "query"},
    ]
    response = await client.delete("/feedback", auth=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "user_id: is required; present_id: is required"


async def test_a_missing_undo_parameter_is_422_naming_it_without_the_url(client: AsyncTestClient) -> None:
    response = await client.delete("/feedback", params={"user_id": str(uuid.UUID(int=1))}, auth=AUTH)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"] == [{"field": "present_id", "message": "is required", "in": "query"}]
    assert problem["detail"] == "present_id: is required"


async def test_a_repeated_or_unusual_undo_parameter_is_422_naming_it(client: AsyncTestClient) -> None:
    """Which of two user_ids was meant is not known, so neither is undone; ids are written 8-4-4-4-12
    in queries and paths as in bodies."""
    user, other, present = (str(uuid.uuid4()) for _ in range(3))
    response = await client.delete(
        f"/feedback?user_id={user}&user_id={other}&present_id={present}", auth=AUTH
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "user_id", "message": "is given more than once; give it once", "in": "query"}
    ]
    for spelling in (user.replace("-", ""), "{" + user + "}", "urn:uuid:" + user, user + "\n"):
        response = await client.delete(
            "/feedback", params={"user_id": spelling, "present_id": present}, auth=AUTH
        )
        assert response.status_code == 422, (spelling, response.text)
        assert [error["field"] for error in response.json()["errors"]] == ["user_id"]
        if "\n" not in spelling:  # a URL's path cannot hold one
            profile = await client.get(f"/user-profile/{spelling}", auth=AUTH)
            assert profile.status_code == 422, (spelling, profile.text)
            assert [error["field"] for error in profile.json()["errors"]] == ["user_id"]
