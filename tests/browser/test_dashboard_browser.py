"""The dashboard in a real browser: headless Chromium (Debian's) against `serve`, the network closed
except localhost; the sections render with the database's numbers, no console errors, a screenshot."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Route, sync_playwright

from service.settings import Settings
from tests.conftest import ADMIN_AUTH, AUTH, owner_connect, running_server
from tests.data import World, fill_known_world

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"  # make test-browser installs it (scripts/infra.sh install-browser)
SCREENSHOT = Path(__file__).resolve().parents[2] / "bench" / "results" / "dashboard.png"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
POPULAR_BODY = {"user_params": {"gender": "female", "age": "25-34"}, "pagination": {"page": 1, "limit": 5}}
SECTIONS = ("#health", "#jobs", "#traffic", "#catalogue", "#quality")


def test_the_dashboard_renders_in_chromium(world: World, settings: Settings) -> None:
    fill_known_world(world)
    with owner_connect() as owner:
        owner.execute("CALL recs.refresh_all()")
        available = owner.execute("SELECT count(*) FROM recs.items WHERE available").fetchone()
        jobs = owner.execute("SELECT count(DISTINCT job) FROM recs.job_runs").fetchone()
    assert available is not None and jobs is not None
    with running_server(settings) as (base_url, _):
        for _ in range(3):  # a miss, then two hits
            assert httpx.post(f"{base_url}/popular", json=POPULAR_BODY, auth=AUTH).status_code == 200
        blocked: list[str] = []
        problems: list[str] = []

        def local_only(route: Route) -> None:
            if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                problems.append(f"{message.type}: {message.text}")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                # Without credentials the browser's own navigation ends at the 401 challenge (a net
                # error in headless Chromium): the context's request API shows the status itself.
                anonymous = browser.new_context()
                assert anonymous.request.get(f"{base_url}/admin/dashboard").status == 401
                anonymous.close()
                rails = browser.new_context(http_credentials={"username": AUTH[0], "password": AUTH[1]})
                refused = rails.new_page().goto(f"{base_url}/admin/dashboard")
                assert refused is not None and refused.status == 403
                rails.close()

                context = browser.new_context(
                    http_credentials={"username": ADMIN_AUTH[0], "password": ADMIN_AUTH[1]},
                    viewport={"width": 1280, "height": 900},
                )
                context.route("**/*", local_only)
                page = context.new_page()
                page.on("console", on_console)
                page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
                response = page.goto(f"{base_url}/admin/dashboard", wait_until="load")
                assert response is not None and response.status == 200
                for section in SECTIONS:
                    assert page.locator(section).is_visible(), section
                assert page.locator('[data-metric="available-presents"]').inner_text() == f"{available[0]:,}"
                tiers = [page.locator(f'[data-tier="{tier}"]').inner_text()
                         for tier in ("popular", "content_based", "collaborative")]  # fmt: skip
                assert sum(int(users.replace(",", "")) for users in tiers) == 4
                assert page.locator("tr[data-job]").count() >= jobs[0]
                assert page.locator('[data-status="ok"]').inner_text() == "ok"
                assert page.locator("svg.chart").count() >= jobs[0] + 2  # a strip per job, latency, tiers
                assert page.locator('[data-metric="cache-hit-rate"]').inner_text() == "66.7 %"
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT), full_page=True)
                context.close()
            finally:
                browser.close()
        assert problems == [] and blocked == []
    assert SCREENSHOT.stat().st_size > 10_000
