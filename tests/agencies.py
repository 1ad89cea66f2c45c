"""Agency files written by tests: the part they share (the agency and its two services), and
the person entries each suite lists after it."""

from __future__ import annotations

import json

# What a key of a person entry may hold; JSON writes these the way TOML reads them.
Value = str | int | float | list[str]


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


def entry(table: str, **keys: Value) -> str:
    """One [[table]] entry (member, provider, staff): a line per key, in the order given."""
    lines = [f"[[{table}]]"]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in keys.items()]
    return "\n".join(lines)


def agency_file(name: str, *entries: str) -> str:
    """A whole agency file: `agency_head(name)`, then the entries, a blank line between."""
    return agency_head(name) + "\n" + "\n\n".join(entries) + "\n"
