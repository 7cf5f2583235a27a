"""HTTP Basic auth on every route but /health and the docs: the Rails pair, and the admin pair for
/admin, /stats and /metrics; problem+json 401s and 403s; failed logins logged, never a secret."""

from __future__ import annotations

import base64
import logging
import uuid

import pytest
from litestar.testing import AsyncTestClient

from service.auth import credentials_match
from tests.conftest import ADMIN_AUTH, AUTH


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _basic(AUTH[0], "wrong"),
        _basic("wrong", AUTH[1]),
        _basic(AUTH[0], AUTH[1] + "x"),
        {"Authorization": "Bearer " + AUTH[1]},
        {"Authorization": "Basic not-base64!"},
    ],
    ids=["missing", "wrong-password", "wrong-user", "longer-password", "other-scheme", "garbage"],
)
async def test_protected_route_rejects_bad_credentials(
    client: AsyncTestClient, headers: dict[str, str]
) -> None:
    for method, path in (("GET", "/admin/jobs"), ("POST", "/admin/jobs/cleanup")):
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Basic ")
        assert response.json()["status"] == 401


async def test_every_route_but_health_and_docs_needs_credentials(client: AsyncTestClient) -> None:
    checked = []
    for route in client.app.routes:
        path = route.path.replace("{job:str}", "cleanup").replace("{user_id:str}", str(uuid.uuid4()))
        if path == "/health" or path.startswith("/docs"):
            continue
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
            for headers in ({}, _basic(AUTH[0], "wrong")):
                response = await client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, response.status_code)
            checked.append(f"{method} {path.split('/')[1]}")
    assert len(checked) >= 9  # popular, personalized, user-profile x2, admin x5


async def test_the_rails_pair_is_forbidden_the_admin_routes(client: AsyncTestClient) -> None:
    for method, path in (("GET", "/admin/jobs"), ("POST", "/admin/jobs/cleanup"), ("GET", "/stats"),
                         ("GET", "/metrics"), ("POST", "/admin/refresh-popular-items")):  # fmt: skip
        response = await client.request(method, path, headers=_basic(*AUTH))
        assert response.status_code == 403, (method, path)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "admin credentials" in response.json()["detail"]
    popular = await client.post("/popular", json={}, headers=_basic(*AUTH))
    assert popular.status_code == 200
    assert (await client.post("/popular", json={}, headers=_basic(*ADMIN_AUTH))).status_code == 200


async def test_right_credentials_pass(client: AsyncTestClient) -> None:
    response = await client.get("/admin/jobs", headers=_basic(*ADMIN_AUTH))
    assert response.status_code == 200
    assert [job["job"] for job in response.json()] == [
        "cleanup", "erase_absent_users", "purge_cron_history",
        "refresh_item_neighbors", "refresh_learned_weights",
        "refresh_popular_items", "refresh_user_profiles", "refresh_user_similarities", "withdraw_presents",
    ]  # fmt: skip
    assert response.json()[0]["runs"] == 0 and response.json()[0]["started_at"] is None


async def test_every_answer_carries_a_request_id(client: AsyncTestClient) -> None:
    unauthorised = await client.get("/admin/jobs", headers={"X-Request-ID": "rails-123"})
    assert unauthorised.status_code == 401
    assert unauthorised.headers["x-request-id"] == "rails-123" == unauthorised.json()["request_id"]
    unknown = await client.get("/no-such-route", auth=AUTH)
    assert unknown.status_code == 404 and unknown.headers["x-request-id"] == unknown.json()["request_id"]


async def test_health_and_docs_need_no_credentials(client: AsyncTestClient) -> None:
    assert (await client.get("/health")).status_code == 200
    page = await client.get("/docs")
    assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()  # the docs render without internet access
    asset = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    schema = (await client.get("/docs/openapi.json")).json()
    assert "/health" in schema["paths"]
    assert schema["components"]["securitySchemes"]["basic"]["scheme"] == "basic"


def test_credentials_match_only_the_exact_pair() -> None:
    header = _basic("alice", "s3cret:with:colons")["Authorization"]
    assert credentials_match(header, "alice", "s3cret:with:colons")
    assert not credentials_match(header, "alice", "s3cret")
    assert not credentials_match(None, "alice", "s3cret:with:colons")
    assert not credentials_match("Basic " + base64.b64encode(b"alice").decode(), "alice", "")


async def test_no_credentials_in_logs(client: AsyncTestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get("/admin/jobs", headers=_basic(*ADMIN_AUTH))
    await client.get("/admin/jobs", headers=_basic(*AUTH))
    await client.get("/admin/jobs", headers=_basic(AUTH[0], "wrong-password-456"))
    text = "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    assert "http.request" in text and "auth.failed" in text
    secrets = (AUTH[1], ADMIN_AUTH[1], "wrong-password-456")
    for secret in (*secrets, *(base64.b64encode(f"x:{s}".encode()).decode()[4:] for s in secrets)):
        assert secret not in text


async def test_failed_logins_are_logged_once_a_minute_per_address(
    client: AsyncTestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="service.auth")
    for _ in range(5):
        assert (await client.get("/admin/jobs", headers=_basic(AUTH[0], "wrong"))).status_code == 401
    failed = [record for record in caplog.records if record.getMessage() == "auth.failed"]
    assert len(failed) == 1
    assert vars(failed[0])["client"] == "testclient" and vars(failed[0])["route"] == "/admin/jobs"
