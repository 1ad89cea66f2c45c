"""Errors the domain and its ports raise; the flows turn them into messages."""

from __future__ import annotations

from typing import Any


class DoubleBooking(Exception):
    """The provider already holds an overlapping window (checked by the database)."""


class SeriesDayTaken(Exception):
    """That occurrence of a weekly series exists already (checked by the database)."""


class IllegalTransition(ValueError):
    """A status change the request's current status does not allow (bot.domain.booking)."""

    def __init__(self, request_id: int, status: Any, move: Any) -> None:
        super().__init__(f"request {request_id}: cannot {move} from {status}")
        self.request_id, self.status, self.move = request_id, status, move


class RequestChanged(Exception):
    """A request's status changed under a transition (another unit of work moved it first):
    nothing was written; redo the work against the request as it stands now."""

    def __init__(self, request_id: int) -> None:
        super().__init__(f"request {request_id} changed meanwhile")
        self.request_id = request_id


class NotFound(LookupError):
    """A referenced entity does not exist."""


class RosterConflict(ValueError):
    """An agency file clashes with people already in the database (e.g. a phone still held)."""

    def __init__(self, table: str, entry: int, entry_id: str, key: str, problem: str) -> None:
        super().__init__(f'[[{table}]] entry {entry} (id "{entry_id}"), key "{key}": {problem}')
        self.table, self.entry, self.entry_id, self.key = table, entry, entry_id, key


class RosterInUse(ValueError):
    """A re-import would remove people who still hold open requests or appointments."""

    def __init__(self, holders: dict[str, int]) -> None:
        listed = ", ".join(f"{pid} ({n} open)" for pid, n in sorted(holders.items()))
        super().__init__(f"left out of the file but still holding requests: {listed}")
        self.holders = holders


class Contention(Exception):
    """Another unit of work running at the same moment got in the way (a deadlock the
    database broke, a serialization failure): the same unit of work, run again, will do."""


class Unavailable(Exception):
    """The database could not be reached or could not write (a lost connection, a server
    restart, a full disk): the unit of work was rolled back and nothing is the work's fault;
    the same work, later, will do."""
