"""Service settings: one frozen struct read once from the environment, failing fast by name."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import msgspec

from service.dsn import parse_pg_url

DEV_USERNAME = "mysanta"
DEV_PASSWORD = "mysanta-dev-password"  # noqa: S105 - documented development credentials (DEBUG=true only)
DEV_ADMIN_USERNAME = "mysanta-admin"
DEV_ADMIN_PASSWORD = "mysanta-admin-dev-password"  # noqa: S105 - the same, for the admin routes
MIN_PASSWORD_LENGTH = 16  # outside DEBUG, for both Basic auth passwords
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MASK = "***"  # what a password is shown as


class SettingsError(ValueError):
    """A configuration variable is missing or invalid; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the service reads from its environment (see README "Configuration")."""

    main_database_url: str
    recommendations_database_url: str
    recommendations_owner_database_url: str
    recommendations_redis_url: str
    recommendations_replica_urls: tuple[str, ...] = ()
    replica_max_lag_ms: int = 5000
    replica_check_ms: int = 500
    cron_database_name: str = "postgres"
    max_similar_users: int = 20
    default_page_size: int = 20
    max_page_size: int = 100
    popular_items_refresh_minutes: int = 15
    cache_ttl_popular: int = 900
    cache_ttl_personalized: int = 7200
    cache_ttl_user_profile: int = 14400
    debug: bool = False
    log_level: str = "INFO"
    basic_auth_username: str | None = None
    basic_auth_password: str | None = None
    admin_basic_auth_username: str | None = None
    admin_basic_auth_password: str | None = None
    cors_allow_origins: tuple[str, ...] = ()
    db_pool_min_size: int | None = None  # None: DB_POOL_MAX_SIZE (pool_min_size)
    db_pool_max_size: int = 10
    db_statement_timeout_ms: int = 5000
    db_pool_acquire_timeout_ms: int = 1000
    main_read_timeout_ms: int = 1000
    main_breaker_open_s: int = 30
    redis_breaker_open_ms: int = 1000
    redis_pool_max_size: int = 50
    job_statement_timeout_s: int = 7200
    data_version_max_age_ms: int = 1000
    stats_flush_ms: int = 1000
    personalized_state_max_age_ms: int = 2000
    personalized_state_local_ms: int = 50
    local_cache_entries: int = 500
    request_log_interval_ms: int = 1000
    http_limit_concurrency: int = 1000
    http_keep_alive_timeout_s: int = 5
    http_request_timeout_s: int = 10
    http_max_header_bytes: int = 16384

    @property
    def pool_min_size(self) -> int:
        """The connections a worker's pool keeps open: DB_POOL_MIN_SIZE, by default DB_POOL_MAX_SIZE."""
        return self.db_pool_max_size if self.db_pool_min_size is None else self.db_pool_min_size

    @property
    def auth_credentials(self) -> tuple[str, str]:
        """The Basic auth pair of the Rails app: recommendations and profiles (dev pair with DEBUG=true)."""
        return _pair(
            "BASIC_AUTH",
            self.basic_auth_username,
            self.basic_auth_password,
            self.debug,
            DEV_USERNAME,
            DEV_PASSWORD,
        )

    @property
    def admin_credentials(self) -> tuple[str, str]:
        """The Basic auth pair of operators: admin routes, /stats, /metrics (and every other route)."""
        return _pair(
            "ADMIN_BASIC_AUTH", self.admin_basic_auth_username, self.admin_basic_auth_password, self.debug,
            DEV_ADMIN_USERNAME, DEV_ADMIN_PASSWORD,
        )  # fmt: skip

    def __repr__(self) -> str:
        """Every setting, with passwords masked: in a URL's authority or query, and the Basic auth ones."""
        shown = []
        for name in (field.name for field in msgspec.structs.fields(self)):
            value = getattr(self, name)
            if name.endswith("_password") and value is not None:
                value = MASK
            elif name.endswith("_url"):
                value = masked_url(value)
            elif name.endswith("_urls"):
                value = tuple(masked_url(url) for url in value)
            shown.append(f"{name}={value!r}")
        return f"Settings({', '.join(shown)})"

    def owner_settings(self) -> Settings:
        """These settings, checked for the commands that act as the owner (bootstrap, migrate): the
        owner must be another role than the app's, which may only execute api.* functions."""
        owner = parse_pg_url(self.recommendations_owner_database_url).user
        if owner == parse_pg_url(self.recommendations_database_url).user:
            raise SettingsError(
                "RECOMMENDATIONS_OWNER_DATABASE_URL must name the owner role, another role than "
                "RECOMMENDATIONS_DATABASE_URL's (the app's role may only execute api.* functions)"
            )
        return self


def masked_url(url: str) -> str:
    """url with its password, in the authority (`user:secret@`) or a `password=` option, as ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    query = re.sub(r"(^|&)(password=)[^&]*", rf"\1\2{MASK}", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _pair(
    prefix: str, username: str | None, password: str | None, debug: bool, dev_username: str, dev_password: str
) -> tuple[str, str]:
    if username and password:
        return username, password
    if debug:
        return dev_username, dev_password
    raise SettingsError(
        f"{prefix}_USERNAME and {prefix}_PASSWORD must be set (or DEBUG=true for the development pair)"
    )


def _check_ports(name: str, netloc: str, several: bool = False) -> None:
    """The host's port, when given, a number 1-65535; several hosts (h1:6379,h2:6379) only where
    `several` says they are taken."""
    hosts = netloc.rpartition("@")[2].split(",")
    if len(hosts) > 1 and not several:
        raise SettingsError(f"{name}: one host per URL, got {len(hosts)}")
    for host in hosts:
        port = host.rpartition("]")[2] if host.startswith("[") else host
        _, colon, digits = port.rpartition(":") if ":" in port else ("", "", "")
        if colon and not (digits.isdigit() and 1 <= int(digits) <= 65535):
            raise SettingsError(f"{name}: the port must be a number from 1 to 65535, got {digits!r}")


def postgres_url(name: str, value: str) -> str:
    """value if it is a postgresql:// URL with a database name; else a SettingsError naming name."""
    parts = urlsplit(value)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        raise SettingsError(f"{name} must be a postgresql://user:password@host:port/dbname URL")
    _check_ports(name, parts.netloc)
    return value


REDIS_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def _redis_url(name: str, value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in ("redis", "rediss", "unix", *REDIS_CLUSTER_SCHEMES):
        raise SettingsError(
            f"{name} must be a redis://host:port/db URL (redis+cluster://host:port for a Redis Cluster)"
        )
    if scheme in REDIS_CLUSTER_SCHEMES and urlsplit(value).path.strip("/") not in ("", "0"):
        raise SettingsError(f"{name}: a Redis Cluster has database 0 only")
    if scheme != "unix":
        _check_ports(name, urlsplit(value).netloc, several=scheme in REDIS_CLUSTER_SCHEMES)
        database = urlsplit(value).path.strip("/")
        if database and not database.isdigit():
            raise SettingsError(
                f"{name}: the database must be a number (redis://host:port/0), got {database!r}"
            )
    return value


def _postgres_urls(name: str, value: str) -> tuple[str, ...]:
    """A comma-separated list of postgresql:// URLs (empty: none)."""
    return tuple(postgres_url(name, url.strip()) for url in value.split(",") if url.strip())


def integer_in(name: str, value: str, low: int, high: int) -> int:
    """value as an integer from low to high, else a SettingsError naming name."""
    return _int_in(low, high)(name, value)


def _int_in(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {value!r}") from None
        if not low <= number <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {number}")
        return number

    return parse


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name} must be true or false, got {value!r}")


def _log_level(name: str, value: str) -> str:
    upper = value.strip().upper()
    if upper not in LOG_LEVELS:
        raise SettingsError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return upper


def _origins(name: str, value: str) -> tuple[str, ...]:
    origins = tuple(origin.strip() for origin in value.split(",") if origin.strip())
    for origin in origins:
        if origin != "*" and urlsplit(origin).scheme not in ("http", "https"):
            raise SettingsError(f"{name} must be a comma-separated list of http(s) origins, got {origin!r}")
    return origins


def _text(name: str, value: str) -> str:
    if not value.strip():
        raise SettingsError(f"{name} must not be empty")
    return value


_OPTIONAL: dict[str, Callable[[str, str], object]] = {
    "RECOMMENDATIONS_REPLICA_URLS": _postgres_urls,
    "REPLICA_MAX_LAG_MS": _int_in(0, 3_600_000),
    "REPLICA_CHECK_MS": _int_in(50, 60_000),
    "CRON_DATABASE_NAME": _text,
    "MAX_SIMILAR_USERS": _int_in(1, 500),
    "DEFAULT_PAGE_SIZE": _int_in(1, 1000),
    "MAX_PAGE_SIZE": _int_in(1, 1000),
    "POPULAR_ITEMS_REFRESH_MINUTES": _int_in(1, 59),
    "CACHE_TTL_POPULAR": _int_in(1, 7 * 86400),
    "CACHE_TTL_PERSONALIZED": _int_in(1, 7 * 86400),
    "CACHE_TTL_USER_PROFILE": _int_in(1, 30 * 86400),
    "DEBUG": _bool,
    "LOG_LEVEL": _log_level,
    "BASIC_AUTH_USERNAME": _text,
    "BASIC_AUTH_PASSWORD": _text,
    "ADMIN_BASIC_AUTH_USERNAME": _text,
    "ADMIN_BASIC_AUTH_PASSWORD": _text,
    "CORS_ALLOW_ORIGINS": _origins,
    "DB_POOL_MIN_SIZE": _int_in(0, 100),
    "DB_POOL_MAX_SIZE": _int_in(1, 200),
    "DB_STATEMENT_TIMEOUT_MS": _int_in(100, 600_000),
    "DB_POOL_ACQUIRE_TIMEOUT_MS": _int_in(10, 60_000),
    "MAIN_READ_TIMEOUT_MS": _int_in(50, 60_000),
    "MAIN_BREAKER_OPEN_S": _int_in(1, 3600),
    "REDIS_BREAKER_OPEN_MS": _int_in(0, 600_000),
    "REDIS_POOL_MAX_SIZE": _int_in(1, 10_000),
    "JOB_STATEMENT_TIMEOUT_S": _int_in(1, 86_400),
    "DATA_VERSION_MAX_AGE_MS": _int_in(0, 60_000),
    "STATS_FLUSH_MS": _int_in(10, 60_000),
    "PERSONALIZED_STATE_MAX_AGE_MS": _int_in(0, 60_000),
    "PERSONALIZED_STATE_LOCAL_MS": _int_in(0, 1000),
    "LOCAL_CACHE_ENTRIES": _int_in(0, 100_000),
    "REQUEST_LOG_INTERVAL_MS": _int_in(0, 3_600_000),
    "HTTP_LIMIT_CONCURRENCY": _int_in(1, 100_000),
    "HTTP_KEEP_ALIVE_TIMEOUT_S": _int_in(1, 3600),
    "HTTP_REQUEST_TIMEOUT_S": _int_in(1, 600),
    "HTTP_MAX_HEADER_BYTES": _int_in(1024, 1024 * 1024),
}


def settings_environ(settings: Settings) -> dict[str, str]:
    """The environment variables that load_settings reads back as these settings (for child processes)."""
    environ: dict[str, str] = {}
    for name in msgspec.structs.fields(settings):
        value = getattr(settings, name.name)
        if value is None:
            value = ""  # read back as unset (a value inherited from the parent's environment is not)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, tuple):
            value = ",".join(value)
        environ[name.name.upper()] = str(value)
    return environ


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment once; raise SettingsError naming the bad variable."""
    env = os.environ if environ is None else environ

    def required(name: str, parse: Callable[[str, str], str]) -> str:
        value = env.get(name, "").strip()
        if not value:
            raise SettingsError(f"{name} is required")
        return parse(name, value)

    recs_url = required("RECOMMENDATIONS_DATABASE_URL", postgres_url)
    values: dict[str, object] = {
        "main_database_url": required("MAIN_DATABASE_URL", postgres_url),
        "recommendations_database_url": recs_url,
        "recommendations_owner_database_url": postgres_url(
            "RECOMMENDATIONS_OWNER_DATABASE_URL", env.get("RECOMMENDATIONS_OWNER_DATABASE_URL") or recs_url
        ),
        "recommendations_redis_url": required("RECOMMENDATIONS_REDIS_URL", _redis_url),
    }
    for name, parse in _OPTIONAL.items():
        raw = env.get(name)
        if raw is not None and (raw.strip() or parse is _bool):
            values[name.lower()] = parse(name, raw)
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.default_page_size > settings.max_page_size:
        raise SettingsError(
            f"DEFAULT_PAGE_SIZE ({settings.default_page_size}) must not exceed MAX_PAGE_SIZE "
            f"({settings.max_page_size})"
        )
    if settings.pool_min_size > settings.db_pool_max_size:
        raise SettingsError("DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
    _check_credentials(settings)
    return settings


def _check_credentials(settings: Settings) -> None:
    """Each pair set together; outside DEBUG, no development password and none shorter than 16
    characters; the admin user differs from the Rails one."""
    pairs = (
        ("BASIC_AUTH", settings.basic_auth_username, settings.basic_auth_password),
        ("ADMIN_BASIC_AUTH", settings.admin_basic_auth_username, settings.admin_basic_auth_password),
    )
    for prefix, username, password in pairs:
        if bool(username) != bool(password):
            raise SettingsError(f"{prefix}_USERNAME and {prefix}_PASSWORD must be set together")
        if password is None or settings.debug:
            continue
        if password in (DEV_PASSWORD, DEV_ADMIN_PASSWORD):
            raise SettingsError(f"{prefix}_PASSWORD is a published development password: set a secret one")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise SettingsError(f"{prefix}_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters")
    if settings.basic_auth_username and settings.basic_auth_username == settings.admin_basic_auth_username:
        raise SettingsError("ADMIN_BASIC_AUTH_USERNAME must differ from BASIC_AUTH_USERNAME")
