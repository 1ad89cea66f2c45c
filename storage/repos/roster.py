"""The agency, its services and its people (providers with their services and hours)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from bot.domain.agency import Agency, AvailabilityWindow, Member, Person, Provider, Service
from bot.domain.errors import NotFound
from bot.domain.money import from_minor
from bot.services import ports
from storage.codec import from_day, policy_from_json
from storage.repos import rows
from storage.repos.sql import Executor, Repository, Row, marks


class Roster(Repository, ports.Roster):
    """The agency, services and people tables, with providers' hours and days off."""

    async def agency(self) -> Agency:
        row = await self.sql.one("SELECT * FROM agency WHERE id = 1")
        if row is None:
            raise NotFound("no agency imported")
        return Agency(
            row["name"],
            row["timezone"],
            row["currency"],
            row["language"],
            policy_from_json(row["policy_json"]),
        )

    async def agency_version(self) -> str:
        row = await self.sql.one("SELECT version FROM agency WHERE id = 1")
        return str(row["version"]) if row else ""

    async def services(self) -> list[Service]:
        found = await self.sql.all("SELECT * FROM services ORDER BY position")
        return [
            Service(
                r["id"],
                json.loads(r["name_json"]),
                from_minor(r["hourly_rate_minor"]),
                bool(r["checkin"]),
            )
            for r in found
        ]

    async def person(self, person_id: str) -> Person:
        row = await self.sql.one("SELECT * FROM people WHERE id = ?", (person_id,))
        if row is None:
            raise NotFound(person_id)
        return await self._complete(row)

    async def by_address(self, channel: str, address: str) -> Person | None:
        column = "telegram_id" if channel == "telegram" else "phone"
        key: Any = (
            int(address) if channel == "telegram" and address.lstrip("-").isdigit() else address
        )
        row = await self.sql.one(f"SELECT * FROM people WHERE {column} = ?", (key,))
        return None if row is None else await self._complete(row)

    async def _complete(self, row: Row) -> Person:
        if row["role"] != "provider":
            return rows.person(row)
        return (await self._providers_from_rows([row]))[0]

    async def _providers_from_rows(self, found: Sequence[Row]) -> list[Provider]:
        """Attach services, weekly windows and days off to provider rows in three queries."""
        ids = [r["id"] for r in found]
        services: dict[str, list[str]] = {i: [] for i in ids}
        windows: dict[str, list[AvailabilityWindow]] = {i: [] for i in ids}
        off: dict[str, set[date]] = {i: set() for i in ids}
        where = f"WHERE provider_id IN ({marks(len(ids))})"
        for r in await self.sql.all(f"SELECT * FROM provider_services {where}", ids):
            services[r["provider_id"]].append(r["service_id"])
        for r in await self.sql.all(f"SELECT * FROM availability {where}", ids):
            windows[r["provider_id"]].append(
                AvailabilityWindow(r["weekday"], r["start_min"], r["end_min"])
            )
        for r in await self.sql.all(f"SELECT * FROM days_off {where}", ids):
            off[r["provider_id"]].add(from_day(r["day"]))
        result = []
        for r in found:
            person = rows.person(
                r,
                {
                    "services": tuple(sorted(services[r["id"]])),
                    "availability": tuple(windows[r["id"]]),
                    "unavailable": frozenset(off[r["id"]]),
                },
            )
            assert isinstance(person, Provider)
            result.append(person)
        return result

    async def people(self, role: str) -> list[Person]:
        found = await self.sql.all(
            "SELECT * FROM people WHERE role = ? AND removed_at IS NULL ORDER BY position", (role,)
        )
        if role == "provider":
            return list(await self._providers_from_rows(found))
        return [rows.person(r) for r in found]

    async def providers_offering(self, service_id: str) -> list[Provider]:
        found = await self.sql.all(
            "SELECT p.* FROM people p JOIN provider_services s ON s.provider_id = p.id "
            "WHERE s.service_id = ? ORDER BY p.id",
            (service_id,),
        )
        return await self._providers_from_rows(found)

    async def providers(self, ids: Sequence[str]) -> list[Provider]:
        if not ids:
            return []
        found = await self.sql.all(
            f"SELECT * FROM people WHERE id IN ({marks(len(ids))})", list(ids)
        )
        by_id = {p.id: p for p in await self._providers_from_rows(found)}
        return [by_id[i] for i in ids if i in by_id]

    async def subscribers(self) -> list[Member]:
        found = await self.sql.all(
            "SELECT * FROM people WHERE role = 'member' AND "
            "subscription_service IS NOT NULL ORDER BY position"
        )
        return [m for m in (rows.person(r) for r in found) if isinstance(m, Member)]

    async def set_language(self, person_id: str, language: str) -> None:
        await self.sql.run("UPDATE people SET language = ? WHERE id = ?", (language, person_id))

    async def set_opted_out(self, person_id: str, opted_out: bool) -> None:
        await self.sql.run(
            "UPDATE people SET opted_out = ? WHERE id = ?", (int(opted_out), person_id)
        )

    async def is_opted_out(self, person_id: str) -> bool:
        row = await self.sql.one("SELECT opted_out FROM people WHERE id = ?", (person_id,))
        return bool(row and row["opted_out"])

    async def set_telegram_id(self, person_id: str, telegram_id: int) -> None:
        await self.sql.run(
            "UPDATE people SET telegram_id = NULL WHERE telegram_id = ?", (telegram_id,)
        )
        await self.sql.run(
            "UPDATE people SET telegram_id = ? WHERE id = ?", (telegram_id, person_id)
        )

    async def set_channel(self, person_id: str, channel: str) -> None:
        await self.sql.run("UPDATE people SET channel = ? WHERE id = ?", (channel, person_id))

    async def set_schedule(
        self, provider_id: str, windows: Iterable[AvailabilityWindow], days_off: Iterable[date]
    ) -> None:
        await write_schedule(self.sql, provider_id, windows, days_off)
        await self.sql.run("UPDATE people SET schedule_by_chat = 1 WHERE id = ?", (provider_id,))


async def write_schedule(
    sql: Executor,
    provider_id: str,
    windows: Iterable[AvailabilityWindow],
    days_off: Iterable[date],
) -> None:
    """Replace a provider's weekly windows and days off (by chat or by import)."""
    await sql.run("DELETE FROM availability WHERE provider_id = ?", (provider_id,))
    await sql.run("DELETE FROM days_off WHERE provider_id = ?", (provider_id,))
    await sql.many(
        "INSERT INTO availability (provider_id, weekday, start_min, end_min) VALUES (?, ?, ?, ?)",
        [(provider_id, w.weekday, w.start, w.end) for w in windows],
    )
    await sql.many(
        "INSERT INTO days_off (provider_id, day) VALUES (?, ?)",
        [(provider_id, d) for d in sorted(set(days_off))],
    )
