"""Whether a database takes writes: the memory of the last writes, and a probe when idle.

Both engines (storage/db.py, storage/postgres.py) keep one; each names the errors that mean
"the write failed" on its driver.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable

from bot.domain.errors import Unavailable

# /healthz writes a probe row when no unit of work has written for this long, and reports
# writes as failing while any failed this recently (some fail when others fit: a nearly full
# disk takes a one-page write and refuses a bigger one).
PROBE_AFTER = 5.0  # seconds
FAILING_FOR = 10.0  # seconds


class WriteLost(Unavailable, sqlite3.OperationalError):
    """A unit of work lost to the database itself (a dropped connection, a server shut down,
    a COMMIT refused for a full disk), as opposed to a statement the database refused: the
    work is whole and may run again. An OperationalError like every failed write here."""


class WriteHealth:
    """When a write last succeeded, and the last failure (monotonic time, error): a worker
    whose writes fail (disk full, a lock held too long, a lost server) must tell its load
    balancer."""

    def __init__(self, errors: tuple[type[BaseException], ...]) -> None:
        self.errors = errors
        self._wrote_at = time.monotonic()
        self._failed: tuple[float, str] | None = None

    def wrote(self, error: BaseException | None) -> None:
        """Remember how a write went."""
        if error is None:
            self._wrote_at = time.monotonic()
        else:
            self._failed = (time.monotonic(), str(error))

    async def failure(self, probe: Callable[[], Awaitable[None]]) -> str | None:
        """Why writes fail, or None when they work: a write that failed lately, else the
        `probe` write when nothing was written lately."""
        now = time.monotonic()
        if self._failed is not None and now - self._failed[0] < FAILING_FOR:
            return self._failed[1]
        if now - self._wrote_at < PROBE_AFTER:
            return None
        try:
            await probe()
        except self.errors as exc:
            return str(exc)
        return None
