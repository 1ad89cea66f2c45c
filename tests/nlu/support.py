"""What the parser tests share: reading a labelled dev set and listing where a parser differs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


def dev_set(name: str) -> list[dict[str, Any]]:
    """The rows of tests/nlu/data/NAME (JSON lines: text, lang, expect; now, kind where used)."""
    text = (DATA / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def dev_set_failures(
    rows: list[dict[str, Any]], outcome: Callable[[str, datetime, str], object]
) -> list[str]:
    """One line per row whose outcome is not the expected one."""
    failures = []
    for row in rows:
        now = datetime.strptime(row["now"], "%Y-%m-%d %H:%M")
        got = outcome(row["text"], now, row["lang"])
        if got != row["expect"]:
            failures.append(f"{row['text']!r}: got {got}, expected {row['expect']}")
    return failures
