"""Settings are read once from the environment and fail naming the bad variable."""

from __future__ import annotations

import pytest

from service.settings import (
    DEV_ADMIN_PASSWORD,
    DEV_ADMIN_USERNAME,
    DEV_PASSWORD,
    DEV_USERNAME,
    SettingsError,
    load_settings,
    settings_environ,
)

BASE = {
    "MAIN_DATABASE_URL": "postgresql://reader:pw@db:5432/main",
    "RECOMMENDATIONS_DATABASE_URL": "postgresql://app:pw@db:5432/recs",
    "RECOMMENDATIONS_REDIS_URL": "redis://cache:6379/0",
    "BASIC_AUTH_USERNAME": "rails",
    "BASIC_AUTH_PASSWORD": "a-secret-of-sixteen-plus",
    "ADMIN_BASIC_AUTH_USERNAME": "ops",
    "ADMIN_BASIC_AUTH_PASSWORD": "another-long-secret-1",
}


def test_defaults_and_overrides() -> None:
    settings = load_settings(
        {
            **BASE,
            "MAX_PAGE_SIZE": "50",
            "DEBUG": "false",
            "CORS_ALLOW_ORIGINS": "https://a.example, https://b.example",
        }
    )
    assert settings.max_page_size == 50 and settings.default_page_size == 20
    assert settings.max_similar_users == 20 and settings.cache_ttl_popular == 900
    assert settings.recommendations_owner_database_url == BASE["RECOMMENDATIONS_DATABASE_URL"]
    assert settings.cors_allow_origins == ("https://a.example", "https://b.example")
    assert settings.auth_credentials == ("rails", "a-secret-of-sixteen-plus")
    assert settings.admin_credentials == ("ops", "another-long-secret-1")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAIN_DATABASE_URL", "", "MAIN_DATABASE_URL is required"),
        (
            "RECOMMENDATIONS_DATABASE_URL",
            "mysql://x/y",
            "RECOMMENDATIONS_DATABASE_URL must be a postgresql://",
        ),
        ("RECOMMENDATIONS_REDIS_URL", "http://cache", "RECOMMENDATIONS_REDIS_URL must be a redis://"),
        ("RECOMMENDATIONS_REDIS_URL", "redis://cache:port/0", "RECOMMENDATIONS_REDIS_URL: the port must be"),
        (
            "RECOMMENDATIONS_REDIS_URL",
            "redis://cache:6379/abc",
            "RECOMMENDATIONS_REDIS_URL: the database must",
        ),
        ("RECOMMENDATIONS_DATABASE_URL", "postgresql://app:pw@db:notaport/recs", "_URL: the port must be"),
        ("MAIN_DATABASE_URL", "postgresql://r:pw@db:70000/main", "MAIN_DATABASE_URL: the port must be"),
        ("MAIN_DATABASE_URL", "postgresql://r:pw@a:5432,b:5433/main", "MAIN_DATABASE_URL: one host per URL"),
        ("RECOMMENDATIONS_OWNER_DATABASE_URL", "postgresql://o:pw@db:/recs", "OWNER_DATABASE_URL: the port"),
        ("MAX_PAGE_SIZE", "many", "MAX_PAGE_SIZE must be an integer"),
        ("MAX_PAGE_SIZE", "0", "MAX_PAGE_SIZE must be between 1 and 1000"),
        ("DEFAULT_PAGE_SIZE", "500", "DEFAULT_PAGE_SIZE (500) must not exceed MAX_PAGE_SIZE (100)"),
        ("POPULAR_ITEMS_REFRESH_MINUTES", "90", "POPULAR_ITEMS_REFRESH_MINUTES must be between 1 and 59"),
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of"),
        ("CORS_ALLOW_ORIGINS", "not an origin", "CORS_ALLOW_ORIGINS must be a comma-separated list"),
        ("BASIC_AUTH_PASSWORD", "", "BASIC_AUTH_USERNAME and BASIC_AUTH_PASSWORD must be set together"),
        (
            "ADMIN_BASIC_AUTH_USERNAME",
            "",
            "ADMIN_BASIC_AUTH_USERNAME and ADMIN_BASIC_AUTH_PASSWORD must be set",
        ),
        ("BASIC_AUTH_PASSWORD", DEV_PASSWORD, "BASIC_AUTH_PASSWORD is a published development password"),
        (
            "ADMIN_BASIC_AUTH_PASSWORD",
            DEV_ADMIN_PASSWORD,
            "ADMIN_BASIC_AUTH_PASSWORD is a published development",
        ),
        ("BASIC_AUTH_PASSWORD", "fifteen-chars-x", "BASIC_AUTH_PASSWORD must be at least 16 characters"),
        (
            "ADMIN_BASIC_AUTH_USERNAME",
            "rails",
            "ADMIN_BASIC_AUTH_USERNAME must differ from BASIC_AUTH_USERNAME",
        ),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({**BASE, name: value})


def test_no_credentials_refuses_outside_debug() -> None:
    env = {key: value for key, value in BASE.items() if "BASIC_AUTH" not in key}
    with pytest.raises(SettingsError, match="BASIC_AUTH_USERNAME and BASIC_AUTH_PASSWORD must be set"):
        load_settings(env).auth_credentials  # noqa: B018
    with pytest.raises(
        SettingsError, match="ADMIN_BASIC_AUTH_USERNAME and ADMIN_BASIC_AUTH_PASSWORD must be set"
    ):
        load_settings(env).admin_credentials  # noqa: B018
    debug = load_settings({**env, "DEBUG": "true"})
    assert debug.auth_credentials == (DEV_USERNAME, DEV_PASSWORD)
    assert debug.admin_credentials == (DEV_ADMIN_USERNAME, DEV_ADMIN_PASSWORD)


def test_development_and_short_passwords_pass_only_in_debug() -> None:
    debug = load_settings({**BASE, "DEBUG": "true", "BASIC_AUTH_PASSWORD": DEV_PASSWORD})
    assert debug.auth_credentials == ("rails", DEV_PASSWORD)
    assert (
        load_settings({**BASE, "DEBUG": "true", "ADMIN_BASIC_AUTH_PASSWORD": "short"}).admin_credentials[1]
        == "short"
    )


def test_serve_exits_with_the_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.__main__ import main

    for key in BASE:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MAIN_DATABASE_URL", BASE["MAIN_DATABASE_URL"])
    with pytest.raises(SystemExit) as exited:
        main(["serve"])
    assert exited.value.code == 2
    assert "RECOMMENDATIONS_DATABASE_URL is required" in capsys.readouterr().err


def test_good_urls_pass_the_port_check() -> None:
    for url in (
        "postgresql://r:pw@db:5432/main",
        "postgresql://r:pw@[::1]:5432/main",
        "postgresql://r:pw@[::1]/main",
        "postgresql:///main?host=/run/pg",
        "postgresql://r@db/main",
    ):
        assert load_settings({**BASE, "MAIN_DATABASE_URL": url}).main_database_url == url
    for url in ("redis://:secret@cache:6379/2", "redis://cache", "unix:///run/redis.sock?db=1"):
        assert load_settings({**BASE, "RECOMMENDATIONS_REDIS_URL": url}).recommendations_redis_url == url


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [("PORT", "abc", "PORT (--port) must be an integer"), ("PORT", "70000", "PORT (--port) must be between"),
     ("PORT", "-1", "PORT (--port) must be between"), ("WORKERS", "two", "WORKERS (--workers) must be an")],
)  # fmt: skip
def test_serve_refuses_a_bad_port_or_worker_count(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    message: str,
) -> None:
    from service.__main__ import main

    for key, base in BASE.items():
        monkeypatch.setenv(key, base)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        main(["serve"])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_refresh_names_the_jobs_for_an_unknown_one(capsys: pytest.CaptureFixture[str]) -> None:
    from service.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["refresh", "refresh_popular_items", "bogus_job"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "unknown job bogus_job; the jobs are: cleanup, " in error and "Traceback" not in error


def test_migrate_and_bootstrap_refuse_the_app_role_as_owner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.__main__ import main

    assert load_settings(BASE).recommendations_owner_database_url == BASE["RECOMMENDATIONS_DATABASE_URL"]
    with pytest.raises(SettingsError, match="RECOMMENDATIONS_OWNER_DATABASE_URL must name the owner role"):
        load_settings(BASE).owner_settings()
    owner = {**BASE, "RECOMMENDATIONS_OWNER_DATABASE_URL": "postgresql://owner:pw@db:5432/recs"}
    assert (
        load_settings(owner)
        .owner_settings()
        .recommendations_owner_database_url.startswith("postgresql://owner")
    )
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RECOMMENDATIONS_OWNER_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["migrate"])
    assert exited.value.code == 2 and "RECOMMENDATIONS_OWNER_DATABASE_URL" in capsys.readouterr().err


def test_repr_shows_every_setting_but_no_password() -> None:
    settings = load_settings(
        {
            **BASE,
            "RECOMMENDATIONS_REDIS_URL": "rediss://cache-user:redis-pw-5@cache:6380/1",
            "RECOMMENDATIONS_OWNER_DATABASE_URL": "postgresql://owner@db/recs?password=owner-pw-6&sslmode=require",
        }
    )
    shown = repr(settings)
    for secret in (
        "pw@",
        "redis-pw-5",
        "owner-pw-6",
        BASE["BASIC_AUTH_PASSWORD"],
        BASE["ADMIN_BASIC_AUTH_PASSWORD"],
    ):
        assert secret not in shown and secret not in str(settings)
    assert "recommendations_redis_url='rediss://cache-user:***@cache:6380/1'" in shown
    assert "'postgresql://owner@db/recs?password=***&sslmode=require'" in shown
    assert "basic_auth_username='rails'" in shown and "max_page_size=100" in shown


def test_replicas_and_a_redis_cluster_are_read_checked_and_masked() -> None:
    settings = load_settings(
        {
            **BASE,
            "RECOMMENDATIONS_REPLICA_URLS": " postgresql://app:s3cret@standby-1:5432/recs ,"
            "postgresql://app:s3cret@standby-2:5432/recs",
            "RECOMMENDATIONS_REDIS_URL": "redis+cluster://cache-user:hidden@cache-1:7000",
        }
    )
    assert settings.recommendations_replica_urls == (
        "postgresql://app:s3cret@standby-1:5432/recs",
        "postgresql://app:s3cret@standby-2:5432/recs",
    )
    assert settings.replica_max_lag_ms == 5000 and settings.replica_check_ms == 500
    shown = repr(settings)
    assert "s3cret" not in shown and "hidden" not in shown
    assert "postgresql://app:***@standby-2:5432/recs" in shown
    assert load_settings(BASE).recommendations_replica_urls == ()
    for name, value, message in (
        (
            "RECOMMENDATIONS_REPLICA_URLS",
            "postgresql://app:pw@standby:5432/recs,redis://x:1/0",
            "postgresql://",
        ),
        ("RECOMMENDATIONS_REDIS_URL", "redis+cluster://cache:7000/2", "database 0 only"),
        ("REPLICA_CHECK_MS", "10", "between 50 and 60000"),
    ):
        with pytest.raises(SettingsError, match=message) as raised:
            load_settings({**BASE, name: value})
        assert name in str(raised.value)


def test_the_pool_keeps_all_its_connections_unless_told_and_the_choice_survives_a_child_process() -> None:
    default = load_settings(BASE)
    assert default.db_pool_min_size is None and default.pool_min_size == default.db_pool_max_size == 10
    assert load_settings(BASE | {"DB_POOL_MAX_SIZE": "4"}).pool_min_size == 4
    assert load_settings(BASE | {"DB_POOL_MIN_SIZE": ""}).db_pool_min_size is None
    assert load_settings(BASE | {"DB_POOL_MIN_SIZE": "2"}).pool_min_size == 2
    with pytest.raises(SettingsError, match="DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE"):
        load_settings(BASE | {"DB_POOL_MIN_SIZE": "5", "DB_POOL_MAX_SIZE": "4"})
    # A child process reads the default back, even where its parent's environment set a minimum.
    environ = settings_environ(default)
    assert environ["DB_POOL_MIN_SIZE"] == ""
    assert load_settings({"DB_POOL_MIN_SIZE": "2"} | environ).db_pool_min_size is None
