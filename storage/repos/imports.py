"""Loading an agency file into the roster: what changed, what was removed."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from bot.domain.agency import AgencyFile, Member, Person, Provider
from bot.domain.booking import OPEN
from bot.domain.errors import RosterConflict, RosterInUse
from bot.domain.money import to_minor
from bot.services import ports
from bot.services.ports import RosterChanges
from storage.codec import policy_to_json
from storage.repos.ledger import Ledger
from storage.repos.roster import write_schedule
from storage.repos.sql import Conflict, Repository, marks


class Imports(Repository, ports.Imports):
    """Writes an agency file into agency, services, people and their hours."""

    async def load(self, data: AgencyFile, at: datetime, how: ports.Reimport) -> RosterChanges:
        a = data.agency
        listed = {p.id for p in data.people}
        rows = await self.sql.all(
            "SELECT id FROM people WHERE removed_at IS NULL ORDER BY position"
        )
        leaving = [r["id"] for r in rows if r["id"] not in listed]
        holders = await self._open_requests_of(leaving)
        if holders and not how.force:
            raise RosterInUse(holders)
        before = {pid: await self._snapshot(pid) for pid in listed}
        old_settings = await self._settings_snapshot()
        await self.sql.run(
            "INSERT INTO agency (id, name, timezone, currency, language, policy_json, version) "
            "VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
            "timezone = excluded.timezone, currency = excluded.currency, "
            "language = excluded.language, policy_json = excluded.policy_json, "
            "version = excluded.version",
            (
                a.name,
                a.timezone,
                a.currency,
                a.language,
                policy_to_json(a.policy),
                # The same file gives the same fingerprint: re-importing it changes nothing.
                hashlib.sha256(repr(data).encode()).hexdigest()[:16],
            ),
        )
        for pos, s in enumerate(data.services):
            await self.sql.run(
                "INSERT INTO services (id, name_json, hourly_rate_minor, checkin, position) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name_json = "
                "excluded.name_json, hourly_rate_minor = excluded.hourly_rate_minor, "
                "checkin = excluded.checkin, position = excluded.position",
                (
                    s.id,
                    json.dumps(dict(s.name), ensure_ascii=False),
                    to_minor(s.hourly_rate),
                    int(s.checkin),
                    pos,
                ),
            )
        people: list[tuple[str, Person]] = [
            *(("member", p) for p in data.members),
            *(("provider", p) for p in data.providers),
            *(("staff", p) for p in data.staff),
        ]
        seen: dict[str, int] = {}
        for pos, (role, p) in enumerate(people):
            seen[role] = seen.get(role, 0) + 1
            try:
                await self._upsert_person(role, p, pos)
            except Conflict as exc:
                key = "telegram_id" if "telegram_id" in str(exc) else "phone"
                raise RosterConflict(
                    role,
                    seen[role],
                    p.id,
                    key,
                    "already belongs to someone in the database who is not in this file",
                ) from exc
            if isinstance(p, Provider):
                await self._replace_provider_details(p, how.reset_schedules)
            if isinstance(p, Member):
                await self._opening_balance(p, at)
        for pid in leaving:
            await self._remove_person(pid, at)
        after = {pid: await self._snapshot(pid) for pid in listed}
        return RosterChanges(
            added=tuple(p.id for p in data.people if before[p.id] is None),
            updated=tuple(
                p.id
                for p in data.people
                if before[p.id] is not None and before[p.id] != after[p.id]
            ),
            removed=tuple(leaving),
            settings=old_settings != await self._settings_snapshot(),
        )

    async def _settings_snapshot(self) -> tuple[object, ...]:
        """The agency, its policy and its services as stored, to tell whether they changed."""
        agency = await self.sql.all(
            "SELECT name, timezone, currency, language, policy_json FROM agency"
        )
        services = await self.sql.all("SELECT * FROM services ORDER BY id")
        return tuple(tuple(r.values()) for r in map(dict, agency)), tuple(
            tuple(r.values()) for r in map(dict, services)
        )

    async def _open_requests_of(self, people: list[str]) -> dict[str, int]:
        """How many open requests each of these people holds, as member or provider."""
        held: dict[str, int] = {}
        open_marks = marks(len(OPEN))
        for pid in people:
            row = await self.sql.one(
                f"SELECT count(*) AS n FROM requests WHERE (member_id = ? OR provider_id = ?) "
                f"AND status IN ({open_marks})",
                (pid, pid, *sorted(OPEN)),
            )
            if row is not None and row["n"]:
                held[pid] = int(row["n"])
        return held

    async def _snapshot(self, pid: str) -> tuple[object, ...] | None:
        """What the roster stores about a person (not their place in the file); None if absent."""
        row = await self.sql.one(
            "SELECT * FROM people WHERE id = ? AND removed_at IS NULL", (pid,)
        )
        if row is None:
            return None
        details = []
        for table, order in (
            ("provider_services", "service_id"),
            ("availability", "weekday, start_min"),
            ("days_off", "day"),
        ):
            rows = await self.sql.all(
                f"SELECT * FROM {table} WHERE provider_id = ? ORDER BY {order}", (pid,)
            )
            details.append(tuple(tuple(dict(r).values()) for r in rows))
        return (*(v for k, v in dict(row).items() if k != "position"), *details)

    async def _remove_person(self, pid: str, at: datetime) -> None:
        """Take a person off the roster, keeping the row their history points at.

        Their number and Telegram account are freed (a newcomer may take them over, and their
        messages now come from a stranger); as a provider they offer nothing any more.
        """
        for table in ("provider_services", "availability", "days_off"):
            await self.sql.run(f"DELETE FROM {table} WHERE provider_id = ?", (pid,))
        await self.sql.run(
            "UPDATE people SET removed_at = ?, telegram_id = NULL, phone = NULL, "
            "subscription_service = NULL, subscription_per_week = NULL WHERE id = ?",
            (at, pid),
        )

    async def _upsert_person(self, role: str, p: Person, pos: int) -> None:
        sub = p.subscription if isinstance(p, Member) else None
        rating = p.rating if isinstance(p, Provider) else None
        bio = json.dumps(dict(p.bio), ensure_ascii=False) if isinstance(p, Provider) else "{}"
        await self.sql.run(
            "INSERT INTO people (id, role, name, channel, telegram_id, phone, language, "
            "subscription_service, subscription_per_week, rating, bio_json, position) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "role = excluded.role, name = excluded.name, "
            "channel = CASE WHEN excluded.telegram_id IS NULL AND people.telegram_id IS NOT NULL "
            "THEN people.channel ELSE excluded.channel END, "
            # A Telegram account linked through /start survives re-importing the file.
            "telegram_id = COALESCE(excluded.telegram_id, people.telegram_id), "
            "phone = excluded.phone, "
            "language = COALESCE(excluded.language, people.language), "
            "subscription_service = excluded.subscription_service, "
            "subscription_per_week = excluded.subscription_per_week, rating = excluded.rating, "
            "bio_json = excluded.bio_json, position = excluded.position, removed_at = NULL",
            (
                p.id,
                role,
                p.name,
                p.channel,
                p.telegram_id,
                p.phone,
                p.language,
                sub.service if sub else None,
                sub.per_week if sub else None,
                rating,
                bio,
                pos,
            ),
        )

    async def _replace_provider_details(self, p: Provider, reset_schedule: bool) -> None:
        await self.sql.run("DELETE FROM provider_services WHERE provider_id = ?", (p.id,))
        await self.sql.many(
            "INSERT INTO provider_services (provider_id, service_id) VALUES (?, ?)",
            [(p.id, s) for s in p.services],
        )
        own = await self.sql.one("SELECT schedule_by_chat FROM people WHERE id = ?", (p.id,))
        if own is not None and own["schedule_by_chat"] and not reset_schedule:
            return  # the provider's own hours win over the file's (§9.3)
        await write_schedule(self.sql, p.id, p.availability, p.unavailable)
        await self.sql.run("UPDATE people SET schedule_by_chat = 0 WHERE id = ?", (p.id,))

    async def _opening_balance(self, m: Member, at: datetime) -> None:
        """Credits and balance from the file are opening entries, written once per member."""
        row = await self.sql.one(
            "SELECT 1 FROM ledger WHERE member_id = ? AND kind = 'opening'", (m.id,)
        )
        if row is None and (m.balance or m.credits):
            opening = ports.LedgerEntry(
                at, "opening", m.balance, m.id, balance_delta=m.balance, credits_delta=m.credits
            )
            await Ledger(self.sql).add(opening)
