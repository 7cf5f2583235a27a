"""The fast path of POST /popular, /personalized and /similar (service/fast_path.py): a plain
request answered without Litestar's machinery gets what Litestar's handler gives it, and every
other request, refused or failing, is answered by Litestar as before."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from service.fast_path import ServiceApp
from tests.conftest import ADMIN_AUTH, AUTH
from tests.data import World

PER_REQUEST = ("computation_time_ms", "cache_hit", "recommendation_id")


def fast_answers(client: AsyncTestClient) -> int:
    app = client.app
    assert isinstance(app, ServiceApp)
    return app.fast_answers


async def both_ways(client: AsyncTestClient, path: str, body: dict[str, Any]) -> tuple[Any, Any]:
    """The request on the fast path (a JSON content type), then through Litestar (a content type the
    fast path leaves to Litestar, whose handler decodes the body all the same)."""
    before = fast_answers(client)
    fast = await client.post(path, json=body, auth=AUTH)
    assert fast_answers(client) == before + 1
    slow = await client.post(
        path, content=json.dumps(body).encode(), headers={"content-type": "text/plain"}, auth=AUTH
    )
    assert fast_answers(client) == before + 1
    return fast, slow


def without_per_request_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in PER_REQUEST}


@pytest.mark.parametrize("route", ["/popular", "/personalized", "/similar"])
async def test_a_plain_request_gets_what_litestars_handler_gives(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]], route: str
) -> None:
    user, presents = shoppers
    body: dict[str, Any] = {
        "/popular": {"user_params": {"gender": "f", "age_group": "25-34"}, "pagination": {"limit": 3}},
        "/personalized": {"user_id": str(user), "pagination": {"limit": 3}},
        "/similar": {"present_id": str(presents[0]), "user_id": str(user)},
    }[route]
    fast, slow = await both_ways(client, route, body)
    assert fast.status_code == slow.status_code == 200, (fast.text, slow.text)
    assert sorted(fast.headers.keys()) == sorted(slow.headers.keys())
    per_request = ("x-request-id", "content-length")  # the id; the length of computation_time_ms
    assert {k: v for k, v in fast.headers.items() if k not in per_request} == {
        k: v for k, v in slow.headers.items() if k not in per_request
    }
    assert int(fast.headers["content-length"]) == len(fast.content)
    assert list(fast.json()) == list(slow.json())  # the same fields in the same order
    assert without_per_request_fields(fast.json()) == without_per_request_fields(slow.json())
    assert fast.headers["x-request-id"] != slow.headers["x-request-id"]


async def test_an_error_of_the_page_is_answered_as_the_handlers_own(
    client: AsyncTestClient, world: World
) -> None:
    """An unknown present raises in the page's SQL: the fast path hands the error to Litestar,
    which answers it as the handler's (404 problem+json with the request's id)."""
    body = {"present_id": str(uuid.uuid4())}
    before = fast_answers(client)
    fast = await client.post("/similar", json=body, auth=AUTH, headers={"x-request-id": "fast-404"})
    slow = await client.post(
        "/similar", content=b'{"present_id": "%s"}' % body["present_id"].encode(),
        headers={"content-type": "text/plain", "x-request-id": "slow-404"}, auth=AUTH,
    )  # fmt: skip
    assert fast_answers(client) == before
    assert fast.status_code == slow.status_code == 404
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/problem+json"
    assert fast.headers["x-request-id"] == fast.json()["request_id"] == "fast-404"
    fast_problem = {k: v for k, v in fast.json().items() if k != "request_id"}
    slow_problem = {k: v for k, v in slow.json().items() if k != "request_id"}
    assert fast_problem == slow_problem


async def test_a_request_handed_on_to_litestar_is_timed_from_its_start(
    client: AsyncTestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The fast path spent its time on the page before handing its error on: the request's log line
    and latency count that time too (they counted Litestar's part alone, a fraction of a
    millisecond, for a request that waited seconds)."""
    caplog.set_level(logging.DEBUG, logger="service.http")
    with psycopg.connect(world.recs.info.dsn) as locker:
        locker.execute("LOCK TABLE recs.items IN ACCESS EXCLUSIVE MODE")  # the page's SQL waits

        def release() -> None:
            time.sleep(0.6)
            locker.commit()

        releaser = threading.Thread(target=release)
        releaser.start()
        try:
            response = await client.post("/similar", json={"present_id": str(uuid.uuid4())}, auth=AUTH)
        finally:
            releaser.join()
    assert response.status_code == 404, response.text
    logged = [
        r for r in caplog.records if r.getMessage() == "http.request" and getattr(r, "status", None) == 404
    ]
    assert logged and logged[-1].duration_ms >= 500  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("content", "auth", "status"),
    [
        (b'{"user_params": {"gender": "x"}}', AUTH, 422),  # every bad field named by Litestar's path
        (b'{"pagination": {"limit": 100000}}', AUTH, 422),  # past MAX_PAGE_SIZE
        (b"not json", AUTH, 400),
        (b"", AUTH, 422),
        (b"{}", ("someone", "wrong"), 401),
        (b"{}", None, 401),
        (b"{}", ADMIN_AUTH, 200),  # the admin pair may do what the Rails pair does
        (b"{" + b" " * 70_000 + b"}", AUTH, 413),  # past the body limit
    ],
)
async def test_what_the_fast_path_does_not_answer_litestar_does(
    client: AsyncTestClient, world: World, content: bytes, auth: tuple[str, str] | None, status: int
) -> None:
    before = fast_answers(client)
    response = await client.post(
        "/popular", content=content, headers={"content-type": "application/json"}, auth=auth
    )
    assert response.status_code == status, response.text
    assert fast_answers(client) == before + (1 if status == 200 else 0)
    if status != 200:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["x-request-id"]
