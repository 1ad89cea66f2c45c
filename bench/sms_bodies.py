"""Every message the transcripts send, as it would leave: `python -m bench.sms_bodies`.

Replays every tests/transcripts/*.chat and keeps each outbound message with its person's
channel and language; SMS messages also get the body the SMS transport would send. `main`
prints, over the distinct SMS bodies: how many were folded, cut, sent as UCS-2, and at one
and two segments (the figures of issue 18). The French typography and SMS tests use
`collect()` too, so that what they check is what the transcripts really produce.
"""

from __future__ import annotations

import asyncio
import io
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import replay
from bot.handlers.sms_text import ELLIPSIS, compose, encoding, normalise, render_sms, segments
from bot.i18n import normalize_language
from bot.root import replay_file

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "tests" / "transcripts"


@dataclass(frozen=True)
class Sent:
    """One outbound message of a transcript."""

    chat: str
    channel: str
    lang: str
    text: str
    labels: tuple[str, ...]

    @property
    def full(self) -> str:
        """Text and options as a numbered list, normalised but neither folded nor cut."""
        return compose(normalise(self.text), [normalise(label) for label in self.labels])

    @property
    def body(self) -> str:
        """What the SMS transport sends for it."""
        return render_sms(self.text, self.labels)


async def collect(paths: Sequence[Path] | None = None) -> list[Sent]:
    """Replay the transcripts and return every message they send (each must pass)."""
    found: list[Sent] = []
    record = replay._record

    async def keep(run: replay.Run, before: int, number: int, what: str) -> None:
        await record(run, before, number, what)
        assert run.agency is not None and run.bot is not None
        default = run.agency.agency.language
        for message in run.step:
            # The person's language now (a message can switch it), not the agency file's.
            person = await run.bot.person(message.person_id) if message.person_id else None
            lang = normalize_language(person.language if person else None, default)
            labels = tuple(label for label, _ in message.options)
            found.append(Sent(run.path.name, message.channel, lang, message.text, labels))

    replay._record = keep  # type: ignore[assignment]  # the one seam replay has
    try:
        for path in paths or sorted(TRANSCRIPTS.rglob("*.chat")):
            out = io.StringIO()
            if await replay_file(path, out) != 0:
                raise AssertionError(out.getvalue())
    finally:
        replay._record = record
    return found


def _stripped(text: str) -> str:
    """Every letter as its base letter: equal when two texts differ only by folds."""
    decomposed = unicodedata.normalize("NFD", text.replace("œ", "oe").replace("°", "o"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def figures(sent: Sequence[Sent]) -> Counter[str]:
    """Distinct SMS bodies: total, folded, options shortened (bios dropped, nothing cut
    inside a word), cut ('...'), UCS-2, at 1 and at 2 segments, over 2."""
    counts: Counter[str] = Counter()
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for message in sent:
        key = (message.text, message.labels)
        if message.channel != "sms" or key in seen:
            continue
        seen.add(key)
        full, body = message.full, message.body
        counts["bodies"] += 1
        counts[f"{message.lang} bodies"] += 1
        cut = body.count(ELLIPSIS) > full.count(ELLIPSIS)
        shortened = not cut and _stripped(body) != _stripped(full)
        counts["cut"] += cut
        counts["options shortened"] += shortened
        counts["folded"] += not cut and not shortened and body != full
        counts["UCS-2"] += encoding(body) == "UCS-2"
        count = segments(body)
        counts[f"{min(count, 3)} segment{'s' if count > 1 else ''}"] += 1
    return counts


def main() -> int:
    """Print the figures."""
    counts = figures(asyncio.run(collect()))
    for name in (
        "bodies",
        "fr bodies",
        "en bodies",
        "folded",
        "options shortened",
        "cut",
        "UCS-2",
    ):
        print(f"{name:>17}: {counts[name]}")
    for name in ("1 segment", "2 segments", "3 segments"):
        print(f"{name:>17}: {counts[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
