"""Tests for bot.nlu.hours: a provider's own hours in free text (§9), on its dev set."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.nlu.hours import parse_hours

DEV_SET = Path(__file__).resolve().parent / "data" / "hours-dev.jsonl"


def _outcome(text: str, now: datetime, lang: str) -> dict[str, Any] | None:
    change = parse_hours(text, now, lang)
    if change is None:
        return None
    return {
        "kind": change.kind,
        "weekdays": list(change.weekdays),
        "start": change.start,
        "end": change.end,
        "days": [d.isoformat() for d in change.days],
    }


def test_dev_set_is_read_exactly() -> None:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line]
    failures = []
    for row in rows:
        now = datetime.strptime(row["now"], "%Y-%m-%d %H:%M")
        got = _outcome(row["text"], now, row["lang"])
        if got != row["expect"]:
            failures.append(f"{row['text']!r}: got {got}, expected {row['expect']}")
    assert not failures, "\n".join(failures)


def test_a_range_across_the_new_year_and_a_range_too_long() -> None:
    now = datetime(2026, 12, 9, 16, 20)
    change = parse_hours("congé du 30 décembre au 2 janvier", now, "fr")
    assert change is not None and len(change.days) == 4
    # Three months off is not a chat line: the flow asks again instead of guessing.
    long = parse_hours("off 1 January - 31 March", now, "en")
    assert long is not None and long.kind == "unclear"
