"""Console sessions: a signed, HttpOnly, SameSite cookie, 12 hours idle; its CSRF token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.console_links import signed, unsigned

COOKIE = "carebot_console"
IDLE = timedelta(hours=12)
_KIND = "session"  # a session's payload starts so: a link (3 fields) never reads as one


@dataclass(frozen=True)
class Session:
    """Who is signed in ('' before sign-in), the form token, and when it was last used."""

    staff_id: str
    csrf: str
    seen: int  # epoch seconds

    @classmethod
    def anonymous(cls, now: datetime) -> Session:
        """A visitor who has not signed in yet: only a form token."""
        return cls("", secrets.token_urlsafe(24), int(now.timestamp()))

    def touched(self, now: datetime) -> Session:
        """The same session, used now (the idle clock starts again)."""
        return Session(self.staff_id, self.csrf, int(now.timestamp()))


def read(secret: str, cookie: str | None, now: datetime) -> Session | None:
    """The session a cookie holds; None when absent, forged or idle for 12 hours."""
    payload = unsigned(secret, cookie or "")
    if payload is None:
        return None
    parts = payload.split("|")
    if len(parts) != 4 or parts[0] != _KIND or not parts[3].isdigit():
        return None
    session = Session(parts[1], parts[2], int(parts[3]))
    if now.timestamp() - session.seen > IDLE.total_seconds():
        return None
    return session


def write(secret: str, session: Session) -> str:
    """The cookie value for a session."""
    return signed(secret, f"{_KIND}|{session.staff_id}|{session.csrf}|{session.seen}")
