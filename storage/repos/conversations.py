"""Where each person is in a chat flow."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.services import ports
from storage.repos.sql import Repository


class Conversations(Repository, ports.Conversations):
    """The conversations table (a flow's state as JSON)."""

    async def get(self, person_id: str) -> tuple[str, dict[str, Any]] | None:
        # Read to be written back: on PostgreSQL the row stays locked until the commit, so a
        # timer's step and a message's step for one person do not overwrite each other.
        lock = " FOR UPDATE" if self.sql.dialect == "postgresql" else ""
        row = await self.sql.one(
            f"SELECT flow, state_json FROM conversations WHERE person_id = ?{lock}", (person_id,)
        )
        return None if row is None else (row["flow"], json.loads(row["state_json"]))

    async def save(self, person_id: str, flow: str, state: dict[str, Any], at: datetime) -> None:
        await self.sql.run(
            "INSERT INTO conversations (person_id, flow, state_json, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(person_id) DO UPDATE SET flow = excluded.flow, "
            "state_json = excluded.state_json, updated_at = excluded.updated_at",
            (person_id, flow, json.dumps(state, ensure_ascii=False), at),
        )

    async def end(self, person_id: str) -> None:
        await self.sql.run("DELETE FROM conversations WHERE person_id = ?", (person_id,))
