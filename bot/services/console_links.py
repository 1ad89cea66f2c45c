"""One-time sign-in links to the staff console (§11.1): HMAC-signed, 15 minutes, used once.

A link names a staff member, when it was issued and a random nonce; it is signed with the
console secret, so nobody can forge one. "Used once" is the nonce's row in the deliveries
seen-once table, taken in the same transaction that opens the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

LINK_LIFETIME = timedelta(minutes=15)
SEEN_ONCE = "console-link"  # the key space of used links in the seen-once table


def sign(secret: str, payload: str) -> str:
    """The URL-safe HMAC-SHA256 of a payload under the console secret."""
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signed(secret: str, payload: str) -> str:
    """`payload.signature`, base64url-encoded payload."""
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{body}.{sign(secret, body)}"


def unsigned(secret: str, token: str) -> str | None:
    """The payload of a token signed with `secret`; None when forged, cut or garbled."""
    body, _, signature = token.partition(".")
    if not body or not signature or not hmac.compare_digest(sign(secret, body), signature):
        return None
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class LinkClaim:
    """What a valid link says: who, and the nonce that makes it usable once."""

    staff_id: str
    nonce: str


@dataclass(frozen=True)
class ConsoleLinks:
    """Makes and reads sign-in links; `base_url` is where `carebot run` is reached."""

    secret: str
    base_url: str

    def link(self, staff_id: str, now: datetime) -> str:
        """A fresh one-time sign-in link for a staff member."""
        payload = f"{staff_id}|{int(now.timestamp())}|{secrets.token_urlsafe(12)}"
        return f"{self.base_url.rstrip('/')}/console/signin?t={signed(self.secret, payload)}"

    def read(self, token: str, now: datetime) -> LinkClaim | None:
        """Who a token signs in, if it is genuine and younger than 15 minutes; else None."""
        payload = unsigned(self.secret, token)
        if payload is None or payload.count("|") != 2:
            return None
        staff_id, issued, nonce = payload.split("|")
        if not issued.isdigit():
            return None
        age = now - datetime.fromtimestamp(int(issued), UTC)
        if age > LINK_LIFETIME or age < -timedelta(minutes=1):
            return None
        return LinkClaim(staff_id, nonce)
