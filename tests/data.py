"""Hand-made main-DB rows for tests: presents, likes, clicks, demographics, and job runs."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field

import psycopg

from tests.conftest import app_connect, owner_connect

NOW = dt.datetime.now(dt.UTC)


@dataclass
class World:
    """Writes into this test's main clone (as Rails would) and drives the recs jobs."""

    main: psycopg.Connection
    recs: psycopg.Connection
    _counter: int = field(default=0)

    def present(
        self,
        *,
        price: float | None = 20.0,
        category: str | None = "books",
        platform: str | None = "etsy",
        geo_ids: list[int] | None = None,
        available: bool = True,
        owner: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """A present; owner set = a private present."""
        self._counter += 1
        present_id = uuid.uuid4()
        self.main.execute(
            "INSERT INTO handpicked_presents "
            "(id, user_id, title, price, category, platform, geo_ids, available) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (present_id, owner, f"Present {self._counter}", price, category, platform, geo_ids, available),
        )
        return present_id

    def like(self, user: uuid.UUID, present: uuid.UUID, at: dt.datetime = NOW) -> None:
        """A like (one per user and present)."""
        self.main.execute(
            "INSERT INTO handpicked_likes (id, user_id, handpicked_present_id, created_at) "
            "VALUES (%s, %s, %s, %s)",
            (uuid.uuid4(), user, present, at),
        )

    def click(self, user: uuid.UUID, present: uuid.UUID, at: dt.datetime = NOW, times: int = 1) -> None:
        """times clicks."""
        for _ in range(times):
            self.main.execute(
                "INSERT INTO handpicked_present_clicks (id, user_id, handpicked_present_id, created_at) "
                "VALUES (%s, %s, %s, %s)",
                (uuid.uuid4(), user, present, at),
            )

    def users(
        self, count: int, gender: str | None = None, age_group: str | None = None, seed: int | None = None
    ) -> list[uuid.UUID]:
        """count new users with these demographics, synced as PUT /user-profile does; seeded: the same ids."""
        # Seeded ids make what depends on them (an experiment's buckets) the same every run.
        if seed is None:
            created = [uuid.uuid4() for _ in range(count)]
        else:
            rng = random.Random(seed)  # noqa: S311 (test ids, not secrets)
            created = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]
        if gender is not None or age_group is not None:
            with app_connect() as app:
                for user in created:
                    app.execute(
                        "SELECT FROM api.upsert_user_demographics(%s, %s, %s, NULL, 'en', NULL)",
                        (user, gender, age_group),
                    )
        return created

    def in_main(self, *users: uuid.UUID) -> None:
        """Rows for these users in main's users table, as Rails has for every user it knows."""
        for user in users:
            self.main.execute("INSERT INTO users (id) VALUES (%s)", (user,))

    def refresh(self, job: str = "refresh_popular_items") -> None:
        """Run a job as pg_cron does."""
        with owner_connect() as owner:
            owner.execute("CALL recs.run_job(%s)", (job,))

    def refresh_all(self) -> None:
        """Every refresh job in order (CALL recs.refresh_all(), as a DBA runs them)."""
        with owner_connect() as owner:
            owner.execute("CALL recs.refresh_all()")

    def setting(self, key: str, value: str) -> None:
        """Change a knob in recs.settings, as a DBA would."""
        self.recs.execute("UPDATE recs.settings SET value = %s WHERE key = %s", (value, key))

    def neighbours_alone(self) -> None:
        """The neighbourhood tiers without the popularity prior: in a world of a handful of users the
        prior (its share halving with every popularity_prior_users interactions of others behind the
        user's presents) would rank by popularity; a test of the neighbours' own ranking turns it off."""
        self.setting("popularity_prior_users", "0")

    def presents_weigh_evenly(self) -> None:
        """The user similarity without inverse user frequency: a test that works out its cosines or
        its users' vector values by hand, in a world of a handful of users where a present that
        everyone took would weigh ln(1) = 0, turns it off."""
        self.setting("similarity_iuf", "false")

    def stale_setting(self, key: str, value: str) -> None:
        """A value the write-time check refuses, as one stored before the check existed (the
        migration that added it left stored values as they were): the trigger is bypassed."""
        break_job_setting(self.recs, key, value)


def a_user_among_fans(world: World, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """count presents, three users who liked each, a user who liked the first; all refreshed."""
    presents = [world.present() for _ in range(count)]
    user, *others = world.users(4)
    for other in others:
        for present in presents:
            world.like(other, present)
    world.like(user, presents[0])
    world.refresh_all()
    return user, presents


def client_world(world: World) -> tuple[list[uuid.UUID], uuid.UUID]:
    """Six presents (prices 10-15), the first four liked by a fan and four more f/25-34 users, refreshed."""
    presents = [world.present(price=10 + index) for index in range(6)]
    fan = world.users(1, "f", "25-34")[0]
    for person in [fan, *world.users(4, "f", "25-34")]:
        for present in presents[:4]:
            world.like(person, present)
    world.refresh_all()
    return presents, fan


def fill_known_world(world: World) -> dict[str, int]:
    """A known fixture: 3 public + 2 private presents, 4 users, likes and clicks; returns main's totals."""
    books, games, music = (world.present(category=c) for c in ("books", "games", "music"))
    private = [world.present(owner=uuid.uuid4()) for _ in range(2)]
    alice, bob, carol = world.users(3, gender="f", age_group="25-34")
    (dave,) = world.users(1)  # no demographics
    for user in (alice, bob, carol):
        world.like(user, books)
        world.like(user, games)
        world.click(user, music)
    world.like(dave, music)
    world.click(dave, private[0], times=2)  # events on private presents count in main's totals
    world.like(dave, private[1])
    return {"public_presents": 3, "private_presents": 2, "likes": 8, "clicks": 5}


def break_job_setting(recs: psycopg.Connection, key: str, value: str) -> None:
    """Store a setting value around recs.settings' write-time check (superuser connection)."""
    recs.execute("ALTER TABLE recs.settings DISABLE TRIGGER settings_check_value")
    try:
        recs.execute("UPDATE recs.settings SET value = %s WHERE key = %s", (value, key))
    finally:
        recs.execute("ALTER TABLE recs.settings ENABLE TRIGGER settings_check_value")
