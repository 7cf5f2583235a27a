"""docker-compose.yml: valid for `docker compose config` (when the compose plugin is installed),
passes every setting the service reads, and runs the Makefile's own migrate and serve commands."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from service.cache import EVICTION_POLICY
from service.settings import _OPTIONAL

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
REQUIRED = {
    "MAIN_DATABASE_URL",
    "RECOMMENDATIONS_DATABASE_URL",
    "RECOMMENDATIONS_OWNER_DATABASE_URL",
    "RECOMMENDATIONS_REDIS_URL",
}


def test_docker_compose_config_validates_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker client is not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed (docker-compose-plugin)")
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_compose_passes_every_setting_and_runs_the_makefile_commands() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    shared = compose["x-service-env"]
    api, migrate = services["api"]["environment"], services["migrate"]["environment"]
    owner = "RECOMMENDATIONS_OWNER_DATABASE_URL"
    served = REQUIRED - {owner} | set(_OPTIONAL)
    assert served <= set(shared), sorted(served - set(shared))
    assert owner in migrate and owner not in shared and owner not in api  # the api never holds it
    makefile = (ROOT / "Makefile").read_text()
    # make db: bootstrap then migrate; make run: serve. The containers run the same commands.
    for step in ("bootstrap", "migrate"):
        assert re.search(rf"\$\(PY\) -m service {step}\b", makefile)
        assert f"python -m service {step}" in " ".join(services["migrate"]["command"])
    assert re.search(r"\$\(PY\) -m service serve\b", makefile)
    assert services["api"]["command"][:4] == ["python", "-m", "service", "serve"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("db", "redis", "api", "proxy"):
        assert services[name]["healthcheck"]["test"], name


def test_compose_holds_no_secret_and_takes_every_url_and_password_from_the_environment() -> None:
    text = COMPOSE.read_text()
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", text), "a URL with a password in docker-compose.yml"
    compose = yaml.safe_load(text)
    environments = [compose["x-service-env"]] + [
        service.get("environment", {}) for service in compose["services"].values()
    ]
    for environment in environments:
        for name, value in environment.items():
            if "PASSWORD" in name or name.endswith("DATABASE_URL") or name == "POSTGRES_SUPERUSER_URL":
                # From .env only: required (:?) or empty when unset (:-}), never a default secret.
                assert re.fullmatch(rf"\$\{{{name}(:\?[^}}]*|:-)\}}", str(value)), (name, value)


def test_compose_redis_is_a_bounded_cache_that_may_ask_for_a_password() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert f"--maxmemory-policy {EVICTION_POLICY}" in command
    assert '--maxmemory "$$REDIS_MAXMEMORY"' in command and redis["environment"]["REDIS_MAXMEMORY"]
    assert "--save ''" in command and "--appendonly no" in command  # a cache: nothing on disk
    # The password from .env reaches redis-server in a file (never its command line), and the
    # service's default URL carries it.
    assert redis["environment"]["REDIS_PASSWORD"] == "${REDIS_PASSWORD:-}"
    assert "requirepass" in command and "--requirepass" not in command
    assert "${REDIS_PASSWORD:-}@redis:6379" in compose["x-service-env"]["RECOMMENDATIONS_REDIS_URL"]
    assert "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])


def test_compose_publishes_only_the_proxy_in_front_of_the_api() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}  # the api, redis and the database are reached from inside only
    proxy = services["proxy"]
    assert proxy["ports"] == ["${PORT:-8000}:8080"]
    assert "./docker/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    nginx = (ROOT / "docker" / "nginx.conf").read_text()
    assert "server api:8000;" in nginx and "listen 8080;" in nginx
    assert services["api"]["command"][-2:] == ["--port", "8000"]
