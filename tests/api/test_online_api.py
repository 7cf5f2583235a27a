"""Online measurement over HTTP: every recommendation response's recommendation_id and variant, the
pages the recorder stores, experiment variants reaching the ranking and the cache keys, /stats and
/metrics, and a simulation: synthetic users who click by a known preference, served by two variants,
measured through the real path (recording, the sync's attribution, the report view)."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.db import create_pool
from service.online import SERVED_PAGES, RecommendationIds, ServedRecorder, recording_point
from service.settings import Settings
from tests.conftest import ADMIN_AUTH, AUTH, clicked_personalized_page, start_experiment
from tests.data import World

POPULAR = {"user_params": {"gender": "f", "age_group": "25-34"}, "pagination": {"limit": 5}}


@pytest.fixture(autouse=True)
def record_every_page(world: World) -> None:
    """Every response of a known user recorded (the default records a sample, online_record_share 0.1)."""
    world.setting("online_record_share", "1")


def served_pages(recs: psycopg.Connection) -> dict[str, tuple[Any, ...]]:
    rows = recs.execute(
        "SELECT p.recommendation_id::text, p.route, p.user_id, p.algorithm, p.experiment, p.variant,"
        " array_agg(x.present_id::text ORDER BY x.position)"
        " FROM recs.served_pages p CROSS JOIN unnest(p.items) WITH ORDINALITY AS x(present_id, position)"
        " GROUP BY p.recommendation_id"
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_recommendation_ids_are_unique_uuidv7_in_time_order() -> None:
    ids = RecommendationIds()
    made = [ids.new() for _ in range(5_000)]  # about 12 blocks of randomness
    parsed = [uuid.UUID(made_id) for made_id in made]
    assert len(set(parsed)) == len(made)
    assert all(
        one.version == 7 and one.variant == uuid.RFC_4122 and str(one) == text
        for one, text in zip(parsed, made, strict=True)
    )
    millis = [one.int >> 80 for one in parsed]
    assert millis == sorted(millis)  # each id's first 48 bits: its millisecond, never going back
    assert abs(millis[-1] - time.time_ns() // 1_000_000) < 60_000
    random_bits = {one.int & ((1 << 62) - 1) for one in parsed}
    assert len(random_bits) == len(made)  # the random tail differs too, not only the time


async def test_every_response_has_its_own_recommendation_id_and_the_recorder_stores_the_page(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, _ = shoppers
    async with AsyncTestClient(app=create_app(settings)) as client:
        popular = [(await client.post("/popular", json=POPULAR, auth=AUTH)).json() for _ in range(2)]
        body = {"user_id": str(user), "pagination": {"limit": 4}}
        personal = [(await client.post("/personalized", json=body, auth=AUTH)).json() for _ in range(2)]
    # The second of each is a cache hit: the same bytes with a new id.
    assert [page["cache_hit"] for page in popular + personal] == [False, True, False, True]
    ids = [page["recommendation_id"] for page in popular + personal]
    assert len({str(uuid.UUID(rid)) for rid in ids}) == 4
    assert {uuid.UUID(rid).version for rid in ids} == {7}  # time-ordered (RecommendationIds)
    assert all(page["variant"] is None for page in popular + personal)

    stored = served_pages(world.recs)  # the app's shutdown flushed the buffer
    assert not {page["recommendation_id"] for page in popular} & set(stored)  # anonymous: nobody to credit
    for page in personal:
        assert stored[page["recommendation_id"]] == (
            "personalized", user, "collaborative", None, None, page["items"],
        )  # fmt: skip


async def test_a_variant_s_overrides_reach_the_ranking_and_its_own_cache_key(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, _ = shoppers
    body = {"user_id": str(user), "pagination": {"limit": 4}}
    async with AsyncTestClient(app=create_app(settings)) as client:
        before = (await client.post("/personalized", json=body, auth=AUTH)).json()
        # Everyone in one variant whose users need 1000 interactions for the collaborative tier.
        start_experiment(world.recs, "tiers", {"content-only": (1, {"collaborative_min_interactions": 1000})})
        during = [(await client.post("/personalized", json=body, auth=AUTH)).json() for _ in range(2)]
        world.recs.execute("UPDATE recs.experiments SET stopped_at = now() WHERE stopped_at IS NULL")
        after = (await client.post("/personalized", json=body, auth=AUTH)).json()
    assert (before["algorithm_used"], before["variant"]) == ("collaborative", None)
    assert [(page["algorithm_used"], page["variant"], page["cache_hit"]) for page in during] == [
        ("content_based", "content-only", False), ("content_based", "content-only", True),
    ]  # fmt: skip
    assert (after["algorithm_used"], after["variant"], after["cache_hit"]) == ("collaborative", None, True)
    stored = served_pages(world.recs)
    assert stored[during[0]["recommendation_id"]][3:5] == ("tiers", "content-only")
    # The override was for those requests only: the table and other sessions never saw it.
    assert world.recs.execute("SELECT recs.setting('collaborative_min_interactions')").fetchone() == ("3",)


async def test_nothing_is_recorded_at_a_record_share_of_0_and_a_full_buffer_drops(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, _ = shoppers
    world.setting("online_record_share", "0")
    async with AsyncTestClient(app=create_app(settings)) as client:
        body = {"user_id": str(user), "pagination": {"limit": 4}}
        page = (await client.post("/personalized", json=body, auth=AUTH)).json()
    assert uuid.UUID(page["recommendation_id"])
    assert world.recs.execute("SELECT count(*) FROM recs.served_pages").fetchone() == (0,)

    recorder = ServedRecorder(config_max_age_s=60, capacity=2)
    recorder.record_share = 1.0
    dropped_before = SERVED_PAGES.labels("dropped")._value.get()
    anonymous_before = SERVED_PAGES.labels("anonymous")._value.get()
    empty = b'{"items":[]}'
    ids = {recorder.served("personalized", str(user), "collaborative", None, empty) for _ in range(3)}
    ids.add(recorder.served("popular", None, "popular", None, b'{"items":[]}'))  # anonymous: never kept
    assert len(ids) == 4  # every response has its id, recorded or not
    assert await recorder.flush() == 0  # no pool attached: the two kept are not stored
    assert SERVED_PAGES.labels("dropped")._value.get() == dropped_before + 1
    assert SERVED_PAGES.labels("anonymous")._value.get() == anonymous_before + 1


def test_a_share_samples_users_and_records_every_page_of_each_one_it_takes() -> None:
    users = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"mysanta-user-{n}")) for n in range(400)]
    inside = {user for user in users if recording_point(user) < 0.25}
    assert 60 <= len(inside) <= 140  # about a quarter of the users (the place spreads evenly)
    kept: list[set[str]] = []
    for _ in range(2):  # two workers (or instances) sample the same users
        recorder = ServedRecorder(config_max_age_s=60, capacity=10_000)
        recorder.record_share = 0.25
        for user in users:
            for _ in range(3):  # each user's three pages: all kept, or none
                recorder.served("personalized", user, "collaborative", None, b'{"items":[]}')
        pages = [page[3] for page in recorder._buffer]
        assert all(pages.count(user) == 3 for user in inside) and set(pages) == inside
        kept.append(set(pages))
    assert kept[0] == kept[1]


def test_the_recording_steps_users_hold_the_share_in_the_sample() -> None:
    from tools.bench_recording import recording_users

    candidates = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"mysanta-candidate-{n}")) for n in range(1_000)]
    chosen = recording_users(candidates, 0.1)
    assert len(chosen) == 100 == len(set(chosen))
    assert sum(recording_point(user) < 0.1 for user in chosen) == 10
    assert recording_users(candidates, 0) == candidates[:100]


async def test_stats_and_metrics_report_the_online_rates(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    user, _ = shoppers
    await clicked_personalized_page(client, world, user)
    stats = (await client.get("/stats", auth=ADMIN_AUTH)).json()
    assert [
        (rate["route"], rate["algorithm"], rate["variant"], rate["impressions"], rate["clicks"], rate["ctr"])
        for rate in stats["online"]
    ] == [("personalized", "collaborative", None, 3, 1, 0.3333)]  # rates to 4 decimals
    assert stats["online"][0]["ctr_low"] < 1 / 3 < stats["online"][0]["ctr_high"]
    assert all(len(str(stats["online"][0][name]).split(".")[-1]) <= 4 for name in ("ctr_low", "ctr_high"))
    metrics = (await client.get("/metrics", auth=ADMIN_AUTH)).text
    found = {
        sample.name: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name.startswith("mysanta_online_") and sample.labels.get("route") == "personalized"
    }
    assert (found["mysanta_online_impressions"], found["mysanta_online_clicks"]) == (3, 1)


async def test_simulated_users_measure_the_better_variant_higher_within_the_intervals(
    settings: Settings, world: World
) -> None:
    """Synthetic new users (f, 25-34: the popular tier) prefer what their own segment likes: they
    click a present their segment liked with probability 0.3, another with 0.05. Variant `segment`
    serves them their segment's ranking; variant `global` (min_segment_users beyond any segment)
    the global one, which other users' likes lead. The report measures `segment` higher, and each
    variant's 95 % interval covers its true rate (the mean click probability of what it served)."""
    world.setting("popular_lift_prior_users", "0")  # a segment ranks by its groups' own users
    liked_by_segment = [world.present(category="books") for _ in range(10)]
    liked_elsewhere = [world.present(category="games") for _ in range(10)]
    for fan in world.users(25, "f", "25-34"):
        for present in liked_by_segment:
            world.like(fan, present)
    for fan in world.users(60, "m", "35-44"):
        for present in liked_elsewhere:
            world.like(fan, present)
    # Seeded ids: the experiment's buckets hash them, so each variant's share and the simulated clicks
    # are the same every run (with random ids each 95 % interval misses its true rate in 1 run of 20).
    shoppers = world.users(120, "f", "25-34", seed=20261203)
    world.refresh_all()
    start_experiment(
        world.recs, "segments", {"global": (0.5, {"min_segment_users": 100_000_000}), "segment": (0.5, {})}
    )
    preferred = {str(present) for present in liked_by_segment}
    click_probability = {str(present): 0.3 if str(present) in preferred else 0.05 for present in preferred}

    served: dict[str, list[str]] = {"global": [], "segment": []}
    rng = random.Random(20261203)  # noqa: S311 (a simulation, not secrets)
    async with AsyncTestClient(app=create_app(settings)) as client:
        for shopper in shoppers:
            body = {"user_id": str(shopper), "pagination": {"limit": 10}}
            page = (await client.post("/personalized", json=body, auth=AUTH)).json()
            served[page["variant"]].extend(page["items"])
            clicked_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
            for present in page["items"]:
                if rng.random() < click_probability.get(present, 0.05):
                    world.click(shopper, uuid.UUID(present), at=clicked_at)
    world.refresh()  # the sync attributes the clicks

    rates = {
        row[0]: row[1:]
        for row in world.recs.execute(
            "SELECT variant, impressions, ctr, ctr_low, ctr_high FROM recs.report_online_variants"
            " WHERE experiment = 'segments' AND route = 'personalized'"
        )
    }
    true_rate = {
        variant: sum(click_probability.get(present, 0.05) for present in items) / len(items)
        for variant, items in served.items()
    }
    assert set(rates) == {"global", "segment"}
    assert true_rate["segment"] > 0.25 and true_rate["global"] < 0.1  # the variants served differently
    for variant, (impressions, _, ctr_low, ctr_high) in rates.items():
        assert impressions == len(served[variant])
        assert ctr_low <= true_rate[variant] <= ctr_high, (variant, ctr_low, true_rate[variant], ctr_high)
    assert rates["segment"][1] > rates["global"][1]
    assert rates["segment"][2] > rates["global"][3]  # and the intervals do not overlap


@pytest.mark.usefixtures("databases")
async def test_a_configuration_that_cannot_be_read_is_logged_once_per_interval_with_the_reads_it_stands_for(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Every request rereads a configuration that is due (here every one): while the recs DB cannot
    answer, one `online.config_unavailable` line stands for the failed reads, not one line each."""
    pool = await create_pool(msgspec.structs.replace(settings, db_pool_min_size=1, db_pool_max_size=1))
    await pool.close()  # every read now fails, as with the recs DB gone
    recorder = ServedRecorder(config_max_age_s=0)
    with caplog.at_level(logging.WARNING, logger="service.online"):
        for _ in range(5):
            await recorder.refresh(pool)
    lines = [record for record in caplog.records if record.getMessage() == "online.config_unavailable"]
    assert len(lines) == 1 and lines[0].__dict__["reads"] == 1
    assert recorder.experiment is None and recorder.record_share == 0.0  # nothing recorded meanwhile
