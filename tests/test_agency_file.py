"""The agency file: what loads, what is refused, and how the refusal says where to look."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.agency_file import AgencyFileError, load_agency_file, parse_agency_toml
from bot.agency_file.tables import _POLICY_KEYS
from bot.domain.agency import AvailabilityWindow, FeeTier, Member, Policy, Provider, Service
from bot.domain.durations import format_duration, format_hhmm, parse_duration, parse_hhmm
from storage.codec import policy_from_json, policy_to_json

REPO = Path(__file__).resolve().parents[1]

# A small valid file that the bad-file cases below break one line at a time.
BASE = """\
[agency]
name = "Les Petits Soins"
timezone = "Europe/Paris"
currency = "EUR"
language = "fr"

[policy]
min_notice = "3h"
max_advance = "60d"
answer_by = "20:00"
noshow_fee_cap = "40.00"
change_requests = "review"
scheduling_fee = [
  { under = "24h", fee = "15.00" },
  { under = "7d",  fee = "10.00" },
  { fee = "5.00" },
]

[[service]]
id = "childcare"
name = { fr = "Garde ponctuelle", en = "Casual childcare" }
hourly_rate = "18.00"

[[service]]
id = "massage"
name = { fr = "Massage" }
hourly_rate = "60.00"
checkin = false

[[member]]
id = "alice"
name = "Alice Martin"
channel = "telegram"
telegram_id = 1001
phone = "+33612345678"
language = "fr"
subscription = { service = "massage", per_week = 1 }
credits = 2
balance = "7.50"

[[provider]]
id = "marie"
name = "Marie Dupont"
channel = "sms"
phone = "+33600000001"
services = ["childcare"]
rating = 4.9
bio = { fr = "Auxiliaire de puériculture.", en = "Nursery assistant." }
availability = ["mon-fri 08:00-19:00", "sat 09:00-13:00"]
unavailable = ["2026-11-26"]

[[provider]]
id = "omar"
name = "Omar Haddad"
channel = "sms"
phone = "+33633334444"
services = ["childcare", "massage"]
availability = ["sat-sun 09:00-24:00"]

[[staff]]
id = "sophie"
name = "Sophie"
channel = "telegram"
telegram_id = 9001
"""


def broken(old: str, new: str) -> str:
    """BASE with one exact snippet replaced (it must occur exactly once)."""
    assert BASE.count(old) == 1, f"snippet {old!r} occurs {BASE.count(old)} times"
    return BASE.replace(old, new)


# --- What loads --------------------------------------------------------------------------


def test_base_file_loads_into_domain_objects() -> None:
    loaded = parse_agency_toml(BASE)

    assert loaded.agency.name == "Les Petits Soins"
    assert loaded.agency.timezone == "Europe/Paris"
    assert [s.id for s in loaded.services] == ["childcare", "massage"]
    assert loaded.service("massage") == Service(
        "massage", {"fr": "Massage"}, Decimal("60.00"), checkin=False
    )
    alice = loaded.person("alice")
    assert isinstance(alice, Member)
    assert alice.subscription is not None and alice.subscription.per_week == 1
    assert (alice.credits, alice.balance) == (2, Decimal("7.50"))
    marie = loaded.person("marie")
    assert isinstance(marie, Provider)
    assert marie.unavailable == frozenset({date(2026, 11, 26)})
    assert [w.weekday for w in marie.availability] == [0, 1, 2, 3, 4, 5]
    assert marie.availability[5] == AvailabilityWindow(weekday=5, start=9 * 60, end=13 * 60)
    assert loaded.providers[1].availability[-1] == AvailabilityWindow(6, 9 * 60, 24 * 60)
    assert loaded.providers[1].bio == {}
    assert [p.id for p in loaded.people] == ["alice", "marie", "omar", "sophie"]
    hash(loaded)  # frozen all the way down


def test_policy_defaults_apply_when_the_table_is_left_out() -> None:
    start = BASE.index("[policy]")
    without_policy = BASE[:start] + BASE[BASE.index("[[service]]") :]

    assert parse_agency_toml(without_policy).agency.policy == Policy()


def test_the_format_example_agency_loads() -> None:
    loaded = load_agency_file(REPO / "tests" / "examples" / "agency.toml")

    assert loaded.agency.name == "Douce Maison"
    # +447700900555 is in Ofcom's drama range, which phonenumbers calls invalid.
    assert loaded.person("jack").phone == "+447700900555"


def test_the_example_in_the_docs_loads_and_spells_out_the_defaults() -> None:
    doc = (REPO / "docs" / "agency-file.md").read_text(encoding="utf-8")
    match = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert match is not None, "docs/agency-file.md lost its example"

    loaded = parse_agency_toml(match.group(1), "agency-file.md")

    assert loaded.agency.policy == Policy()
    assert [p.id for p in loaded.people] == ["alice", "marie", "sophie"]


def test_the_docs_describe_every_policy_key() -> None:
    doc = (REPO / "docs" / "agency-file.md").read_text(encoding="utf-8")
    policy_section = doc[doc.index("## `[policy]`") : doc.index("## `[[service]]`")]

    for key in _POLICY_KEYS:
        assert f"| `{key}` |" in policy_section, key


def test_demo_agency_loads() -> None:
    loaded = load_agency_file(REPO / "agencies" / "demo.toml")

    assert loaded.agency.name == "Les Petits Soins"
    assert (loaded.agency.timezone, loaded.agency.currency) == ("Europe/Paris", "EUR")
    rates = {s.id: s.hourly_rate for s in loaded.services}
    assert rates == {
        "childcare": Decimal("18.00"),
        "cleaning": Decimal("25.00"),
        "massage": Decimal("60.00"),
        "pet_visits": Decimal("15.00"),
    }
    assert [m.id for m in loaded.members] == ["alice", "bob", "chloe"]
    assert loaded.person("alice").telegram_id == 1001
    assert loaded.person("bob").phone == "+447700900123"
    chloe = loaded.person("chloe")
    assert isinstance(chloe, Member) and chloe.subscription is not None
    assert (chloe.subscription.service, chloe.subscription.per_week) == ("massage", 1)
    assert len(loaded.providers) == 5
    assert sum(p.channel == "sms" for p in loaded.providers) >= 3
    weekdays = {w.weekday for p in loaded.providers for w in p.availability}
    assert weekdays == set(range(7))
    assert any(p.unavailable for p in loaded.providers)
    assert [(s.id, s.telegram_id) for s in loaded.staff] == [("sophie", 9001), ("karim", 9002)]


def test_phone_numbers_are_stored_in_e164() -> None:
    loaded = parse_agency_toml(broken('"+33633334444"', '"+33 6 33 33 44 44"'))

    assert loaded.person("omar").phone == "+33633334444"


def test_days_off_may_be_toml_dates() -> None:
    loaded = parse_agency_toml(broken('["2026-11-26"]', "[2026-11-26, 2026-12-25]"))

    assert loaded.person("marie") == loaded.providers[0]
    assert loaded.providers[0].unavailable == {date(2026, 11, 26), date(2026, 12, 25)}


def test_availability_rows_add_up_and_touching_windows_merge() -> None:
    rows = '["mon 12:00-18:00", "mon 08:00-12:00", "mon 20:00-22:00", "sun 09:00-10:00"]'
    loaded = parse_agency_toml(broken('["sat-sun 09:00-24:00"]', rows))

    assert loaded.providers[1].availability == (
        AvailabilityWindow(0, 8 * 60, 18 * 60),
        AvailabilityWindow(0, 20 * 60, 22 * 60),
        AvailabilityWindow(6, 9 * 60, 10 * 60),
    )


def test_policy_values_are_read() -> None:
    text = broken('min_notice = "3h"', 'min_notice = "1h30m"\nreminders_member = []')
    text = text.replace('answer_by = "20:00"', 'answer_by = "19:30"')
    policy = parse_agency_toml(text.replace('"review"', '"auto"')).agency.policy

    assert policy.min_notice == timedelta(hours=1, minutes=30)
    assert policy.reminders_member == ()
    assert policy.answer_by == 19 * 60 + 30
    assert policy.change_requests == "auto"


def test_later_policy_keys_are_read() -> None:
    extra = (
        'escalation_reminder = "3h"\ncontest_within = "1h"\nbooking_horizon = "8w"\n'
        'hiatus_after = "3w"\nregular_within = "56d"\nquiet_hours = "21:30-08:00"\n'
    )
    policy = parse_agency_toml(
        broken('min_notice = "3h"', extra + 'min_notice = "3h"')
    ).agency.policy

    assert policy.escalation_reminder == timedelta(hours=3)
    assert policy.contest_within == timedelta(hours=1)
    assert policy.booking_horizon == timedelta(weeks=8)
    assert policy.hiatus_after == timedelta(days=21)
    assert policy.regular_within == timedelta(weeks=8)
    assert policy.quiet_hours == (21 * 60 + 30, 8 * 60)


def test_a_policy_stored_before_the_later_keys_reads_with_their_defaults() -> None:
    stored = json.loads(policy_to_json(Policy(contest_within=timedelta(hours=5))))
    assert policy_from_json(json.dumps(stored)).contest_within == timedelta(hours=5)
    for key in ("escalation_reminder", "contest_within", "quiet_hours", "hiatus_after"):
        del stored[key]

    assert policy_from_json(json.dumps(stored)) == Policy()


# --- What is refused, and where the error points -----------------------------------------


@dataclass(frozen=True)
class Bad:
    """One broken file: what to replace in BASE, and what the error must say."""

    name: str
    old: str
    new: str
    where: str  # table, entry and key as the message writes them
    problem: str  # a fragment of the problem
    table: str | None
    key: str | None


ALICE = '[[member]] entry 1 (id "alice")'
MARIE = '[[provider]] entry 1 (id "marie")'
OMAR = '[[provider]] entry 2 (id "omar")'

BAD_FILES = [
    Bad(
        "unknown service id",
        '"childcare", "massage"]',
        '"childcare", "massag"]',
        f'{OMAR}, key "services"',
        'unknown service "massag"',
        "provider",
        "services",
    ),
    Bad(
        "unknown subscription service",
        'service = "massage"',
        'service = "yoga"',
        f'{ALICE}, key "subscription.service"',
        'unknown service "yoga"',
        "member",
        "subscription.service",
    ),
    Bad(
        "bad duration",
        'min_notice = "3h"',
        'min_notice = "3 hours"',
        '[policy], key "min_notice"',
        '"3 hours" is not a duration like "30m", "3h" or "5d"',
        "policy",
        "min_notice",
    ),
    Bad(
        "bad E.164 phone",
        '"+33633334444"',
        '"+3360"',
        f'{OMAR}, key "phone"',
        '"+3360" is not a valid E.164 phone number',
        "provider",
        "phone",
    ),
    Bad(
        "phone without country code",
        '"+33633334444"',
        '"0633334444"',
        f'{OMAR}, key "phone"',
        "not a valid E.164 phone number",
        "provider",
        "phone",
    ),
    Bad(
        "duplicate id in one table",
        'id = "omar"',
        'id = "marie"',
        '[[provider]] entry 2 (id "marie"), key "id"',
        f'"marie" is already the id of {MARIE}',
        "provider",
        "id",
    ),
    Bad(
        "overlapping ids across tables",
        'id = "sophie"',
        'id = "alice"',
        '[[staff]] entry 1 (id "alice"), key "id"',
        f'"alice" is already the id of {ALICE}',
        "staff",
        "id",
    ),
    Bad(
        "shared phone number",
        '"+33633334444"',
        '"+33600000001"',
        f'{OMAR}, key "phone"',
        f"already the phone of {MARIE}",
        "provider",
        "phone",
    ),
    Bad(
        "shared Telegram account",
        "telegram_id = 9001",
        "telegram_id = 1001",
        '[[staff]] entry 1 (id "sophie"), key "telegram_id"',
        f"already the telegram_id of {ALICE}",
        "staff",
        "telegram_id",
    ),
    Bad(
        "unknown time zone",
        '"Europe/Paris"',
        '"Europe/Pariss"',
        '[agency], key "timezone"',
        '"Europe/Pariss" is not an IANA time zone',
        "agency",
        "timezone",
    ),
    Bad(
        "time zone that is a folder",
        '"Europe/Paris"',
        '"Europe"',
        '[agency], key "timezone"',
        "not an IANA time zone",
        "agency",
        "timezone",
    ),
    Bad(
        "missing telegram_id",
        "telegram_id = 1001\n",
        "",
        f'{ALICE}, key "telegram_id"',
        'missing (required when channel = "telegram")',
        "member",
        "telegram_id",
    ),
    Bad(
        "missing phone",
        'phone = "+33633334444"\n',
        "",
        f'{OMAR}, key "phone"',
        'missing (required when channel = "sms")',
        "provider",
        "phone",
    ),
    Bad(
        "missing required key",
        'name = "Omar Haddad"\n',
        "",
        f'{OMAR}, key "name"',
        "missing (required)",
        "provider",
        "name",
    ),
    Bad(
        "unknown key",
        'phone = "+33612345678"',
        'phnoe = "+33612345678"',
        f'{ALICE}, key "phnoe"',
        'unknown key (did you mean "phone"?)',
        "member",
        "phnoe",
    ),
    Bad(
        "unknown policy key",
        'min_notice = "3h"',
        'min_notise = "3h"',
        '[policy], key "min_notise"',
        'did you mean "min_notice"?',
        "policy",
        "min_notise",
    ),
    Bad(
        "key of another table",
        'language = "fr"\nsubscription',
        'language = "fr"\nrating = 4.0\nsubscription',
        f'{ALICE}, key "rating"',
        "unknown key",
        "member",
        "rating",
    ),
    Bad(
        "unknown top-level table",
        "[[staff]]",
        "[[staf]]",
        'key "staf"',
        'unknown table (did you mean "staff"?)',
        None,
        "staf",
    ),
    Bad(
        "bad availability row",
        '"sat 09:00-13:00"',
        '"sat 9h-13h"',
        f'{MARIE}, key "availability"',
        '"sat 9h-13h" is not an availability row like',
        "provider",
        "availability",
    ),
    Bad(
        "unknown day",
        '"sat 09:00-13:00"',
        '"sam 09:00-13:00"',
        f'{MARIE}, key "availability"',
        '"sam" is not a day',
        "provider",
        "availability",
    ),
    Bad(
        "backward day range",
        '"sat-sun 09:00-24:00"',
        '"sun-mon 09:00-12:00"',
        f'{OMAR}, key "availability"',
        "day ranges run forward",
        "provider",
        "availability",
    ),
    Bad(
        "window ending before it starts",
        '"sat 09:00-13:00"',
        '"sat 13:00-09:00"',
        f'{MARIE}, key "availability"',
        "must end after it starts",
        "provider",
        "availability",
    ),
    Bad(
        "window starting at 24:00",
        '"sat 09:00-13:00"',
        '"sat 24:00-24:00"',
        f'{MARIE}, key "availability"',
        "is not a time of day",
        "provider",
        "availability",
    ),
    Bad(
        "float money",
        'noshow_fee_cap = "40.00"',
        "noshow_fee_cap = 40.0",
        '[policy], key "noshow_fee_cap"',
        'must be quoted, like "40.00"',
        "policy",
        "noshow_fee_cap",
    ),
    Bad(
        "integer hourly rate",
        'hourly_rate = "18.00"',
        "hourly_rate = 18",
        '[[service]] entry 1 (id "childcare"), key "hourly_rate"',
        'must be quoted, like "18.00"',
        "service",
        "hourly_rate",
    ),
    Bad(
        "three decimals",
        'balance = "7.50"',
        'balance = "7.505"',
        f'{ALICE}, key "balance"',
        'is not an amount like "40.00"',
        "member",
        "balance",
    ),
    Bad(
        "negative money",
        'balance = "7.50"',
        'balance = "-7.50"',
        f'{ALICE}, key "balance"',
        "not negative",
        "member",
        "balance",
    ),
    Bad(
        "free service",
        'hourly_rate = "60.00"',
        'hourly_rate = "0.00"',
        '[[service]] entry 2 (id "massage"), key "hourly_rate"',
        "must be more than 0",
        "service",
        "hourly_rate",
    ),
    Bad(
        "rating as a word",
        "rating = 4.9",
        'rating = "high"',
        f'{MARIE}, key "rating"',
        '"high" is not a number from 0 to 5',
        "provider",
        "rating",
    ),
    Bad(
        "rating above 5",
        "rating = 4.9",
        "rating = 49",
        f'{MARIE}, key "rating"',
        "49 is not a number from 0 to 5",
        "provider",
        "rating",
    ),
    Bad(
        "bio in another language",
        'en = "Nursery assistant." }',
        'de = "Kinderpflegerin." }',
        f'{MARIE}, key "bio"',
        'unknown language "de"',
        "provider",
        "bio",
    ),
    Bad(
        "service name in no language",
        'name = { fr = "Massage" }',
        "name = {}",
        '[[service]] entry 2 (id "massage"), key "name"',
        'needs a text in "fr" or "en"',
        "service",
        "name",
    ),
    Bad(
        "service id with capitals",
        'id = "massage"',
        'id = "Massage"',
        '[[service]] entry 2 (id "Massage"), key "id"',
        "is not an id",
        "service",
        "id",
    ),
    Bad(
        "provider offering no service",
        'services = ["childcare"]',
        "services = []",
        f'{MARIE}, key "services"',
        "at least one service",
        "provider",
        "services",
    ),
    Bad(
        "provider listing a service twice",
        'services = ["childcare"]',
        'services = ["childcare", "childcare"]',
        f'{MARIE}, key "services"',
        "the same service twice",
        "provider",
        "services",
    ),
    Bad(
        "bad day off",
        '"2026-11-26"',
        '"2026-13-01"',
        f'{MARIE}, key "unavailable"',
        '"2026-13-01" is not a date',
        "provider",
        "unavailable",
    ),
    Bad(
        "negative credits",
        "credits = 2",
        "credits = -1",
        f'{ALICE}, key "credits"',
        "-1 is not a whole number of at least 0",
        "member",
        "credits",
    ),
    Bad(
        "zero sessions a week",
        "per_week = 1",
        "per_week = 0",
        f'{ALICE}, key "subscription.per_week"',
        "at least 1",
        "member",
        "subscription.per_week",
    ),
    Bad(
        "telegram id as a boolean",
        "telegram_id = 1001",
        "telegram_id = true",
        f'{ALICE}, key "telegram_id"',
        "true is not a whole number",
        "member",
        "telegram_id",
    ),
    Bad(
        "unknown channel",
        'channel = "telegram"\ntelegram_id = 9001',
        'channel = "whatsapp"\ntelegram_id = 9001',
        '[[staff]] entry 1 (id "sophie"), key "channel"',
        '"whatsapp" is not one of "telegram", "sms"',
        "staff",
        "channel",
    ),
    Bad(
        "unknown language",
        'language = "fr"\n\n[policy]',
        'language = "de"\n\n[policy]',
        '[agency], key "language"',
        '"de" is not one of "fr", "en"',
        "agency",
        "language",
    ),
    Bad(
        "lowercase currency",
        'currency = "EUR"',
        'currency = "eur"',
        '[agency], key "currency"',
        "is not a currency code",
        "agency",
        "currency",
    ),
    Bad(
        "answer_by out of the day",
        'answer_by = "20:00"',
        'answer_by = "24:00"',
        '[policy], key "answer_by"',
        "is not a time of day",
        "policy",
        "answer_by",
    ),
    Bad(
        "quiet hours that are not a span",
        'answer_by = "20:00"',
        'answer_by = "20:00"\nquiet_hours = "20:00"',
        '[policy], key "quiet_hours"',
        'is not a span of the day like "20:00-09:00"',
        "policy",
        "quiet_hours",
    ),
    Bad(
        "a duration in months",
        'answer_by = "20:00"',
        'answer_by = "20:00"\nhiatus_after = "1mo"',
        '[policy], key "hiatus_after"',
        "is not a duration",
        "policy",
        "hiatus_after",
    ),
    Bad(
        "unknown change_requests mode",
        'change_requests = "review"',
        'change_requests = "manual"',
        '[policy], key "change_requests"',
        '"manual" is not one of "review", "auto"',
        "policy",
        "change_requests",
    ),
    Bad(
        "max_advance not beyond min_notice",
        'max_advance = "60d"',
        'max_advance = "2h"',
        '[policy], key "max_advance"',
        "must be longer than min_notice (3h)",
        "policy",
        "max_advance",
    ),
    Bad(
        "catch-all fee row with under",
        '{ fee = "5.00" }',
        '{ under = "30d", fee = "5.00" }',
        '[policy], key "scheduling_fee[3].under"',
        "the last row is the catch-all",
        "policy",
        "scheduling_fee[3].under",
    ),
    Bad(
        "fee row without under",
        '{ under = "7d",  fee = "10.00" }',
        '{ fee = "10.00" }',
        '[policy], key "scheduling_fee[2].under"',
        "missing (required)",
        "policy",
        "scheduling_fee[2].under",
    ),
    Bad(
        "fee rows out of order",
        'under = "7d"',
        'under = "12h"',
        '[policy], key "scheduling_fee[2].under"',
        "must be longer than the row before (1d)",
        "policy",
        "scheduling_fee[2].under",
    ),
    Bad(
        "float fee",
        'fee = "15.00"',
        "fee = 15.0",
        '[policy], key "scheduling_fee[1].fee"',
        "must be quoted",
        "policy",
        "scheduling_fee[1].fee",
    ),
    Bad(
        "single [agency] written as an array",
        "[agency]",
        "[[agency]]",
        "[agency]",
        "write it once as [agency]",
        "agency",
        None,
    ),
    Bad(
        "staff written as a single table",
        "[[staff]]",
        "[staff]",
        "[[staff]]",
        "write [[staff]] (double brackets)",
        "staff",
        None,
    ),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=lambda case: case.name)
def test_bad_file_is_refused_with_table_entry_and_key(case: Bad) -> None:
    with pytest.raises(AgencyFileError) as caught:
        parse_agency_toml(broken(case.old, case.new), "agency.toml")

    error = caught.value
    assert str(error).startswith(f"agency.toml: {case.where}: "), str(error)
    assert case.problem in error.problem
    assert (error.table, error.key) == (case.table, case.key)


def test_error_message_matches_the_documented_shape() -> None:
    # Swap the two providers so that marie is entry 2, as in fixture.md's example message.
    marie = BASE[
        BASE.index('[[provider]]\nid = "marie"') : BASE.index('[[provider]]\nid = "omar"')
    ]
    omar = BASE[BASE.index('[[provider]]\nid = "omar"') : BASE.index("[[staff]]")]
    text = BASE.replace(marie + omar, omar + marie.replace('"+33600000001"', '"+3360"'))

    with pytest.raises(AgencyFileError) as caught:
        parse_agency_toml(text, "agency.toml")

    assert str(caught.value) == (
        'agency.toml: [[provider]] entry 2 (id "marie"), key "phone": '
        '"+3360" is not a valid E.164 phone number'
    )
    assert (caught.value.entry, caught.value.entry_id) == (2, "marie")


def test_policy_error_matches_the_documented_shape() -> None:
    with pytest.raises(AgencyFileError) as caught:
        parse_agency_toml(broken('"3h"', '"3 hours"'), "agency.toml")

    assert str(caught.value) == (
        'agency.toml: [policy], key "min_notice": "3 hours" is not a duration like '
        '"30m", "3h" or "5d"'
    )


def test_a_file_without_services_is_refused() -> None:
    text = re.sub(r"\[\[service\]\].*?(?=\[\[member\]\])", "", BASE, flags=re.S)

    with pytest.raises(AgencyFileError, match=r"\[\[service\]\]: at least one"):
        parse_agency_toml(text)


def test_a_file_without_agency_is_refused() -> None:
    text = BASE[BASE.index("[policy]") :]

    with pytest.raises(AgencyFileError, match=r"^agency file: \[agency\]: missing"):
        parse_agency_toml(text)


def test_invalid_toml_is_refused() -> None:
    with pytest.raises(AgencyFileError, match=r"^agency.toml: is not valid TOML: .*line 2"):
        parse_agency_toml('[agency]\nname = "unterminated\n', "agency.toml")


def test_a_missing_file_is_an_agency_file_error(tmp_path: Path) -> None:
    with pytest.raises(AgencyFileError, match="cannot be read"):
        load_agency_file(tmp_path / "nope.toml")


def test_load_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "agency.toml"
    path.write_text(broken('"Europe/Paris"', '"Mars/Olympus"'), encoding="utf-8")

    with pytest.raises(AgencyFileError) as caught:
        load_agency_file(path)

    assert str(caught.value).startswith(f'{path}: [agency], key "timezone": ')


# --- Durations and times of day ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("3h", timedelta(hours=3)),
        ("24h", timedelta(hours=24)),
        ("5d", timedelta(days=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90m", timedelta(minutes=90)),
        ("3w", timedelta(weeks=3)),
        ("1w2d", timedelta(days=9)),
        ("0m", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3", "3 hours", "90s", "30mh", "1m1h", "-3h", "h", "1.5h"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=24), "1d"),
        (timedelta(days=60), "60d"),
        (timedelta(0), "0m"),
    ],
)
def test_format_duration(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text


@given(st.integers(min_value=0, max_value=1000 * 24 * 60))
def test_durations_round_trip(minutes: int) -> None:
    duration = timedelta(minutes=minutes)

    assert parse_duration(format_duration(duration)) == duration


@pytest.mark.parametrize("duration", [timedelta(seconds=90), timedelta(minutes=-5)])
def test_format_duration_refuses_what_cannot_be_written(duration: timedelta) -> None:
    with pytest.raises(ValueError):
        format_duration(duration)


def test_parse_hhmm() -> None:
    assert parse_hhmm("00:00") == 0
    assert parse_hhmm("07:30") == parse_hhmm("7:30") == 450
    assert parse_hhmm("23:59") == 1439
    assert parse_hhmm("24:00", allow_midnight_end=True) == 1440
    for text in ("24:00", "12:60", "1230", "12h30", ""):
        with pytest.raises(ValueError):
            parse_hhmm(text)
    with pytest.raises(ValueError):
        parse_hhmm("24:01", allow_midnight_end=True)


@given(st.integers(min_value=0, max_value=1440))
def test_hhmm_round_trip(minutes: int) -> None:
    assert parse_hhmm(format_hhmm(minutes), allow_midnight_end=True) == minutes


# --- Domain helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice", "fee"),
    [
        (timedelta(0), "15.00"),
        (timedelta(hours=23, minutes=59), "15.00"),
        (timedelta(hours=24), "10.00"),
        (timedelta(days=6, hours=23, minutes=59), "10.00"),
        (timedelta(days=7), "5.00"),
        (timedelta(days=60), "5.00"),
    ],
)
def test_fee_for_notice_at_the_boundaries(notice: timedelta, fee: str) -> None:
    assert Policy().fee_for_notice(notice) == Decimal(fee)


def test_fee_for_notice_reads_the_agency_table() -> None:
    text = broken('{ under = "24h", fee = "15.00" }', '{ under = "12h", fee = "20.00" }')
    policy = parse_agency_toml(text).agency.policy

    assert policy.scheduling_fee[0] == FeeTier(timedelta(hours=12), Decimal("20.00"))
    assert policy.fee_for_notice(timedelta(hours=11)) == Decimal("20.00")
    assert policy.fee_for_notice(timedelta(hours=12)) == Decimal("10.00")


def test_service_label_falls_back_to_english_then_french_then_id() -> None:
    both = Service("childcare", {"fr": "Garde", "en": "Childcare"}, Decimal("18.00"))
    french_only = Service("massage", {"fr": "Massage"}, Decimal("60.00"))
    unnamed = Service("pets", {}, Decimal("15.00"))

    assert both.label("fr") == "Garde"
    assert both.label("de") == "Childcare"
    assert french_only.label("en") == "Massage"
    assert unnamed.label("en") == "pets"
