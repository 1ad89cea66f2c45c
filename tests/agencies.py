"""Agency files written by tests: the part they share (the agency and its two services)."""

from __future__ import annotations


def agency_head(name: str) -> str:
    """The [agency] table and the childcare and cleaning services, for an agency file."""
    return f"""\
[agency]
name = "{name}"
timezone = "Europe/Paris"
currency = "EUR"
language = "fr"

[[service]]
id = "childcare"
name = {{ fr = "Garde d'enfants", en = "Childcare" }}
hourly_rate = "18.00"

[[service]]
id = "cleaning"
name = {{ fr = "Ménage", en = "Cleaning" }}
hourly_rate = "25.00"
"""
