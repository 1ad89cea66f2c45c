"""A provider's "moved" reply that names another day carries that day (Reply.date)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from bot.cli import main
from bot.nlu.replies import Reply, parse_reply, reply_to_json

NOW = datetime(2026, 12, 9, 16, 20)  # a Wednesday


@pytest.mark.parametrize(
    ("lang", "text", "time", "day"),
    [
        ("fr", "déplacé jeudi 10 décembre 9h", "09:00", "2026-12-10"),
        ("en", "moved to Friday 2pm", "14:00", "2026-12-11"),
        ("fr", "décalé à demain 10h", "10:00", "2026-12-10"),
        ("fr", "RDV reporté au 18/12 à 14h30", "14:30", "2026-12-18"),
        ("en", "rescheduled for monday 9am", "09:00", "2026-12-14"),
        # Wednesday said on a Wednesday after the new start has passed is next week's.
        ("en", "moved to wednesday 10am", "10:00", "2026-12-16"),
        # No day named: the date stays out, the time is as before.
        ("en", "moved to 5pm", "17:00", None),
        ("fr", "décalé à 16h", "16:00", None),
    ],
)
def test_moved_reply_carries_the_day(lang: str, text: str, time: str, day: str | None) -> None:
    assert parse_reply(text, lang, NOW) == Reply("modified", time=time, date=day)


def test_without_now_there_is_no_date() -> None:
    assert parse_reply("moved to Friday 2pm", "en") == Reply("modified", time="14:00")


def test_only_a_move_carries_a_day() -> None:
    assert parse_reply("retard 15, demain ça ira mieux", "fr", NOW).date is None
    assert parse_reply("I must cancel friday", "en", NOW) == Reply("provider_cancel")


def test_json_has_the_date_only_when_set() -> None:
    assert reply_to_json(Reply("modified", time="09:00", date="2026-12-10")) == {
        "intent": "modified",
        "time": "09:00",
        "date": "2026-12-10",
    }
    assert "date" not in reply_to_json(Reply("modified", time="09:00"))


def test_cli_now(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["parse-sms", "--lang", "en", "--now", "2026-12-09 16:20", "moved to fri 2pm"]) == 0
    )
    assert json.loads(capsys.readouterr().out) == {
        "intent": "modified",
        "time": "14:00",
        "date": "2026-12-11",
    }
    assert main(["parse-sms", "--lang", "en", "moved to fri 2pm"]) == 0
    assert json.loads(capsys.readouterr().out) == {"intent": "modified", "time": "14:00"}
