"""Pages that depend on one user's state (POST /personalized, POST /similar with a user_id): cached
under a token of the data versions and the user's unsynced events, kept in Redis for
PERSONALIZED_STATE_MAX_AGE_MS so a hit pays no main-DB read, nor a miss under a state that saw no
unsynced events."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response

from service.cache import personalized_state_key
from service.clients import Clients
from service.db import fetch_row
from service.main_reads import fetch_reading_main, main_link_failed
from service.recommendations import RankedPage, args_digest, call_arguments, in_range, page_body, respond


class CacheState(msgspec.Struct, kw_only=True):
    """api.personalized_cache_state: what a user's cached page depends on besides the request."""

    popular_version: int
    personalized_version: int
    synced_version: int
    fresh_fingerprint: str
    fresh_checked: bool

    @property
    def token(self) -> str:
        """A digest of the whole state: the part of the page key that changes when any of it does;
        QUIET_MARK ends it when main was read and held no unsynced event of the user."""
        text = (
            f"{self.popular_version}.{self.personalized_version}.{self.synced_version}"
            f"|{self.fresh_checked}|{self.fresh_fingerprint}"
        )
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        quiet = self.fresh_checked and self.fresh_fingerprint.startswith(NO_FRESH_EVENTS)
        return digest + QUIET_MARK if quiet else digest


# api.personalized_cache_state's fingerprint of a user without unsynced events: a count of 0 and no
# newest event, then the parts that do not depend on main.
NO_FRESH_EVENTS = "0/-|"
# The end of a state token read from main that found no unsynced event: a page ranked under it
# needs no read of main (there is nothing to leave out beyond the synced interactions), so a miss
# under that state ranks with p_read_main false and costs no round trip to main.
QUIET_MARK = ".q"


def is_quiet(token: str) -> bool:
    """Whether a state token says main was read and held no unsynced event of the user."""
    return token.endswith(QUIET_MARK)


@dataclass(frozen=True)
class UserPageQuery:
    """One request for a user's page: api.<function>(*args, read_main), ranked as the struct `into`;
    response_fields(ranked, degraded) gives the route's own response fields."""

    function: str
    user_id: str
    args: tuple[Any, ...]
    page: int
    limit: int
    into: type[RankedPage]
    response_fields: Callable[[RankedPage, bool], dict[str, Any]]


async def user_page(
    clients: Clients, request: Request[Any, Any, Any], started: float, query: UserPageQuery
) -> Response[bytes]:
    """The page of the query: from the cache under `<function>:<state token>:<digest of args>`, else
    ranked now."""
    cache, max_age_ms = clients.cache, clients.settings.personalized_state_max_age_ms
    user_id, suffix = query.user_id, ":" + args_digest(query.args)
    if max_age_ms <= 0:  # the state read for this request, from main
        state = await read_state(clients, user_id)
    else:  # one round trip: the stored state and the page under it
        found = await cache.personalized_lookup(
            personalized_state_key(user_id), query.function, suffix, clients.settings.cache_ttl_personalized
        )
        usable = found.token is not None and not clients.main_breaker.is_open  # stored states read main
        if usable and 0 <= found.ttl_ms < max_age_ms / 2:
            # Past half its life: read it again in the background, so a user who keeps asking
            # never waits for main; requests meanwhile use the stored one, trusted until it expires.
            clients.state_reads.start(user_id, lambda: read_and_store_state(clients, user_id))
        if found.page is not None:
            return respond(found.page, True, started, request)
        if usable and found.token is not None:
            page_key = f"{query.function}:{found.token}{suffix}"
            return await _rank(clients, request, started, query, page_key, True, is_quiet(found.token))
        # One read per user at a time in this worker; requests for the user meanwhile share it.
        state = await clients.state_reads.run(user_id, lambda: read_and_store_state(clients, user_id))
    token = state.token
    page_key = f"{query.function}:{token}{suffix}"
    cached = await cache.get(page_key)
    if cached is not None:
        return respond(cached, True, started, request)
    return await _rank(clients, request, started, query, page_key, state.fresh_checked, is_quiet(token))


async def read_state(clients: Clients, user_id: str) -> CacheState:
    """The user's state from the database, reading main unless the breaker says main is failing."""
    return await fetch_reading_main(
        clients.pool, clients.main_breaker, clients.settings.main_read_timeout_ms / 1000, CacheState,
        "personalized_cache_state", user_id,
    )  # fmt: skip


async def read_and_store_state(clients: Clients, user_id: str) -> CacheState:
    """The user's state from the database, stored in Redis to be trusted until
    PERSONALIZED_STATE_MAX_AGE_MS after the read began (never a state read without main)."""
    read_at = time.monotonic()
    state = await read_state(clients, user_id)
    keep_ms = clients.settings.personalized_state_max_age_ms - int((time.monotonic() - read_at) * 1000)
    if state.fresh_checked and keep_ms > 0:
        await clients.cache.store_state(personalized_state_key(user_id), state.token, keep_ms)
    return state


async def _rank(
    clients: Clients, request: Request[Any, Any, Any], started: float, query: UserPageQuery, page_key: str,
    fresh_checked: bool, quiet: bool,
) -> Response[bytes]:  # fmt: skip
    """Rank the page now, reading main when the state did (fresh_checked) and found unsynced events
    (not quiet: a quiet state already says main holds none, so the page is ranked from it without
    another read), and store it under page_key when it was ranked as the key says."""
    read_main = fresh_checked and not quiet
    call_args = (*call_arguments(query.args), read_main)
    try:
        ranked = await fetch_row(clients.pool, query.into, query.function, *call_args)
    except asyncpg.PostgresError as error:
        if not (read_main and main_link_failed(error)):
            raise
        # Main broke since the state was read: go on without it.
        ranked = await fetch_row(clients.pool, query.into, query.function, *call_args[:-1], False)
    checked = fresh_checked if quiet else ranked.fresh_checked  # main as the page was ranked from it
    degraded = not (checked and fresh_checked)
    body = page_body(ranked, query.page, query.limit, query.response_fields(ranked, degraded))
    if checked != fresh_checked:
        clients.main_breaker.failed("error")  # never stored under a key that says main was read
    elif in_range(ranked, query.page, query.limit):
        await clients.cache.set(page_key, body, clients.settings.cache_ttl_personalized)
        clients.cache.keep_page(page_key, body, clients.settings.cache_ttl_personalized)
    return respond(body, False, started, request)
