"""GET /admin/dashboard: the admin pair only, real numbers from the database and the shared counters,
failing jobs highlighted without the database's words, text escaped, the snapshot cached; and its charts."""

from __future__ import annotations

import asyncio
import re
import uuid

import psycopg
from litestar.testing import AsyncTestClient

from service.charts import Run, bar_chart, line_chart, run_strip
from service.dashboard import ExpiringValue, quality_sections, scale_curve, sqlstate_name
from tests.conftest import ADMIN_AUTH, AUTH, clicked_personalized_page, owner_connect, start_experiment
from tests.data import World, break_job_setting, fill_known_world

POPULAR_BODY = {"user_params": {"gender": "female", "age": "25-34"}, "pagination": {"page": 1, "limit": 5}}


def refresh_all() -> None:
    with owner_connect() as owner:
        owner.execute("CALL recs.refresh_all()")


def cell(page: str, attribute: str) -> str:
    """The text of the element carrying this data attribute (e.g. 'data-tier="popular"')."""
    found = re.search(rf"<[^>]*{re.escape(attribute)}[^>]*>([^<]*)<", page)
    assert found, attribute
    return found.group(1).strip()


async def test_only_the_admin_pair_sees_the_dashboard(client: AsyncTestClient) -> None:
    assert (await client.get("/admin/dashboard")).status_code == 401
    assert (await client.get("/admin/dashboard", auth=AUTH)).status_code == 403
    response = await client.get("/admin/dashboard", auth=ADMIN_AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<meta http-equiv="refresh" content="60">' in response.text


async def test_the_page_shows_the_numbers_of_the_database_and_the_traffic(
    world: World, client: AsyncTestClient
) -> None:
    fill_known_world(world)
    refresh_all()
    for _ in range(3):  # a miss, then hits
        assert (await client.post("/popular", json=POPULAR_BODY, auth=AUTH)).status_code == 200
    page = (await client.get("/admin/dashboard", auth=ADMIN_AUTH)).text
    with owner_connect() as owner:
        available = owner.execute("SELECT count(*) FROM recs.items WHERE available").fetchone()
        tiers = dict(owner.execute("SELECT tier, users FROM recs.report_user_tiers").fetchall())
        runs = dict(owner.execute("SELECT job, count(*) FROM recs.job_runs GROUP BY job").fetchall())
    assert available is not None and cell(page, 'data-metric="available-presents"') == f"{available[0]:,}"
    assert {tier: int(cell(page, f'data-tier="{tier}"').replace(",", "")) for tier in tiers} == tiers
    assert sum(tiers.values()) == 4
    for job, count in runs.items():  # every job that ran has its row, its run count and a strip of its runs
        row = re.search(rf'<tr class="" data-job="{job}">(.*?)</tr>', page, re.S)
        assert row, job
        assert f">{count} / 0<" in row.group(1)
        assert row.group(1).count("<rect") == count
    assert cell(page, 'data-metric="cache-hit-rate"') == "66.7 %"  # one miss, two hits
    assert '<tr><td>/popular</td><td>popular</td><td class="number">3</td>' in page
    assert 'data-status="ok"' in page


async def test_a_failing_job_is_highlighted_with_its_code_not_the_databases_words(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient
) -> None:
    _, recs = databases
    break_job_setting(recs, "job_run_retention_days", "x")
    assert (await client.post("/admin/jobs/cleanup", auth=ADMIN_AUTH)).status_code == 500
    page = (await client.get("/admin/dashboard", auth=ADMIN_AUTH)).text
    assert '<tr class="failing" data-job="cleanup">' in page
    assert "failing (22P02)" in page and "(invalid text representation)" in page
    assert "invalid input syntax" not in page  # the message stays in recs.job_runs
    assert "SELECT started_at, error FROM recs.job_runs WHERE job = 'cleanup'" in page


async def test_text_from_main_is_escaped(world: World, client: AsyncTestClient) -> None:
    hostile = world.present(category="<script>alert(1)</script>")
    for user in world.users(2, gender="f", age_group="25-34"):
        world.like(user, hostile)
    refresh_all()
    page = (await client.get("/admin/dashboard", auth=ADMIN_AUTH)).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page


async def test_the_snapshot_is_read_once_per_window() -> None:
    loads = 0

    async def load() -> dict[str, int]:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return {"load": loads}

    cached: ExpiringValue[dict[str, int]] = ExpiringValue(seconds=60)
    results = await asyncio.gather(*(cached.get(load) for _ in range(5)))
    assert loads == 1 and all(result == {"load": 1} for result in results)
    always: ExpiringValue[dict[str, int]] = ExpiringValue(seconds=-1)
    assert [await always.get(load) for _ in range(2)] == [{"load": 2}, {"load": 3}]


def test_charts_escape_their_text_and_mark_failures_without_colour() -> None:
    bars = str(bar_chart([("<b>", 2.0), ("none", None)], unit=" ms"))
    assert "&lt;b&gt;" in bars and "<b>" not in bars and "2.0 ms" in bars and "n/a" in bars
    strip = str(run_strip([Run(1.0, True), Run(3.0, False), Run(2.0, True)]))
    assert strip.count('fill="none"') == 1 and strip.count("&#215;") == 1 and "3.0 s" in strip
    lines = str(line_chart({"popular": [(0.25, 10), (1, 40)], "all": [(0.25, 20), (1, 90)]}, "scale", "s"))
    assert ">popular</text>" in lines and ">all</text>" in lines
    assert "stroke-dasharray" in lines  # the second series is dashed, not only coloured


def test_result_files_become_sections() -> None:
    suite = {
        "datasets": {
            "filmtrust": {
                "users": 10,
                "product_ndcg10": 0.5,
                "references_ndcg10": {"popularity": 0.4, "ease": 0.52},
                "product_to_ease_ndcg10": 0.96,
            }
        }
    }
    (section,) = quality_sections(suite)
    assert section["rows"] == [("product", 0.5), ("popularity", 0.4), ("EASE", 0.52)]
    bench = {"scale_series": {"0.5": {"factor": 0.5, "refresh_s": {"popular": 5.0, "all": 9.0}},
                              "1": {"factor": 1, "refresh_s": {"popular": 11.0, "all": 20.0}}}}  # fmt: skip
    curve = scale_curve(bench)
    assert curve is not None and curve["factors"] == [0.5, 1.0]
    assert curve["table"][0] == {"job": "popular", "by_factor": {0.5: 5.0, 1.0: 11.0}}
    assert quality_sections(None) == [] and scale_curve({"scale_series": {}}) is None
    assert sqlstate_name("22P02") == "invalid text representation" and sqlstate_name("ZZ999") is None


async def test_experiments_show_each_variant_s_click_through_with_its_interval(
    client: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]], world: World
) -> None:
    world.setting("online_record_share", "1")  # every page recorded (the default samples a tenth)
    start_experiment(world.recs, "depth", {"a": (0.5, {}), "b": (0.5, {"max_similar_users": "30"})})
    user, _ = shoppers
    page = await clicked_personalized_page(client, world, user)
    dashboard = (await client.get("/admin/dashboard", auth=ADMIN_AUTH)).text
    assert 'data-experiment="depth"' in dashboard
    row = re.search(rf'<tr data-variant="{page["variant"]}">(.*?)</tr>', dashboard, re.S)
    assert row and "<td>depth</td>" in row.group(1)
    assert ">1</td>" in row.group(1) and "0.333 [" in row.group(1)  # one click of three impressions
