"""Bad input never crashes a flow and always gets an answer (product §3, §6, §7).

Carebot.receive catches any exception and apologises, so "no exception escaped" proves
nothing by itself: every helper here also fails on the apology, in either language.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Carebot
from bot.domain.booking import Status
from bot.flows.router import Inbound, Press, Text
from bot.i18n import tr
from bot.services.ports import OutboxMessage

APOLOGY = 'Sorry, something went wrong on our side. Please try again, or type "menu".'
STALE = ("This choice is no longer available.", "This option is no longer available.")
NOT_STAFF = "This action is reserved for agency staff."
STRANGER = (
    "Hello! This number is not registered with {agency}. Please contact the agency to be added."
)
BOOK_FR = "Je voudrais une garde demain de 14h à 18h"  # Tuesday 24 November, 14:00-18:00
BOOK_EN = "childcare tomorrow 2pm to 6pm"
LANG = {"alice": "fr", "bob": "en", "chloe": "en", "marie": "fr", "paul": "en", "lea": "fr"}
LANG |= {"sophie": "fr", "karim": "en", "sam": "fr", "david": "fr"}


def texts(msgid: str, **params: object) -> set[str]:
    """A message in both languages."""
    return {tr("fr", msgid, **params), tr("en", msgid, **params)}


def test_the_apology_we_look_for_is_the_one_the_bot_sends() -> None:
    # If the wording moves, the checks below must move with it, or a crash passes silently.
    assert tr("fr", APOLOGY) != APOLOGY
    assert "something went wrong" in APOLOGY
    assert "souci technique" in tr("fr", APOLOGY)


def is_apology(text: str) -> bool:
    return any(a in text for a in texts(APOLOGY)) or "something went wrong" in text


async def step(
    bot: Carebot, who: str, inbound: Inbound | str, delivery_id: str | None = None
) -> list[OutboxMessage]:
    """One inbound from a roster person; what the bot queued, none of it an apology."""
    if isinstance(inbound, str):
        inbound = Text(inbound)
    before = await bot.last_outbox_id()
    await bot.receive_from(who, inbound, delivery_id)
    sent = await bot.outbox_after(before)
    apologies = [m for m in sent if is_apology(m.text)]
    assert not apologies, f"{who} {inbound!r} crashed a flow: {apologies}"
    return sent


def to(sent: list[OutboxMessage], who: str) -> list[OutboxMessage]:
    return [m for m in sent if m.person_id == who]


def only_reply(sent: list[OutboxMessage], who: str) -> OutboxMessage:
    """The one message of a step, which went to `who`."""
    assert [m.person_id for m in sent] == [who], sent
    return sent[0]


def option(message: OutboxMessage, label_part: str) -> str:
    """The action of the one option whose label contains `label_part`."""
    hits = [act for label, act in message.options if label_part in label]
    assert len(hits) == 1, (label_part, message.options)
    return hits[0]


async def requests(bot: Carebot, member: str) -> list[tuple[Status, str | None]]:
    async with bot.db.transaction() as tx:
        return [(r.status, r.provider_id) for r in await tx.requests.of_member(member, Status)]


async def to_summary(bot: Carebot, member: str = "alice", text: str = BOOK_FR) -> OutboxMessage:
    """Walk a member to the booking summary with Marie as first choice."""
    providers = only_reply(await step(bot, member, text), member)
    summary = only_reply(await step(bot, member, Press(option(providers, "Marie"))), member)
    assert len(summary.options) == 2
    return summary


async def sent_to_marie(bot: Carebot, member: str = "chloe", text: str = BOOK_EN) -> str:
    """A request from `member` put to Marie; the 'yes' action of Marie's offer."""
    summary = await to_summary(bot, member, text)
    sent = await step(bot, member, Press(summary.options[0][1]))
    offer = only_reply([m for m in sent if m.person_id == "marie"], "marie")
    assert await requests(bot, member) == [(Status.PENDING, "marie")]
    return option(offer, tr(LANG["marie"], "Yes, I confirm"))


# --- anything typed gets an answer ---------------------------------------------------------

NASTY = [
    "'; DROP TABLE people;--",
    "<b>gras</b>",
    "<script>alert(1)</script>",
    "\u202eRTL override",
    "مرحبا، أحتاج جليسة أطفال غدا",
    "שלום",
    "😀",
    "👨\u200d👩\u200d👧\u200d👦",
    "\x00",
    "\x1b[2J",
    "\r\n",
    "%s %d {0} {agency} {{}}",
    "²",
    "٣",
    "1",
    "0",
    "99999999999999999999999",
    "OUI",
    "non",
    "menu",
    "info 1",
    "annuler",
    "garde",
    "demain 14h-18h",
    "retard 15",
    "/pending",
    "/start@carebot",
    "/",
]
TEXTS = st.one_of(
    st.text(max_size=2000),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), min_size=1, max_size=8).map(
        " ".join
    ),
)
# What the person last did, so the random text lands in different states of the flows.
BEFORE = {
    "member": ["menu", "book", BOOK_FR, BOOK_EN, "my bookings", "annuler"],
    "provider": ["menu", "OUI", "retard 15", "mes réservations"],
    "staff": ["menu", "/pending", "help"],
}
ROLE = {"bob": "member", "marie": "provider", "sophie": "staff"}


@pytest.mark.parametrize("who", sorted(ROLE))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_any_text_gets_an_answer(bot: Carebot, who: str, data: st.DataObject) -> None:
    before = data.draw(st.sampled_from(BEFORE[ROLE[who]]), label="before")
    text = data.draw(TEXTS, label="text")
    assert to(await step(bot, who, before), who)
    assert to(await step(bot, who, text), who), f"no answer to {text!r}"


ODD = {
    "2,000 characters": ("garde demain de 14h à 18h " * 80)[:2000],
    "10,000 characters": "Bonjour, je voudrais une garde. " * 313,
    "emoji only": "😀🙈👶🏽🧹💆\u200d♀️",
    "whitespace only": " \t\n\r\u00a0\u2003\u3000  ",
    "NUL and controls": "\x00\x01\x02\x07\x08\x0b\x0c\x1b\x7f\x85\u200b\ufeff",
    "right to left": "\u202e\u0627\u0644\u0633\u0644\u0627\u0645 \u05e9\u05dc\u05d5\u05dd",
    "SQL": "'; DROP TABLE people;--",
    "HTML": "<b>menu</b><img src=x onerror=alert(1)>",
    "format fields": "{agency} {0} %s {provider!r}",
}


@pytest.mark.parametrize("who", ["alice", "bob", "marie", "sophie"])
async def test_odd_messages_get_an_answer(bot: Carebot, who: str) -> None:
    for name, text in ODD.items():
        assert to(await step(bot, who, text), who), name
    # In the middle of a flow too.
    if who in ("alice", "bob"):
        await step(bot, who, BOOK_FR)
        for name, text in ODD.items():
            assert to(await step(bot, who, text), who), name
    # And the roster is still there.
    async with bot.db.transaction() as tx:
        assert len(await tx.roster.people("member")) >= 4


async def test_a_long_message_is_still_understood(bot: Carebot) -> None:
    # Cut at 2,000 characters, what comes first is read: a booking starts.
    sent = await step(bot, "alice", BOOK_FR + " " + "x" * 10_000)
    assert option(only_reply(sent, "alice"), "Marie Dupont")


# --- strangers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "address"), [("telegram", "424242"), ("sms", "+33699999999")])
async def test_a_stranger_gets_one_polite_answer(bot: Carebot, channel: str, address: str) -> None:
    before = await bot.last_outbox_id()
    await bot.receive(channel, address, Text("Bonjour, je voudrais une garde"), "d1")
    [answer] = await bot.outbox_after(before)
    assert answer.person_id is None
    assert (answer.channel, answer.address) == (channel, address)
    assert answer.text == tr("fr", STRANGER, agency="Les Petits Soins")  # the agency's language
    assert not answer.options
    # The same stranger again, by text or by a button: no conversation.
    after_first = await bot.last_outbox_id()
    await bot.receive(channel, address, Text("allo ?"), "d2")
    await bot.receive(channel, address, Press("mn:book"), "d3")
    await bot.receive(channel, address, Text("menu"))
    assert await bot.outbox_after(after_first) == []
    # Another stranger still gets their answer; roster people are not affected.
    await bot.receive(channel, address + "1", Text("hello"), "d4")
    assert [m.address for m in await bot.outbox_after(after_first)] == [address + "1"]
    assert to(await step(bot, "alice", "menu"), "alice")


# --- duplicate deliveries -----------------------------------------------------------------


async def test_a_duplicate_delivery_is_processed_once(bot: Carebot) -> None:
    first = await step(bot, "alice", BOOK_FR, delivery_id="tg:1")
    assert len(first) == 1
    assert await step(bot, "alice", BOOK_FR, delivery_id="tg:1") == []
    summary = only_reply(
        await step(bot, "alice", Press(option(first[0], "Marie")), delivery_id="tg:2"), "alice"
    )
    confirm = Press(summary.options[0][1])
    sent = await step(bot, "alice", confirm, delivery_id="tg:3")
    assert {m.person_id for m in sent} == {"alice", "marie"}
    assert await step(bot, "alice", confirm, delivery_id="tg:3") == []
    assert await requests(bot, "alice") == [(Status.PENDING, "marie")]
    # Delivery ids belong to a channel: the same id on SMS is another delivery.
    assert to(await step(bot, "bob", "menu", delivery_id="tg:1"), "bob")


# --- stale options ------------------------------------------------------------------------


async def test_confirm_after_menu_is_no_longer_available(bot: Carebot) -> None:
    summary = await to_summary(bot)
    confirm = option(summary, tr("fr", "Confirm and send"))
    await step(bot, "alice", "menu")
    sent = await step(bot, "alice", Press(confirm))
    assert only_reply(sent, "alice").text in texts(STALE[0])
    assert await requests(bot, "alice") == []
    async with bot.db.transaction() as tx:
        assert await tx.ledger.balance("alice") == (Decimal("0.00"), 0)  # no fee charged
        assert await tx.offers.open_for("marie") == []
    # The give-up of the old summary is stale too, and the menu still works.
    sent = await step(bot, "alice", Press(option(summary, tr("fr", "Give up"))))
    assert only_reply(sent, "alice").text in texts(STALE[0])


async def test_options_of_a_booking_given_up_are_stale(bot: Carebot) -> None:
    summary = await to_summary(bot)
    await step(bot, "alice", Press(option(summary, tr("fr", "Give up"))))
    sent = await step(bot, "alice", Press(option(summary, tr("fr", "Confirm and send"))))
    assert only_reply(sent, "alice").text in texts(STALE[0])
    assert await requests(bot, "alice") == []


async def test_old_options_are_stale_after_the_booking_restarts(bot: Carebot) -> None:
    old_providers = only_reply(await step(bot, "alice", BOOK_FR), "alice")
    # Restarting with something new ("ménage mercredi ...") is another booking.
    new_providers = only_reply(await step(bot, "alice", "ménage mercredi de 9h à 12h"), "alice")
    assert option(new_providers, "Marie")
    old_actions = {act for _, act in old_providers.options}
    assert not old_actions & {act for _, act in new_providers.options}
    sent = await step(bot, "alice", Press(option(old_providers, "Marie")))
    assert only_reply(sent, "alice").text in texts(STALE[0])


async def test_old_confirm_after_a_restart_sends_nothing(bot: Carebot) -> None:
    old_summary = await to_summary(bot)  # childcare with Marie, Tuesday
    old_confirm = option(old_summary, tr("fr", "Confirm and send"))
    new_summary = await to_summary(bot, "alice", "ménage mercredi de 9h à 12h")
    assert old_confirm not in {act for _, act in new_summary.options}
    sent = await step(bot, "alice", Press(old_confirm))
    assert only_reply(sent, "alice").text in texts(STALE[0])
    assert await requests(bot, "alice") == []
    # The current summary still works.
    await step(bot, "alice", Press(option(new_summary, tr("fr", "Confirm and send"))))
    assert await requests(bot, "alice") == [(Status.PENDING, "marie")]


async def test_an_out_of_range_number_on_sms_sends_the_options_again(bot: Carebot) -> None:
    summary = await to_summary(bot, "bob", BOOK_EN)
    for typed in ("7", "0", "3."):
        again = only_reply(await step(bot, "bob", typed), "bob")
        assert again.text == tr("en", "Please answer with a number from 1 to {n}.", n=2)
        assert again.options == summary.options
    assert await requests(bot, "bob") == []
    # The options sent again are live: "1" confirms.
    sent = await step(bot, "bob", "1")
    assert {m.person_id for m in sent} == {"bob", "marie"}
    assert await requests(bot, "bob") == [(Status.PENDING, "marie")]


# --- offers: only the provider asked, only once --------------------------------------------


async def test_a_provider_cannot_answer_another_providers_offer(bot: Carebot) -> None:
    yes = await sent_to_marie(bot)
    no = yes[:-1] + "n"
    for who in ("paul", "lea", "sam"):
        for act in (yes, no):
            sent = await step(bot, who, Press(act))
            assert only_reply(sent, who).text in texts(STALE[0])
    assert await requests(bot, "chloe") == [(Status.PENDING, "marie")]
    async with bot.db.transaction() as tx:
        assert [o.provider_id for o in await tx.offers.open_for("marie")] == ["marie"]
    # Marie's own answer still counts.
    await step(bot, "marie", Press(yes))
    assert await requests(bot, "chloe") == [(Status.CONFIRMED, "marie")]


async def test_answering_twice_changes_nothing(bot: Carebot) -> None:
    yes = await sent_to_marie(bot)
    sent = await step(bot, "marie", Press(yes))
    assert {m.person_id for m in sent} == {"marie", "chloe"}
    assert await requests(bot, "chloe") == [(Status.CONFIRMED, "marie")]
    already = texts("You have already answered this request.")
    for act in (yes, yes[:-1] + "n"):
        sent = await step(bot, "marie", Press(act))
        assert only_reply(sent, "marie").text in already
    # Typed, too: nothing is waiting any more.
    sent = await step(bot, "marie", "NON")
    assert only_reply(sent, "marie").text in texts("No request is waiting for your answer.")
    assert await requests(bot, "chloe") == [(Status.CONFIRMED, "marie")]


# --- staff actions are for staff -----------------------------------------------------------


async def test_staff_actions_are_refused_to_members_and_providers(bot: Carebot) -> None:
    await sent_to_marie(bot)
    sent = await step(bot, "marie", "non désolée pas dispo")
    escalation = next(m for m in sent if m.person_id == "sophie")
    close = option(escalation, tr("fr", "Close as unfilled"))
    escalation_id = close.split(":")[1]
    assert await requests(bot, "chloe") == [(Status.ESCALATED, None)]
    for who in ("alice", "chloe", "marie", "paul"):
        for inbound in (
            Press(f"eo:{escalation_id}:paul"),
            Press(f"eu:{escalation_id}"),
            Press(close),
            Press("mn:pending"),
            Text("/pending"),
        ):
            sent = await step(bot, who, inbound)
            assert only_reply(sent, who).text in texts(NOT_STAFF), (who, inbound)
    assert await requests(bot, "chloe") == [(Status.ESCALATED, None)]
    async with bot.db.transaction() as tx:
        assert [e.id for e in await tx.escalations.open()] == [int(escalation_id)]
        assert await tx.offers.open_for("paul") == []
    # Staff themselves still can.
    sent = await step(bot, "karim", Press(f"eo:{escalation_id}:paul"))
    assert to(sent, "paul")
    assert await requests(bot, "chloe") == [(Status.PENDING, "paul")]


# --- garbage actions ----------------------------------------------------------------------

GARBAGE = [
    "",
    "x",
    ":",
    ":::",
    "bk:::::",
    "bk:1",
    "bk:999:ok",
    "bk:1:s:",
    "bk:1:p:nobody",
    "a" * 70,
    "é" * 40,  # 40 characters, 80 bytes
    "bk:1:" + "p" * 70,
    "eo:abc:paul",
    "eo:1",
    "eo:999:paul",
    "eo:²:paul",
    "eo:99999999999999999999999:paul",
    "eu:",
    "eu:abc",
    "eu:²",
    "eu:99999999999999999999999",
    "oa:1",
    "oa:abc:y",
    "oa:1:maybe",
    "oa:²:y",
    "oa:99999999999999999999999:y",
    "mn:",
    "mn:nonsense",
    "lg:",
    "lg:xx",
    "zz:1:2",
    "\x00:\x00",
    "🙈:🙈",
]


@pytest.mark.parametrize("who", ["alice", "bob", "marie", "sophie"])
async def test_garbage_actions_get_an_answer(bot: Carebot, who: str) -> None:
    await sent_to_marie(bot)  # so that offer 1 and request 1 exist
    for data in GARBAGE:
        sent = await step(bot, who, Press(data))
        assert to(sent, who), f"no answer to {data!r}"
    assert await requests(bot, "chloe") == [(Status.PENDING, "marie")]


@pytest.mark.parametrize("typed", ["²", "٣", "1²", "99999999999999999999999", "0"])
async def test_odd_numbers_typed_against_options(bot: Carebot, typed: str) -> None:
    """Digits int() refuses, or numbers far out of range: an answer, and nothing booked."""
    await to_summary(bot, "bob", BOOK_EN)
    assert to(await step(bot, "bob", typed), "bob")
    assert await requests(bot, "bob") == []
