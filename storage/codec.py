"""Conversions between domain values and SQLite columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.agency import FeeTier, Policy


def ts(moment: datetime) -> str:
    """An aware datetime as sortable UTC text, 'YYYY-MM-DD HH:MM:SS' (whole seconds)."""
    # isoformat and fromisoformat, not strftime/strptime: several per statement, 5x faster.
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(" ")


def from_ts(text: str) -> datetime:
    """Sortable UTC text back to an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


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

    def span(key: str) -> timedelta:
        return timedelta(seconds=int(raw[key]))

    def span_or(key: str, default: timedelta) -> timedelta:
        return span(key) if key in raw else default

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
        # Agencies imported before these keys existed keep the product defaults.
        escalation_reminder=span_or("escalation_reminder", Policy.escalation_reminder),
        contest_within=span_or("contest_within", Policy.contest_within),
        scheduling_fee=tuple(
            FeeTier(
                None if t["under"] is None else timedelta(seconds=t["under"]), Decimal(t["fee"])
            )
            for t in raw["scheduling_fee"]
        ),
    )
