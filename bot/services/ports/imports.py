"""What services ask of storage about imports (storage/repos/imports.py implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.domain.agency import (
    AgencyFile,
)
from bot.services.ports.records import (
    RosterChanges,
)


class Imports(Protocol):
    """Writes an agency file over the roster; re-importing the same file changes nothing."""

    async def load(
        self,
        data: AgencyFile,
        at: datetime,
        *,
        force: bool = False,
        reset_schedules: bool = False,
    ) -> RosterChanges:
        """Write an agency file and say what changed; re-importing the same file changes nothing.

        People left out are removed, but RosterInUse is raised instead when some still hold
        open requests, unless `force`. Hours providers changed by chat are kept unless
        `reset_schedules` (§9.3).
        """
        ...
