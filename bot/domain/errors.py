"""Errors the domain and its ports raise; the flows turn them into messages."""


class DoubleBooking(Exception):
    """The provider already holds an overlapping window (checked by the database)."""


class NotFound(LookupError):
    """A referenced entity does not exist."""


class RosterConflict(ValueError):
    """An agency file clashes with people already in the database (e.g. a phone still held)."""

    def __init__(self, table: str, entry: int, entry_id: str, key: str, problem: str) -> None:
        super().__init__(f'[[{table}]] entry {entry} (id "{entry_id}"), key "{key}": {problem}')
        self.table, self.entry, self.entry_id, self.key = table, entry, entry_id, key
