"""The API contract: the OpenAPI document says what the server checks and answers, and every error
names every bad field."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import psycopg
from litestar.testing import AsyncTestClient

from service.models import JOB_NAMES
from tests.conftest import ADMIN_AUTH, AUTH, owner_connect

OPERATION_IDS = {
    ("get", "/health"): "getHealth",
    ("head", "/health"): "headHealth",
    ("get", "/stats"): "getStats",
    ("get", "/metrics"): "getMetrics",
    ("post", "/popular"): "getPopular",
    ("post", "/personalized"): "getPersonalized",
    ("post", "/similar"): "getSimilar",
    ("get", "/facets"): "getFacets",
    ("post", "/feedback"): "postFeedback",
    ("delete", "/feedback"): "deleteFeedback",
    ("get", "/user-profile/{user_id}"): "getUserProfile",
    ("put", "/user-profile/{user_id}"): "putUserProfile",
    ("patch", "/user-profile/{user_id}"): "patchUserProfile",
    ("delete", "/user-profile/{user_id}"): "deleteUserProfile",
    ("get", "/admin/jobs"): "listJobs",
    ("post", "/admin/jobs/{job}"): "runJob",
    ("post", "/admin/refresh-popular-items"): "refreshPopularItems",
    ("post", "/admin/update-user-profiles"): "updateUserProfiles",
    ("post", "/admin/update-user-similarities"): "updateUserSimilarities",
}


async def _document(client: AsyncTestClient) -> dict[str, Any]:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _enum_schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema with an enum in a JSON document."""
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield node
        for value in node.values():
            yield from _enum_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enum_schemas(value)


async def test_operation_ids_are_method_names(client: AsyncTestClient) -> None:
    paths = (await _document(client))["paths"]
    found = {(method, path): op["operationId"] for path, item in paths.items() for method, op in item.items()}
    assert found == OPERATION_IDS
    # docs/api.md's table names every one, for those who write a client by hand.
    documented = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    assert [name for name in OPERATION_IDS.values() if f"`{name}`" not in documented] == []


async def test_the_schema_states_the_rules_the_server_applies(client: AsyncTestClient) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]
    for name in ("PopularRequest", "UserParams", "Filters", "PageRequest", "PersonalizedRequest",
                 "SimilarRequest", "FeedbackRequest", "DemographicsRequest",
                 "DemographicsPatch"):  # fmt: skip
        assert schemas[name]["additionalProperties"] is False, name
    limit = schemas["PageRequest"]["properties"]["limit"]["anyOf"][0]
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    assert schemas["Filters"]["properties"]["price_from"]["anyOf"][0]["minimum"] == 0
    user_id = schemas["PersonalizedRequest"]["properties"]["user_id"]
    assert user_id["format"] == "uuid" and user_id["pattern"]
    assert schemas["PersonalizedRequest"]["properties"]["exclude"]["items"]["format"] == "uuid"
    # The lower-case spellings as an enum, the other cases as a pattern: generated clients name a
    # constant after each enum value, upper-cased, and two values may not make one name.
    gender = schemas["UserParams"]["properties"]["gender"]["anyOf"]
    assert gender[0]["enum"] == ["f", "female", "m", "male"]
    assert gender[1] == {"type": "string", "pattern": "^(?:F|FEMALE|Female|M|MALE|Male)$"}
    for schema in _enum_schemas(document):
        values = schema["enum"]
        assert len({str(value).upper() for value in values}) == len(values), values
        # Typed: openapi-zod-client makes an enum without a type z.unknown(), with no values at all.
        assert schema.get("type") == "string", schema
    response = schemas["PopularResponse"]["properties"]
    assert response["algorithm_used"]["enum"] == ["popular"]  # what /popular can answer, not every tier
    personalized = schemas["PersonalizedResponse"]["properties"]
    assert set(personalized["algorithm_used"]["enum"]) == {"popular", "content_based", "collaborative"}
    assert set(response["levels_used"]["items"]["enum"]) == {"exact", "gender", "age_group", "global"}
    job = document["paths"]["/admin/jobs/{job}"]["post"]["parameters"][0]["schema"]
    assert job["enum"] == list(JOB_NAMES)
    for item in document["paths"].values():
        for operation in item.values():
            assert "400" not in operation["responses"] or "requestBody" in operation
            for status, spec in operation["responses"].items():
                for media in spec.get("content", {}).values():
                    assert media.get("example") is not None or status == "204", (
                        operation["operationId"],
                        status,
                    )
                if status.startswith(("4", "5")) and operation["operationId"] not in (
                    "getHealth",
                    "headHealth",
                ):
                    assert list(spec["content"]) == ["application/problem+json"]
            if "requestBody" in operation:
                for media in operation["requestBody"]["content"].values():
                    assert media["example"], operation["operationId"]


async def test_every_example_is_valid_against_its_own_schema(client: AsyncTestClient) -> None:
    """Mock servers and example-based tests build bodies from the examples: each request and response
    example of every operation is what its schema allows (formats included)."""
    document = await _document(client)
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            contents = [("request", operation.get("requestBody", {}).get("content", {}))]
            contents += [(status, r.get("content", {})) for status, r in operation["responses"].items()]
            for where, content in contents:
                for media in content.values():
                    if media.get("example") is None or media["schema"].get("type") == "string":
                        continue
                    schema = {**media["schema"], "components": document["components"]}
                    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
                    errors = [error.message for error in validator.iter_errors(media["example"])]
                    assert errors == [], (method, path, where, errors)
                    checked += 1
    assert checked >= 40


def _refs(node: Any) -> Iterator[str]:
    """The name of every schema a JSON document refers to."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"].rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


async def test_a_response_field_has_no_default(client: AsyncTestClient) -> None:
    """A field of a response is always sent (required) or may be left out, and has no default:
    generators read a default as "always present" (openapi-typescript's default types such a field as
    required), while the server leaves out a Reason's other parameters and a Problem's errors."""
    document = await _document(client)
    schemas = document["components"]["schemas"]
    pending = [name for item in document["paths"].values() for operation in item.values()
               for name in _refs(operation["responses"])]  # fmt: skip
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending += _refs(schemas[name])
    assert {"PopularResponse", "Reason", "Problem", "FieldError", "ReplicaCheck"} <= reached
    defaulted = [
        (name, field)
        for name in sorted(reached)
        for field, spec in schemas[name].get("properties", {}).items()
        if "default" in spec
    ]
    assert defaulted == []
    assert schemas["Reason"]["required"] == ["code"]  # its other parameters are left out, not null
    assert "errors" not in schemas["Problem"]["required"]
    # Always sent, so required (null when a standby's lag is unknown).
    assert "lag_ms" in schemas["ReplicaCheck"]["required"] and "in" in schemas["FieldError"]["required"]


async def test_the_job_names_listed_are_the_jobs_that_run(client: AsyncTestClient) -> None:
    with owner_connect() as owner:
        functions = owner.execute(
            "SELECT substr(proname, 5) FROM pg_proc WHERE pronamespace = 'recs'::regnamespace"
            " AND proname LIKE 'job\\_%' AND pronargs = 0 ORDER BY 1"
        ).fetchall()
    assert tuple(row[0] for row in functions) == JOB_NAMES
    listed = [job["job"] for job in (await client.get("/admin/jobs", auth=ADMIN_AUTH)).json()]
    assert set(JOB_NAMES) <= set(listed)
    run = await client.post("/admin/jobs/purge_cron_history", auth=ADMIN_AUTH)
    assert run.status_code == 200 and run.json()["status"] == "succeeded", run.text
    status = {job["job"]: job for job in (await client.get("/admin/jobs", auth=ADMIN_AUTH)).json()}
    duration = status["purge_cron_history"]["duration_ms"]
    assert status["purge_cron_history"]["runs"] == 1 and duration == round(duration, 3)
    kebab = await client.post("/admin/jobs/purge-cron-history", auth=ADMIN_AUTH)
    assert kebab.status_code == 422 and "purge_cron_history" in kebab.json()["errors"][0]["message"]


async def test_every_bad_field_is_named_with_its_path(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...]
) -> None:
    body = {
        "user_params": {"gender": "robot", "age": "30", "colour": "red"},
        "filters": {"price_from": -1, "category": "books\u0000drop"},
        "pagination": {"limit": 0},
    }
    response = await client.post("/popular", json=body, auth=AUTH)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert set(errors) == {
        "user_params.gender", "user_params.age", "user_params.colour", "filters.price_from",
        "filters.category", "pagination.limit",
    }  # fmt: skip
    assert errors["user_params.gender"].startswith("must be one of: f, female, m, male, F, FEMALE")
    assert errors["user_params.age"] == (
        "must be one of: 18-24, 25-34, 35-44, 45-54, 55+, under-18 or an integer between 0 and 130; got '30'"
    )
    assert "unknown field" in errors["user_params.colour"]
    assert "^" not in " ".join(errors.values())  # words, not regular expressions
    assert all(error["in"] == "body" for error in response.json()["errors"])

    bad = await client.post(
        "/personalized", json={"user_id": "", "exclude": ["x", str(uuid.uuid4())]}, auth=AUTH
    )
    assert [error["field"] for error in bad.json()["errors"]] == ["user_id", "exclude[0]"]

    empty = await client.post("/popular", content=b"", auth=AUTH)
    assert empty.status_code == 422 and empty.json()["errors"] == [
        {"field": "body", "message": "is empty; send a JSON object", "in": "body"}
    ]
    not_json = await client.post("/popular", content=b"{", auth=AUTH)
    assert not_json.status_code == 400
    assert not_json.headers["content-type"].startswith("application/problem+json")


async def test_an_inverted_price_range_is_an_empty_page(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...]
) -> None:
    body = {"filters": {"price_from": 50, "price_to": 10}}
    response = await client.post("/popular", json=body, auth=AUTH)
    assert response.status_code == 200 and response.json()["items"] == []
    personal = await client.post("/personalized", json={"user_id": str(uuid.uuid4()), **body}, auth=AUTH)
    assert personal.status_code == 200 and personal.json()["items"] == []


async def test_patch_is_a_merge_patch(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...]
) -> None:
    user = uuid.uuid4()
    full = {"gender": "female", "birth_date": "1994-06-01", "locale": "en", "geo_id": 3}
    assert (await client.put(f"/user-profile/{user}", json=full, auth=AUTH)).status_code == 200
    patched = await client.patch(
        f"/user-profile/{user}", json={"gender": "male"}, auth=AUTH,
        headers={"content-type": "application/merge-patch+json"},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    demographics = patched.json()["demographics"]
    fields = ("gender", "birth_date", "locale", "geo_id")
    assert tuple(demographics[name] for name in fields) == ("m", "1994-06-01", "en", 3)
    cleared = (await client.patch(f"/user-profile/{user}", json={"locale": None}, auth=AUTH)).json()
    assert cleared["demographics"]["locale"] is None and cleared["demographics"]["geo_id"] == 3
    assert (await client.get(f"/user-profile/{user}", auth=AUTH)).json() == cleared
    unchanged = (await client.patch(f"/user-profile/{user}", json={}, auth=AUTH)).json()
    assert unchanged == cleared
    reborn = (
        await client.patch(f"/user-profile/{user}", json={"birth_date": "2090-01-01"}, auth=AUTH)
    ).json()
    assert reborn["demographics"]["age_group"] == "under-18"  # a future birth date counts as age 0
    regrouped = (await client.patch(f"/user-profile/{user}", json={"age_group": "55+"}, auth=AUTH)).json()
    assert regrouped["demographics"]["age_group"] == "55+"
    bad = await client.patch(f"/user-profile/{user}", json={"gender": "x", "nickname": "y"}, auth=AUTH)
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} == {"gender", "nickname"}
    fresh = await client.patch(f"/user-profile/{uuid.uuid4()}", json={"locale": "de"}, auth=AUTH)
    assert fresh.status_code == 200 and fresh.json()["demographics"]["gender"] is None


async def test_a_birth_date_is_stored_as_sent_by_put_and_patch(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...]
) -> None:
    """The first and last dates a client can send stay dates (asyncpg's own codec made them ±infinity)."""
    for method in ("put", "patch"):
        for birth_date, age_group in (
            ("0001-01-01", "55+"),
            ("9999-12-31", "under-18"),
            ("2000-02-29", None),
        ):
            user = uuid.uuid4()
            stored = await client.request(
                method.upper(), f"/user-profile/{user}", json={"birth_date": birth_date}, auth=AUTH
            )
            assert stored.status_code == 200, (method, birth_date, stored.text)
            demographics = stored.json()["demographics"]
            assert demographics["birth_date"] == birth_date
            assert age_group is None or demographics["age_group"] == age_group
            assert (await client.get(f"/user-profile/{user}", auth=AUTH)).json()[
                "demographics"
            ] == demographics
            with owner_connect() as owner:
                row = owner.execute(
                    "SELECT d.birth_date::text FROM recs.user_demographics d"
                    " JOIN recs.users u ON u.user_key = d.user_key WHERE u.user_id = %s",
                    (user,),
                ).fetchone()
            assert row == (birth_date,), (method, row)


async def test_every_404_and_405_is_problem_json(client: AsyncTestClient) -> None:
    for response in (
        await client.get("/docs/redoc"),
        await client.get("/no-such-route", auth=AUTH),
        await client.post("/health"),
    ):
        assert response.status_code in (404, 405)
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
    allowed = await client.options(f"/user-profile/{uuid.uuid4()}", auth=AUTH)
    assert {method.strip() for method in allowed.headers["allow"].split(",")} >= {
        "GET",
        "PUT",
        "PATCH",
        "DELETE",
    }


async def test_a_body_nested_too_deeply_is_a_4xx_on_every_operation_with_a_body(
    client: AsyncTestClient, databases: tuple[psycopg.Connection, ...]
) -> None:
    """msgspec's decoder recurses once per level: a 2 KB body of nested arrays must not be a 500."""
    nested = b"[" * 2000 + b"]" * 2000
    paths = (await _document(client))["paths"]
    user = uuid.uuid4()
    bodies = {"top level": nested, "in a field": b'{"exclude": ' + nested + b"}"}
    checked = 0
    for path, item in paths.items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            media_type = next(iter(operation["requestBody"]["content"]))
            for where, body in bodies.items():
                response = await client.request(
                    method.upper(), path.replace("{user_id}", str(user)), content=body,
                    headers={"content-type": media_type}, auth=AUTH,
                )  # fmt: skip
                assert response.status_code in (400, 422), (operation["operationId"], where, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")
                checked += 1
    assert checked == 2 * 6  # popular, personalized, similar, feedback, PUT and PATCH user-profile
