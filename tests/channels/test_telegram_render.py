"""The Telegram channel's parts on their own: rendering, settings, press checks, linking,
the transport, and every option the flows can show, round-tripped through the fake API."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.app import Carebot
from bot.domain.agency import Member, Staff
from bot.flows.router import Text
from bot.handlers.delivery import FENCE, LeaseLost
from bot.handlers.telegram_config import configure
from bot.handlers.telegram_press import (
    FOREIGN,
    NOT_LINKED,
    STAFF_ONLY,
    STALE,
    command_text,
    judge_press,
)
from bot.handlers.telegram_render import html_text, is_inline, markup
from bot.handlers.telegram_transport import TelegramTransport
from bot.replay import Run, _step, _strip
from bot.root import open_carebot
from bot.services.actions import Action, unpack
from bot.services.desk import open_desk
from bot.services.linking import ASK_CONTACT, CLOSE_KEYBOARD, e164, link_contact
from bot.services.notices import Label, Lines, as_shown
from bot.services.ports import OutboxMessage
from bot.settings import ConfigError, Settings
from tests.conftest import TRANSCRIPTS
from tests.fakes.telegram_api import FAKE_TOKEN, FakeTelegram, parse_html

GROUP = -100777


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A fake Bot API for one test."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture
async def api(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """python-telegram-bot's Bot, pointed at the fake."""
    bot = Bot(FAKE_TOKEN, base_url=f"{fake.url}/bot")
    await bot.initialize()
    yield bot
    await bot.shutdown()


def _row(options: tuple[tuple[str, str], ...] = (), **kw: Any) -> OutboxMessage:
    fields: dict[str, Any] = {
        "id": 1,
        "created_at": None,
        "person_id": "alice",
        "channel": "telegram",
        "address": "1001",
        "text": "hello",
        "options": options,
        "state": "queued",
    }
    return OutboxMessage(**(fields | kw))


# --- rendering -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Chloé <3 & co",
        "<b>not bold</b> &amp; a literal entity",
        "quotes \" and ' and > alone",
        "Notes: <script>alert(1)</script>",
        "line one\nline two ✓ ★4.9 😀",
    ],
)
def test_text_is_escaped_html_that_telegram_shows_as_written(text: str) -> None:
    assert parse_html(html_text(text)) == text
    assert parse_html(html_text(text, footer="✓ <Paul> & co")) == f"{text}\n\n✓ <Paul> & co"


def test_a_long_text_is_cut_to_telegrams_limit_keeping_the_footer() -> None:
    shown = parse_html(html_text("😀 & <" * 2000, footer="✓ Léa"))
    assert len(shown.encode("utf-16-le")) // 2 <= 4096
    assert shown.endswith("…\n\n✓ Léa")


def test_options_become_one_button_per_row_in_order() -> None:
    rendered = markup([("Marie Dupont · ★4.9", "bk:12:p:marie"), ("Give up", "bk:12:x")])
    assert isinstance(rendered, InlineKeyboardMarkup)
    rows = [[(b.text, b.callback_data) for b in row] for row in rendered.inline_keyboard]
    assert rows == [[("Marie Dupont · ★4.9", "bk:12:p:marie")], [("Give up", "bk:12:x")]]
    assert markup([]) is None


def test_the_linking_markers_become_the_contact_button_and_its_removal() -> None:
    ask = markup([("Share my phone number", ASK_CONTACT)])
    assert isinstance(ask, ReplyKeyboardMarkup)
    assert ask.keyboard[0][0].request_contact is True and ask.one_time_keyboard
    assert isinstance(markup([("-", CLOSE_KEYBOARD)]), ReplyKeyboardRemove)
    assert not is_inline([("-", CLOSE_KEYBOARD)]) and is_inline([("Help", "mn:help")])


def test_callback_data_over_64_bytes_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        markup([("too long", "x" * 65)])
    with pytest.raises(ValueError, match="64 bytes"):
        markup([("too long", "é" * 33)])


@pytest.mark.parametrize(
    ("typed", "seen"),
    [
        ("/start", "/start"),
        ("/start ref-campaign-42", "/start"),
        ("/book@carebot_test_bot", "/book"),
        ("/cancel@carebot_test_bot  ", "/cancel"),
        ("mes réservations", "mes réservations"),
    ],
)
def test_commands_lose_the_bot_name_and_start_payloads(typed: str, seen: str) -> None:
    assert command_text(typed) == seen


# --- settings --------------------------------------------------------------------------------


def test_the_channel_is_off_without_a_token_and_polls_by_default() -> None:
    assert configure(Settings()) is None
    polling = configure(Settings(telegram_token="1:abc", public_url="https://x"))
    assert polling is not None and polling.mode == "polling"
    assert polling.api_url == "https://api.telegram.org"
    hook = configure(
        Settings(
            telegram_token="1:abc",
            public_url="https://bot.example/",
            telegram_webhook_secret="s3cret",
            telegram_api_url="http://127.0.0.1:8081/",
        )
    )
    assert hook is not None and hook.mode == "webhook"
    assert hook.webhook_url == "https://bot.example/telegram/webhook"
    assert hook.api_url == "http://127.0.0.1:8081"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"telegram_token": "1:abc", "telegram_webhook_secret": "s"}, "CAREBOT_PUBLIC_URL"),
        ({"staff_chat_id": -100}, "CAREBOT_TELEGRAM_TOKEN"),
        ({"telegram_webhook_secret": "s"}, "CAREBOT_TELEGRAM_TOKEN"),
        (
            {"telegram_token": "1:a", "public_url": "https://x", "telegram_webhook_secret": "a b"},
            "CAREBOT_TELEGRAM_WEBHOOK_SECRET",
        ),
    ],
)
def test_a_half_configured_channel_names_the_missing_setting(
    settings: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        configure(Settings(**settings))


# --- presses -------------------------------------------------------------------------------

ALICE = Member("alice", "Alice", "telegram", telegram_id=1001)
SOPHIE = Staff("sophie", "Sophie", "telegram", telegram_id=9001)
OPTIONS = (("Book care", "mn:book"), ("Help", "mn:help"))


def test_a_press_must_be_an_option_of_a_message_we_sent_to_that_person() -> None:
    row = _row(OPTIONS)
    ok = judge_press(row, ALICE, "mn:help", in_group=False)
    assert ok.refusal is None and ok.label == "Help"
    assert judge_press(None, ALICE, "mn:help", in_group=False).refusal == STALE
    assert judge_press(row, ALICE, "eu:1", in_group=False).refusal == STALE  # forged data
    assert judge_press(row, SOPHIE, "mn:help", in_group=False).refusal == FOREIGN
    assert judge_press(row, None, "mn:help", in_group=False).refusal == NOT_LINKED


def test_in_the_staff_group_only_staff_may_press() -> None:
    row = _row((("Offer to Paul", "eo:3:paul"),), broadcast="k1", person_id="sophie")
    assert judge_press(row, SOPHIE, "eo:3:paul", in_group=True).refusal is None
    assert judge_press(row, ALICE, "eo:3:paul", in_group=True).refusal == STAFF_ONLY
    assert judge_press(row, None, "eo:3:paul", in_group=True).refusal == STAFF_ONLY
    assert judge_press(_row(OPTIONS), SOPHIE, "mn:help", in_group=True).refusal == STALE


# --- linking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shared", "expected"),
    [
        ("33612345678", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("447700900123", "+447700900123"),
        ("12", None),
        ("not a number", None),
    ],
)
def test_a_shared_number_is_read_as_e164(shared: str, expected: str | None) -> None:
    assert e164(shared) == expected


async def test_language_is_the_preference_else_telegrams_else_the_agencys(bot: Carebot) -> None:
    async with open_desk(bot.db, bot.clock) as desk:
        # David has no preference: Telegram's English is adopted.
        david = await link_contact(
            desk, telegram_id=501, contact_user_id=501, phone="33611111111", language_code="en"
        )
        # Alice chose French: Telegram's English does not override it.
        alice = await link_contact(
            desk, telegram_id=502, contact_user_id=502, phone="33612345678", language_code="en-GB"
        )
        stranger = await link_contact(
            desk, telegram_id=503, contact_user_id=503, phone="33699999999", language_code="de"
        )
    assert david is not None and david.language == "en" and david.channel == "telegram"
    assert alice is not None and alice.language == "fr" and alice.telegram_id == 502
    assert stranger is None
    sent = await bot.outbox_after(0)
    assert [m.address for m in sent] == ["501", "502", "503"]
    assert sent[0].text.startswith("Thank you, David Petit")
    assert sent[1].text.startswith("Merci, Alice Martin")
    assert sent[2].text.startswith("Désolé, le numéro +33699999999")  # the agency's French


async def test_only_ones_own_contact_links(bot: Carebot) -> None:
    async with open_desk(bot.db, bot.clock) as desk:
        linked = await link_contact(
            desk, telegram_id=601, contact_user_id=1001, phone="33612345678", language_code="fr"
        )
    assert linked is None
    assert (await bot.person("alice")).telegram_id == 1001
    (refusal,) = await bot.outbox_after(0)
    assert "votre propre numéro" in refusal.text and refusal.options[0][1] == ASK_CONTACT


# --- the transport -------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_the_transport_sends_to_the_group_once_and_turns_429_into_a_retry(
    bot: Carebot, fake: FakeTelegram, api: Bot
) -> None:
    transport = TelegramTransport(api, bot, GROUP)
    async with open_desk(bot.db, bot.clock) as desk:
        go: list[tuple[Label, str]] = [(as_shown("Go"), "eu:1")]
        await desk.notify_staff(Lines([lambda lang: f"escalation in {lang}"], go))
        await desk.send(await desk.tx.roster.person("alice"), "a <b> & c", [("Help", "mn:help")])
    staff_rows = [m for m in await bot.outbox_after(0) if m.broadcast]
    results = [await transport.send(m, "k") for m in staff_rows]
    assert [r.outcome for r in results] == ["sent", "dropped"]  # Sophie's (French) row
    (in_group,) = fake.messages_to(GROUP)
    assert in_group.text == "escalation in fr" and in_group.buttons() == [("Go", "eu:1")]
    async with bot.db.transaction() as tx:
        recorded = await tx.outbox.by_telegram_message(GROUP, in_group.message_id)
    assert recorded is not None and recorded.id == staff_rows[0].id
    (to_alice,) = [m for m in await bot.outbox_after(0) if m.person_id == "alice"]
    fake.fail_next_sends(1, retry_after=7)
    limited = await transport.send(to_alice, "k")
    assert (limited.outcome, limited.retry_after) == ("retry", 7.0)
    assert (await transport.send(to_alice, "k")).outcome == "sent"
    assert fake.messages_to(1001)[-1].html == "a &lt;b&gt; &amp; c"
    fake.forbidden.add(1001)
    blocked = await transport.send(to_alice, "k")
    assert blocked.outcome == "failed" and "Forbidden" in blocked.error


async def test_a_telegram_send_whose_fence_says_no_never_reaches_the_bot_api(
    bot: Carebot, fake: FakeTelegram, api: Bot
) -> None:
    """The Bot API keeps no list to ask afterwards: after the budgets' waits, a worker that
    lost its lease meanwhile sends nothing (bot.handlers.delivery.check_fence)."""
    asked: list[bool] = []

    async def lost() -> bool:
        asked.append(True)
        return False

    transport = TelegramTransport(api, bot, GROUP)
    token = FENCE.set(lost)
    try:
        with pytest.raises(LeaseLost):
            await transport.send(_row(), "k")
    finally:
        FENCE.reset(token)
    assert asked == [True]
    assert fake.messages_to(1001) == []
    assert (await transport.send(_row(), "k")).outcome == "sent"
    assert len(fake.messages_to(1001)) == 1


# --- every option, round-tripped -----------------------------------------------------------


# Every verb the router dispatches (bot/flows/router.py `_press`).
ROUTER_VERBS = {"mn", "lg", "bk", "oa", "in", "pc", "cx", "ch", "wv", "mv"}
ROUTER_VERBS |= {"wa", "wd", "ca", "cd", "eo", "eu"}


async def _options_of(path: Path) -> set[tuple[str, str]]:
    """Replay a transcript and read every option of every message it queued."""
    # The replay runner's own steps, so that the database can be read before it is removed.
    run = Run(path, io.StringIO(), False, open_carebot)
    try:
        text = await asyncio.to_thread(path.read_text, "utf-8")
        for number, raw in enumerate(text.splitlines(), start=1):
            line = _strip(raw)
            if line and not line.startswith("#"):
                await _step(run, line, number)
        assert run.bot is not None
        return {option for m in await run.bot.outbox_after(0) for option in m.options}
    finally:
        if run.bot is not None:
            await run.bot.close()
        if run.tmp is not None:
            run.tmp.cleanup()


async def _menus_of_everyone(bot: Carebot) -> set[tuple[str, str]]:
    """What the transcripts do not show: everyone's menu, language choice and schedule."""
    for person in await bot_people(bot):
        for typed in ("/menu", "/language", "/today"):
            await bot.receive_from(person, Text(typed))
    return {option for m in await bot.outbox_after(0) for option in m.options}


async def bot_people(bot: Carebot) -> list[str]:
    """Every roster id."""
    async with bot.db.transaction() as tx:
        return [
            p.id for role in ("member", "provider", "staff") for p in await tx.roster.people(role)
        ]


async def test_every_option_any_flow_emits_round_trips_through_telegram(
    bot: Carebot, fake: FakeTelegram, api: Bot
) -> None:
    options = await _menus_of_everyone(bot)
    for found in await asyncio.gather(*map(_options_of, TRANSCRIPTS.rglob("*.chat"))):
        options |= found
    verbs = {act.split(":")[0] for _, act in options}
    assert not ROUTER_VERBS - verbs, ROUTER_VERBS - verbs
    inline = sorted(option for option in options if is_inline([option]))
    assert len(inline) > 200
    for start in range(0, len(inline), 20):  # one message per 20 options, like a long list
        chunk = inline[start : start + 20]
        rendered = markup(chunk)
        await api.send_message(1001, html_text("choose"), parse_mode="HTML", reply_markup=rendered)
        sent = fake.messages_to(1001)[-1]
        assert sent.buttons() == chunk  # and the fake checked that each is 1 to 64 bytes
        for _, data in sent.buttons():
            fake.press(1001, sent, data)
    pressed: list[str] = []
    offset = None
    while len(pressed) < len(inline):
        updates = await api.get_updates(offset=offset, timeout=1)
        assert updates, "every press comes back as an update"
        pressed += [u.callback_query.data or "" for u in updates if u.callback_query]
        offset = updates[-1].update_id + 1
    assert pressed == [act for _, act in inline]
    assert all(isinstance(unpack(data), Action) for data in pressed)


async def test_the_fake_reads_json_and_form_bodies(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=f"{fake.url}/bot{FAKE_TOKEN}") as client:
        as_json = await client.post(
            "/sendMessage",
            json={"chat_id": 5, "text": "hi", "reply_markup": {"remove_keyboard": True}},
        )
        as_form = await client.post(
            "/sendMessage",
            data={"chat_id": "5", "text": "123", "reply_markup": '{"remove_keyboard": true}'},
        )
        wrong_token = await client.post(f"{fake.url}/bot1:nope/getMe")
    assert as_json.json()["ok"] and as_form.json()["result"]["text"] == "123"
    assert [m.reply_markup for m in fake.messages_to(5)] == [{"remove_keyboard": True}] * 2
    assert wrong_token.status_code == 401
