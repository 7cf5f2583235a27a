"""Deterministic main-DB data for development and benchmarks (sql/main/generate.sql)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

log = logging.getLogger("tools.generate")
GENERATOR_FILE = Path(__file__).resolve().parent.parent / "sql" / "main" / "generate.sql"


@dataclass(frozen=True)
class DataSize:
    """Row counts the generator writes."""

    public: int
    private: int
    users: int
    likes: int
    clicks: int

    def scaled(self, factor: float) -> DataSize:
        """Every count times factor (at least one row each): the same users' activity and catalogue shape."""
        counts = (self.public, self.private, self.users, self.likes, self.clicks)
        return DataSize(*(max(1, round(count * factor)) for count in counts))


PRESETS = {
    "tiny": DataSize(public=500, private=2_000, users=500, likes=4_000, clicks=6_000),
    "demo": DataSize(public=5_000, private=20_000, users=5_000, likes=40_000, clicks=60_000),
    "target": DataSize(public=100_000, private=400_000, users=300_000, likes=2_000_000, clicks=3_000_000),
}


def main_is_empty(main_url: str) -> bool:
    """True when the main database has no presents yet."""
    with psycopg.connect(main_url) as conn:
        row = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM handpicked_presents)").fetchone()
        return bool(row and row[0])


def generate(main_url: str, size: DataSize, anchor: datetime | None = None) -> dict[str, int]:
    """Fill an empty main database; same size and anchor give the same rows."""
    anchor = anchor or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    with psycopg.connect(main_url) as conn:
        conn.execute(GENERATOR_FILE.read_bytes())
        rows = conn.execute(
            "SELECT * FROM pg_temp.generate_main_data(%s, %s, %s, %s, %s, %s)",
            (size.public, size.private, size.users, size.likes, size.clicks, anchor),
        ).fetchall()
        conn.commit()
        conn.execute("ANALYZE")
    written = {name: count for name, count in rows}
    log.info(
        "generate.done",
        extra={
            "rows": written,
            "seconds": round(time.perf_counter() - started, 1),
            "anchor": anchor.isoformat(),
        },
    )
    return written


def sync_demo_demographics(main_url: str, recs_app_url: str) -> int:
    """Copy generated users' demographics through api.upsert_user_demographics, as PUT /user-profile does."""
    with psycopg.connect(main_url) as main, psycopg.connect(recs_app_url, autocommit=True) as recs:
        query = "SELECT id, gender, birth_date, locale, geo_id FROM users ORDER BY id"
        users = main.execute(query).fetchall()
        with recs.cursor() as cursor:
            cursor.executemany(
                "SELECT FROM api.upsert_user_demographics(%s, %s, NULL, %s, %s, %s)",
                users,
            )
    log.info("generate.demographics", extra={"users": len(users)})
    return len(users)
