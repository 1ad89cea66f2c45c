"""No user ever reads a stored code (issue 11, point 3): every message every transcript sends,
text and option labels, is scanned for the raw values of the request statuses and for any
snake_case identifier, and for a status code where a status is shown: in parentheses after a
line, or after a colon. In English a status whose words are its code ("confirmed") passes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.sms_bodies import Sent, collect
from bot.domain.booking import NoticeProblem, Status
from bot.i18n import tr
from bot.services.notices import STATUS_WORDS
from tests.conftest import TRANSCRIPTS

CHATS = sorted(TRANSCRIPTS.rglob("*.chat"))
CODES = sorted({s.value for s in Status} | {p.value for p in NoticeProblem})
# English status words that are not their code's spelling.
ENGLISH = sorted(c for c in CODES if c not in {tr("en", w) for w in STATUS_WORDS.values()})
SNAKE = re.compile(r"(?<![\w/.@-])[a-z]+(?:_[a-z]+)+(?![\w/.@-])")


def shown(codes: list[str]) -> re.Pattern[str]:
    """A code where a status is shown: '(escalated)' or ': escalated'."""
    return re.compile(rf"(?:\(|:\s?)({'|'.join(codes)})\b", re.IGNORECASE)


SHOWN = {"fr": shown(CODES), "en": shown(ENGLISH)}


def raw_codes(message: Sent) -> list[str]:
    """The stored codes a message shows its reader."""
    found: list[str] = []
    for text in (message.text, *message.labels):
        found += SNAKE.findall(text)
        found += [m.group(1) for m in SHOWN[message.lang].finditer(text)]
    return found


@pytest.mark.parametrize("path", CHATS, ids=[p.name for p in CHATS])
async def test_no_message_shows_a_raw_code(path: Path) -> None:
    shown = [(m.chat, m.text, codes) for m in await collect([path]) if (codes := raw_codes(m))]
    assert not shown, shown


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("fr", "• Alice / Léa : garde d'enfants, mardi (escalated)"),
        ("en", "• Alice / Léa: Childcare, Tuesday (escalated)"),
        ("en", "Status: in_progress"),
        ("fr", "Statut\u202f: confirmed"),
        ("fr", "Motif : provider_cancelled"),
    ],
)
def test_the_scan_sees_a_raw_code(lang: str, text: str) -> None:
    assert raw_codes(Sent("x.chat", "telegram", lang, text, ()))


def test_the_scan_lets_prose_through() -> None:
    for lang, text in [
        ("en", "• Childcare, Tuesday (confirmed)"),
        ("fr", "Commandes\u202f: /pending, /unresolved"),
        ("fr", "Motif\u202f: Flight cancelled, I am stuck abroad"),
    ]:
        assert raw_codes(Sent("x.chat", "telegram", lang, text, ())) == [], text
