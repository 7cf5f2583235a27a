"""A Python client generated from the served OpenAPI document by openapi-python-client, as a team
would generate one: it is generated without a warning, and its typed calls talk to the live service."""

from __future__ import annotations

import base64
import importlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.conftest import AUTH, make_settings, running_server
from tests.data import World, client_world

PACKAGE = "mysanta_generated_client"


def _generate(base_url: str, scratch: Path) -> Any:
    """Generate the client package from the live document into scratch and import it."""
    document = scratch / "openapi.json"
    document.write_bytes(httpx.get(f"{base_url}/docs/openapi.json", timeout=10).content)
    binary = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert binary, "openapi-python-client is not installed (make install installs the dev extras)"
    config = scratch / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\n")
    done = subprocess.run(
        [binary, "generate", "--path", str(document), "--config", str(config), "--meta", "none",
         "--output-path", str(scratch / PACKAGE)],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},  # its ruff formats the code
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output  # e.g. a schema it had to leave out
    sys.path.insert(0, str(scratch))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(scratch))


def test_a_generated_python_client_talks_to_the_live_service(
    databases: tuple[psycopg.Connection, ...], redis_url: str, tmp_path: Path
) -> None:
    main, recs = databases
    presents, fan = client_world(World(main, recs))
    newcomer = uuid.uuid4()
    with running_server(make_settings(redis_url)) as (base_url, _):
        generated = _generate(base_url, tmp_path)
        models = importlib.import_module(f"{PACKAGE}.models")
        get_popular, get_personalized, get_similar = (
            importlib.import_module(f"{PACKAGE}.api.recommendations.{name}")
            for name in ("get_popular", "get_personalized", "get_similar")
        )
        put_user_profile, patch_user_profile = (
            importlib.import_module(f"{PACKAGE}.api.profiles.{name}")
            for name in ("put_user_profile", "patch_user_profile")
        )
        client = generated.AuthenticatedClient(
            base_url=base_url,
            token=base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode(),
            prefix="Basic",
        )
        with client:
            popular = get_popular.sync(
                client=client,
                body=models.PopularRequest(
                    user_params=models.UserParams(
                        gender=models.UserParamsGenderType0("female"), age=models.UserParamsAgeType0("25-34")
                    ),
                    pagination=models.PageRequest(limit=3),
                ),
            )
            put = put_user_profile.sync(
                newcomer, client=client,
                body=models.DemographicsRequest(gender=models.DemographicsRequestGenderType0("female"),
                                                age_group=models.DemographicsRequestAgeGroupType0("25-34"),
                                                locale="en"),
            )  # fmt: skip
            # A merge patch: only what it names changes (the generated model sends only the fields set);
            # a spelling outside the enum goes as the pattern's plain string.
            patched = patch_user_profile.sync(
                newcomer, client=client, body=models.DemographicsPatch(gender="MALE")
            )
            personalized = get_personalized.sync(
                client=client, body=models.PersonalizedRequest(user_id=str(fan), explain=True)
            )
            similar = get_similar.sync(client=client, body=models.SimilarRequest(present_id=str(presents[0])))
            refused = get_popular.sync_detailed(
                client=client, body=models.PopularRequest(pagination=models.PageRequest(page=0))
            )
    assert isinstance(popular, models.PopularResponse)
    # Ids in responses are uuids in the schema, so the client parses them.
    assert popular.items == presents[:3] and popular.pagination.limit == 3
    assert isinstance(put, models.UserProfile) and put.demographics.gender == "f"
    assert (patched.demographics.gender, patched.demographics.age_group, patched.demographics.locale) == (
        "m", "25-34", "en",
    )  # fmt: skip
    assert isinstance(personalized, models.PersonalizedResponse)
    assert personalized.items and not set(personalized.items) & set(presents[:4])
    assert [detail.id for detail in personalized.details] == personalized.items
    assert isinstance(personalized.algorithm_used, models.PersonalizedResponseAlgorithmUsed)
    assert isinstance(similar, models.SimilarResponse) and presents[0] not in similar.items
    assert refused.status_code == 422 and isinstance(refused.parsed, models.Problem)
    assert [error.field for error in refused.parsed.errors] == ["pagination.page"]
