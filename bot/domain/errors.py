"""Errors the domain and its ports raise; the flows turn them into messages."""


class DoubleBooking(Exception):
    """The provider already holds an overlapping window (checked by the database)."""


class NotFound(LookupError):
    """A referenced entity does not exist."""
