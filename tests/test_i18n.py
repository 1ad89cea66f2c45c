"""The French catalogue covers every message in the code, and the formatting helpers speak
both languages."""

from __future__ import annotations

import importlib.util
import string
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.i18n import fmt_day, fmt_money, for_channel, tr

ROOT = Path(__file__).resolve().parent.parent


def _load_catalogues_script() -> ModuleType:
    path = ROOT / "scripts" / "catalogues.py"
    spec = importlib.util.spec_from_file_location("carebot_catalogues", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


catalogues = _load_catalogues_script()


def _read(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


@pytest.fixture(scope="module")
def code_messages(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Every message in the code, extracted afresh (the checked-in .pot may be stale)."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    catalogues.extract(pot)
    return _read(pot)


@pytest.fixture(scope="module")
def french() -> Catalog:
    cfg = catalogues._config()
    po = ROOT / str(cfg["output_dir"]) / "fr" / "LC_MESSAGES" / f"{cfg['domain']}.po"
    return _read(po, "fr")


def _ids(message: Message) -> tuple[str, ...]:
    msgid = message.id
    return tuple(msgid) if isinstance(msgid, (tuple, list)) else (msgid,)


def _strings(message: Message) -> tuple[str, ...]:
    """The translation(s) of a message; a missing plural form reads as empty (untranslated)."""
    text = message.string
    if isinstance(text, (tuple, list)):
        return tuple(form or "" for form in text)
    return (text or "",)


def _placeholders(text: str) -> set[tuple[str, str]]:
    return {
        (field, spec or "")
        for _, field, spec, _ in string.Formatter().parse(text)
        if field is not None
    }


def test_code_has_messages(code_messages: Catalog) -> None:
    assert "Give up" in code_messages


def test_no_untranslated_french_entry(code_messages: Catalog, french: Catalog) -> None:
    problems = catalogues.gaps(code_messages, french)
    assert not problems, (
        "French catalogue is incomplete; run `python scripts/catalogues.py update` and "
        "translate:\n" + "\n".join(problems)
    )


def test_french_placeholders_match(french: Catalog) -> None:
    mismatched = []
    for message in french:
        if not message.id or not all(_strings(message)):
            continue
        expected = set().union(*(_placeholders(msgid) for msgid in _ids(message)))
        for text in _strings(message):
            if _placeholders(text) != expected:
                mismatched.append(f"{_ids(message)[0]!r} -> {text!r}")
    assert not mismatched, "placeholders differ:\n" + "\n".join(mismatched)


def test_tr_translates() -> None:
    assert tr("fr", "Give up") == "Abandonner"
    assert tr("en", "Give up") == "Give up"
    assert tr("fr", "{day} at {time}", day="mardi", time="14:00") == "mardi à 14:00"
    assert tr("en", "{day} at {time}", day="Tuesday", time="14:00") == "Tuesday at 14:00"


def test_money_and_days() -> None:
    money = fmt_money(Decimal("40"), "EUR", "fr")
    assert "40,00" in money
    assert "€" in money
    moment = datetime(2026, 11, 24, 14)
    assert fmt_day(moment, "fr") == "mardi 24 novembre"
    assert fmt_day(moment, "en") == "Tuesday 24 November"


@pytest.mark.parametrize("channel", ["telegram", "sms"])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_empty_message_is_empty_not_the_catalogue_header(lang: str, channel: str) -> None:
    # gettext("") answers with the catalogue's header; a reason with no words (an unknown
    # escalation reason on the console's card) must read as nothing, not as metadata.
    assert tr(for_channel(lang, channel), "") == ""
