"""The live read of the main DB on the request path: bounded in time, and skipped for a while after
it fails (a circuit breaker per worker), so a slow or unreachable main degrades answers instead of
holding requests and connections."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import asyncpg

from service.db import CallTimedOut, cancel_and_wait, fetch_row, fetch_row_within

log = logging.getLogger("service.main_reads")
MAIN_SERVER = "main_db"  # the foreign server of main (migrate points it at MAIN_DATABASE_URL)
# How long a connection whose read of main was given up on may take to end the cancelled read
# (postgres_fdw cancels it on main and ends its remote transaction: a few round trips) before
# it is closed instead: kept, its backend keeps its warm connection to main (see db.py).
MAIN_CANCEL_GRACE_S = 2.0


def fdw_session_with_main_lost(error: BaseException) -> bool:
    """Whether postgres_fdw itself gave up its session with main (its messages name the server): it
    then refuses to commit the transaction that used the session."""
    return main_link_failed(error) and f'"{MAIN_SERVER}"' in str(error)


def main_link_failed(error: BaseException) -> bool:
    """Whether the recs server reported its link to main broken (SQLSTATE class 08, from the FDW:
    main unreachable, or its backend gone mid-read, which postgres_fdw raises when the statement
    ends, past any handler in SQL). The recs DB itself answered: the request can go on without main.
    Not the recs connection itself lost (asyncpg's own 08003, raised without a word from the
    server): that is the recs DB failing, a 503, and no reason to skip main."""
    if isinstance(error, asyncpg.exceptions.ConnectionDoesNotExistError):
        return False
    return isinstance(error, asyncpg.PostgresError) and str(getattr(error, "sqlstate", "")).startswith("08")


class ChecksMain(Protocol):
    """A row of an api.* function that may read main: whether it could."""

    fresh_checked: bool


Checked = TypeVar("Checked", bound=ChecksMain)
Result = TypeVar("Result")


class SingleFlight(Generic[Result]):
    """At most one call per key at a time in this worker: a caller that asks while one runs awaits
    its result instead of making another (so a popular user's expiring state costs one read of
    main per worker, not one per request in flight); start() runs one in the background."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[Result]] = {}

    def _launch(self, key: str, call: Callable[[], Awaitable[Result]]) -> asyncio.Future[Result]:
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(call())
            self._running[key] = running
            running.add_done_callback(lambda done: self._finished(key, done))
        return running

    def _finished(self, key: str, done: asyncio.Future[Result]) -> None:
        if self._running.get(key) is done:
            del self._running[key]
        if not done.cancelled() and done.exception() is not None:  # retrieved: awaited or not
            log.debug("single_flight.failed", extra={"error": repr(done.exception())})

    async def run(self, key: str, call: Callable[[], Awaitable[Result]]) -> Result:
        """call()'s result, or that of the call for key already running."""
        return await asyncio.shield(self._launch(key, call))

    def start(self, key: str, call: Callable[[], Awaitable[Result]]) -> None:
        """Run call() in the background unless one for key is running."""
        self._launch(key, call)

    async def stop(self) -> None:
        """Cancel the calls running and wait for them to unwind (a worker's shutdown, before its pools
        close: a read of a slow main would otherwise hold its connection; the server has drained
        the requests by then, so none awaits a call and sees it cancelled)."""
        await cancel_and_wait(list(self._running.values()))

    def __len__(self) -> int:
        return len(self._running)


class MainBreaker:
    """Whether this worker tries the live read of main now.

    Closed: every call tries. After a failure (main unreachable, an error, or no answer within the
    time limit) it opens for open_s: calls skip main (their answers say degraded). Then one call
    at a time probes: success closes it, failure opens it again. A read that began before the
    breaker opened says nothing about main since: its success does not close it (on a slow main,
    the reads in flight when one timed out closed it again at once, and it flapped).
    """

    def __init__(self, open_s: float) -> None:
        self.open_s = open_s
        self._open_until: float | None = None
        self._opened_at = float("-inf")
        self._probing = False

    @property
    def is_open(self) -> bool:
        """True while calls skip main (the probe aside)."""
        return self._open_until is not None

    def try_main(self) -> bool:
        """Whether this call may read main; a True while open makes it the one probe."""
        if self._open_until is None:
            return True
        if self._probing or time.monotonic() < self._open_until:
            return False
        self._probing = True
        return True

    def succeeded(self, started: float) -> None:
        """Main answered a read begun at started (time.monotonic()): close, unless the read began
        before the breaker opened."""
        if self._open_until is None:
            return
        if started < self._opened_at:
            return
        log.info("main_breaker.closed")
        self._open_until, self._probing = None, False

    def failed(self, reason: str) -> None:
        """Main failed or did not answer in time: open (again) for open_s."""
        now = time.monotonic()
        if self._open_until is None:
            log.warning("main_breaker.opened", extra={"reason": reason, "open_s": self.open_s})
            self._opened_at = now
        self._open_until, self._probing = now + self.open_s, False

    def released(self) -> None:
        """A probe ended without an outcome (the request was cancelled): let another call probe."""
        self._probing = False


async def fetch_reading_main(
    pool: asyncpg.Pool, breaker: MainBreaker, timeout_s: float, into: type[Checked], function: str, *args: Any
) -> Checked:
    """api.<function>(*args, read_main) as `into`: with read_main true when the breaker allows and
    within timeout_s; when main fails (in the row, or as a broken link) or is slow, the breaker
    opens and the call is made again with read_main false (the row's fresh_checked then says so).

    A call given up on says only that the recs DB and main together were slow: the breaker opens
    once the call without main has answered. When that call fails too, the recs DB is the one
    failing (down, hanging, a table of the serving path locked): the request fails (a 503) and
    main is not skipped for it (it was, for MAIN_BREAKER_OPEN_S after every recs DB hiccup)."""
    if breaker.try_main():
        started = time.monotonic()
        try:
            row = await fetch_row_within(
                pool, timeout_s, into, function, *args, True, cancel_grace_s=MAIN_CANCEL_GRACE_S
            )
        except CallTimedOut:
            try:
                return await without_main_after_timeout(
                    breaker, fetch_row(pool, into, function, *args, False)
                )
            except BaseException:
                breaker.released()
                raise
        except asyncpg.PostgresError as error:
            if not main_link_failed(error):
                breaker.released()
                raise
            breaker.failed("error")
        except BaseException:
            breaker.released()
            raise
        else:
            if row.fresh_checked:
                breaker.succeeded(started)
                return row
            breaker.failed("error")
            return row
    return await fetch_row(pool, into, function, *args, False)


async def without_main_after_timeout(breaker: MainBreaker, call: Awaitable[Result]) -> Result:
    """The result of call (the same call without main) after one reading main gave no answer in
    time: the breaker opens once it answers (main was the slow one), and is left as it was when
    it fails too (the recs DB is failing: no verdict on main)."""
    result = await call
    breaker.failed("timeout")
    return result
