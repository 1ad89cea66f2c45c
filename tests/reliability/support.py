"""What the reliability tests share: a generated agency, a restartable `carebot run`, posters.

The channel tests' helpers are reused as they are (the fakes, the Twilio signature, the health
wait, `eventually`, the apology check); what is new here is a roster big enough for races and
loads, a `carebot run` that can be SIGKILLed and started again on the same database and port,
and asynchronous posters for concurrent webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import phonenumbers
from twilio.request_validator import RequestValidator

from bot.handlers.sms_standin import new_message_sid
from bot.i18n import tr
from storage.postgres import is_url
from tests import peek
from tests.agencies import Value, agency_file, entry
from tests.channels.test_sms import eventually
from tests.fakes.telegram_api import FAKE_TOKEN, FakeTelegram
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, BOT_NUMBER, FakeTwilio
from tests.fakes.twilio import inbound_form as sms_form
from tests.live import clean_env, free_port, import_agency, start_run, stop, wait_healthy
from tests.test_robustness import is_apology

__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "BOT_NUMBER",
    "FULL",
    "GROUP",
    "SECRET",
    "LiveRun",
    "Roster",
    "Who",
    "bounded",
    "eventually",
    "import_agency",
    "is_apology",
    "live_bot",
    "new_message_sid",
    "sign",
    "sms_bot",
    "sms_form",
    "telegram_text",
    "texts",
    "wait_until",
]

T = TypeVar("T")
# RELIABILITY_FULL=1: the long version (bigger loads, minute-long faults); CI runs the short one.
FULL = os.environ.get("RELIABILITY_FULL") == "1"
GROUP = -1001234567890  # the staff group's chat id
SECRET = "reliability-webhook_secret"  # CAREBOT_TELEGRAM_WEBHOOK_SECRET in webhook mode
PROVIDER_NAMES = [
    "Zoé Lambert",  # the best rated: first in every list
    "Hugo Marchand",
    "Inès Caron",
    "Jules Fabre",
    "Lina Perrin",
    "Malo Garnier",
]
TELEGRAM_PROVIDER_NAMES = ["Nora Blanc", "Omar Faure"]
TELEGRAM_MEMBER_NAMES = ["Tess Martin", "Ugo Roy", "Vera Gauthier", "Willy Chevalier"]


@dataclass(frozen=True)
class Who:
    """One person of the generated agency."""

    id: str
    role: str  # member, provider, staff
    name: str
    lang: str
    phone: str | None = None
    telegram_id: int | None = None

    @property
    def channel(self) -> str:
        """'sms' or 'telegram'."""
        return "sms" if self.telegram_id is None else "telegram"

    def toml(self) -> str:
        """The person's [[role]] table."""
        keys: dict[str, Value] = {
            "id": self.id,
            "name": self.name,
            "channel": self.channel,
            "language": self.lang,
        }
        if self.phone:
            keys["phone"] = self.phone
        if self.telegram_id is not None:
            keys["telegram_id"] = self.telegram_id
        if self.role == "provider":
            keys["services"] = ["childcare", "cleaning"]
            keys["rating"] = 5.0 if self.name.startswith("Zoé") else 4.5
            keys["availability"] = ["mon-sun 00:00-24:00"]
        return entry(self.role, **keys)


@dataclass(frozen=True)
class Roster:
    """An agency of `members` SMS members (+336120000NN), SMS and Telegram providers, a few
    Telegram members and two Telegram staff."""

    members: list[Who]
    telegram_members: list[Who]
    providers: list[Who]
    telegram_providers: list[Who]
    staff: list[Who]

    @classmethod
    def make(cls, members: int = 60) -> Roster:
        """The roster; member i speaks French when i is even, English when odd."""
        if not 1 <= members <= 100:
            raise ValueError("+336120000NN numbers a hundred members at most")
        langs = ("fr", "en")
        roster = cls(
            members=[
                Who(f"m{i:02d}", "member", f"Membre {i:02d}", langs[i % 2], f"+336120000{i:02d}")
                for i in range(members)
            ],
            telegram_members=[
                Who(f"t{i}", "member", name, langs[i % 2], telegram_id=3001 + i)
                for i, name in enumerate(TELEGRAM_MEMBER_NAMES)
            ],
            providers=[
                Who(f"p{i}", "provider", name, langs[i % 2], f"+336130000{i:02d}")
                for i, name in enumerate(PROVIDER_NAMES)
            ],
            telegram_providers=[
                Who(f"tp{i}", "provider", name, langs[i % 2], telegram_id=4001 + i)
                for i, name in enumerate(TELEGRAM_PROVIDER_NAMES)
            ],
            staff=[
                Who("sophie", "staff", "Sophie", "fr", telegram_id=9001),
                Who("karim", "staff", "Karim", "en", telegram_id=9002),
            ],
        )
        for who in roster.all():  # valid numbers, or the import would refuse the file
            assert who.phone is None or phonenumbers.is_valid_number(
                phonenumbers.parse(who.phone)
            ), who
        return roster

    def __getitem__(self, person_id: str) -> Who:
        """The person with this id."""
        return next(w for w in self.all() if w.id == person_id)

    def all(self) -> list[Who]:
        """Everyone, members first."""
        return [
            *self.members,
            *self.telegram_members,
            *self.providers,
            *self.telegram_providers,
            *self.staff,
        ]

    def toml(self) -> str:
        """The agency file."""
        return agency_file("Soins Fiables", *(who.toml() for who in self.all()))

    def write(self, folder: Path) -> Path:
        """Write the agency file into `folder`; its path."""
        path = folder / "agency.toml"
        path.write_text(self.toml(), encoding="utf-8")
        return path


def wait_until(
    check: Callable[[], object], timeout: float, state: Callable[[], object] = lambda: ""
) -> None:
    """Poll `check` until it holds; past `timeout`, fail with what `state` says."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {state()}")
        time.sleep(0.05)


async def bounded(calls: Iterable[Awaitable[T]], limit: int = 32) -> list[T]:
    """Await all, `limit` at a time (httpx's pool slows down badly with thousands waiting)."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


def texts(msgid: str, **params: object) -> set[str]:
    """A catalogue message in both languages."""
    return {tr("fr", msgid, **params), tr("en", msgid, **params)}


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature for a form posted to `url`."""
    return str(RequestValidator(token).compute_signature(url, form))


class LiveRun:
    """`carebot run` on its own database, with the fakes it is given; killable, restartable.

    The port stays the same across restarts, so the webhooks' signed URL and Telegram's
    registered webhook stay valid, as behind a real reverse proxy.
    """

    def __init__(
        self,
        home: Path,
        agency: Path,
        *,
        twilio: FakeTwilio | None = None,
        telegram: FakeTelegram | None = None,
        webhook: bool = False,
        database: Path | str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`database`: run on this (already imported) file, as a second worker would; `env`:
        more CAREBOT_* settings (shorter timeouts for the tests)."""
        self.home = home
        # On the PostgreSQL pass (CAREBOT_TEST_DATABASE), a schema of its own on the server.
        self.db: Path | str = database or peek.scratch(home)
        self.log = home / "carebot-run.log"
        self.extra_env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.twilio = twilio
        self.telegram = telegram
        self.webhook = webhook
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        if database is None:
            import_agency(agency, self.db)

    def env(self) -> dict[str, str]:
        """The environment of `carebot run`: only the fakes, on loopback."""
        env = clean_env()
        env |= {
            "CAREBOT_DATABASE": str(self.db),
            "CAREBOT_PUBLIC_URL": self.url,
            "CAREBOT_SWEEP_SECONDS": "1",
        }
        if self.twilio is not None:
            env |= {
                "CAREBOT_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "CAREBOT_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "CAREBOT_TWILIO_FROM": BOT_NUMBER,
                "CAREBOT_TWILIO_API_URL": self.twilio.url,
            }
        if self.telegram is not None:
            env |= {
                "CAREBOT_TELEGRAM_TOKEN": FAKE_TOKEN,
                "CAREBOT_TELEGRAM_API_URL": self.telegram.url,
                "CAREBOT_STAFF_CHAT_ID": str(GROUP),
            }
            if self.webhook:
                env["CAREBOT_TELEGRAM_WEBHOOK_SECRET"] = SECRET
        return env | self.extra_env

    def start(self) -> dict[str, Any]:
        """Start `carebot run` and wait until it is healthy (and Telegram connected)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        fake = self.telegram
        if fake is not None:
            webhooks, polls = len(fake.calls_of("setWebhook")), len(fake.calls_of("getUpdates"))
        self.process = start_run(self.port, self.env(), self.log)
        self.starts += 1
        health = wait_healthy(self.port, self.process, self.log)
        if fake is not None:
            if self.webhook:
                fake.wait_for(lambda: len(fake.calls_of("setWebhook")) > webhooks, 20)
            else:
                fake.wait_for(lambda: len(fake.calls_of("getUpdates")) > polls, 20)
        return health

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut or the OOM killer."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: the process hangs where it is, its connections open (a stalled VM)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: a frozen process goes on from where it stopped."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), or kill after 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.thaw()  # a frozen process would not see the SIGTERM
            stop(self.process)

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the bot's log, for failure messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def __enter__(self) -> LiveRun:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- reading the database (WAL: never blocks the bot) -------------------------------

    def rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Rows of a query on the bot's database."""
        if is_url(self.db):
            return [tuple(r.values()) for r in peek.rows(self.db, sql, args)]
        with sqlite3.connect(self.db, timeout=10) as conn:
            return list(conn.execute(sql, args).fetchall())

    def value(self, sql: str, *args: object) -> Any:
        """The single value of a query."""
        [(found,)] = self.rows(sql, *args)
        return found

    def outbox(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every outbox row (of one channel), oldest first, as dicts."""
        sql = "SELECT * FROM outbox" + (" WHERE channel = ?" if channel else "") + " ORDER BY id"
        if is_url(self.db):
            return peek.rows(self.db, sql, (channel,) if channel else ())
        with sqlite3.connect(self.db, timeout=10) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(sql, (channel,) if channel else ()).fetchall()
        return [dict(r) for r in rows]

    def last_outbox_id(self) -> int:
        """The newest outbox id (0 when none)."""
        return int(self.value("SELECT COALESCE(MAX(id), 0) FROM outbox"))

    def backlog(self) -> dict[str, Any]:
        """What is left to do, for failure messages."""
        return {
            "unprocessed": self.value(
                "SELECT COUNT(*) FROM inbound WHERE payload IS NOT NULL AND processed_at IS NULL"
            ),
            "timers": dict(self.rows("SELECT state, COUNT(*) FROM timers GROUP BY state")),
            "outbox": self.rows(
                "SELECT channel, state, in_flight, COUNT(*), MAX(attempts) FROM outbox "
                "GROUP BY channel, state, in_flight"
            ),
            "errors": self.rows(
                "SELECT DISTINCT last_error FROM outbox WHERE last_error IS NOT NULL LIMIT 5"
            ),
            "alive": self.alive(),
        }

    def settled(self) -> bool:
        """Nothing left to do: every inbound processed, nothing queued or in flight."""
        return bool(
            self.value(
                "SELECT COUNT(*) FROM inbound WHERE payload IS NOT NULL AND processed_at IS NULL"
            )
            == 0
            and self.value("SELECT COUNT(*) FROM outbox WHERE state = 'queued'") == 0
        )

    # --- talking to it as Twilio and Telegram do ----------------------------------------

    def sms(
        self, form: dict[str, str], headers: dict[str, str] | None = None, timeout: float = 10
    ) -> int:
        """Post one inbound SMS form, signed unless `headers` say otherwise; the status."""
        url = self.url + "/sms/inbound"
        if headers is None:
            headers = {"X-Twilio-Signature": sign(url, form)}
        answer = httpx.post(url, data=form, headers=headers, timeout=timeout)
        if answer.status_code == 200:
            assert answer.headers["content-type"].startswith("text/xml")
            assert "<Response/>" in answer.text, answer.text
        return answer.status_code

    async def post_sms(self, client: httpx.AsyncClient, form: dict[str, str]) -> int:
        """Post an inbound SMS form, signed, as Twilio does; the HTTP status, or 0 when the
        connection failed (the bot was down, or died meanwhile)."""
        url = self.url + "/sms/inbound"
        try:
            answer = await client.post(
                url, data=form, headers={"X-Twilio-Signature": sign(url, form)}
            )
        except httpx.HTTPError:
            return 0
        if answer.status_code == 200:
            assert "<Response/>" in answer.text, answer.text
        return answer.status_code

    async def post_update(
        self, client: httpx.AsyncClient, update: dict[str, Any], secret: str | None = SECRET
    ) -> int:
        """Post a Telegram update to the webhook as Telegram does; the HTTP status (0: down)."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        try:
            answer = await client.post(
                self.url + "/telegram/webhook", content=json.dumps(update), headers=headers
            )
        except httpx.HTTPError:
            return 0
        return answer.status_code


def telegram_text(update_id: int, user: Who | int, text: str, lang: str = "fr") -> dict[str, Any]:
    """A Bot API update: `user` typed `text` in their private chat."""
    user_id = user if isinstance(user, int) else user.telegram_id
    assert user_id is not None
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": f"User{user_id}"},
        "from": {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "language_code": lang,
        },
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [
            {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        ]
    return {"update_id": update_id, "message": message}


@contextlib.contextmanager
def live_bot(
    home: Path, roster: Roster, *, webhook: bool = True
) -> Iterator[tuple[LiveRun, FakeTwilio, FakeTelegram]]:
    """`carebot run` with both channels on their fakes (Telegram by webhook by default)."""
    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        run = LiveRun(home, roster.write(home), twilio=twilio, telegram=telegram, webhook=webhook)
        try:
            health = run.start()
            assert health["channels"]["sms"].startswith("on"), health
            assert health["channels"]["telegram"].startswith("on"), health
            yield run, twilio, telegram
            assert run.alive(), run.log_tail()
        finally:
            run.stop()


@contextlib.contextmanager
def sms_bot(
    home: Path, roster: Roster, env: dict[str, str] | None = None
) -> Iterator[tuple[LiveRun, FakeTwilio]]:
    """`carebot run` with SMS only, on the fake Twilio (more CAREBOT_* settings in `env`)."""
    with FakeTwilio() as twilio:
        run = LiveRun(home, roster.write(home), twilio=twilio, env=env)
        try:
            run.start()
            yield run, twilio
            assert run.alive(), run.log_tail()
        finally:
            run.stop()


@contextlib.contextmanager
def two_workers(
    home: Path,
    roster: Roster,
    *,
    telegram: FakeTelegram | None = None,
    webhook: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[LiveRun, LiveRun]]:
    """Two `carebot run` on one database (started; stopped after), each in a folder of its own."""
    agency = roster.write(home)
    runs: list[LiveRun] = []
    for name in "ab":
        (home / name).mkdir()
        database = runs[0].db if runs else None
        runs.append(
            LiveRun(
                home / name, agency, telegram=telegram, webhook=webhook, database=database, env=env
            )
        )
    try:
        for run in runs:
            run.start()
        yield runs[0], runs[1]
    finally:
        for run in runs:
            run.stop()
