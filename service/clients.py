"""The clients request handlers use, made by the lifespan and injected into handlers by type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from litestar import Request

from service.cache import Cache
from service.dashboard import DashboardState
from service.db import DataVersions
from service.main_reads import MainBreaker, SingleFlight
from service.online import ServedRecorder
from service.replicas import ReadRouter
from service.settings import Settings
from service.telemetry import Telemetry


@dataclass(frozen=True)
class Clients:
    """Settings, the recs DB pool (the primary's: writes, admin) and the health check's own, the Redis
    cache, the data versions, the main-DB circuit breaker, the telemetry, the served-page recorder,
    the read routing (hot standbys), the personalised state reads and the health check in flight,
    and the dashboard's cached numbers of one worker."""

    settings: Settings
    pool: asyncpg.Pool
    health_pool: asyncpg.Pool
    cache: Cache
    versions: DataVersions
    telemetry: Telemetry
    main_breaker: MainBreaker
    online: ServedRecorder
    router: ReadRouter
    state_reads: SingleFlight[Any] = field(default_factory=SingleFlight)
    health_checks: SingleFlight[Any] = field(default_factory=SingleFlight)
    dashboard: DashboardState = field(default_factory=DashboardState)


STATE_KEY = "clients"


def provide_clients(request: Request[Any, Any, Any]) -> Clients:
    """The dependency every handler takes as `clients: Clients` (the lifespan put them in the app's
    state; read there, not through the copy of it Litestar builds for a `state` parameter)."""
    clients: Clients = request.app.state[STATE_KEY]
    return clients
