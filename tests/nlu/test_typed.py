"""What people really type (issue 16): the repo's own examples, by kind, must all pass.

tests/nlu/data/when-typed.jsonl and sms-typed.jsonl hold phrasings written for this project,
ten or more per kind, in French and English; each line names its `kind`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from bot.nlu.replies import parse_reply, reply_to_json
from bot.nlu.when import WhenError, parse_when, when_to_json
from tests.nlu.support import dev_set

WHEN_ROWS = dev_set("when-typed.jsonl")
SMS_ROWS = dev_set("sms-typed.jsonl")


def _when(row: dict[str, Any]) -> dict[str, Any]:
    now = datetime.strptime(row["now"], "%Y-%m-%d %H:%M")
    try:
        return dict(when_to_json(parse_when(row["text"], now, row["lang"])))
    except WhenError:
        return {"error": True}


@pytest.mark.parametrize("row", WHEN_ROWS, ids=lambda row: f"{row['kind']}:{row['text']}")
def test_when_typed(row: dict[str, Any]) -> None:
    assert _when(row) == row["expect"]


@pytest.mark.parametrize("row", SMS_ROWS, ids=lambda row: f"{row['kind']}:{row['text']}")
def test_sms_typed(row: dict[str, Any]) -> None:
    assert reply_to_json(parse_reply(row["text"], row["lang"])) == row["expect"]


@pytest.mark.parametrize("rows", [WHEN_ROWS, SMS_ROWS], ids=["when", "sms"])
def test_ten_or_more_of_each_kind_in_both_languages(rows: list[dict[str, Any]]) -> None:
    kinds = Counter(row["kind"] for row in rows)
    assert len(kinds) >= 6
    assert min(kinds.values()) >= 10, kinds
    assert {row["lang"] for row in rows} == {"en", "fr"}
