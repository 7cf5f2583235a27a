"""A warning logged once per key per interval, with how many occurrences it stands for."""

from __future__ import annotations

import logging
import time
from typing import Any


class ThrottledLog:
    """One warning per key per interval, with how many occurrences it stands for (`count_field`: this
    one and those left unlogged since the last line); the table of keys is bounded (the oldest
    entries leave first). For events that repeat on every request during an outage or an attack."""

    def __init__(
        self,
        logger: logging.Logger,
        event: str,
        count_field: str,
        interval_s: float = 60.0,
        max_keys: int = 10_000,
    ) -> None:
        self.logger, self.event, self.count_field = logger, event, count_field
        self.interval_s = interval_s
        self.max_keys = max_keys
        self._seen: dict[str, list[float]] = {}  # key -> [logged at, occurrences not yet logged]

    def reset(self) -> None:
        """Forget every key (a new app starts without a past)."""
        self._seen.clear()

    def record(self, key: str, **extra: Any) -> None:
        """Count an occurrence under key; log it (with extra) unless the key was logged this interval."""
        now = time.monotonic()
        entry = self._seen.get(key)
        if entry is not None and now - entry[0] < self.interval_s:
            entry[1] += 1
            return
        occurrences = 1 + (int(entry[1]) if entry is not None else 0)
        self.logger.warning(self.event, extra=extra | {self.count_field: occurrences})
        self._seen.pop(key, None)
        self._seen[key] = [now, 0]
        while len(self._seen) > self.max_keys:
            self._seen.pop(next(iter(self._seen)))
