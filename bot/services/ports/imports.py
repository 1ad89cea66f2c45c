"""What services ask of storage about imports (storage/repos/imports.py implements it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.agency import (
    AgencyFile,
)
from bot.services.ports.records import (
    RosterChanges,
)


@dataclass(frozen=True)
class Reimport:
    """How an import treats what the database already holds."""

    force: bool = False  # remove people left out even while they hold open requests
    reset_schedules: bool = False  # overwrite the hours providers changed by chat (§9.3)


class Imports(Protocol):
    """Writes an agency file over the roster; re-importing the same file changes nothing."""

    async def load(self, data: AgencyFile, at: datetime, how: Reimport) -> RosterChanges:
        """Write an agency file and say what changed; re-importing the same file changes nothing.

        People left out are removed, but RosterInUse is raised instead when some still hold
        open requests, unless `how.force`. Hours providers changed by chat are kept unless
        `how.reset_schedules` (§9.3).
        """
        ...
