"""Stored rows back to domain values, shared by the repositories."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.agency import Member, Person, Provider, Staff, Subscription
from bot.domain.booking import ChangeRequest, Request, Status
from bot.domain.money import from_minor
from bot.services.ports import Escalation, LedgerLine, Offer, OutboxMessage
from storage.codec import from_ts, maybe_ts
from storage.repos.sql import Row


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


def request(row: Row) -> Request:
    """A requests row."""
    return Request(
        id=row["id"],
        member_id=row["member_id"],
        member_seq=row["member_seq"],
        service_id=row["service_id"],
        start=from_ts(row["start_at"]),
        end=from_ts(row["end_at"]),
        status=Status(row["status"]),
        provider_id=row["provider_id"],
        price=from_minor(row["price_minor"]),
        fee=from_minor(row["fee_minor"]),
        charge=from_minor(row["charge_minor"]),
        payout=from_minor(row["payout_minor"]),
        arrived_at=maybe_ts(row["arrived_at"]),
        absent_at=maybe_ts(row["absent_at"]),
        phones_at=maybe_ts(row["phones_at"]),
        expected_at=maybe_ts(row["expected_at"]),
        client_cancel_at=maybe_ts(row["client_cancel_at"]),
        paid_by_credit=bool(row["paid_by_credit"]),
        notes=row["notes"],
        series_id=row["series_id"],
    )


def change(row: Row) -> ChangeRequest:
    """A change_requests row."""
    return ChangeRequest(
        row["id"],
        row["request_id"],
        row["kind"],
        maybe_ts(row["new_start"]),
        maybe_ts(row["new_end"]),
        row["new_service"],
        row["notes"],
        row["status"],
    )


def escalation(row: Row) -> Escalation:
    """An escalations row."""
    return Escalation(
        row["id"],
        row["request_id"],
        row["reason"],
        row["about"],
        row["handled_by"],
        row["outcome"],
    )


def ledger_line(r: Row) -> LedgerLine:
    """A ledger row."""
    return LedgerLine(
        r["id"],
        from_ts(r["created_at"]),
        r["kind"],
        r["request_id"],
        from_minor(r["amount_minor"]),
        from_minor(r["balance_minor"]),
        r["credits"],
    )


def offer(row: Row) -> Offer:
    """An offers row."""
    return Offer(
        row["id"],
        row["request_id"],
        row["provider_id"],
        from_ts(row["sent_at"]),
        from_ts(row["deadline"]),
        row["answer"],
    )


def outbox(row: Row) -> OutboxMessage:
    """An outbox row."""
    options = tuple(
        (str(label), str(act)) for label, act in json.loads(row["options_json"] or "[]")
    )
    return OutboxMessage(
        row["id"],
        from_ts(row["created_at"]),
        row["person_id"],
        row["channel"],
        row["address"],
        row["text"],
        options,
        row["state"],
        broadcast=row["broadcast"],
        attempts=int(row["attempts"]),
        unsure_since=maybe_ts(row["unsure_since"]),
    )
