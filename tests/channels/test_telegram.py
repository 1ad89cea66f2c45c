"""The Telegram channel end to end: a real `carebot run` against the fake Bot API (issue 6).

Each mode (polling, then webhook) starts one `carebot run` on the transcripts' agency, with
the staff group configured, and every test drives it only through the fake Telegram server:
people type, share contacts and press the buttons the bot sent. The database is only read,
to check what the conversation did. Tests use different people so that they do not meet.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import peek
from tests.conftest import AGENCY, PARIS
from tests.fakes.telegram_api import FAKE_TOKEN, FakeTelegram, SentMessage
from tests.live import carebot_run, clean_env, free_port, import_agency

GROUP = -1001234567890
SECRET = "s3cret-webhook_token"
ALICE, CHLOE, EMILE, LEA, SOPHIE, KARIM = 1001, 1003, 1005, 2001, 9001, 9002
STRANGER = 7777


@dataclass
class Live:
    """One `carebot run` and the fake Telegram it talks to."""

    mode: str
    fake: FakeTelegram
    port: int
    db: Path | str
    log: Path

    def say(self, user: int, text: str, pattern: str = "", **kw: Any) -> SentMessage:
        """`user` types `text`; returns the next message to them matching `pattern`."""
        before = len(self.fake.messages_to(user))
        self.fake.send_text(user, text, **kw)
        return self.fake.wait_message(user, pattern, after=before)

    def press(self, user: int, message: SentMessage, label: str, **kw: Any) -> dict[str, Any]:
        """`user` taps the button labelled like `label`; returns answerCallbackQuery's params."""
        _, query = self.fake.press(user, message, message.button(label), **kw)
        return self.fake.answer_to(query)

    def rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Read the bot's database (WAL: safe while it runs)."""
        return [tuple(r.values()) for r in peek.rows(self.db, sql, args)]


@pytest.fixture(scope="module", params=["polling", "webhook"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A `carebot run` in one mode, connected to a fresh fake Telegram."""
    mode = str(request.param)
    home = tmp_path_factory.mktemp(mode)
    db, log = peek.scratch(home), home / "carebot.log"
    import_agency(AGENCY, db)
    port = free_port()
    with FakeTelegram() as fake:
        env = clean_env(
            CAREBOT_DATABASE=str(db),
            CAREBOT_TELEGRAM_TOKEN=FAKE_TOKEN,
            CAREBOT_TELEGRAM_API_URL=fake.url,
            CAREBOT_STAFF_CHAT_ID=str(GROUP),
        )
        if mode == "webhook":
            env["CAREBOT_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
            env["CAREBOT_TELEGRAM_WEBHOOK_SECRET"] = SECRET
        with carebot_run(port, env, log) as (_, health):
            assert health["channels"]["telegram"].startswith(f"on ({mode}")
            if mode == "webhook":
                fake.wait_for(lambda: fake.webhook)
            else:
                fake.wait_for(lambda: fake.calls_of("getUpdates"))
            yield Live(mode, fake, port, db, log)


def _weekday(skip: int) -> date:
    """The `skip`-th weekday from the day after tomorrow on (Léa works Monday to Friday)."""
    day = datetime.now(PARIS).date() + timedelta(days=2)
    found: list[date] = []
    while len(found) <= skip:
        if day.weekday() < 5:
            found.append(day)
        day += timedelta(days=1)
    return found[-1]


def _request_of(live: Live, member: str) -> tuple[str, str | None]:
    return live.rows(
        "SELECT status, provider_id FROM requests WHERE member_id = ? ORDER BY id DESC", member
    )[0]


def test_commands_are_registered_in_french_and_english(live: Live) -> None:
    fake = live.fake
    fake.wait_for(lambda: len(fake.calls_of("setMyCommands")) >= 7)
    default = {c["command"]: c["description"] for c in fake.commands[('{"type": "default"}', "")]}
    french = {c["command"]: c["description"] for c in fake.commands[('{"type": "default"}', "fr")]}
    wanted = ["start", "book", "bookings", "cancel", "change", "balance", "language", "help"]
    assert list(default) == [*wanted, "menu"]
    assert default["book"] == "Book care" and french["book"] == "Réserver"
    scopes = {
        json.loads(scope).get("chat_id"): [c["command"] for c in cmds]
        for (scope, _), cmds in fake.commands.items()
    }
    assert "today" in scopes[LEA] and "pending" not in scopes[LEA]
    assert {"pending", "unresolved"} <= set(scopes[SOPHIE])
    assert scopes[GROUP] == ["pending", "unresolved"]


def test_linking_by_sharing_ones_own_contact(live: Live) -> None:
    fake = live.fake
    newcomer = 5001 if live.mode == "polling" else 5002
    prompt = live.say(newcomer, "/start", "share your phone number", language_code="en")
    assert prompt.reply_markup == {
        "keyboard": [[{"text": "Share my phone number", "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }
    # Someone else's card is refused; an unknown number is told so, politely.
    before = len(fake.messages_to(newcomer))
    fake.send_contact(newcomer, "+33612345678", contact_user_id=4242, language_code="en")
    fake.wait_message(newcomer, "your own phone number", after=before)
    assert live.rows("SELECT telegram_id FROM people WHERE id = 'alice'") == [(ALICE,)]
    before = len(fake.messages_to(newcomer))
    fake.send_contact(newcomer, "33 7 00 00 00 00", language_code="en")
    refused = fake.wait_message(newcomer, "not registered", after=before)
    assert "+33700000000" in refused.text
    # Bob's own number, as Telegram gives it (no "+"): linked, keyboard removed, menu.
    before = len(fake.messages_to(newcomer))
    fake.send_contact(newcomer, "447700900123", language_code="en")
    linked = fake.wait_message(newcomer, "now linked", after=before)
    assert "Bob Smith" in linked.text and linked.reply_markup == {"remove_keyboard": True}
    menu = fake.wait_message(newcomer, "What would you like to do", after=before)
    assert menu.buttons()[0] == ("Book care", "mn:book")
    assert menu.at - linked.at >= 0.9, "one message a second in one chat"
    assert live.rows("SELECT telegram_id, channel FROM people WHERE id = 'bob'") == [
        (newcomer, "telegram")
    ]
    assert "Still to pay" in live.say(newcomer, "/balance", "Still to pay").text


def test_booking_with_buttons(live: Live) -> None:
    fake = live.fake
    day = _weekday(0 if live.mode == "polling" else 1)
    providers = live.say(
        ALICE, f"Je voudrais une garde le {day.day}/{day.month} de 14h à 16h", "Léa Moreau"
    )
    assert providers.parse_mode == "HTML"
    assert all(len(data.encode()) <= 64 for _, data in providers.buttons())
    paul = providers.button("Paul")
    before = len(fake.messages_to(ALICE))
    assert live.press(ALICE, providers, "Léa").get("text") is None  # answered, silently
    # The keyboard is replaced by the choice; the text stays.
    fake.wait_for(lambda: providers.edits)
    assert providers.reply_markup is None and providers.text.endswith("✓ Léa Moreau · ★4.6")
    summary = fake.wait_message(ALICE, "Envoyer la demande", after=before)
    # The same old keyboard pressed again (a second tap, a slow client) changes nothing.
    repeat = fake.answer_to(fake.press(ALICE, providers, paul)[1])
    assert repeat["text"] == "Ce choix a déjà été fait."
    before = len(fake.messages_to(ALICE))
    live.press(ALICE, summary, "Confirmer")
    fake.wait_message(ALICE, "Demande envoyée à Léa Moreau", after=before)
    offer = fake.wait_message(LEA, "Nouvelle demande.*Alice Martin")
    assert [label for label, _ in offer.buttons()] == ["Oui, je confirme", "Non, je refuse"]
    before = len(fake.messages_to(ALICE))
    live.press(LEA, offer, "Oui")
    fake.wait_message(ALICE, "Léa Moreau a confirmé", after=before)
    assert _request_of(live, "alice") == ("confirmed", "lea")
    assert len(fake.messages_to(ALICE)) == before + 1
    assert len(live.rows("SELECT 1 FROM once_keys WHERE scope = 'telegram-once'")) >= 3


def test_staff_escalation_handled_from_the_group(live: Live) -> None:
    fake = live.fake
    day = _weekday(2 if live.mode == "polling" else 3)
    providers = live.say(CHLOE, f"I need a babysitter on {day.day}/{day.month} 2pm-4pm", "Léa")
    live.press(CHLOE, providers, "Léa", language_code="en")
    summary = fake.wait_message(CHLOE, "Send the request")
    before_lea = len(fake.messages_to(LEA))
    live.press(CHLOE, summary, "Confirm", language_code="en")
    offer = fake.wait_message(LEA, "Chloé Bernard", after=before_lea)
    group_before = len(fake.messages_to(GROUP))
    live.press(LEA, offer, "Non")
    escalation = fake.wait_message(
        GROUP, "Signalement n° \\d+\\s: demande de Chloé", after=group_before
    )
    # Once in the group, in the agency's language; not once per staff member.
    time.sleep(0.5)
    assert len(fake.messages_to(GROUP)) == group_before + 1
    assert not [m for m in fake.messages_to(SOPHIE) + fake.messages_to(KARIM) if "Chlo" in m.text]
    labels = [label for label, _ in escalation.buttons()]
    assert "Proposer à Paul Girard" in labels and "Clore\u202f: non pourvu" in labels
    # A member and a stranger press in the group: an alert each, nothing changes.
    alert = live.press(ALICE, escalation, "Paul")
    assert alert["show_alert"] is True and "réservée à l'équipe" in alert["text"]
    stranger = live.press(STRANGER, escalation, "Clore", language_code="en")
    assert stranger["show_alert"] is True and "reserved for agency staff" in stranger["text"]
    assert _request_of(live, "chloe") == ("escalated", None)
    assert not escalation.edits
    # Sophie offers it to Paul: the group message says who did what.
    unfilled = escalation.button("Clore")
    live.press(SOPHIE, escalation, "Paul")
    fake.wait_for(lambda: escalation.edits)
    assert escalation.reply_markup is None
    assert escalation.text.endswith("✓ Proposer à Paul Girard (par Sophie)")
    fake.wait_for(lambda: _request_of(live, "chloe") == ("pending", "paul"))
    assert live.rows(
        "SELECT handled_by FROM escalations e JOIN requests r ON r.id = e.request_id "
        "WHERE r.member_id = 'chloe'"
    ) == [("sophie",)]
    # Karim's late press on the same keyboard: told, and nothing more happens.
    late = fake.answer_to(fake.press(KARIM, escalation, unfilled, language_code="en")[1])
    assert late["text"] == "This choice was already made."
    time.sleep(0.3)
    assert _request_of(live, "chloe") == ("pending", "paul")


def test_stale_and_foreign_presses_change_nothing(live: Live) -> None:
    fake = live.fake
    menu = live.say(EMILE, "/menu", "Que souhaitez-vous faire")
    forged = fake.press(EMILE, menu, "eu:1")[1]
    assert fake.answer_to(forged)["text"] == "Ce bouton n'est plus valable."
    foreign = fake.answer_to(fake.press(LEA, menu, "mn:balance")[1])
    assert foreign["show_alert"] is True and foreign["text"] == "Ce bouton n'est pas pour vous."
    unknown = SentMessage(EMILE, 999_999, "", "", {"inline_keyboard": []}, time.time())
    stale = fake.press(EMILE, unknown, "mn:book")[1]
    assert fake.answer_to(stale)["text"] == "Ce bouton n'est plus valable."
    time.sleep(0.3)
    assert not menu.edits and fake.messages_to(EMILE)[-1] is menu


def test_a_429_burst_is_delivered_later_once(live: Live) -> None:
    fake = live.fake
    people = [ALICE, CHLOE, EMILE, LEA, KARIM]
    queued = "SELECT COUNT(*) FROM outbox WHERE channel = 'telegram' AND state = 'queued'"
    fake.wait_for(lambda: live.rows(queued) == [(0,)])  # what earlier tests sent has gone
    counts = {p: len(fake.messages_to(p)) for p in people}
    fake.fail_next_sends(4, retry_after=1)
    started = time.time()
    for person in people:
        fake.send_text(person, "/help")
    for person in people:
        fake.wait_message(person, "", after=counts[person], timeout=15)
    refused = [c for c in fake.calls_of("sendMessage") if c.status == 429 and c.at >= started]
    assert len(refused) == 4
    time.sleep(1.5)  # a duplicate would have had time to arrive
    for person in people:
        new = fake.messages_to(person)[counts[person] :]
        assert len(new) == 1, (person, [m.text for m in new])
    retried = {int(c.params["chat_id"]): c.at for c in refused}
    for chat, refused_at in retried.items():
        assert fake.messages_to(chat)[-1].at >= refused_at + 0.9, "retry_after honoured"
    assert live.rows(queued) == [(0,)]


def test_a_redelivered_update_is_processed_once(live: Live) -> None:
    fake = live.fake
    before = len(fake.messages_to(EMILE))
    update_id = fake.send_text(EMILE, "/balance")
    fake.wait_message(EMILE, "Reste à payer", after=before)
    fake.redeliver(update_id)
    fake.wait_for(lambda: fake.deliveries.get(update_id, 0) >= 2)
    time.sleep(1.5)
    assert len(fake.messages_to(EMILE)) == before + 1
    assert live.rows(
        "SELECT COUNT(*) FROM inbound WHERE channel = 'telegram' AND external_id = ?",
        str(update_id),
    ) == [(1,)]


def _post_webhook(live: Live, headers: dict[str, str], update_id: int) -> int:
    body = {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": ALICE, "type": "private"},
            "from": {"id": ALICE, "is_bot": False, "first_name": "Alice"},
            "text": "/balance",
        },
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{live.port}/telegram/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_webhook_refuses_a_forged_secret(live: Live) -> None:
    forged = 990_001
    if live.mode == "polling":  # no webhook is mounted when polling
        assert _post_webhook(live, {}, forged) in (404, 405)
        return
    header = "X-Telegram-Bot-Api-Secret-Token"
    assert _post_webhook(live, {header: "guessed"}, forged) == 403
    assert _post_webhook(live, {header: SECRET + "x"}, forged) == 403
    assert _post_webhook(live, {}, forged) == 403
    assert live.rows("SELECT 1 FROM inbound WHERE external_id = ?", str(forged)) == []
    assert live.rows("SELECT 1 FROM once_keys WHERE key = ?", str(forged)) == []
    before = len(live.fake.messages_to(ALICE))
    assert _post_webhook(live, {header: SECRET}, forged + 1) == 200
    live.fake.wait_message(ALICE, "Reste à payer", after=before)
