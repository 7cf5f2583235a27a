"""Parse and rewrite PostgreSQL URLs (role, password, database) without losing their options."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit


@dataclass(frozen=True)
class PgUrl:
    """The parts of a postgresql:// URL that roles, FDW options and yoyo need (its repr shows no password)."""

    url: str = field(repr=False)
    user: str
    password: str | None = field(repr=False)
    host: str
    port: int
    dbname: str

    def with_dbname(self, dbname: str) -> str:
        """The same URL pointing at another database."""
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/" + dbname))

    def for_yoyo(self) -> str:
        """yoyo picks psycopg 3 only with the `postgresql+psycopg` scheme."""
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def query_options(url: str) -> list[tuple[str, str]]:
    """A postgresql:// URL's query options as libpq reads them: split at & and =, each part
    percent-decoded (a + stays a +, unlike form encoding), empty values kept."""
    query = urlsplit(url).query
    return [
        (unquote(key), unquote(value))
        for key, _, value in (part.partition("=") for part in query.split("&") if part)
    ]


def parse_pg_url(url: str) -> PgUrl:
    """Split a postgresql:// URL; a `host=` query option (e.g. a socket directory) wins."""
    parts = urlsplit(url)
    query: dict[str, str] = {}
    for key, value in query_options(url):
        query.setdefault(key, value)
    host = query.get("host", parts.hostname or "localhost")
    port = int(query.get("port", parts.port or 5432))
    return PgUrl(
        url=url,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password is not None else None,
        host=host,
        port=port,
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
    )
