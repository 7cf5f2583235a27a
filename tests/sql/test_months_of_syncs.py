"""Months of random daily changes: after every round the incremental jobs hold what a full rebuild holds."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import app_connect
from tests.data import NOW, World
from tests.sql.test_incremental import (
    VOTES,
    assert_as_rebuilt,
    assert_same_state,
    demographics,
    rebuilt,
    run_both,
    similarity_rebuilt,
    state,
)
from tests.sql.test_personalized import personalized
from tests.sql.test_popular import popular
from tests.sql.test_similar import similar

SEED = 1
DAYS = 36
FIRST_DAY = NOW - dt.timedelta(days=180)
GENDERS = ("m", "f", None)
AGE_GROUPS = ("under-18", "18-24", "25-34", "35-44", "45-54", "55+", None)
CATEGORIES = ("books", "toys", "games", "music", None)
PLATFORMS = ("etsy", "amazon", None)
REGIONS = (None, None, [1, 2], [3])
ATTRIBUTES = {
    "price": "UPDATE handpicked_presents SET price = %s WHERE id = %s",
    "category": "UPDATE handpicked_presents SET category = %s WHERE id = %s",
    "platform": "UPDATE handpicked_presents SET platform = %s WHERE id = %s",
    "geo_ids": "UPDATE handpicked_presents SET geo_ids = %s WHERE id = %s",
}

INTERACTIONS = (
    "SELECT user_key, item_id, liked_at, clicks, first_at, last_at, click_decay"
    " FROM recs.interactions ORDER BY user_key, item_id"
)
SIMILARITY = {
    "votes": VOTES,
    "item_users": "SELECT item_id, users FROM recs.item_stats ORDER BY item_id",
    "user_interactions": "SELECT user_key, interactions FROM recs.user_stats ORDER BY user_key",
    "vector_pairs": "SELECT user_key, item_id FROM recs.user_vectors ORDER BY user_key, item_id",
}
SERVED = (
    "SELECT present_id FROM recs.popular_items UNION SELECT i.present_id FROM recs.popular_blended b"
    " JOIN recs.items i ON i.item_id = b.item_id"
)


def with_interactions(recs: psycopg.Connection) -> dict[str, Any]:
    """What the popularity and profile jobs wrote, and the synced interactions they read."""
    taken = state(recs)
    rows = recs.execute(INTERACTIONS).fetchall()
    taken["interactions"] = [row[:6] for row in rows]
    taken["click_decay"] = [row[6] for row in rows]
    return taken


# A full resync from main (the stored decay epoch kept) makes both jobs' next runs full ones.
FORGET_FULL_RESYNC = "UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'decay'"


def assert_as_resynced(world: World) -> None:
    """The incremental syncs and jobs end where a full resync of main and a rebuild end."""
    incremental, full = with_interactions(world.recs), rebuilt(FORGET_FULL_RESYNC, with_interactions)
    assert incremental["interactions"] == full["interactions"]
    assert incremental["click_decay"] == pytest.approx(full["click_decay"], rel=1e-9, abs=1e-12)
    assert_same_state(incremental, full)


def similarity_state(recs: psycopg.Connection) -> dict[str, list[Any]]:
    """The similarity job's votes as a neighbour, user counts of presents and users, and vector pairs."""
    return {name: recs.execute(query).fetchall() for name, query in SIMILARITY.items()}


class Months:
    """Rails' main database over months: a random mix of changes a day, events always later."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world, self.rng = world, rng
        self.floor = FIRST_DAY  # events of later days come after every event synced so far
        self.end = FIRST_DAY
        self.latest = FIRST_DAY
        self.public: list[uuid.UUID] = []
        self.private: list[uuid.UUID] = []
        self.users: list[uuid.UUID] = []
        self.liked: list[tuple[uuid.UUID, uuid.UUID]] = []
        self.clicked: list[tuple[uuid.UUID, uuid.UUID]] = []
        self.unsynced_deletions = False  # main lost events only a full resync sees go

    def next_day(self) -> None:
        self.floor = self.latest
        self.end = min(self.end + dt.timedelta(hours=self.rng.randint(2, 110)), NOW - dt.timedelta(hours=1))

    def synced(self) -> None:
        self.floor = self.latest

    def at(self) -> dt.datetime:
        """A time after every synced event: at the last event's, just after it, or anywhere in the day."""
        draw = self.rng.random()
        if draw < 0.1 and self.latest > self.floor:
            moment = self.latest
        elif draw < 0.35:
            moment = min(
                self.latest + dt.timedelta(seconds=self.rng.randint(1, 300)), NOW - dt.timedelta(minutes=1)
            )
        else:
            span = int((self.end - self.floor).total_seconds())
            moment = self.floor + dt.timedelta(seconds=self.rng.randint(1, max(span, 60)))
        self.latest = max(self.latest, moment)
        return moment

    def present_attributes(self) -> dict[str, Any]:
        return {
            "price": self.rng.choice([None, *range(5, 200, 15)]),
            "category": self.rng.choice(CATEGORIES),
            "platform": self.rng.choice(PLATFORMS),
            "geo_ids": self.rng.choice(REGIONS),
        }

    def any_present(self) -> uuid.UUID:
        if self.private and self.rng.random() < 0.15:
            return self.rng.choice(self.private)
        return self.rng.choice(self.public)

    def new_users(self) -> None:
        for _ in range(self.rng.randint(1, 3)):
            gender, age_group = self.rng.choice(GENDERS), self.rng.choice(AGE_GROUPS)
            (user,) = self.world.users(1, gender, age_group, seed=self.rng.getrandbits(64))
            self.world.in_main(user)
            self.users.append(user)

    def new_presents(self) -> None:
        for _ in range(self.rng.randint(1, 2)):
            if self.rng.random() < 0.25:
                self.private.append(self.world.present(owner=uuid.uuid4(), **self.present_attributes()))
            else:
                self.public.append(self.world.present(**self.present_attributes()))

    def likes(self) -> None:
        for _ in range(self.rng.randint(6, 20)):
            pair = (self.rng.choice(self.users), self.any_present())
            if pair not in self.liked:
                self.world.like(*pair, at=self.at())
                self.liked.append(pair)

    def clicks(self) -> None:
        for _ in range(self.rng.randint(6, 25)):
            pair = (self.rng.choice(self.users), self.any_present())
            times = self.rng.choice((1, 1, 1, 2, 3))
            self.world.click(*pair, at=self.at(), times=times)
            self.clicked.extend([pair] * times)

    def unlikes(self) -> None:
        for _ in range(self.rng.randint(1, 2)):
            if self.liked:
                user, present = self.liked.pop(self.rng.randrange(len(self.liked)))
                self.world.main.execute(
                    "DELETE FROM handpicked_likes WHERE user_id = %s AND handpicked_present_id = %s",
                    (user, present),
                )
                self.unsynced_deletions = True

    def deleted_clicks(self) -> None:
        if self.clicked:
            user, present = self.clicked.pop(self.rng.randrange(len(self.clicked)))
            self.world.main.execute(
                "DELETE FROM handpicked_present_clicks WHERE id = (SELECT id FROM handpicked_present_clicks"
                " WHERE user_id = %s AND handpicked_present_id = %s ORDER BY created_at DESC LIMIT 1)",
                (user, present),
            )
            self.unsynced_deletions = True

    def privacy(self) -> None:
        if self.rng.random() < 0.5 and self.private:
            present = self.private.pop(self.rng.randrange(len(self.private)))
            self.world.main.execute("UPDATE handpicked_presents SET user_id = NULL WHERE id = %s", (present,))
            self.public.append(present)
        elif len(self.public) > 5:
            present = self.public.pop(self.rng.randrange(len(self.public)))
            self.world.main.execute(
                "UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), present)
            )
            self.private.append(present)

    def private_for_a_while(self) -> None:
        """The present clicked last, if public, goes private, is withdrawn (or synced away), and returns."""
        present = self.clicked[-1][1] if self.clicked else self.any_present()
        if present in self.public:
            self.world.main.execute(
                "UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), present)
            )
            self.world.refresh(self.rng.choice(("withdraw_presents", "refresh_user_similarities")))
            self.synced()
            self.world.main.execute("UPDATE handpicked_presents SET user_id = NULL WHERE id = %s", (present,))

    def availability(self) -> None:
        for _ in range(self.rng.randint(1, 2)):
            self.world.main.execute(
                "UPDATE handpicked_presents SET available = NOT available WHERE id = %s",
                (self.any_present(),),
            )

    def attributes(self) -> None:
        """Presents whose price, category, platform or regions change."""
        for _ in range(self.rng.randint(1, 3)):
            column, statement = self.rng.choice(sorted(ATTRIBUTES.items()))
            self.world.main.execute(statement, (self.present_attributes()[column], self.any_present()))

    def deleted_present(self) -> None:
        present = self.any_present()
        if len(self.public) > 5 or present in self.private:
            self.world.main.execute("DELETE FROM handpicked_presents WHERE id = %s", (present,))
            for held in (self.public, self.private):
                if present in held:
                    held.remove(present)
            self.liked = [pair for pair in self.liked if pair[1] != present]
            self.clicked = [pair for pair in self.clicked if pair[1] != present]

    def new_demographics(self) -> None:
        for _ in range(self.rng.randint(1, 3)):
            demographics(self.rng.choice(self.users), self.rng.choice(GENDERS), self.rng.choice(AGE_GROUPS))

    def forget(self, user: uuid.UUID) -> None:
        """The user leaves main with their likes and clicks, as Rails deletes a user."""
        self.users.remove(user)
        self.liked = [pair for pair in self.liked if pair[0] != user]
        self.clicked = [pair for pair in self.clicked if pair[0] != user]
        self.world.main.execute("DELETE FROM handpicked_likes WHERE user_id = %s", (user,))
        self.world.main.execute("DELETE FROM handpicked_present_clicks WHERE user_id = %s", (user,))
        self.world.main.execute("DELETE FROM users WHERE id = %s", (user,))

    def erasure(self) -> None:
        if len(self.users) > 12:
            user = self.rng.choice(self.users)
            self.forget(user)
            with app_connect() as app:
                app.execute("SELECT FROM api.erase_user(%s)", (user,))

    def absence(self) -> None:
        """A user gone from main, erased by the retention job once absent long enough."""
        if len(self.users) > 12:
            user = self.rng.choice(self.users)
            self.forget(user)
            self.world.refresh("erase_absent_users")
            self.world.recs.execute(
                "UPDATE recs.users SET absent_from_main_since = now() - interval '31 days'"
                " WHERE user_id = %s",
                (user,),
            )
            self.world.refresh("erase_absent_users")
            assert self.world.recs.execute(
                "SELECT count(*) FROM recs.users WHERE user_id = %s", (user,)
            ).fetchone() == (0,)

    def similarity_run(self) -> None:
        """Another job's sync in the middle of the day: its events reach popularity too."""
        self.world.refresh("refresh_user_similarities")
        self.synced()
        self.assert_nothing_private_served()

    def day(self) -> None:
        """New likes and clicks, and each other kind of change by its chance, in a random order."""
        self.next_day()
        occasional: list[tuple[Callable[[], None], float]] = [
            (self.new_users, 0.6),
            (self.new_presents, 0.5),
            (self.unlikes, 0.15),
            (self.deleted_clicks, 0.1),
            (self.privacy, 0.3),
            (self.private_for_a_while, 0.2),
            (self.availability, 0.3),
            (self.attributes, 0.3),
            (self.deleted_present, 0.1),
            (self.new_demographics, 0.4),
            (self.erasure, 0.15),
            (self.absence, 0.1),
            (self.similarity_run, 0.35),
        ]
        changes = [
            self.likes,
            self.clicks,
            *(change for change, chance in occasional if self.rng.random() < chance),
        ]
        self.rng.shuffle(changes)
        for change in changes:
            change()

    def full_resync(self) -> None:
        """The daily full resync (full_resync_hours passed): unlikes and deleted events go."""
        self.world.recs.execute(
            "UPDATE recs.sync_state SET full_synced_at = now() - interval '2 days' WHERE source = 'decay'"
        )
        run_both(self.world, full=True)
        self.synced()
        self.unsynced_deletions = False

    def assert_nothing_private_served(self) -> None:
        private = {row[0] for row in self.world.main.execute(
            "SELECT id FROM handpicked_presents WHERE user_id IS NOT NULL"
        ).fetchall()}  # fmt: skip
        served = {row[0] for row in self.world.recs.execute(SERVED).fetchall()}
        assert not served & private
        pages = [
            popular(gender, age_group, limit=100)["items"]
            for gender in GENDERS
            for age_group in AGE_GROUPS[1::2]
        ]
        pages += [personalized(user, limit=100)["items"] for user in self.rng.sample(self.users, 3)]
        pages.append(similar(self.rng.choice(self.public), self.rng.choice(self.users), limit=100)["items"])
        assert not {present for page in pages for present in page or []} & private


def run_months(seed: int, world: World) -> None:
    rng = random.Random(seed)  # noqa: S311 (the same sequence of changes on every run)
    months = Months(world, rng)
    months.next_day()
    for _ in range(12):
        months.new_users()
    for _ in range(10):
        months.new_presents()
    months.likes()
    months.clicks()
    # Short, so most users' votes as a neighbour are a cut of their history, which moves as days pass.
    world.setting("neighbor_history_limit", "4")
    run_both(world, full=True)
    world.refresh("refresh_user_similarities")
    months.synced()
    for day in range(1, DAYS + 1):
        months.day()
        if day % 6 == 0:
            months.full_resync()
        else:
            run_both(world)
            months.synced()
        assert_as_rebuilt(world)
        if not months.unsynced_deletions:
            assert_as_resynced(world)
        world.refresh("refresh_user_similarities")
        assert similarity_state(world.recs) == similarity_rebuilt(similarity_state), day
        world.refresh("refresh_item_neighbors")  # recomputes after a full run, else removes erased histories
        assert world.recs.execute(
            "SELECT count(*) FROM recs.user_histories h"
            " WHERE NOT EXISTS (SELECT FROM recs.users u WHERE u.user_key = h.user_key)"
        ).fetchone() == (0,), day
        months.assert_nothing_private_served()


def test_months_of_incremental_syncs_end_as_a_full_rebuild_every_day(world: World) -> None:
    run_months(SEED, world)
