"""Regular members' breaks (§10): who to get back in touch with, and who was nudged."""

from __future__ import annotations

from datetime import datetime

from bot.domain.agency import Member
from bot.services import ports
from bot.services.ports import Regular
from storage.codec import from_ts, maybe_ts
from storage.repos import rows
from storage.repos.sql import Repository

# A session the member had (§10): it took place, whether or not it was declared yet.
_SESSION_SQL = "('confirmed', 'in_progress', 'completed', 'no_show')"
# Something booked for the member: asked, with staff, or held.
_BOOKED_SQL = "('pending', 'escalated', 'confirmed', 'in_progress')"


class Breaks(Repository, ports.Breaks):
    """The breaks table, read against people and their requests."""

    async def regulars(self, now: datetime, regular_since: datetime) -> list[Regular]:
        found_rows = await self.sql.heavy(
            "SELECT p.*, b.watched_since, b.nudged_for, "
            "(SELECT r.end_at FROM requests r WHERE r.member_id = p.id AND r.start_at <= ? "
            f"AND r.status IN {_SESSION_SQL} ORDER BY r.end_at DESC LIMIT 1) AS last_end, "
            "(SELECT r.provider_id FROM requests r WHERE r.member_id = p.id AND r.start_at <= ? "
            f"AND r.status IN {_SESSION_SQL} ORDER BY r.end_at DESC LIMIT 1) AS last_provider, "
            "EXISTS (SELECT 1 FROM requests r WHERE r.member_id = p.id AND r.end_at > ? "
            f"AND r.status IN {_BOOKED_SQL}) AS booked "
            "FROM people p LEFT JOIN breaks b ON b.member_id = p.id "
            "WHERE p.role = 'member' AND p.removed_at IS NULL AND p.opted_out = 0 "
            "ORDER BY p.position",
            (now, now, now),
        )
        found = []
        for r in found_rows:
            last = from_ts(r["last_end"]) if r["last_end"] else None
            member = rows.person(r)
            if not isinstance(member, Member):
                continue
            if member.subscription is None and (last is None or last < regular_since):
                continue
            found.append(
                Regular(
                    member=member,
                    last_session_end=last,
                    last_provider_id=r["last_provider"],
                    booked=bool(r["booked"]),
                    watched_since=maybe_ts(r["watched_since"]),
                    nudged_for=maybe_ts(r["nudged_for"]),
                )
            )
        return found

    async def watch(self, member_id: str, since: datetime) -> None:
        await self.sql.run(
            "INSERT INTO breaks (member_id, watched_since) VALUES (?, ?) "
            "ON CONFLICT(member_id) DO NOTHING",
            (member_id, since),
        )

    async def mark_nudged(self, member_id: str, break_start: datetime) -> bool:
        changed = await self.sql.run(
            "UPDATE breaks SET nudged_for = ? WHERE member_id = ? "
            "AND (nudged_for IS NULL OR nudged_for <> ?)",
            (break_start, member_id, break_start),
        )
        return changed > 0
