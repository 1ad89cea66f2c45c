"""Conversions between domain values and stored columns (SQLite text or PostgreSQL types)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.agency import FeeTier, Policy


def ts(moment: datetime) -> str:
    """An aware datetime as sortable UTC text, 'YYYY-MM-DD HH:MM:SS' (whole seconds)."""
    # isoformat and fromisoformat, not strftime/strptime: several per statement, 5x faster.
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(" ")


def not_before(moment: datetime) -> datetime:
    """`moment` rounded up to the whole second, as a lease's end or a retry's time is stored."""
    # Stored times are whole seconds (ts above; PostgreSQL's likewise): cut down, a lease
    # would end up to a second before the moment its holder counts on and renews by, and a
    # retry would go out before the time a 429 asked for.
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def from_ts(value: str | datetime) -> datetime:
    """A stored timestamp back to an aware UTC datetime: SQLite's sortable UTC text, or the
    datetime a PostgreSQL driver returns."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def maybe_ts(value: str | datetime | None) -> datetime | None:
    """from_ts, passing None through (a moment not recorded yet)."""
    return None if value is None else from_ts(value)


def from_day(value: str | date) -> date:
    """A stored day: ISO text (SQLite) or a date (PostgreSQL)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def policy_to_json(policy: Policy) -> str:
    """A Policy as JSON (durations in seconds, money as strings)."""
    return json.dumps(
        {
            "min_notice": _seconds(policy.min_notice),
            "max_advance": _seconds(policy.max_advance),
            "answer_by": policy.answer_by,
            "answer_before_start": _seconds(policy.answer_before_start),
            "reminders_member": [_seconds(d) for d in policy.reminders_member],
            "reminders_provider": [_seconds(d) for d in policy.reminders_provider],
            "checkin_opens": _seconds(policy.checkin_opens),
            "noshow_wait": _seconds(policy.noshow_wait),
            "noshow_fee_cap": str(policy.noshow_fee_cap),
            "late_cancel": _seconds(policy.late_cancel),
            "declare_within": _seconds(policy.declare_within),
            "change_requests": policy.change_requests,
            "escalation_reminder": _seconds(policy.escalation_reminder),
            "contest_within": _seconds(policy.contest_within),
            "booking_horizon": _seconds(policy.booking_horizon),
            "hiatus_after": _seconds(policy.hiatus_after),
            "regular_within": _seconds(policy.regular_within),
            "quiet_hours": list(policy.quiet_hours),
            "scheduling_fee": [
                {"under": None if t.under is None else _seconds(t.under), "fee": str(t.fee)}
                for t in policy.scheduling_fee
            ],
        },
        sort_keys=True,
    )


def policy_from_json(text: str) -> Policy:
    """The inverse of policy_to_json."""
    raw: dict[str, Any] = json.loads(text)

    default = Policy()

    def span(key: str) -> timedelta:
        return timedelta(seconds=int(raw[key]))

    def later(key: str) -> timedelta:
        # Keys added after the first release: a policy stored before them keeps the default.
        value = raw.get(key)
        return getattr(default, key) if value is None else timedelta(seconds=int(value))

    return Policy(
        min_notice=span("min_notice"),
        max_advance=span("max_advance"),
        answer_by=int(raw["answer_by"]),
        answer_before_start=span("answer_before_start"),
        reminders_member=tuple(timedelta(seconds=s) for s in raw["reminders_member"]),
        reminders_provider=tuple(timedelta(seconds=s) for s in raw["reminders_provider"]),
        checkin_opens=span("checkin_opens"),
        noshow_wait=span("noshow_wait"),
        noshow_fee_cap=Decimal(raw["noshow_fee_cap"]),
        late_cancel=span("late_cancel"),
        declare_within=span("declare_within"),
        change_requests=str(raw["change_requests"]),
        escalation_reminder=later("escalation_reminder"),
        contest_within=later("contest_within"),
        booking_horizon=later("booking_horizon"),
        hiatus_after=later("hiatus_after"),
        regular_within=later("regular_within"),
        quiet_hours=tuple(raw.get("quiet_hours", default.quiet_hours)),  # type: ignore[arg-type]
        scheduling_fee=tuple(
            FeeTier(
                None if t["under"] is None else timedelta(seconds=t["under"]), Decimal(t["fee"])
            )
            for t in raw["scheduling_fee"]
        ),
    )
