"""The staff console in a real browser: Playwright driving Debian's Chromium (§11).

Screenshots of each page land in artifacts/console/ (git-ignored), kept by CI as artifacts.
The tests skip, saying why, where /usr/bin/chromium or Playwright is missing; `.ci/run`
installs both and so never skips them.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.flows.router import Press, Text
from tests.console.support import LiveConsole, live_console

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"

if shutil.which(CHROMIUM) is None:
    pytest.skip(
        f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (CI does)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright missing: pip install -e '.[browser]'"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveConsole]:
    with live_console(tmp_path) as console:
        yield console


def _signed_in(browser: Any, live: LiveConsole, staff: str, **context: Any) -> Any:
    """A page signed in as a staff member, through a one-time link and its button."""
    page = browser.new_context(**context).new_page()
    page.goto(live.link(staff))
    page.click("#signin")
    page.wait_for_url(f"{live.url}/console")
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _book(live: LiveConsole, member: str, *messages: str) -> None:
    for message in messages:
        live.call(live.bot.receive_from(member, Text(message)))


def test_sign_in_and_read_the_week(browser: Any, live: LiveConsole) -> None:
    _book(live, "bob", "childcare with Marie on Tuesday 24 November 9am to 11am", "1", "1")
    _book(live, "marie", "OUI")  # confirmed
    _book(live, "alice", "garde mercredi 25 novembre de 14h à 18h", "1", "1")  # Marie again
    _book(live, "fanny", "cleaning with Marie on Friday 27 November 1pm to 4pm", "1", "1")
    page = _signed_in(browser, live, "karim", viewport={"width": 1280, "height": 800})
    assert page.title().startswith("Week")
    heading = page.locator("thead th")
    assert heading.nth(1).inner_text() == "Monday 23 November"  # today first
    assert "today" in (heading.nth(1).get_attribute("class") or "")
    marie = page.locator("tbody tr", has_text="Marie Dupont").locator(".appt")
    assert [marie.nth(i).inner_text() for i in range(marie.count())] == [
        "09:00-11:00",
        "14:00-18:00",
        "13:00-16:00",
    ]
    assert "confirmed" in (marie.first.get_attribute("class") or "")
    assert "pending" in (marie.nth(1).get_attribute("class") or "")
    cells = page.locator("tbody tr", has_text="Marie Dupont").locator("td")
    assert [cells.nth(day).locator(".appt").count() for day in range(7)] == [0, 1, 1, 0, 1, 0, 0]
    assert page.locator("tbody tr", has_text="Paul Girard").locator(".appt").count() == 0
    _shot(page, "week")
    # On a phone the calendar scrolls sideways inside its frame; the page itself does not.
    phone = _signed_in(browser, live, "sophie", viewport={"width": 390, "height": 844})
    assert phone.locator("thead th").nth(1).inner_text() == "lundi 23 novembre"
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    _shot(phone, "week-phone")


def test_web_and_chat_race_for_one_escalation(browser: Any, live: LiveConsole) -> None:
    """Karim presses 'close as unfilled' in chat while Sophie presses it on the web."""
    _book(live, "david", "massage dimanche de 10h à 11h", "1")  # nobody free: to staff
    page = _signed_in(browser, live, "sophie", viewport={"width": 1280, "height": 800})
    page.goto(f"{live.url}/console/inbox")
    card = page.locator("article.card").first
    assert "David Petit" in card.inner_text()
    _shot(page, "inbox")
    number = int(re.sub(r"\D", "", card.locator("h2").inner_text()))
    chat = live.soon(live.bot.receive_from("karim", Press(f"eu:{number}")))
    card.get_by_role("button", name=re.compile("^Clore")).click(timeout=10_000)
    chat.result(30)
    handled = page.locator("article.card p.handled")
    handled.wait_for()
    winner = "Karim" if "Karim" in handled.inner_text() else "Sophie"
    assert handled.inner_text().startswith(f"Traitée par {winner}")
    sent = live.call(live.bot.outbox_after(0))
    told = [m for m in sent if "as unfilled." in m.text or "non pourvue." in m.text]
    assert sorted(m.person_id or "" for m in told) == ["karim", "sophie"]  # all told, once
    closed = {m.person_id or "": m.text for m in told}
    loser = "sophie" if winner == "Karim" else "karim"
    assert winner in closed[loser]  # told who acted
    assert winner not in closed[winner.lower()]  # the one who acted: told it is done
    refusals = [
        m for m in sent if m.person_id == loser and ("already" in m.text or "déjà" in m.text)
    ]
    assert len(refusals) == 1, [m.text for m in sent]
    _shot(page, "inbox-handled")


def test_record_a_payment_and_see_the_statement(browser: Any, live: LiveConsole) -> None:
    _book(live, "bob", "childcare on Tuesday 24 November 9am to 11am", "1", "1")
    page = _signed_in(browser, live, "karim", viewport={"width": 1280, "height": 800})
    page.goto(f"{live.url}/console/search")
    page.fill("input[name=q]", "+44 7700 900123")
    page.press("input[name=q]", "Enter")
    page.get_by_role("link", name="Bob Smith").click()
    assert page.locator("#owed").inner_text() == "€15.00"
    page.fill("input[name=amount]", "20")
    page.click("#pay")
    assert "more than that" in page.locator(".notice").inner_text()
    assert page.locator("#owed").inner_text() == "€15.00"
    page.fill("input[name=amount]", "15")
    page.click("#pay")
    assert "Payment of €15.00 recorded" in page.locator(".notice").inner_text()
    assert page.locator("#owed").inner_text() == "€0.00"
    assert "+€15.00" in page.locator("table.statement").inner_text()
    _shot(page, "member")
    sent = live.call(live.bot.outbox_after(0))
    assert any(m.person_id == "bob" and "recorded your payment" in m.text for m in sent)


def test_hours_edited_into_a_clash_are_refused(browser: Any, live: LiveConsole) -> None:
    """§9 on the web: Marie holds Tuesday 9-11; cutting Tuesdays or taking the day off is
    refused with the appointment named, and nothing changes; a harmless change is saved."""
    _book(live, "bob", "childcare with Marie on Tuesday 24 November 9am to 11am", "1", "1")
    page = _signed_in(browser, live, "karim", viewport={"width": 1280, "height": 800})
    page.goto(f"{live.url}/console/providers/marie")
    assert "Bob Smith" in page.locator("main ul").first.inner_text()
    before = page.locator("#hours").inner_text()
    page.locator("#hours li", has_text="Tuesday").get_by_role("button").click()
    refused = page.locator(".notice.refused")
    assert "Refused: Marie Dupont holds appointments" in refused.inner_text()
    assert "Tuesday 24 November, 09:00-11:00" in refused.inner_text()
    assert page.locator("#hours").inner_text() == before
    _shot(page, "provider-clash")
    page.fill("#add-day-off input[name=day]", "2026-11-24")
    page.click("#add-day-off button")
    assert "Refused" in page.locator(".notice.refused").inner_text()
    assert "24 November" not in page.locator("#days-off").inner_text()
    page.select_option("#add-window select", "6")
    page.fill("#add-window input[name=start]", "10:00")
    page.fill("#add-window input[name=end]", "12:00")
    page.click("#add-window button")
    assert "Hours saved" in page.locator(".notice.ok").inner_text()
    assert "Sunday 10:00-12:00" in page.locator("#hours").inner_text()
    _shot(page, "provider")
    sent = live.call(live.bot.outbox_after(0))
    told = [m.text for m in sent if m.person_id == "marie" and "modifié vos horaires" in m.text]
    assert len(told) == 1 and "dimanche 10:00-12:00" in told[0].lower()


def test_pages_answer_fast_enough_to_click_through(browser: Any, live: LiveConsole) -> None:
    page = _signed_in(browser, live, "karim", viewport={"width": 1280, "height": 800})
    started = time.monotonic()
    for path, name in (("/console/inbox", "inbox-empty"), ("/console/search?q=ma", "search")):
        page.goto(live.url + path)
        assert page.locator("h1").count() == 1
        _shot(page, name)
    with page.expect_download() as download:
        page.click("text=Ledger (CSV)")
    assert download.value.suggested_filename.startswith("ledger-2026-11-01")
    assert time.monotonic() - started < 10
