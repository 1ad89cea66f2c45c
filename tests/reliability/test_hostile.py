"""Hostile input through the real channels: fuzzed texts, forged signatures, wrong secrets.

Hypothesis writes the messages (random Unicode, control characters, 1,600-character bodies,
right-to-left text, emoji, SQL and HTML fragments) and they go in as Twilio and Telegram
would send them, to a live `carebot run`: every one is accepted (200, empty TwiML for SMS)
and answered with something other than the apology a crash produces. Forged requests are
refused with 403 and leave no trace. Malformed agency files are tests/test_import.py's.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from bot.nlu.replies import sms_keyword
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio import AUTH_TOKEN, FakeTwilio
from tests.reliability.support import (
    FULL,
    SECRET,
    LiveRun,
    Roster,
    Who,
    is_apology,
    live_bot,
    sign,
    sms_form,
    telegram_text,
    wait_until,
)
from tests.test_robustness import NASTY

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(30)
Live = tuple[LiveRun, FakeTwilio, FakeTelegram]
EXAMPLES = 200 if FULL else 40
MAX_SMS = 1600  # Twilio: the longest Body an inbound SMS has
FRAGMENTS = [
    *NASTY,
    "' OR '1'='1",
    "Robert'); DROP TABLE inbound;--",
    "1; UPDATE requests SET status='confirmed'",
    '<a href="javascript:alert(1)">x</a>',
    "<img src=x onerror=alert(1)>",
    "&amp; &lt; &#0; &bogus; ]]>",
    "<tg-spoiler>",
    "</b>",
    "\u200f\u202b\u2067",  # RTL marks and isolates
    "\u0627\u0644\u0633\u0644\u0627\u0645 \u05e9\u05dc\u05d5\u05dd",
    "🏳️‍🌈🇫🇷👩🏽‍🍼",
    "\x07\x08\x0b\x0c\x7f\x85",
    "\ud7ff\ue000\U0010fffd",
    "$(rm -rf /) `id` ${HOME}",
    "{provider} {{agency}} %(name)s",
]
TEXTS = st.one_of(
    st.text(max_size=200),
    st.text(min_size=MAX_SMS, max_size=MAX_SMS),
    st.builds(lambda char: char * MAX_SMS, st.characters()),
    st.lists(
        st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), min_size=1, max_size=10
    ).map(" ".join),
)
# No shrinking against a live server: a failing example is reported as found, in bounded
# time (tests/test_robustness.py shrinks the same kind of texts against the flows).
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One `carebot run`, both channels, Telegram by webhook (its secret can be tried)."""
    with live_bot(tmp_path_factory.mktemp("hostile"), ROSTER) as found:
        yield found


def _answered_without_apology(run: LiveRun, who: Who, after: int) -> list[str]:
    """The bot's answers to `who` after outbox id `after`, once it is idle; none may be the
    apology of a crashed flow, and there must be one."""
    wait_until(
        lambda: (
            run.settled()
            and run.value(
                "SELECT COUNT(*) FROM outbox WHERE person_id = ? AND id > ?", who.id, after
            )
        ),
        15,
        run.backlog,
    )
    answers = [
        text
        for (text,) in run.rows(
            "SELECT text FROM outbox WHERE person_id = ? AND id > ? ORDER BY id", who.id, after
        )
    ]
    assert not [a for a in answers if is_apology(a)], answers
    return answers


SMS_PEOPLE = itertools.cycle([*ROSTER.members[:20], *ROSTER.providers])


@FUZZ
@given(text=TEXTS)
def test_any_sms_is_accepted_and_answered(live: Live, text: str) -> None:
    run, twilio, _ = live
    assume(sms_keyword(text) != "stop")  # STOP is answered by silence, on purpose
    who = next(SMS_PEOPLE)
    assert who.phone is not None
    after, seen = run.last_outbox_id(), len(twilio.messages(who.phone))
    assert run.sms(sms_form(who.phone, text)) == 200  # and an empty TwiML
    _answered_without_apology(run, who, after)
    twilio.wait_for(who.phone, seen + 1)  # and the answer reached Twilio


TELEGRAM_PEOPLE = itertools.cycle(
    [*ROSTER.telegram_members, *ROSTER.telegram_providers, *ROSTER.staff]
)
UPDATE_IDS = itertools.count(100_000)


def _post_update(run: LiveRun, update: dict[str, Any], secret: str | None = SECRET) -> int:
    async def post() -> int:
        async with httpx.AsyncClient(timeout=10) as client:
            return await run.post_update(client, update, secret)

    return asyncio.run(post())


@FUZZ
@given(text=st.one_of(TEXTS, st.text(min_size=4000, max_size=4096)))
def test_any_telegram_text_is_accepted_and_answered(live: Live, text: str) -> None:
    run, _, telegram = live
    assume(text.strip())  # Telegram does not deliver an empty text
    who = next(TELEGRAM_PEOPLE)
    chat = who.telegram_id
    assert chat is not None
    after, seen = run.last_outbox_id(), len(telegram.messages_to(chat))
    update = telegram_text(next(UPDATE_IDS), who, text, who.lang)
    assert _post_update(run, update) == 200
    _answered_without_apology(run, who, after)
    # Sent, and accepted by the fake's HTML parser: whatever was typed was escaped.
    telegram.wait_for(lambda: len(telegram.messages_to(chat)) > seen, 15)
    failed = run.rows("SELECT last_error FROM outbox WHERE id > ? AND state = 'failed'", after)
    assert failed == []


def test_odd_telegram_updates_are_accepted(live: Live) -> None:
    """No text at all, a caption, an edited message, an unknown kind: 200, nothing breaks."""
    run, _, _ = live
    who = ROSTER.telegram_members[0]
    assert who.telegram_id is not None
    base = telegram_text(next(UPDATE_IDS), who, "x", who.lang)["message"]
    sticker = {k: v for k, v in base.items() if k != "text"} | {
        "sticker": {
            "file_id": "f",
            "file_unique_id": "u",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    }
    caption = {k: v for k, v in base.items() if k != "text"} | {"caption": "<b>solde</b> 🙈"}
    updates = [
        {"update_id": next(UPDATE_IDS), "message": sticker},
        {"update_id": next(UPDATE_IDS), "message": caption},
        {"update_id": next(UPDATE_IDS), "edited_message": base | {"edit_date": 1}},
        {
            "update_id": next(UPDATE_IDS),
            "poll_answer": {
                "poll_id": "1",
                "option_ids": [],
                "option_persistent_ids": [],
                "user": base["from"],
            },
        },
        {"update_id": next(UPDATE_IDS)},
    ]
    after = run.last_outbox_id()
    for update in updates:
        assert _post_update(run, update) == 200, update
    _answered_without_apology(run, who, after)
    assert _post_update(run, {"not": "an update"}) == 400


# --- forgeries --------------------------------------------------------------------------

PREVIOUS_TOKEN = "the-auth-token-before-rotation00"  # an "expired" credential


def _forgeries(run: LiveRun, form: dict[str, str], data: st.DataObject) -> dict[str, str]:
    """A forged X-Twilio-Signature for `form` (which may itself be altered after signing)."""
    url = run.url + "/sms/inbound"
    how = data.draw(
        st.sampled_from(
            ["wrong token", "expired token", "random", "other url", "altered", "added", "none"]
        ),
        label="forgery",
    )
    if how == "wrong token":
        token = data.draw(st.text(min_size=1, max_size=40).filter(lambda t: t != AUTH_TOKEN))
        return {"sig": sign(url, form, token)}
    if how == "expired token":
        return {"sig": sign(url, form, PREVIOUS_TOKEN)}
    if how == "random":
        raw = data.draw(st.binary(min_size=0, max_size=40))
        return {"sig": base64.b64encode(raw).decode()}
    if how == "other url":
        other = data.draw(
            st.sampled_from(
                [
                    "https://evil.example/sms/inbound",
                    url + "?x=1",
                    url.replace("127.0.0.1", "localhost"),
                    url.replace("inbound", "status"),
                ]
            )
        )
        return {"sig": sign(other, form)}
    signature = sign(url, form)
    key = data.draw(st.sampled_from(["Body", "From", "MessageSid", "To"]), label="field")
    if how == "altered":
        value = data.draw(st.text(max_size=30).filter(lambda v: v != form[key]), label="value")
        form[key] = value
    elif how == "added":
        form[data.draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in form))] = "1"
    else:
        return {}
    return {"sig": signature}


@FUZZ
@given(data=st.data())
def test_forged_sms_webhooks_get_403_and_leave_no_trace(live: Live, data: st.DataObject) -> None:
    run, twilio, _ = live
    who = ROSTER.members[25]
    assert who.phone is not None
    form = sms_form(who.phone, data.draw(st.sampled_from(["aide", "STOP", "annuler"])))
    forged = _forgeries(run, form, data)
    inbound, outbox, seen = (
        run.value("SELECT COUNT(*) FROM inbound"),
        run.last_outbox_id(),
        len(twilio.messages()),
    )
    headers = {"X-Twilio-Signature": forged["sig"]} if "sig" in forged else {}
    assert run.sms(form, headers) == 403
    assert run.value("SELECT COUNT(*) FROM inbound") == inbound
    assert run.last_outbox_id() == outbox
    assert len(twilio.messages()) == seen
    assert run.rows("SELECT opted_out FROM people WHERE id = ?", who.id) == [(0,)]


def test_forged_status_callbacks_get_403(live: Live) -> None:
    run, _, _ = live
    form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "failed", "AccountSid": "AC"}
    for signature in (sign(run.url + "/sms/status", form, PREVIOUS_TOKEN), "", "x"):
        answer = httpx.post(
            run.url + "/sms/status",
            data=form,
            headers={"X-Twilio-Signature": signature} if signature else {},
            timeout=10,
        )
        assert answer.status_code == 403
    # The real token over the real URL still works (the refusals above were not luck).
    good = httpx.post(
        run.url + "/sms/status",
        data=form,
        headers={"X-Twilio-Signature": sign(run.url + "/sms/status", form, AUTH_TOKEN)},
        timeout=10,
    )
    assert good.status_code == 204


@FUZZ
@given(
    secret=st.one_of(
        st.none(),
        # What a header can carry: printable ASCII (surrounding spaces are not kept).
        st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=80),
        st.sampled_from([SECRET + "x", SECRET.upper(), SECRET[:-1], SECRET[1:], ""]),
    )
)
def test_wrong_telegram_secrets_get_403_and_leave_no_trace(live: Live, secret: str | None) -> None:
    run, _, telegram = live
    assume(secret != SECRET)
    who = ROSTER.telegram_members[1]
    assert who.telegram_id is not None
    update = telegram_text(next(UPDATE_IDS), who, "/balance", who.lang)
    seen = len(telegram.messages_to(who.telegram_id))
    assert _post_update(run, update, secret) == 403
    assert run.rows("SELECT 1 FROM inbound WHERE external_id = ?", str(update["update_id"])) == []
    assert len(telegram.messages_to(who.telegram_id)) == seen


def test_json_nested_too_deep_gets_400_and_a_huge_update_413(live: Live) -> None:
    """100,000 nested "[" (deeper than Python's stack) with the right secret, and a body over
    the 1 MiB cap: clear refusals, nothing stored, and the webhook keeps working."""
    run, _, telegram = live
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    before = run.value("SELECT COUNT(*) FROM inbound")
    url = run.url + "/telegram/webhook"
    nested = httpx.post(url, content=b"[" * 100_000, headers=headers, timeout=10)
    assert nested.status_code == 400, nested.text
    assert "Traceback" not in nested.text
    huge = {"update_id": next(UPDATE_IDS), "padding": "x" * (1024 * 1024)}
    assert _post_update(run, huge, SECRET) == 413
    assert run.value("SELECT COUNT(*) FROM inbound") == before
    who = ROSTER.telegram_members[0]
    chat = who.telegram_id
    assert chat is not None
    seen = len(telegram.messages_to(chat))
    assert _post_update(run, telegram_text(next(UPDATE_IDS), who, "/help", who.lang)) == 200
    telegram.wait_for(lambda: len(telegram.messages_to(chat)) > seen, 10)
    assert "RecursionError" not in run.log.read_text(errors="replace")
