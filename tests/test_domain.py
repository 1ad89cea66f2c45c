"""Pure domain rules (product §1.2, §1.4, §1.6, §1.9, §5): deadlines, notice, price, ranking.

Every datetime here is Europe/Paris aware, the way agency time is written, and the rules must
count real elapsed time even on the nights the clocks change (2026-03-29 and 2026-10-25).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.agency import AvailabilityWindow, Policy, Provider
from bot.domain.availability import covers, free_spans
from bot.domain.booking import NoticeProblem, answer_deadline, check_window, session_price
from bot.domain.money import from_minor, quantize, to_minor
from bot.domain.ranking import Candidate, rank
from tests.conftest import PARIS, paris

POLICY = Policy()  # the product defaults: 3 h notice, 60 days, answer by 20:00 or 2 h before


def deadline(sent: str, start: str) -> datetime:
    """The answer deadline in agency time, for readable comparisons."""
    return answer_deadline(paris(sent), paris(start), POLICY, PARIS).astimezone(PARIS)


# --- answer_deadline (§1.6) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "start", "expected"),
    [
        # 20:00 the day it is sent comes before "2 h before the start".
        ("2026-11-23 10:00", "2026-11-24 14:00", "2026-11-23 20:00"),
        # Sent after 20:00: the next day's 20:00.
        ("2026-11-23 21:00", "2026-11-25 10:00", "2026-11-24 20:00"),
        # Sent at 20:00 sharp: today's 20:00 is not a deadline any more.
        ("2026-11-23 20:00", "2026-11-25 10:00", "2026-11-24 20:00"),
        # Same day: 2 h before the start comes first.
        ("2026-11-23 10:00", "2026-11-23 15:00", "2026-11-23 13:00"),
        # Early next morning: 2 h before the start, although 20:00 is "the next day's".
        ("2026-11-23 21:00", "2026-11-24 09:00", "2026-11-24 07:00"),
        # 2 h before the start is already past: 15 minutes from now, so they get a chance...
        ("2026-11-23 10:00", "2026-11-23 11:30", "2026-11-23 10:15"),
        # ... but never later than the start itself.
        ("2026-11-23 10:00", "2026-11-23 10:10", "2026-11-23 10:10"),
    ],
)
def test_answer_deadline(sent: str, start: str, expected: str) -> None:
    assert deadline(sent, start) == paris(expected)


def test_answer_deadline_on_the_spring_dst_day() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST. "20:00" is 20:00 on the clock (UTC+2).
    found = deadline("2026-03-28 21:00", "2026-03-30 10:00")
    assert found == paris("2026-03-29 20:00")
    assert found.utcoffset() == timedelta(hours=2)
    assert found.astimezone(UTC) == datetime(2026, 3, 29, 18, 0, tzinfo=UTC)
    # Sent on the day itself, after the change.
    assert deadline("2026-03-29 10:00", "2026-03-29 15:00") == paris("2026-03-29 13:00")


def test_answer_deadline_keeps_two_real_hours_across_the_clock_change() -> None:
    # Start 04:00 CEST = 02:00 UTC. Two real hours before is 00:00 UTC = 01:00 CET; the
    # wall clock's "02:00" does not exist that night, and reading it as 01:00 UTC would
    # leave staff one hour instead of two.
    sent = paris("2026-03-28 23:00")
    start = paris("2026-03-29 04:00")
    found = answer_deadline(sent, start, POLICY, PARIS)
    assert start.astimezone(UTC) - found.astimezone(UTC) == timedelta(hours=2)
    # Autumn (2026-10-25, 03:00 CEST back to 02:00 CET): 03:30 CET is 02:30 UTC.
    sent = paris("2026-10-24 21:00")
    start = paris("2026-10-25 03:30")
    found = answer_deadline(sent, start, POLICY, PARIS)
    assert start.astimezone(UTC) - found.astimezone(UTC) == timedelta(hours=2)


MOMENTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(PARIS)
).map(lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=300, deadline=None)
@given(sent=MOMENTS, ahead=st.integers(min_value=1, max_value=60 * 24 * 10))
def test_answer_deadline_bounds(sent: datetime, ahead: int) -> None:
    sent = sent.astimezone(UTC)  # the app's clock is UTC
    start = sent + timedelta(minutes=ahead)
    found = answer_deadline(sent, start, POLICY, PARIS)
    # Never earlier than sent + 15 min (or the start, when that is sooner), never after start.
    assert min(sent + timedelta(minutes=15), start) <= found <= start
    if found > sent + timedelta(minutes=15):
        # Otherwise it is one of the two rules, whichever comes first.
        local = found.astimezone(PARIS)
        is_answer_by = (local.hour, local.minute) == (20, 0)
        assert is_answer_by or found == start - timedelta(hours=2)
        assert found <= start - timedelta(hours=2)
        assert found - sent <= timedelta(hours=25)  # at the latest the next day's 20:00


# --- check_window (§1.2) ------------------------------------------------------------------

NOW = "2026-11-23 10:00"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-11-23 13:00", "2026-11-23 15:00", None),  # exactly 3 h: allowed
        ("2026-11-23 12:59", "2026-11-23 15:00", NoticeProblem.TOO_SOON),
        ("2026-11-23 09:00", "2026-11-23 11:00", NoticeProblem.TOO_SOON),  # in the past
        ("2027-01-22 10:00", "2027-01-22 12:00", None),  # exactly 60 days: allowed
        ("2027-01-22 10:01", "2027-01-22 12:00", NoticeProblem.TOO_FAR),
        ("2026-11-24 14:00", "2026-11-24 14:00", NoticeProblem.NOT_AFTER_START),
        ("2026-11-24 14:00", "2026-11-24 13:00", NoticeProblem.NOT_AFTER_START),
    ],
)
def test_check_window(start: str, end: str, expected: NoticeProblem | None) -> None:
    assert check_window(paris(start), paris(end), paris(NOW), POLICY) is expected


def test_check_window_counts_real_hours_on_the_spring_dst_night() -> None:
    # 00:30 CET; 03:30 CEST is only two real hours later, 04:30 CEST three.
    now = paris("2026-03-29 00:30")
    end = paris("2026-03-29 08:00")
    assert check_window(paris("2026-03-29 03:30"), end, now, POLICY) is NoticeProblem.TOO_SOON
    assert check_window(paris("2026-03-29 04:30"), end, now, POLICY) is None


def test_check_window_uses_the_agency_policy() -> None:
    policy = Policy(min_notice=timedelta(hours=1), max_advance=timedelta(days=7))
    now = paris(NOW)
    assert check_window(paris("2026-11-23 11:00"), paris("2026-11-23 12:00"), now, policy) is None
    too_far = check_window(paris("2026-11-30 10:01"), paris("2026-11-30 12:00"), now, policy)
    assert too_far is NoticeProblem.TOO_FAR


# --- session_price (§5) and fees (§1.4) ---------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "start", "end", "expected"),
    [
        ("18.00", "2026-11-24 14:00", "2026-11-24 18:00", "72.00"),
        ("18.00", "2026-11-24 14:00", "2026-11-24 15:30", "27.00"),  # 90 minutes
        ("60.00", "2026-11-24 14:00", "2026-11-24 15:00", "60.00"),
        ("12.35", "2026-11-24 14:00", "2026-11-24 15:30", "18.53"),  # 18.525: half up
        ("18.50", "2026-11-24 14:00", "2026-11-24 14:45", "13.88"),  # 13.875: half up
        ("10.00", "2026-11-24 14:00", "2026-11-24 14:20", "3.33"),
        ("25.00", "2026-11-24 22:00", "2026-11-25 01:00", "75.00"),  # across midnight
    ],
)
def test_session_price(rate: str, start: str, end: str, expected: str) -> None:
    price = session_price(Decimal(rate), paris(start), paris(end))
    assert price == Decimal(expected)
    assert price.as_tuple().exponent == -2  # exact cents, never a float


def test_session_price_is_real_time_across_clock_changes() -> None:
    # 01:00-04:00 on the spring night lasts 2 real hours; on the autumn night, 4.
    spring = session_price(Decimal("18.00"), paris("2026-03-29 01:00"), paris("2026-03-29 04:00"))
    autumn = session_price(Decimal("18.00"), paris("2026-10-25 01:00"), paris("2026-10-25 04:00"))
    assert (spring, autumn) == (Decimal("36.00"), Decimal("72.00"))


@pytest.mark.parametrize(
    ("notice", "fee"),
    [
        (timedelta(hours=3), "15.00"),
        (timedelta(hours=23, minutes=59), "15.00"),
        (timedelta(hours=24), "10.00"),
        (timedelta(days=6, hours=23), "10.00"),
        (timedelta(days=7), "5.00"),
        (timedelta(days=60), "5.00"),
    ],
)
def test_scheduling_fee_tiers(notice: timedelta, fee: str) -> None:
    assert POLICY.fee_for_notice(notice) == Decimal(fee)


# --- availability (§1.3) ------------------------------------------------------------------

MON, FRI, SAT, SUN = 0, 4, 5, 6
WEEKDAYS = [AvailabilityWindow(d, 8 * 60, 19 * 60) for d in range(5)]
# Friday evening to midnight, then Saturday's small hours: a night shift across midnight.
NIGHT = [AvailabilityWindow(FRI, 18 * 60, 24 * 60), AvailabilityWindow(SAT, 0, 2 * 60)]
# 2026-11-27 is a Friday, 2026-11-28 a Saturday.


def test_covers_inside_and_at_the_edges() -> None:
    assert covers(WEEKDAYS, [], paris("2026-11-23 17:00"), paris("2026-11-23 19:00"))
    assert covers(WEEKDAYS, [], paris("2026-11-23 08:00"), paris("2026-11-23 09:00"))
    assert not covers(WEEKDAYS, [], paris("2026-11-23 17:00"), paris("2026-11-23 19:01"))
    assert not covers(WEEKDAYS, [], paris("2026-11-23 07:59"), paris("2026-11-23 09:00"))
    assert not covers(WEEKDAYS, [], paris("2026-11-28 10:00"), paris("2026-11-28 11:00"))  # sat


def test_covers_a_window_across_midnight() -> None:
    start, end = paris("2026-11-27 22:00"), paris("2026-11-28 01:00")
    assert covers(NIGHT, [], start, end)
    # Without the Saturday window the night is not covered...
    assert not covers(NIGHT[:1], [], start, end)
    # ... but up to midnight exactly, "24:00" is enough.
    assert covers(NIGHT[:1], [], start, paris("2026-11-28 00:00"))
    assert not covers(NIGHT, [], start, paris("2026-11-28 02:30"))


def test_a_day_off_is_not_covered() -> None:
    assert not covers(
        WEEKDAYS, [date(2026, 11, 23)], paris("2026-11-23 10:00"), paris("2026-11-23 12:00")
    )
    assert covers(
        WEEKDAYS, [date(2026, 11, 24)], paris("2026-11-23 10:00"), paris("2026-11-23 12:00")
    )
    # A day off on the Saturday breaks a Friday night shift that runs into it.
    start, end = paris("2026-11-27 22:00"), paris("2026-11-28 01:00")
    assert not covers(NIGHT, [date(2026, 11, 28)], start, end)
    assert free_spans(NIGHT, [date(2026, 11, 28)], start, end) == [
        (paris("2026-11-27 22:00"), paris("2026-11-28 00:00"))
    ]
    assert (
        free_spans(
            WEEKDAYS, [date(2026, 11, 23)], paris("2026-11-23 10:00"), paris("2026-11-23 12:00")
        )
        == []
    )


def test_touching_windows_merge() -> None:
    split = [AvailabilityWindow(MON, 8 * 60, 12 * 60), AvailabilityWindow(MON, 12 * 60, 18 * 60)]
    start, end = paris("2026-11-23 10:00"), paris("2026-11-23 14:00")
    assert covers(split, [], start, end)
    assert free_spans(split, [], start, end) == [(start, end)]
    # Listed in any order, overlapping: still one span.
    overlapping = [
        AvailabilityWindow(MON, 11 * 60, 18 * 60),
        AvailabilityWindow(MON, 8 * 60, 13 * 60),
    ]
    assert covers(overlapping, [], start, end)
    # A gap is a gap.
    gap = [
        AvailabilityWindow(MON, 8 * 60, 12 * 60),
        AvailabilityWindow(MON, 12 * 60 + 30, 18 * 60),
    ]
    assert not covers(gap, [], start, end)
    assert free_spans(gap, [], start, end) == [
        (paris("2026-11-23 10:00"), paris("2026-11-23 12:00")),
        (paris("2026-11-23 12:30"), paris("2026-11-23 14:00")),
    ]


def test_free_spans_join_across_midnight() -> None:
    start, end = paris("2026-11-27 20:00"), paris("2026-11-28 03:00")
    assert free_spans(NIGHT, [], start, end) == [(start, paris("2026-11-28 02:00"))]
    assert free_spans(NIGHT[:1], [], start, end) == [(start, paris("2026-11-28 00:00"))]
    assert free_spans(WEEKDAYS, [], paris("2026-11-28 10:00"), paris("2026-11-28 12:00")) == []


@settings(max_examples=200, deadline=None)
@given(
    first=st.integers(min_value=0, max_value=47),
    length=st.integers(min_value=1, max_value=40),
)
def test_covers_agrees_with_free_spans(first: int, length: int) -> None:
    """A window is covered exactly when its free spans are the whole window."""
    start = paris("2026-11-27 00:00") + timedelta(minutes=30 * first)
    end = start + timedelta(minutes=30 * length)
    windows = [*NIGHT, *WEEKDAYS]
    spans = free_spans(windows, [], start, end)
    assert covers(windows, [], start, end) == (spans == [(start, end)])
    for a, b in spans:
        assert start <= a < b <= end


# --- ranking (§1.9) -----------------------------------------------------------------------


def provider(pid: str, rating: float | None) -> Provider:
    return Provider(id=pid, name=pid.title(), channel="sms", phone="+33600000000", rating=rating)


def ids(candidates: list[Candidate]) -> list[str]:
    return [c.provider.id for c in candidates]


def test_rank_known_first_then_rating_then_fewer_minutes_then_id() -> None:
    candidates = [
        Candidate(provider("zoe", 5.0), had_before=False, minutes_this_week=0),
        Candidate(provider("yves", 3.0), had_before=True, minutes_this_week=600),
        Candidate(provider("anna", 4.5), had_before=False, minutes_this_week=240),
        Candidate(provider("bea", 4.5), had_before=False, minutes_this_week=120),
        Candidate(provider("carl", 4.5), had_before=False, minutes_this_week=120),
        Candidate(provider("none", None), had_before=False, minutes_this_week=0),
        Candidate(provider("zero", 0.0), had_before=False, minutes_this_week=0),
    ]
    assert ids(rank(candidates)) == ["yves", "zoe", "bea", "carl", "anna", "zero", "none"]


def test_rank_unrated_go_last_even_with_fewer_hours() -> None:
    candidates = [
        Candidate(provider("a", None), had_before=False, minutes_this_week=0),
        Candidate(provider("b", 1.0), had_before=False, minutes_this_week=3000),
    ]
    assert ids(rank(candidates)) == ["b", "a"]
    # A known provider goes first whatever their rating.
    known = Candidate(provider("c", None), had_before=True, minutes_this_week=3000)
    assert ids(rank([*candidates, known])) == ["c", "b", "a"]


@given(
    st.permutations(
        [
            Candidate(provider(f"p{i}", rating), had_before=known, minutes_this_week=minutes)
            for i, (rating, known, minutes) in enumerate(
                [
                    (4.6, False, 60),
                    (4.6, False, 60),
                    (None, True, 0),
                    (4.9, False, 600),
                    (None, False, 0),
                    (4.6, True, 30),
                ]
            )
        ]
    )
)
def test_rank_is_deterministic(candidates: list[Candidate]) -> None:
    assert ids(rank(candidates)) == ["p5", "p2", "p3", "p0", "p1", "p4"]


# --- money (§5) ---------------------------------------------------------------------------


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_minor_units_round_trip(minor: int) -> None:
    amount = from_minor(minor)
    assert amount.as_tuple().exponent == -2
    assert to_minor(amount) == minor
    assert from_minor(to_minor(amount)) == amount


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_two_decimal_amounts_round_trip(amount: Decimal) -> None:
    assert from_minor(to_minor(amount)) == amount


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("2.675", "2.68"),  # a float would say 2.67
        ("-0.005", "-0.01"),  # half away from zero, as an invoice would
        ("10", "10.00"),
    ],
)
def test_quantize_half_up(amount: str, expected: str) -> None:
    assert str(quantize(Decimal(amount))) == expected
    assert to_minor(Decimal(amount)) == int(Decimal(expected) * 100)
