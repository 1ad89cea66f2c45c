"""What services ask of storage about roster (storage/repos/roster.py implements it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol

from bot.domain.agency import (
    Agency,
    AvailabilityWindow,
    Member,
    Person,
    Provider,
    Service,
)


class Roster(Protocol):
    """Who is on the agency's roster, as the last import (and chat) left it."""

    async def agency(self) -> Agency:
        """The agency; raises NotFound before any import."""
        ...

    async def agency_version(self) -> str:
        """A fingerprint of the imported agency file ('' before the first import)."""
        ...

    async def services(self) -> list[Service]:
        """All services, in the agency file's order."""
        ...

    async def person(self, person_id: str) -> Person:
        """Anyone on the roster by id; providers come with services and availability."""
        ...

    async def by_address(self, channel: str, address: str) -> Person | None:
        """Who writes from this Telegram id or E.164 phone number."""
        ...

    async def people(self, role: str) -> list[Person]:
        """Everyone with this role, in the agency file's order."""
        ...

    async def providers_offering(self, service_id: str) -> list[Provider]:
        """Providers who offer a service."""
        ...

    async def providers(self, ids: Sequence[str]) -> list[Provider]:
        """Providers, complete, in the order of `ids`."""
        ...

    async def subscribers(self) -> list[Member]:
        """Members who have a weekly subscription."""
        ...

    async def set_language(self, person_id: str, language: str) -> None:
        """Remember the language a person chose."""
        ...

    async def set_opted_out(self, person_id: str, opted_out: bool) -> None:
        """Record an SMS opt-out or opt-in."""
        ...

    async def is_opted_out(self, person_id: str) -> bool:
        """Whether a person opted out of SMS."""
        ...

    async def set_telegram_id(self, person_id: str, telegram_id: int) -> None:
        """Link a roster person to the Telegram account that shared their phone number."""
        ...

    async def set_channel(self, person_id: str, channel: str) -> None:
        """Move a person to another channel ("telegram" once they linked their account)."""
        ...

    async def set_schedule(
        self, provider_id: str, windows: Iterable[AvailabilityWindow], days_off: Iterable[date]
    ) -> None:
        """Replace a provider's weekly windows and days off, as changed by the provider (§9)."""
        ...
