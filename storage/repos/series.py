"""Weekly series (§8): the same window every week, each occurrence a request of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.domain.booking import Request, Series
from bot.services import ports
from storage.codec import from_day, from_ts
from storage.repos import rows
from storage.repos.sql import Repository, Row


def _series(row: Row) -> Series:
    return rows.named(
        Series,
        row,
        first_day=from_day(row["first_day"]),
        until_day=from_day(row["until_day"]) if row["until_day"] else None,
        created_at=from_ts(row["created_at"]),
    )


class SeriesRepo(Repository, ports.SeriesRepo):
    """The series table and the requests of each occurrence."""

    async def add(self, series: Series) -> Series:
        sid = await self.sql.insert(
            "INSERT INTO series (member_id, service_id, provider_id, weekday, start_min, "
            "end_min, first_day, until_day, max_count, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                series.member_id,
                series.service_id,
                series.provider_id,
                series.weekday,
                series.start_min,
                series.end_min,
                series.first_day,
                series.until_day,
                series.max_count,
                series.status,
                series.created_at,
            ),
        )
        return replace(series, id=sid)

    async def get(self, series_id: int) -> Series | None:
        row = await self.sql.one("SELECT * FROM series WHERE id = ?", (series_id,))
        return _series(row) if row else None

    async def live(self) -> list[Series]:
        found = await self.sql.heavy(
            "SELECT * FROM series WHERE status IN ('pending', 'active') ORDER BY id"
        )
        return [_series(r) for r in found]

    async def set_status(self, series_id: int, status: str) -> None:
        await self.sql.run("UPDATE series SET status = ? WHERE id = ?", (status, series_id))

    async def set_provider(self, series_id: int, provider_id: str | None) -> None:
        await self.sql.run(
            "UPDATE series SET provider_id = ? WHERE id = ?", (provider_id, series_id)
        )

    async def days(self, series_id: int) -> set[date]:
        found = await self.sql.all(
            "SELECT series_day FROM requests WHERE series_id = ?", (series_id,)
        )
        return {from_day(r["series_day"]) for r in found}

    async def occurrences(self, series_id: int) -> list[Request]:
        return await self.all_as(
            rows.request,
            "SELECT * FROM requests WHERE series_id = ? ORDER BY start_at",
            (series_id,),
        )
