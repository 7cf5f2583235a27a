"""create_app(): settings, lifespan-owned clients, middleware, error handlers and routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Response, Router
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from swagger_ui_bundle import swagger_ui_path

from service.auth import BasicAuthMiddleware
from service.cache import Cache, create_redis
from service.clients import STATE_KEY, Clients, provide_clients
from service.db import DataVersions, close_pool, create_pool
from service.errors import EXCEPTION_HANDLERS, problem_response, reset_throttled_logs
from service.fast_path import FastRoute, ServiceApp
from service.logs import RequestLogMiddleware, RequestSummary, configure_logging
from service.main_reads import MainBreaker
from service.models import PersonalizedRequest, PopularRequest, SimilarRequest
from service.online import ServedRecorder
from service.openapi import build_document
from service.replicas import ReadRouter
from service.routes.admin import (
    job_status,
    refresh_popular_items,
    run_job,
    update_user_profiles,
    update_user_similarities,
)
from service.routes.dashboard import dashboard
from service.routes.facets import facets
from service.routes.feedback import delete_feedback, feedback_options, post_feedback
from service.routes.health import CHECK_TIMEOUT_S, health
from service.routes.operations import metrics, stats
from service.routes.personalized import personalized, personalized_page
from service.routes.popular import popular, popular_page
from service.routes.profiles import (
    delete_user_profile,
    get_user_profile,
    patch_user_profile,
    put_user_profile,
    user_profile_options,
)
from service.routes.similar import similar, similar_page
from service.settings import Settings, load_settings
from service.telemetry import Telemetry

log = logging.getLogger("service.app")
DOCS_PATH = "/docs"
DOCS_ASSETS = DOCS_PATH + "/assets"  # Swagger UI served from the package: the docs work offline
REQUEST_BODY_LIMIT_BYTES = 64 * 1024
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"  # the dashboard's page, in the package


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application; settings default to the environment, read once here."""
    settings = settings or load_settings()
    credentials, admin_credentials = settings.auth_credentials, settings.admin_credentials
    configure_logging(settings.log_level)
    reset_throttled_logs()
    telemetry = Telemetry(flush_interval_s=settings.stats_flush_ms / 1000)
    request_summary = RequestSummary(settings.request_log_interval_ms / 1000)
    request_log = RequestLogMiddleware(telemetry, request_summary)
    auth = BasicAuthMiddleware(credentials, admin_credentials)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        # /health's own two connections (the recs DB, main through it): a pool busy with requests
        # is a busy worker, not a database down; opened at the first check, idle ones closed.
        health_pool = await create_pool(settings, min_size=0, max_size=2, acquire_timeout_s=CHECK_TIMEOUT_S)
        redis_client = create_redis(settings)
        state_local_ms = settings.personalized_state_local_ms if settings.personalized_state_max_age_ms else 0
        online = ServedRecorder(settings.data_version_max_age_ms / 1000)
        cache = Cache(
            redis_client,
            on_lookup=telemetry.observe_cache_lookup,
            local_entries=settings.local_cache_entries,
            state_local_ms=state_local_ms,
            breaker_open_ms=settings.redis_breaker_open_ms,
        )
        await cache.warn_if_unbounded()
        versions = DataVersions(settings.data_version_max_age_ms / 1000)
        router = ReadRouter(settings, pool, versions)
        clients = Clients(
            settings=settings,
            pool=pool,
            health_pool=health_pool,
            cache=cache,
            versions=versions,
            telemetry=telemetry,
            main_breaker=MainBreaker(settings.main_breaker_open_s),
            online=online,
            router=router,
        )
        app.state[STATE_KEY] = clients
        telemetry.start(redis_client, pool, settings.db_pool_max_size)
        online.start(pool)
        await router.start()
        log.info("service.started", extra={"debug": settings.debug})
        try:
            yield
        finally:
            request_summary.emit()
            # Background work first (each call cancelled gives its connection back), pools last.
            await clients.state_reads.stop()
            await clients.health_checks.stop()
            await versions.stop()
            await online.stop()
            await router.stop()
            await telemetry.stop()
            cache.stop()
            await redis_client.aclose()
            await close_pool(pool)
            await close_pool(health_pool)

    openapi = OpenAPIConfig(
        title="MySanta recommendations",
        version="1.1.0",
        description=(
            "Gift recommendations for MySanta. Every route except /health and these docs needs "
            "HTTP Basic auth: the Rails pair for recommendations and profiles, the admin pair for "
            "/admin, /stats and /metrics (the Rails pair gets 403 there)."
        ),
        path=DOCS_PATH,
        openapi_router=Router(
            DOCS_PATH, route_handlers=[], include_in_schema=False, after_request=_docs_problem
        ),
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
                favicon="",
            )
        ],
        components=Components(
            security_schemes={
                "basic": SecurityScheme(
                    type="http", scheme="basic", description="The Rails pair (BASIC_AUTH_*)."
                ),
                "admin": SecurityScheme(
                    type="http", scheme="basic", description="The admin pair (ADMIN_BASIC_AUTH_*)."
                ),
            },
        ),
        security=[{"basic": []}],
    )
    cors = (
        CORSConfig(allow_origins=list(settings.cors_allow_origins)) if settings.cors_allow_origins else None
    )

    app = ServiceApp(
        route_handlers=[
            health,
            stats,
            metrics,
            popular,
            personalized,
            similar,
            facets,
            feedback_options,
            post_feedback,
            delete_feedback,
            user_profile_options,
            put_user_profile,
            patch_user_profile,
            get_user_profile,
            delete_user_profile,
            job_status,
            run_job,
            refresh_popular_items,
            update_user_profiles,
            update_user_similarities,
            dashboard,
            create_static_files_router(path=DOCS_ASSETS, directories=[swagger_ui_path], name="docs-assets"),
        ],
        lifespan=[lifespan],
        dependencies={"clients": Provide(provide_clients, sync_to_thread=False)},
        middleware=[request_log, auth],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine),
        cors_config=cors,
        request_max_body_size=REQUEST_BODY_LIMIT_BYTES,
        logging_config=None,
        debug=False,
    )
    # The hot routes, when a request is plain, skip Litestar's routing, middleware and handler
    # machinery (service/fast_path.py); their handlers above answer everything else.
    app.use_fast_path(
        {
            "/popular": FastRoute(PopularRequest, popular_page),
            "/personalized": FastRoute(PersonalizedRequest, personalized_page),
            "/similar": FastRoute(SimilarRequest, similar_page),
        },
        request_log, auth, REQUEST_BODY_LIMIT_BYTES, cors=cors is not None,
    )  # fmt: skip
    # The served document is Litestar's, with the schemas the server validates with (service/openapi.py);
    # built once here, it is what the plugin's /docs/openapi.json returns.
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin._openapi_schema = build_document(plugin.provide_openapi_schema(), settings)
    return app


async def _docs_problem(response: Response[Any]) -> Response[Any]:
    """An unknown page under /docs as problem+json, as every other 404 (Litestar answers it in HTML)."""
    if response.status_code != 404:
        return response
    return problem_response(
        404, "Not found", "no such documentation page; the docs are /docs and /docs/openapi.json"
    )
