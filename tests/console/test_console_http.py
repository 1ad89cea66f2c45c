"""The console's doors over plain HTTP (§11.1): links, sessions, CSRF, staff only."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bot.flows.router import Text
from bot.services.billing import member_account
from bot.services.console_links import ConsoleLinks
from tests.console.support import SECRET, LiveConsole, live_console


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveConsole]:
    with live_console(tmp_path) as console:
        yield console


def _token(link: str) -> str:
    return link.split("?t=", 1)[1]


def _csrf(http: httpx.Client, path: str = "/console/signin") -> str:
    """This visitor's form token, as every page carries it."""
    found = re.search(r'name="csrf-token" content="([^"]+)"', http.get(path).text)
    assert found
    return found.group(1)


def _sign_in(http: httpx.Client, link: str) -> httpx.Response:
    """Open the link's page, then press its button (the form with its token)."""
    assert 'id="signin"' in http.get(link).text
    return http.post(
        "/console/signin", data={"t": _token(link), "csrf": _csrf(http)}, follow_redirects=False
    )


def _client(live: LiveConsole) -> httpx.Client:
    return httpx.Client(base_url=live.url, timeout=10)


def test_a_link_signs_in_once_and_only_by_its_button(live: LiveConsole) -> None:
    link = live.link("sophie")
    with _client(live) as http:
        http.get(link)  # a chat app drawing a preview opens it: nothing is used up
        assert http.get("/console").status_code == 401  # opening it did not sign in
        done = _sign_in(http, link)
        assert done.status_code == 303 and done.headers["location"] == "/console"
        cookie = done.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
        week = http.get("/console")
        assert week.status_code == 200 and "Semaine" in week.text  # Sophie reads French
    with _client(live) as other:  # the same link again, from another browser: refused
        page = other.get(link)
        assert 'id="signin"' in page.text  # still genuine and young: the button shows...
        again = other.post("/console/signin", data={"t": _token(link), "csrf": _csrf(other)})
        assert again.status_code == 403 and "not valid any more" in again.text  # ...but no
        assert other.get("/console").status_code == 401


def test_a_forged_or_late_link_is_refused(live: LiveConsole) -> None:
    token = _token(live.link("karim"))
    body, signature = token.split(".")
    stranger = ConsoleLinks("another-secret-" + "y" * 40, live.url)
    forged = [
        f"{body}.{signature[:-3]}AAA",  # the signature altered
        f"{body[:-2]}xx.{signature}",  # the payload altered
        _token(stranger.link("karim", live.clock.now())),  # signed with another secret
        "",
        "garbage",
    ]
    with _client(live) as http:
        for bad in forged:
            assert 'id="signin"' not in http.get("/console/signin", params={"t": bad}).text
            refused = http.post("/console/signin", data={"t": bad, "csrf": _csrf(http)})
            assert refused.status_code == 403, bad
        live.clock.advance(timedelta(minutes=16))
        late = http.post("/console/signin", data={"t": token, "csrf": _csrf(http)})
        assert late.status_code == 403
        assert http.get("/console").status_code == 401


def test_only_staff_sign_in(live: LiveConsole) -> None:
    """A member (or a provider) holding a genuinely signed link still gets nothing."""
    with _client(live) as http:
        for someone in ("alice", "marie", "nobody"):
            refused = _sign_in(http, live.link(someone))
            assert refused.status_code == 403
            page = http.get("/console")
            assert page.status_code == 401 and "Only agency staff" in page.text
            assert http.get("/console/members/bob").status_code == 401


def test_chat_console_sends_a_link_to_staff_and_refuses_members(live: LiveConsole) -> None:
    live.call(live.bot.receive_from("alice", Text("/console")))
    live.call(live.bot.receive_from("karim", Text("/console")))
    sent = live.call(live.bot.outbox_after(0))
    (to_alice,) = [m.text for m in sent if m.person_id == "alice"]
    assert "/console/signin" not in to_alice
    (to_karim,) = [m.text for m in sent if m.person_id == "karim"]
    link = re.search(r"(http://\S+)", to_karim)
    assert link and "works once, within 15 minutes" in to_karim
    with _client(live) as http:
        assert _sign_in(http, link.group(1)).status_code == 303


def test_a_form_without_its_token_is_refused_and_changes_nothing(live: LiveConsole) -> None:
    for message in ("childcare on Tuesday 24 November 9am to 11am", "1", "1"):
        live.call(live.bot.receive_from("bob", Text(message)))

    async def owed() -> Decimal:
        async with live.bot.db.transaction() as tx:
            return (await member_account(tx, "bob")).owed

    assert live.call(owed()) == Decimal("15.00")
    with _client(live) as http:
        assert _sign_in(http, live.link("karim")).status_code == 303
        token = _csrf(http, "/console/members/bob")
        for form in ({"amount": "5"}, {"amount": "5", "csrf": "not-the-token"}):
            refused = http.post("/console/members/bob/payment", data=form)
            assert refused.status_code == 403 and "expired" in refused.text
        out = http.post("/console/members/bob/payment", data={"amount": "5", "csrf": token})
        assert out.status_code == 200 and "Payment of €5.00 recorded" in out.text
        # Signing out needs the token too, and another visitor's token is worth nothing.
        with _client(live) as other:
            stolen = _csrf(other)
            assert http.post("/console/signout", data={"csrf": stolen}).status_code == 403
    assert live.call(owed()) == Decimal("10.00")


def test_a_session_ends_after_twelve_idle_hours(live: LiveConsole) -> None:
    with _client(live) as http:
        assert _sign_in(http, live.link("karim")).status_code == 303
        live.clock.advance(timedelta(hours=11, minutes=59))
        assert http.get("/console").status_code == 200  # used: the idle clock starts again
        live.clock.advance(timedelta(hours=11, minutes=59))
        assert http.get("/console/search").status_code == 200
        live.clock.advance(timedelta(hours=12, minutes=1))
        assert http.get("/console").status_code == 401


def _cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "console-link", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


def test_console_link_prints_a_working_link_for_staff_only(live: LiveConsole) -> None:
    db = str(live.bot.db.path)
    env = {"CAREBOT_CONSOLE_SECRET": SECRET, "CAREBOT_CONSOLE_URL": live.url}
    printed = _cli("sophie", "--db", db, env=env)
    assert printed.returncode == 0, printed.stderr
    link = printed.stdout.strip()
    assert link.startswith(f"{live.url}/console/signin?t=")
    # The CLI's clock is the real one, the bot's is virtual: sign in at the link's time.
    issued = int(_payload(link).split("|")[1])
    live.clock.set(datetime.fromtimestamp(issued, UTC))
    with _client(live) as http:
        assert _sign_in(http, link).status_code == 303
    for argv, extra, said in (
        (("alice",), env, "'alice' is not a staff member of this agency"),
        (("nobody",), env, "'nobody' is not a staff member of this agency"),
        (("karim",), {"CAREBOT_CONSOLE_SECRET": ""}, "the console is off"),
        (("karim",), {"CAREBOT_CONSOLE_SECRET": "short"}, "at least 32 characters"),
    ):
        refused = _cli(*argv, "--db", db, env=extra)
        assert refused.returncode != 0 and refused.stdout == ""
        assert len(refused.stderr.strip().splitlines()) == 1 and said in refused.stderr


def _payload(link: str) -> str:
    body = _token(link).split(".")[0]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
