"""Race: 50 members confirm the same provider for overlapping windows at the same moment.

Each member walks up to the booking summary by SMS through the live server (the sentence,
then Zoé from the list), then all fifty "1" (Confirm and send) webhooks are fired together.
Exactly one request may hold Zoé; the 49 others are told, in their own language, that she was
just booked by someone else, as the fake Twilio's log shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.handlers.sms_text import render_sms
from bot.i18n import for_channel, tr
from tests.channels.test_sms import option
from tests.conftest import PARIS
from tests.fakes.twilio import FakeTwilio
from tests.reliability.support import FULL, LiveRun, Roster, Who, sms_form, wait_until

pytestmark = pytest.mark.reliability

RIVALS = 50
ROUNDS = 2 if FULL else 1  # each on another day
ROSTER = Roster.make(RIVALS)
ZOE = ROSTER.providers[0]
JUST_BOOKED = "Sorry, {provider} was just booked by someone else for this time."
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
MONTHS += ["September", "October", "November", "December"]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveRun, FakeTwilio]]:
    """A `carebot run` with the SMS channel and fifty members."""
    with FakeTwilio() as fake, LiveRun(tmp_path, ROSTER.write(tmp_path), twilio=fake) as run:
        yield run, fake


def _sentence(who: Who, day: date, n: int) -> str:
    """A booking sentence; the windows start 0, 30 or 60 minutes after 14:00 (all overlap
    from 15:00 to 16:00)."""
    start = 14 * 60 + 30 * (n % 3)
    end = start + 120
    if who.lang == "fr":
        return (
            f"Je voudrais une garde le {day.day}/{day.month} de {start // 60}h{start % 60:02d} "
            f"à {end // 60}h{end % 60:02d}"
        )

    def clock(minutes: int) -> str:
        return f"{minutes // 60 - 12}:{minutes % 60:02d}pm"

    return f"childcare on {day.day} {MONTHS[day.month - 1]} {clock(start)} to {clock(end)}"


async def _all_at_once(run: LiveRun, forms: list[dict[str, str]]) -> list[int]:
    async with httpx.AsyncClient(timeout=20) as client:
        return await asyncio.gather(*(run.post_sms(client, form) for form in forms))


def _replies(fake: FakeTwilio, seen: dict[str, int], more: int) -> None:
    """Wait until every rival has `more` SMS beyond the `seen` ones."""
    wait_until(
        lambda: all(len(fake.messages(str(w.phone))) >= seen[w.id] + more for w in ROSTER.members),
        60,
        lambda: sorted({len(fake.messages(str(w.phone))) - seen[w.id] for w in ROSTER.members}),
    )


def test_fifty_simultaneous_confirms_book_the_provider_once(
    live: tuple[LiveRun, FakeTwilio],
) -> None:
    run, fake = live
    members = ROSTER.members
    for round_ in range(ROUNDS):
        day = datetime.now(PARIS).date() + timedelta(days=3 + round_)
        seen = {w.id: len(fake.messages(str(w.phone))) for w in [*members, ZOE]}
        sentences = [sms_form(str(w.phone), _sentence(w, day, n)) for n, w in enumerate(members)]
        assert set(asyncio.run(_all_at_once(run, sentences))) == {200}
        _replies(fake, seen, 1)
        picks = []
        for who in members:
            listed = fake.messages(str(who.phone))[seen[who.id]]
            picks.append(sms_form(str(who.phone), option(listed, ZOE.name)))
        assert set(asyncio.run(_all_at_once(run, picks))) == {200}
        _replies(fake, seen, 2)
        for who in members:
            summary = fake.messages(str(who.phone))[seen[who.id] + 1].body
            assert ZOE.name in summary and tr(who.lang, "Confirm and send") in summary
        # The race: fifty confirms, fired together.
        confirms = [sms_form(str(w.phone), "1") for w in members]
        assert set(asyncio.run(_all_at_once(run, confirms))) == {200}
        wait_until(run.settled, 60, run.backlog)
        _check_one_winner(run, fake, seen, day)


def _check_one_winner(run: LiveRun, fake: FakeTwilio, seen: dict[str, int], day: date) -> None:
    """One request holds Zoé on `day`; every other rival was told why, in their language."""
    held = run.rows(
        "SELECT member_id, status FROM requests WHERE provider_id = ? AND start_at >= ? "
        "AND start_at < ?",  # a range, not LIKE: a timestamptz on PostgreSQL
        ZOE.id,
        f"{day.isoformat()} 00:00:00",
        f"{day + timedelta(days=1)} 00:00:00",
    )
    assert len(held) == 1, held
    [(winner, status)] = held
    assert status == "pending"
    losers = [w for w in ROSTER.members if w.id != winner]
    assert len(losers) == RIVALS - 1
    for who in losers:
        after = [m.body for m in fake.messages(str(who.phone))[seen[who.id] + 2 :]]
        told = render_sms(tr(for_channel(who.lang, "sms"), JUST_BOOKED, provider=ZOE.name))
        assert told in after, (who.id, after)
        assert after.count(told) == 1
    first = ROSTER[winner]
    said = [m.body for m in fake.messages(str(first.phone))[seen[first.id] :]]
    assert render_sms(tr(first.lang, JUST_BOOKED, provider=ZOE.name)) not in said
    offers = [m.body for m in fake.messages(str(ZOE.phone))[seen[ZOE.id] :]]
    assert len(offers) == 1 and first.name in offers[0], offers
