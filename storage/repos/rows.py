"""Stored rows back to domain values, shared by the repositories."""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from bot.domain.agency import Member, Person, Provider, Staff, Subscription
from bot.domain.booking import ChangeRequest, Request, Status
from bot.domain.money import from_minor
from bot.services.ports import AccountLine, Escalation, LedgerLine, Offer, OutboxMessage
from storage.codec import from_day, from_ts, maybe_ts
from storage.repos.sql import Row

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")

# The day-of-care moments a request records (migrations 002 and 009).
MARKS = frozenset({"arrived_at", "absent_at", "phones_at", "expected_at", "client_cancel_at"})


def person(row: Row, extra: dict[str, Any] | None = None) -> Person:
    """Build the right Person subclass from a people row (providers need `extra`)."""
    common: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "channel": row["channel"],
        "telegram_id": row["telegram_id"],
        "phone": row["phone"],
        "language": row["language"],
    }
    if row["role"] == "member":
        sub = None
        if row["subscription_service"]:
            sub = Subscription(row["subscription_service"], int(row["subscription_per_week"]))
        return Member(**common, subscription=sub)
    if row["role"] == "provider":
        return Provider(
            **common, rating=row["rating"], bio=json.loads(row["bio_json"]), **(extra or {})
        )
    return Staff(**common)


def named(record: type[R], row: Row, **read: object) -> R:
    """A record whose fields take the row's columns of the same names, but for those given in
    `read` (columns converted, or named otherwise)."""
    return record(
        **{f.name: read[f.name] if f.name in read else row[f.name] for f in fields(record)}
    )


def money(row: Row, **columns: str) -> dict[str, Decimal]:
    """Amounts stored in minor units, by field name (`field="column"`)."""
    return {name: from_minor(row[column]) for name, column in columns.items()}


def request(row: Row) -> Request:
    """A requests row."""
    return named(
        Request,
        row,
        start=from_ts(row["start_at"]),
        end=from_ts(row["end_at"]),
        status=Status(row["status"]),
        **money(
            row, price="price_minor", fee="fee_minor", charge="charge_minor", payout="payout_minor"
        ),
        paid_by_credit=bool(row["paid_by_credit"]),
        series_day=from_day(row["series_day"]) if row["series_day"] else None,
        **{mark: maybe_ts(row[mark]) for mark in MARKS},
    )


def change(row: Row) -> ChangeRequest:
    """A change_requests row."""
    return named(
        ChangeRequest, row, new_start=maybe_ts(row["new_start"]), new_end=maybe_ts(row["new_end"])
    )


def escalation(row: Row) -> Escalation:
    """An escalations row."""
    return named(Escalation, row)


def ledger_line(row: Row) -> LedgerLine:
    """A ledger row."""
    return named(
        LedgerLine,
        row,
        created_at=from_ts(row["created_at"]),
        **money(row, amount="amount_minor", balance_delta="balance_minor"),
        credits_delta=row["credits"],
    )


def account_line(row: Row) -> AccountLine:
    """A ledger row with the accounts it is on."""
    return AccountLine(ledger_line(row), row["member_id"], row["provider_id"])


def offer(row: Row) -> Offer:
    """An offers row."""
    return named(Offer, row, sent_at=from_ts(row["sent_at"]), deadline=from_ts(row["deadline"]))


def outbox(row: Row) -> OutboxMessage:
    """An outbox row."""
    options = tuple(
        (str(label), str(act)) for label, act in json.loads(row["options_json"] or "[]")
    )
    return named(
        OutboxMessage,
        row,
        created_at=from_ts(row["created_at"]),
        options=options,
        attempts=int(row["attempts"]),
        unsure_since=maybe_ts(row["unsure_since"]),
    )
