"""Who is free when: the searches behind offering a request to providers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.booking import HOLDING
from bot.services import ports
from storage.repos.sql import Repository, marks

_HOLDING_SQL = "(" + ", ".join(f"'{s.value}'" for s in sorted(HOLDING)) + ")"
_NOT_OFF = "AND NOT EXISTS (SELECT 1 FROM days_off d WHERE d.provider_id = p.id AND d.day = ?) "
# Holds nothing overlapping [?, ?) (start, then end). SQLite probes each candidate's requests
# in-process, microseconds each (on p.id: SQLite then probes after the joins, not before). On
# PostgreSQL ~800 probes a look-up cost ~100 ms (issue 7): there the busy providers come from
# one scan of the holding spans' index (migration 018), hashed once (NOT IN a subquery), and
# the candidates `who` are checked against that set as they are read.
_OVERLAPS = {
    "sqlite": "? < r.end_at AND r.start_at < ?",
    "postgresql": "tstzrange(r.start_at, r.end_at, '[)') && tstzrange(?, ?, '[)')",
}
_NOT_BUSY = {
    "sqlite": "AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.provider_id = p.id "
    f"AND r.status IN {_HOLDING_SQL} AND {_OVERLAPS['sqlite']})",
    "postgresql": "AND {who} NOT IN (SELECT r.provider_id FROM requests r "
    f"WHERE r.provider_id IS NOT NULL AND r.status IN {_HOLDING_SQL} "
    f"AND {_OVERLAPS['postgresql']})",
}


class Availability(Repository, ports.Availability):
    """Reads availability, days_off, provider_services, people and requests."""

    async def free(self, service_id: str, span: ports.DaySpan) -> list[tuple[str, float | None]]:
        # Driven by the weekday index: only providers working then are looked at. Windows are
        # merged at import, so at most one window of a day can cover a span (no duplicates).
        not_busy = _NOT_BUSY[self.sql.dialect].format(who="a.provider_id")
        found = await self.sql.heavy(
            "SELECT p.id, p.rating FROM availability a "
            "JOIN provider_services s ON s.provider_id = a.provider_id AND s.service_id = ? "
            "JOIN people p ON p.id = a.provider_id "
            "WHERE a.weekday = ? AND a.start_min <= ? AND a.end_min >= ? " + _NOT_OFF + not_busy,
            (service_id, span.weekday, span.first, span.last, span.day, span.start, span.end),
        )
        return [(r["id"], r["rating"]) for r in found]

    async def partly_free(self, service_id: str, span: ports.DaySpan, limit: int) -> list[str]:
        weekday, first, last = span.weekday, span.first, span.last
        not_off_nor_busy = (span.day, span.start, span.end)
        not_busy = _NOT_BUSY[self.sql.dialect].format(who="p.id")
        found = await self.sql.heavy(
            "SELECT p.id FROM people p JOIN provider_services s ON s.provider_id = p.id "
            "WHERE s.service_id = ? AND EXISTS (SELECT 1 FROM availability a WHERE "
            "a.provider_id = p.id AND a.weekday = ? AND a.start_min < ? AND a.end_min > ?) "
            "AND NOT EXISTS (SELECT 1 FROM availability a WHERE a.provider_id = p.id AND "
            "a.weekday = ? AND a.start_min <= ? AND a.end_min >= ?) " + _NOT_OFF + not_busy + " "
            "ORDER BY p.rating IS NULL, p.rating DESC, p.id LIMIT ?",
            (service_id, weekday, last, first, weekday, first, last, *not_off_nor_busy, limit),
        )
        return [r["id"] for r in found]

    async def busy(self, start: datetime, end: datetime) -> set[str]:
        # The windows the same-day search leaves here (across midnight, a series' days, a
        # re-offer): on PostgreSQL one search of the spans' index by the window too, rather
        # than every holding request read for its predicate.
        found = await self.sql.heavy(
            "SELECT DISTINCT r.provider_id FROM requests r WHERE r.provider_id IS NOT NULL "
            f"AND r.status IN {_HOLDING_SQL} AND {_OVERLAPS[self.sql.dialect]}",
            (start, end),
        )
        return {r["provider_id"] for r in found}

    async def had_before(self, member_id: str) -> set[str]:
        return await self.provider_ids(
            "SELECT DISTINCT provider_id FROM requests WHERE member_id = ? "
            "AND provider_id IS NOT NULL "
            "AND status IN ('confirmed', 'in_progress', 'completed', 'no_show') "
            "AND provider_id NOT IN (SELECT o.provider_id FROM offers o JOIN requests q "
            "ON q.id = o.request_id WHERE q.member_id = ? AND o.cancelled_at IS NOT NULL)",
            (member_id, member_id),
        )

    async def minutes_booked(
        self, start: datetime, end: datetime, provider_ids: Sequence[str]
    ) -> dict[str, int]:
        if not provider_ids:
            return {}
        if self.sql.dialect == "sqlite":
            minutes = "(julianday(end_at) - julianday(start_at)) * 1440"
        else:
            minutes = "EXTRACT(EPOCH FROM (end_at - start_at)) / 60"
        found = await self.sql.all(
            f"SELECT provider_id, SUM({minutes}) AS m "
            f"FROM requests WHERE provider_id IN ({marks(len(provider_ids))}) "
            "AND status IN ('pending', 'confirmed', 'in_progress', 'completed') "
            "AND start_at >= ? AND start_at < ? GROUP BY provider_id",
            (*provider_ids, start, end),
        )
        return {r["provider_id"]: round(r["m"]) for r in found}
