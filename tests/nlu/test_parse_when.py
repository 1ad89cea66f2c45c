"""Tests for bot.nlu.when: the dev set, one example per convention, and fuzzing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.nlu.when import When, WhenError, parse_when, when_to_json
from tests.nlu.support import dev_set, dev_set_failures

NOW = datetime(2026, 12, 9, 16, 20)  # a Wednesday, as in the dev set


def _outcome(text: str, now: datetime, lang: str) -> dict[str, Any]:
    try:
        return dict(when_to_json(parse_when(text, now, lang)))
    except WhenError:
        return {"error": True}


def test_dev_set_accuracy() -> None:
    rows = dev_set("when-dev.jsonl")
    failures = dev_set_failures(rows, _outcome)
    accuracy = 1 - len(failures) / len(rows)
    assert accuracy >= 0.95, f"accuracy {accuracy:.1%}; failures:\n" + "\n".join(failures)


def window(written: str) -> dict[str, str | None]:
    """`when_to_json` of a window written "2026-12-10", "2026-12-10 09:00" or
    "2026-12-10 09:00-17:00"; "+1" after the end puts it on the next day ("22:00-02:00+1")."""
    day, _, hours = written.partition(" ")
    start, _, end = hours.partition("-")
    end_day = day
    if end.endswith("+1"):
        end, end_day = end[:-2], (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    return {
        "date": day,
        "start": f"{day}T{start}" if start else None,
        "end": f"{end_day}T{end}" if end else None,
    }


# (lang, text, the window as `window` reads it) with now = Wednesday 2026-12-09 16:20.
EXAMPLES = [
    # A weekday alone, with this/ce or next/prochain: the nearest one still ahead of now.
    ("en", "friday", "2026-12-11"),
    ("fr", "vendredi", "2026-12-11"),
    ("en", "wednesday", "2026-12-16"),
    ("en", "wednesday 6-9pm", "2026-12-09 18:00-21:00"),
    ("en", "wednesday 9-12", "2026-12-16 09:00-12:00"),
    ("en", "next wednesday 10am", "2026-12-16 10:00"),
    ("fr", "mercredi prochain 18h-20h", "2026-12-09 18:00-20:00"),
    ("fr", "ce jeudi à 9h", "2026-12-10 09:00"),
    ("en", "tues 9-11", "2026-12-15 09:00-11:00"),
    ("fr", "tous les lundis de 9h à 12h", "2026-12-14 09:00-12:00"),
    # ... next week / de la semaine prochaine: that weekday in the next calendar week.
    ("en", "thursday next week 2-4pm", "2026-12-17 14:00-16:00"),
    ("en", "next week on monday at 9", "2026-12-14 09:00"),
    ("fr", "mercredi de la semaine prochaine", "2026-12-16"),
    ("fr", "la semaine prochaine, le mardi de 9h à 11h", "2026-12-15 09:00-11:00"),
    ("en", "friday in two weeks 9-12", "2026-12-25 09:00-12:00"),
    # Dates without a year are their next occurrence; numeric dates are day first; ISO.
    ("en", "December 3rd", "2027-12-03"),
    ("fr", "le 3 décembre", "2027-12-03"),
    ("en", "3/12", "2027-12-03"),
    ("fr", "03/12/2027 10h", "2027-12-03 10:00"),
    ("en", "12/15 9am", "2026-12-15 09:00"),
    ("en", "2026-12-20T14:00", "2026-12-20 14:00"),
    ("fr", "le 1er janvier de 8h à 20h", "2027-01-01 08:00-20:00"),
    ("fr", "le premier décembre", "2027-12-01"),
    ("en", "Thursday, December 17, 2026 9-12", "2026-12-17 09:00-12:00"),
    ("en", "dec. 17, 9:00 am - noon", "2026-12-17 09:00-12:00"),
    ("fr", "lun. 21 déc. 8h-12h", "2026-12-21 08:00-12:00"),
    ("en", "may 3 at 9", "2027-05-03 09:00"),
    ("en", "mar 15 9am-11am", "2027-03-15 09:00-11:00"),
    ("fr", "mar 9h-11h", "2026-12-15 09:00-11:00"),
    ("en", "15-dec 9am", "2026-12-15 09:00"),  # via dateparser
    # A day of the month alone.
    ("en", "on the 20th 2pm to 6pm", "2026-12-20 14:00-18:00"),
    ("fr", "le 20 de 14h à 18h", "2026-12-20 14:00-18:00"),
    ("fr", "samedi 12 de 9h à 12h", "2026-12-12 09:00-12:00"),
    ("en", "Monday 14th 9-5", "2026-12-14 09:00-17:00"),
    ("en", "the 9 to 5 shift tomorrow", "2026-12-10 09:00-17:00"),
    # Relative days.
    ("fr", "demain 19h-22h", "2026-12-10 19:00-22:00"),
    ("fr", "après-demain matin", "2026-12-11"),
    ("en", "day after tomorrow at noon", "2026-12-11 12:00"),
    ("fr", "aujourd’hui 18h–21h", "2026-12-09 18:00-21:00"),
    ("fr", "ce soir", "2026-12-09"),
    ("en", "in 2 days at 10am", "2026-12-11 10:00"),
    ("fr", "dans 3 jours de 9h à 12h", "2026-12-12 09:00-12:00"),
    # An end earlier than the start rolls to the next day.
    ("en", "tomorrow 10pm to 2am", "2026-12-10 22:00-02:00+1"),
    ("fr", "cette nuit de 22h à 7h", "2026-12-09 22:00-07:00+1"),
    ("fr", "ce soir de 19h à 1h", "2026-12-09 19:00-01:00+1"),
    # am/pm inference: the most plausible care hours.
    ("en", "tomorrow 9 to 5", "2026-12-10 09:00-17:00"),
    ("en", "sat 9-1", "2026-12-12 09:00-13:00"),
    ("en", "friday 2-6pm", "2026-12-11 14:00-18:00"),
    ("en", "tomorrow 10-2pm", "2026-12-10 10:00-14:00"),
    ("en", "tomorrow 9am-5", "2026-12-10 09:00-17:00"),
    ("en", "tomorrow 8-8", "2026-12-10 08:00-20:00"),
    ("en", "tomorrow at 3", "2026-12-10 15:00"),
    ("en", "tomorrow nine to five", "2026-12-10 09:00-17:00"),
    ("en", "tomorrow night 10 to 6", "2026-12-10 22:00-06:00+1"),
    ("en", "this afternoon 5-7", "2026-12-09 17:00-19:00"),
    ("en", "today at 9", "2026-12-09 21:00"),  # 9 am is gone: 9 pm
    ("fr", "demain soir de 8h à 11h", "2026-12-10 20:00-23:00"),
    ("fr", "demain de 9 à 12h", "2026-12-10 09:00-12:00"),
    ("fr", "demain 14-18h", "2026-12-10 14:00-18:00"),
    ("fr", "demain à trois heures", "2026-12-10 15:00"),
    ("en", "good evening, tomorrow 9-12", "2026-12-10 09:00-12:00"),
    # Clock formats.
    ("en", "tomorrow 7.30am - 9.45am", "2026-12-10 07:30-09:45"),
    ("en", "tomorrow 9 a.m. to 1 p.m.", "2026-12-10 09:00-13:00"),
    ("en", "tomorrow 14:00h-18:00h", "2026-12-10 14:00-18:00"),
    ("fr", "demain 8 h 30 - 12 h 15", "2026-12-10 08:30-12:15"),
    ("fr", "demain entre 9h et 11h30", "2026-12-10 09:00-11:30"),
    ("fr", "demain 9h et demie", "2026-12-10 09:30"),
    ("fr", "demain vers 9h", "2026-12-10 09:00"),
    ("fr", "demain à partir de 14h", "2026-12-10 14:00"),
    ("en", "tomorrow until 5pm", "2026-12-10"),
    # noon/midi, midnight/minuit.
    ("en", "monday noon-6pm", "2026-12-14 12:00-18:00"),
    ("fr", "lundi de midi à minuit", "2026-12-14 12:00-00:00+1"),
    ("fr", "demain midi et demi", "2026-12-10 12:30"),
    # Durations and starts relative to now.
    ("en", "tomorrow 10am for 2 hours", "2026-12-10 10:00-12:00"),
    ("en", "tomorrow from 10 for an hour and a half", "2026-12-10 10:00-11:30"),
    ("en", "tomorrow 9am, a 3 hour visit", "2026-12-10 09:00-12:00"),
    ("fr", "demain 10h pour 1h30", "2026-12-10 10:00-11:30"),
    ("fr", "demain de 10h pendant une demi-heure", "2026-12-10 10:00-10:30"),
    ("fr", "quelqu'un pour 14h demain", "2026-12-10 14:00"),
    ("en", "in 30 minutes", "2026-12-09 16:50"),
    ("fr", "dans 2h pour 3h", "2026-12-09 18:20-21:20"),
    # Inside a sentence.
    ("fr", "Bonjour, j'aurais besoin de quelqu'un demain de 14h à 18h svp",
     "2026-12-10 14:00-18:00"),
    ("en", "I need help on the 3rd of January, 10am to 12pm", "2027-01-03 10:00-12:00"),
    ("fr", "je voudrais une aide mardi prochain de 14h30 à 16h30 merci", "2026-12-15 14:30-16:30"),
    ("fr", "24h/24 demain", "2026-12-10"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), EXAMPLES)
def test_examples(lang: str, text: str, expected: str) -> None:
    assert when_to_json(parse_when(text, NOW, lang)) == window(expected)


@pytest.mark.parametrize(
    ("lang", "text", "reason"),
    [
        ("en", "", "empty"),
        ("fr", "   ", "empty"),
        ("en", "next week", "vague"),
        ("fr", "la semaine prochaine", "vague"),
        ("fr", "ce week-end", "vague"),
        ("en", "in december", "vague"),
        ("fr", "mars", "vague"),
        ("en", "asap", "vague"),
        ("en", "from 9 to 5", "no_date"),
        ("fr", "à 14h", "no_date"),
        ("en", "hello 🙂", "no_date"),
        ("fr", "le 31 février", "invalid_date"),
        ("en", "31/02 9am", "invalid_date"),
        # What cannot be is refused, not guessed.
        ("en", "this afternoon 2-5", "past"),  # already begun at 16:20
        ("fr", "hier à 14h", "past"),
        ("en", "march 3rd 2025 at 10", "past"),
        ("fr", "demain de 15h à 14h", "too_long"),
        ("en", "tomorrow 8am to 9pm", "too_long"),
        ("fr", "demain 25h", "invalid_time"),
        ("en", "tomorrow 14:75", "invalid_time"),
        ("fr", "le 30 février", "invalid_date"),
    ],
)
def test_errors(lang: str, text: str, reason: str) -> None:
    with pytest.raises(WhenError) as caught:
        parse_when(text, NOW, lang)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        # On a Friday morning, "friday" means today only while the start is still ahead.
        ("2026-12-11 08:00", "friday 10-2", "2026-12-11 10:00-14:00"),
        ("2026-12-11 08:00", "ce vendredi 7h", "2026-12-18 07:00"),
        ("2026-12-11 08:00", "vendredi", "2026-12-18"),
        # Across the new year.
        ("2026-12-31 23:00", "dans 3 heures pour 2h", "2027-01-01 02:00-04:00"),
        ("2026-12-31 23:00", "1/1 9-12", "2027-01-01 09:00-12:00"),
        ("2026-12-31 23:00", "monday next week", "2027-01-04"),
        # Seconds in `now` are dropped: minute precision.
        ("2026-12-09 16:20:45", "in 1 hour", "2026-12-09 17:20"),
    ],
)
def test_other_nows(now: str, text: str, expected: str) -> None:
    assert when_to_json(parse_when(text, datetime.fromisoformat(now), "fr")) == window(expected)


def test_when_to_json() -> None:
    when = When(date(2026, 12, 10), datetime(2026, 12, 10, 14, 0), None)
    assert when_to_json(when) == {"date": "2026-12-10", "start": "2026-12-10T14:00", "end": None}


def test_error_is_value_error() -> None:
    error = WhenError("no_date")
    assert isinstance(error, ValueError)
    assert error.reason == "no_date"


REASONS = {
    "empty", "no_date", "vague", "invalid_date", "invalid_time", "past", "too_long",
    "out_of_range",
}  # fmt: skip


def _check(text: str, now: datetime, lang: str) -> str:
    """Parse, and hold every parse to what a booking can be; returns "ok" or the error reason."""
    try:
        when = parse_when(text, now, lang)
    except WhenError as error:
        assert error.reason in REASONS, error.reason
        return error.reason
    assert isinstance(when, When)
    assert when.date >= now.date()
    if when.start is not None:
        assert when.start.date() == when.date
        assert when.start.second == 0
        assert when.start >= now.replace(second=0, microsecond=0), "a start in the past"
    if when.end is not None:
        assert when.start is not None
        assert when.start < when.end <= when.start + timedelta(hours=12), "window over 12 h"
    return "ok"


WORD_SOUP = (
    "tomorrow demain 9 12 - to à de h 14h30 pm am : / . 2026-12-20 12/12 dec décembre le the "
    "3rd for pour pendant dans in hours heures next week prochain semaine friday vendredi mar "
    "midi minuit noon midnight entre et between and 9999 0 00 24h 24 99 1er premier o'clock "
    "une demi heure 🙂 \x00 \u200b é ١٢ ５ ce soir"
)
WORDS = WORD_SOUP.split(" ")
NOWS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=st.text(max_size=200), now=NOWS, lang=st.sampled_from(["en", "fr", "de", ""]))
def test_random_text_never_crashes(text: str, now: datetime, lang: str) -> None:
    assert _check(text, now, lang) in REASONS | {"ok"}


@FUZZ
@given(
    words=st.lists(st.sampled_from(WORDS), max_size=12),
    joiner=st.sampled_from([" ", "", "-"]),
    now=NOWS,
    lang=st.sampled_from(["en", "fr"]),
)
def test_word_soup_never_crashes(words: list[str], joiner: str, now: datetime, lang: str) -> None:
    assert _check(joiner.join(words), now, lang) in REASONS | {"ok"}


@pytest.mark.parametrize("unit", ["9-", "le ", "9h ", "de 9 ", "9:", "dec ", "a", "🙂", "\x00"])
def test_long_input(unit: str) -> None:
    assert _check(unit * (2000 // len(unit)), NOW, "fr") in REASONS | {"ok"}


# Booking phrases built the way people type them, with any hours: whatever the words and the
# moment, a parse is a window of at most 12 hours that starts no earlier than now.
DAYS = [
    "tomorrow", "tmrw", "2mrw", "demain", "dmn", "deamin", "today", "auj", "tonight", "friday",
    "firday", "vendredi", "vendredii", "mardi", "mrd", "next tuesday", "jeudi prochain",
    "le 24", "the 3rd", "3/1", "31/12", "christmas eve", "noel", "le jour de l'an",
    "new year's eve", "le 2 janvier 2026", "dec 15", "sat", "sunday next week",
]  # fmt: skip
CLOCK = st.one_of(
    st.integers(0, 27).map(str),
    st.integers(0, 27).map(lambda h: f"{h}h"),
    st.tuples(st.integers(0, 27), st.integers(0, 75)).map(lambda t: f"{t[0]}:{t[1]:02d}"),
    st.tuples(st.integers(1, 12), st.sampled_from(["am", "pm", "a", "p"])).map(
        lambda t: f"{t[0]}{t[1]}"
    ),
    st.sampled_from(["noon", "midi", "minuit", "midnight", "half past two", "quarter to one",
                     "trois heures et demie", "dix-sept heures", "two thirty", "fiveish"]),
)  # fmt: skip
SEPARATORS = ["-", " to ", " à ", " till ", " jusqu'à "]
DURATIONS = ["", " for 2 hours", " pendant une heure et demie", " for an hour and a quarter",
             " pour 14h", " for 13 hours", " pendant trois quarts d'heure"]  # fmt: skip


@FUZZ
@given(
    day=st.sampled_from(DAYS),
    start=CLOCK,
    end=st.one_of(st.none(), CLOCK),
    separator=st.sampled_from(SEPARATORS),
    duration=st.sampled_from(DURATIONS),
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)),
    lang=st.sampled_from(["en", "fr"]),
)
def test_a_parse_is_never_over_12_hours_nor_in_the_past(
    day: str,
    start: str,
    end: str | None,
    separator: str,
    duration: str,
    now: datetime,
    lang: str,
) -> None:
    times = start if end is None else f"{start}{separator}{end}"
    assert _check(f"{day} {times}{duration}", now, lang) in REASONS | {"ok"}
