"""Online measurement in SQL: served pages stored by api.record_served, clicks and likes attributed
by the sync within online_attribution_hours, the report views, experiment variants (validated
overrides that recs.setting applies, the stable split), retention and erasure."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from typing import Any

import psycopg
import pytest
from yoyo import get_backend, read_migrations
from yoyo.migrations import MigrationList

from service.bootstrap import prepare_recs_database
from service.dsn import parse_pg_url
from service.migrate import DOMAIN_STAGE, MIGRATIONS_DIR, apply_sql_files, migrate
from service.online import Experiment, VariantRow, experiment_bucket
from tests.conftest import OWNER_PASSWORD, PG_PORT, SUPERUSER, app_connect, make_settings, owner_connect
from tests.data import World

RECORD = (
    "SELECT pages, presents FROM api.record_served(%s::uuid[], %s::float8[], %s::text[], %s::uuid[],"
    " %s::text[], %s::text[], %s::text[], %s::int[], %s::uuid[])"
)
FIELDS = ("id", "at", "route", "user_id", "algorithm", "experiment", "variant")


def record(pages: list[dict[str, Any]]) -> tuple[int, int]:
    """api.record_served as the app's recorder calls it (the app role): an array per field, the
    number of presents of each page and every page's presents in one array."""
    arrays = [[served[field] for served in pages] for field in FIELDS]
    counts = [len(served["items"]) for served in pages]
    items = [item for served in pages for item in served["items"]]
    with app_connect() as app:
        row = app.execute(RECORD, (*arrays, counts, items)).fetchone()
    assert row is not None
    return row[0], row[1]


def page(user: uuid.UUID | None, items: list[uuid.UUID], at: dt.datetime, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()), "at": at.timestamp(), "route": "personalized",
        "user_id": None if user is None else str(user), "algorithm": "popular", "experiment": None,
        "variant": None, "items": [str(item) for item in items],
    } | fields  # fmt: skip


def served_presents(recs: psycopg.Connection, recommendation_id: str) -> list[tuple[Any, ...]]:
    """The page's presents by position, each with whether the sync credited it a click and a like."""
    return recs.execute(
        "SELECT x.position, x.present_id, a.clicked_at IS NOT NULL, a.liked_at IS NOT NULL"
        " FROM recs.served_pages p CROSS JOIN unnest(p.items) WITH ORDINALITY AS x(present_id, position)"
        " LEFT JOIN recs.served_attributions a"
        "  ON a.recommendation_id = p.recommendation_id AND a.position = x.position"
        " WHERE p.recommendation_id = %s ORDER BY x.position",
        (recommendation_id,),
    ).fetchall()


def test_the_sync_credits_a_page_with_the_clicks_and_likes_that_follow_it_within_the_window(
    world: World,
) -> None:
    first, second, third, unseen = (world.present() for _ in range(4))
    (user,) = world.users(1, "f", "25-34")
    world.refresh()  # the presents are in recs.items
    served_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    shown = page(user, [first, second, third], served_at)
    assert record([shown, page(None, [first], served_at)]) == (2, 4)
    world.click(user, first, at=served_at - dt.timedelta(minutes=1))  # before the page: not credited
    world.click(user, second, at=served_at + dt.timedelta(minutes=5))
    world.click(user, second, at=served_at + dt.timedelta(minutes=9))  # the first click is kept
    world.like(user, third, at=served_at + dt.timedelta(hours=25))  # past the 24 h window
    world.like(user, unseen, at=served_at + dt.timedelta(minutes=2))  # never served
    world.refresh()

    assert served_presents(world.recs, shown["id"]) == [
        (1, first, False, False), (2, second, True, False), (3, third, False, False),
    ]  # fmt: skip
    clicked_at = world.recs.execute(
        "SELECT clicked_at FROM recs.served_attributions WHERE recommendation_id = %s AND position = 2",
        (shown["id"],),
    ).fetchone()
    assert clicked_at == (served_at + dt.timedelta(minutes=5),)
    rates = world.recs.execute(
        "SELECT route, pages, users, impressions, open_impressions, clicks, likes, ctr"
        " FROM recs.report_online_rates"
    ).fetchall()
    assert rates == [("personalized", 1, 1, 3, 0, 1, 0, pytest.approx(1 / 3))]  # the anonymous page left out

    # A longer window credits the like at the next sync (a full resync reads every event again).
    world.setting("online_attribution_hours", "26")
    world.recs.execute("DELETE FROM recs.sync_state")
    world.refresh()
    assert served_presents(world.recs, shown["id"])[2] == (3, third, False, True)


def test_an_event_on_a_present_served_on_many_pages_credits_only_the_latest_impression_before_it(
    world: World,
) -> None:
    present, other = world.present(), world.present()
    (user,) = world.users(1, "m", "35-44")
    world.refresh()
    now = dt.datetime.now(dt.UTC)
    pages = [page(user, [present, other], now - dt.timedelta(hours=hours)) for hours in (5, 4, 3, 2)]
    assert record(pages) == (4, 8)
    world.click(user, present, at=now - dt.timedelta(hours=3, minutes=30))  # between the 2nd and 3rd page
    world.like(user, present, at=now - dt.timedelta(hours=1))  # after the last page
    world.refresh()

    def credited() -> list[tuple[bool, bool]]:
        return [served_presents(world.recs, shown["id"])[0][2:] for shown in pages]

    assert credited() == [(False, False), (True, False), (False, False), (False, True)]
    touched = world.recs.execute("SELECT count(*) FROM recs.served_attributions").fetchone()
    assert touched == (2,)  # one row per event, not one per page served before it
    world.recs.execute("DELETE FROM recs.sync_state")  # a full resync reads both events again
    world.refresh()
    assert credited() == [(False, False), (True, False), (False, False), (False, True)]


def test_a_sync_crediting_a_page_its_users_erasure_deletes_meanwhile_leaves_it_out(world: World) -> None:
    """The erasure deletes the user's pages while the sync reads an event on one: the sync waits
    for it, credits nothing and succeeds (it never fails on the page that is gone)."""
    present = world.present()
    (user,) = world.users(1, "f", "25-34")
    world.refresh()
    served_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    record([page(user, [present], served_at)])
    world.click(user, present, at=served_at + dt.timedelta(minutes=5))
    outcome: list[BaseException | None] = []

    def sync() -> None:
        try:
            world.refresh("refresh_user_profiles")
            outcome.append(None)
        except BaseException as error:  # reported by the assertion below
            outcome.append(error)

    with owner_connect() as eraser, eraser.transaction():
        eraser.execute("SELECT FROM api.erase_user(%s)", (user,))
        syncing = threading.Thread(target=sync)
        syncing.start()
        syncing.join(timeout=2)  # the sync reaches the page and waits for the erasure
        assert syncing.is_alive()
    syncing.join(timeout=60)
    assert outcome == [None]
    last = world.recs.execute(
        "SELECT error FROM recs.job_runs WHERE job = 'refresh_user_profiles' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    assert last == (None,)
    assert world.recs.execute("SELECT count(*) FROM recs.served_attributions").fetchone() == (0,)


def test_wilson_bounds_match_the_formula(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    low, high, none = recs.execute(
        "SELECT recs.wilson_bound(30, 100, -1.96), recs.wilson_bound(30, 100, 1.96),"
        " recs.wilson_bound(0, 0, 1.96)"
    ).fetchone() or (None, None, None)
    # (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), p = 0.3, n = 100, z = 1.96
    assert (low, high, none) == (pytest.approx(0.2189475, abs=1e-6), pytest.approx(0.3958504, abs=1e-6), None)


def test_variant_overrides_are_checked_like_the_settings(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    recs.execute("INSERT INTO recs.experiments (name) VALUES ('weights')")
    insert = (
        "INSERT INTO recs.experiment_variants (experiment, variant, share, overrides)"
        " VALUES ('weights', %s, %s, %s)"
    )
    bad = [
        ({"no_such_setting": "1"}, "unknown setting no_such_setting"),
        (
            {"collaborative_item_weight": "2"},
            "setting collaborative_item_weight must be a number from 0 to 1, got '2'",
        ),
        ({"collaborative_min_interactions": 2.5}, "must be an integer"),
        ({"collaborative_min_interactions": [3]}, "must be a JSON string, number or boolean"),
        ([1], "must be a JSON object"),
    ]
    for overrides, message in bad:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
            recs.execute(insert, ("a", 0.5, json.dumps(overrides)))
    recs.execute(
        insert,
        ("a", 0.5, json.dumps({"collaborative_item_weight": 0.25, "collaborative_min_interactions": 5})),
    )
    stored = recs.execute("SELECT overrides FROM recs.experiment_variants WHERE variant = 'a'").fetchone()
    assert stored == (
        {"collaborative_item_weight": "0.25", "collaborative_min_interactions": "5"},
    )  # as text
    with pytest.raises(
        psycopg.errors.InvalidParameterValue, match=r"shares of experiment weights sum to 1\.2000"
    ):
        recs.execute(insert, ("b", 0.7, "{}"))
    with pytest.raises(psycopg.errors.UniqueViolation):  # one experiment runs at a time
        recs.execute("INSERT INTO recs.experiments (name) VALUES ('another')")


def test_recs_setting_applies_the_transaction_overrides_only(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    with app_connect() as app, app.transaction():
        app.execute(
            "SELECT set_config('recs.setting_overrides', %s, true)",
            ('{"collaborative_min_interactions": "7"}',),
        )
        with owner_connect() as owner:
            before = owner.execute("SELECT recs.setting('collaborative_min_interactions')").fetchone()
        assert before == ("3",)  # another session: the table's value
    with owner_connect() as owner:
        with owner.transaction():
            owner.execute(
                "SELECT set_config('recs.setting_overrides', %s, true)",
                ('{"collaborative_min_interactions": "7"}',),
            )
            inside = owner.execute(
                "SELECT recs.setting('collaborative_min_interactions'), recs.tier_of(5),"
                " recs.setting('like_weight')"
            ).fetchone()
        after = owner.execute(
            "SELECT recs.setting('collaborative_min_interactions'), recs.tier_of(5)"
        ).fetchone()
    assert inside == ("7", "content_based", "1.0")
    assert after == ("3", "collaborative")


def test_the_app_and_sql_put_a_user_in_the_same_variant(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    recs.execute("INSERT INTO recs.experiments (name) VALUES ('split')")
    recs.execute(
        "INSERT INTO recs.experiment_variants (experiment, variant, share) VALUES"
        " ('split', 'a', 0.25), ('split', 'b', 0.5)"
    )
    experiment = Experiment(
        "split",
        [VariantRow(variant="b", share=0.5, overrides={}), VariantRow(variant="a", share=0.25, overrides={})],
    )
    users = [uuid.uuid4() for _ in range(400)]
    in_sql = dict(recs.execute("SELECT u, recs.variant_of(u) FROM unnest(%s::uuid[]) u", (users,)).fetchall())
    buckets = dict(
        recs.execute(
            "SELECT u, recs.experiment_bucket('split', u) FROM unnest(%s::uuid[]) u", (users,)
        ).fetchall()
    )
    counts: dict[str | None, int] = {}
    for user in users:
        variant = experiment.variant_of(str(user))
        name = None if variant is None else variant.name
        assert in_sql[user] == name
        assert buckets[user] == experiment_bucket("split", str(user)) / 2**32
        counts[name] = counts.get(name, 0) + 1
    assert (
        60 <= counts["a"] <= 140 and 160 <= counts["b"] <= 240 and 60 <= counts[None] <= 140
    )  # 1/4, 1/2, 1/4
    recs.execute("UPDATE recs.experiments SET stopped_at = now()")
    assert recs.execute("SELECT recs.variant_of(%s)", (users[0],)).fetchone() == (None,)


def test_cleanup_trims_old_served_pages_and_erasure_removes_a_users(world: World) -> None:
    present = world.present()
    known, other = world.users(2, "f", "25-34")
    stranger = uuid.uuid4()  # never known to recs.users
    world.refresh()
    now = dt.datetime.now(dt.UTC)
    old = page(known, [present], now - dt.timedelta(days=31))
    kept = [page(user, [present], now - dt.timedelta(minutes=10)) for user in (known, other, stranger)]
    record([old, *kept])
    world.click(known, present, at=now - dt.timedelta(days=31) + dt.timedelta(minutes=1))
    for user in (known, other):
        world.click(user, present, at=now - dt.timedelta(minutes=5))
    world.refresh()

    def credited() -> set[str]:
        return {
            row[0]
            for row in world.recs.execute("SELECT recommendation_id::text FROM recs.served_attributions")
        }

    assert credited() == {old["id"], kept[0]["id"], kept[1]["id"]}
    world.refresh("cleanup")
    remaining = {
        row[0] for row in world.recs.execute("SELECT recommendation_id::text FROM recs.served_pages")
    }
    assert remaining == {served["id"] for served in kept}
    assert credited() == {kept[0]["id"], kept[1]["id"]}  # the old page's credit went with it

    with app_connect() as app:
        for user in (known, stranger):
            assert app.execute("SELECT erased FROM api.erase_user(%s)", (user,)).fetchone() == (True,)
    users = world.recs.execute("SELECT user_id FROM recs.served_pages").fetchall()
    assert users == [(other,)]
    assert credited() == {kept[1]["id"]}


RATE_COLUMNS = "route, algorithm, experiment, variant, pages, impressions, open_impressions, clicks, likes"


def online_rates() -> list[tuple[Any, ...]]:
    """api.online_rates as GET /stats and /metrics call it (the app role)."""
    with app_connect() as app:
        return app.execute(f"SELECT {RATE_COLUMNS}, ctr, ctr_low FROM api.online_rates()").fetchall()


def reported_rates(recs: psycopg.Connection) -> list[tuple[Any, ...]]:
    return recs.execute(
        f"SELECT {RATE_COLUMNS}, ctr, ctr_low FROM recs.report_online_rates"
        " ORDER BY impressions DESC, route, algorithm, experiment, variant"
    ).fetchall()


def test_online_rates_read_the_hourly_counters_which_match_the_detailed_report(world: World) -> None:
    shown, clicked, liked = world.present(), world.present(), world.present()
    alice, bob = world.users(2, "f", "25-34")
    world.refresh()
    now = dt.datetime.now(dt.UTC)
    old, day = now - dt.timedelta(days=40), now - dt.timedelta(hours=30)
    recent = now - dt.timedelta(hours=2)
    pages = [
        page(alice, [shown, clicked], old),  # past online_retention_days: trimmed by the cleanup
        page(alice, [shown, clicked, liked], day),
        page(bob, [clicked, liked], day, algorithm="content_based"),
        page(bob, [shown, clicked, liked], recent, experiment="exp", variant="b"),  # still open
        page(None, [shown], recent),  # anonymous: neither counted nor reported
    ]
    assert record(pages) == (5, 11)
    world.click(alice, clicked, at=old + dt.timedelta(minutes=1))
    world.click(alice, clicked, at=day + dt.timedelta(minutes=1))
    world.like(alice, liked, at=day + dt.timedelta(minutes=2))
    world.click(bob, clicked, at=day + dt.timedelta(minutes=3))
    world.like(bob, liked, at=recent + dt.timedelta(minutes=1))
    world.refresh()
    world.recs.execute("DELETE FROM recs.sync_state")  # events read twice count once
    world.refresh()

    before_cleanup = online_rates()
    assert [row[:9] for row in before_cleanup] == [
        ("personalized", "popular", None, None, 2, 5, 0, 2, 1),
        ("personalized", "popular", "exp", "b", 1, 3, 3, 0, 1),
        ("personalized", "content_based", None, None, 1, 2, 0, 1, 0),
    ]  # fmt: skip
    assert before_cleanup == reported_rates(world.recs)

    world.refresh("cleanup")
    after_cleanup = online_rates()
    assert [row[:9] for row in after_cleanup] == [
        ("personalized", "popular", "exp", "b", 1, 3, 3, 0, 1),
        ("personalized", "popular", None, None, 1, 3, 0, 1, 1),
        ("personalized", "content_based", None, None, 1, 2, 0, 1, 0),
    ]  # fmt: skip
    assert after_cleanup == reported_rates(world.recs)
    oldest_hour = world.recs.execute("SELECT min(hour) FROM recs.online_hourly").fetchone()
    assert oldest_hour is not None and oldest_hour[0] > now - dt.timedelta(days=31)  # trimmed too

    # The counters are what /stats reads: erasing a user removes their served rows, not the counts.
    with app_connect() as app:
        assert app.execute("SELECT erased FROM api.erase_user(%s)", (bob,)).fetchone() == (True,)
    assert online_rates() == after_cleanup
    assert len(reported_rates(world.recs)) == 1


def test_the_app_role_records_through_the_api_only(databases: tuple[psycopg.Connection, ...]) -> None:
    with app_connect() as app:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("SELECT 1 FROM recs.served_pages")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="the batch's arrays disagree"):
            app.execute(
                RECORD,
                (
                    [str(uuid.uuid4())],
                    [0.0],
                    ["personalized"],
                    [None],
                    ["popular"],
                    [None],
                    [None],
                    [2],
                    [str(uuid.uuid4())],
                ),
            )
        config = app.execute("SELECT record_share, experiment, variants FROM api.online_config()").fetchone()
    assert config == (0.1, None, [])  # the default share: a tenth of the responses


def test_the_migration_to_arrays_keeps_the_pages_and_their_credits(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    """A database migrated up to the row per present, with pages in it, then migrated on: each page
    becomes one row with its presents in order (a position left out, its present gone from recs.items:
    NULL),
    each credited present a recs.served_attributions row, and the views read them as before."""
    name = "test_recs_served_arrays"
    with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as superuser:
        superuser.execute(f"DROP DATABASE IF EXISTS {name}")
        superuser.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(SUPERUSER.with_dbname(name), autocommit=True) as superuser:
            prepare_recs_database(superuser, "mysanta_owner", "mysanta_app")
        owner_url = f"postgresql://mysanta_owner:{OWNER_PASSWORD}@127.0.0.1:{PG_PORT}/{name}"
        backend = get_backend(parse_pg_url(owner_url).for_yoyo())
        try:
            migrations = read_migrations(str(MIGRATIONS_DIR))
            first_new = next(i for i, m in enumerate(migrations) if m.id.endswith(".served-pages-as-arrays"))
            with owner_connect(name) as owner:
                for migration in migrations[:first_new]:
                    if migration is migrations[1]:  # the schemas exist: the domain functions next
                        apply_sql_files(owner, force=True, stages=(DOMAIN_STAGE,))
                    backend.apply_migrations(MigrationList([migration]))
        finally:
            backend.connection.close()
        user, page, anonymous = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        served_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        with owner_connect(name) as owner:
            present, other = uuid.uuid4(), uuid.uuid4()
            keys = {
                present_id: owner.execute(
                    "INSERT INTO recs.items (present_id, available, created_at, updated_at)"
                    " VALUES (%s, true, now(), now()) RETURNING item_id",
                    (present_id,),
                ).fetchone()[0]  # type: ignore[index]
                for present_id in (present, other)
            }
            owner.execute(
                "INSERT INTO recs.served_pages"
                " (recommendation_id, served_at, route, user_id, algorithm, presents)"
                " VALUES (%s, %s, 'personalized', %s, 'popular', 3), (%s, %s, 'popular', NULL, 'popular', 1)",
                (page, served_at, user, anonymous, served_at),
            )
            owner.execute(
                "INSERT INTO recs.served_presents (recommendation_id, position, item_id, user_id, served_at,"
                " clicked_at, liked_at) VALUES (%s, 1, %s, %s, %s, %s, NULL),"
                " (%s, 3, %s, %s, %s, NULL, NULL), (%s, 1, %s, NULL, %s, NULL, NULL)",
                (page, keys[present], user, served_at, served_at + dt.timedelta(minutes=1),
                 page, keys[other], user, served_at, anonymous, keys[other], served_at),
            )  # fmt: skip
        migrate(make_settings(recommendations_owner_database_url=owner_url), schedule=False)
        with owner_connect(name) as owner:
            pages = owner.execute(
                "SELECT recommendation_id, presents, items FROM recs.served_pages ORDER BY presents DESC"
            ).fetchall()
            credited = owner.execute(
                "SELECT recommendation_id, position, present_id, clicked_at FROM recs.served_attributions"
            ).fetchall()
            rates = owner.execute(
                "SELECT pages, impressions, clicks FROM recs.report_online_rates"
            ).fetchall()
            old_table = owner.execute("SELECT to_regclass('recs.served_presents')").fetchone()
    finally:
        with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as superuser:
            superuser.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    assert pages == [(page, 2, [present, None, other]), (anonymous, 1, [other])]
    assert credited == [(page, 1, present, served_at + dt.timedelta(minutes=1))]
    assert rates == [(1, 2, 1)]
    assert old_table == (None,)
