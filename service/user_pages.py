"""Pages that depend on one user's state (POST /personalized, POST /similar with a user_id): cached
under a token of the data versions and the user's unsynced events, kept in Redis for
PERSONALIZED_STATE_MAX_AGE_MS so a hit pays no main-DB read, nor a miss under a state that saw no
unsynced events, and of the user's experiment variant, whose overrides of recs.settings the ranking
applies."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import asyncpg
import msgspec

from service.cache import personalized_state_key, user_tag
from service.clients import Clients
from service.db import CallTimedOut, fetch_row, fetch_row_with_overrides, fetch_row_within
from service.main_reads import (
    MAIN_CANCEL_GRACE_S,
    fetch_reading_main,
    main_link_failed,
    without_main_after_timeout,
)
from service.online import Variant
from service.recommendations import (
    Page,
    RankedPage,
    args_digest,
    call_arguments,
    in_range,
    page_body,
    respond,
)
from service.replicas import ReadTarget


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

    function: str  # also the route
    user_id: str
    args: tuple[Any, ...]
    page: int
    limit: int
    into: type[RankedPage]
    response_fields: Callable[[RankedPage, bool], dict[str, Any]]


async def user_page(clients: Clients, started: float, query: UserPageQuery) -> Page:
    """The page of the query: from the cache under `<function>:<state token>:{<user digest>}:<digest
    of args and variant>` (the user's hash tag: the same Redis Cluster slot as their state), else
    ranked now (with the variant's overrides).

    A page is ranked on the server its state was read on (or on the primary, which is never behind
    a standby), so it is never older than the token it is stored under: with standbys, a token
    found in Redis without its page is read again where the page is ranked.
    """
    cache, max_age_ms = clients.cache, clients.settings.personalized_state_max_age_ms
    user_id = query.user_id
    variant = await clients.online.variant_of(clients.pool, user_id)
    digest = args_digest(query.args if variant is None else (*query.args, variant.cache_tag))
    suffix = f":{user_tag(user_id)}:{digest}"
    if max_age_ms > 0:  # one round trip: the stored state and the page under it
        found = await cache.personalized_lookup(
            personalized_state_key(user_id), query.function, suffix, clients.settings.cache_ttl_personalized
        )
        usable = found.token is not None and not clients.main_breaker.is_open  # stored states read main
        if usable and 0 <= found.ttl_ms < max_age_ms / 2:
            # Past half its life: read it again in the background, so a user who keeps asking
            # never waits for main; requests meanwhile use the stored one, trusted until it expires.
            clients.state_reads.start(
                user_id, lambda: clients.router.run_for_user(
                    cache, user_id, lambda target: read_and_store_state(clients, target, user_id)
                ),
            )  # fmt: skip
        if found.page is not None:
            return _respond(clients, found.page, True, started, query, variant)
        if usable and found.token is not None and not clients.router.enabled:
            page_key = f"{query.function}:{found.token}{suffix}"
            primary, quiet = clients.router.primary, is_quiet(found.token)
            return await _rank(clients, primary, started, query, page_key, True, quiet, variant)

    def page_key_of(token: str) -> str:
        return f"{query.function}:{token}{suffix}"

    async def on(target: ReadTarget) -> Page:
        read: StateRead
        if max_age_ms <= 0:  # the state read for this request, from main
            read = StateRead(await read_state(clients, target, user_id))
        else:  # one read per user and server at a time in this worker; requests meanwhile share it
            read = await clients.state_reads.run(
                f"{user_id}@{target.name}",
                lambda: read_and_store_state(clients, target, user_id, page_key_of),
            )
        state = read.state
        page_key = page_key_of(state.token)
        # The page was looked up with the storing of the state when this request's read stored it.
        cached = read.page if read.page_key == page_key else await cache.get(page_key)
        if cached is not None:
            return _respond(clients, cached, True, started, query, variant)
        checked, quiet = state.fresh_checked, is_quiet(state.token)
        return await _rank(clients, target, started, query, page_key, checked, quiet, variant)

    return await clients.router.run_for_user(cache, user_id, on)


def _respond(
    clients: Clients, page: bytes, hit: bool, started: float, query: UserPageQuery, variant: Variant | None
) -> Page:
    """respond() for the query's route and user, in their variant."""
    return respond(clients, page, hit, started, route=query.function, user_id=query.user_id, variant=variant)


async def read_state(clients: Clients, target: ReadTarget, user_id: str) -> CacheState:
    """The user's state from the target's database, reading main unless the breaker says main is failing."""
    return await fetch_reading_main(
        target.pool, clients.main_breaker, clients.settings.main_read_timeout_ms / 1000, CacheState,
        "personalized_cache_state", user_id,
    )  # fmt: skip


class StateRead(NamedTuple):
    """A state read, and the page looked up in the round trip that stored it (page_key None: none
    was)."""

    state: CacheState
    page_key: str | None = None
    page: bytes | None = None


async def read_and_store_state(
    clients: Clients, target: ReadTarget, user_id: str, page_key_of: Callable[[str], str] | None = None
) -> StateRead:
    """The user's state from the target's database, stored in Redis to be trusted until
    PERSONALIZED_STATE_MAX_AGE_MS after the read began (never a state read without main); with
    page_key_of, the page under the state's token is looked up in the same round trip."""
    read_at = time.monotonic()
    state = await read_state(clients, target, user_id)
    keep_ms = clients.settings.personalized_state_max_age_ms - int((time.monotonic() - read_at) * 1000)
    if state.fresh_checked and keep_ms > 0:
        state_key = personalized_state_key(user_id)
        if page_key_of is None:
            await clients.cache.store_state(state_key, state.token, keep_ms)
        else:
            page_key = page_key_of(state.token)
            _, page = await clients.cache.store_state_and_get(state_key, state.token, keep_ms, page_key)
            return StateRead(state, page_key, page)
    return StateRead(state)


async def _rank(
    clients: Clients, target: ReadTarget, started: float, query: UserPageQuery, page_key: str,
    fresh_checked: bool, quiet: bool, variant: Variant | None,
) -> Page:  # fmt: skip
    """Rank the page now on the target, reading main when the state did (fresh_checked) and found
    unsynced events (not quiet: a quiet state already says main holds none, so the page is ranked
    from it without another read), with the variant's overrides of recs.settings, and store it under
    page_key when it was ranked as the key says."""
    read_main = fresh_checked and not quiet
    arguments = call_arguments(query.args)
    overrides = None if variant is None else variant.overrides

    async def rank(with_main: bool) -> RankedPage:
        """The page, reading main or not; a read of main within MAIN_READ_TIMEOUT_MS, as the
        state's read."""
        args = (*arguments, with_main)
        within = clients.settings.main_read_timeout_ms / 1000 if with_main else None
        if overrides is not None:
            return await fetch_row_with_overrides(
                target.pool, overrides, query.into, query.function, *args,
                timeout_s=within, cancel_grace_s=MAIN_CANCEL_GRACE_S,
            )  # fmt: skip
        if within is not None:
            return await fetch_row_within(
                target.pool, within, query.into, query.function, *args, cancel_grace_s=MAIN_CANCEL_GRACE_S
            )
        return await fetch_row(target.pool, query.into, query.function, *args)

    try:
        ranked = await rank(read_main)
    except CallTimedOut:
        # Main slowed down since the state was read: the page goes on without it (degraded, never
        # stored under a key that says main was read), and the breaker opens if that answers.
        ranked = await without_main_after_timeout(clients.main_breaker, rank(False))
    except asyncpg.PostgresError as error:
        if not (read_main and main_link_failed(error)):
            raise
        # Main broke since the state was read: go on without it.
        ranked = await rank(False)
    checked = fresh_checked if quiet else ranked.fresh_checked  # main as the page was ranked from it
    degraded = not (checked and fresh_checked)
    body = page_body(ranked, query.page, query.limit, query.response_fields(ranked, degraded))
    if checked != fresh_checked:
        clients.main_breaker.failed("error")  # never stored under a key that says main was read
    elif in_range(ranked, query.page, query.limit):
        await clients.cache.set(page_key, body, clients.settings.cache_ttl_personalized)
        clients.cache.keep_page(page_key, body, clients.settings.cache_ttl_personalized)
    return _respond(clients, body, False, started, query, variant)
