"""The `carebot` command: import, run, backup, export, replay, demo, sms-send, the parsers."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DB = "./carebot.db"
DEMO_AGENCY = Path(__file__).resolve().parent.parent / "agencies" / "demo.toml"
MOMENT = "%Y-%m-%d %H:%M"
T = TypeVar("T")


class Refused(Exception):
    """A user's mistake found after the arguments were read: one line, exit 1."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: 'carebot export: error: ... (see --help)'."""

    def error(self, message: str) -> NoReturn:
        """Print the mistake on one line and exit 2, as argparse does for usage errors."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --- Argument types: each refuses a bad value with a message saying what is wanted --------


def _parsed(parse: Callable[[str], T], wanted: str) -> Callable[[str], T]:
    """An argument type: `parse` (which raises ValueError) of the trimmed text, or argparse's
    error saying it is not `wanted`."""

    def convert(text: str) -> T:
        try:
            return parse(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f'"{text}" is not {wanted}') from None

    return convert


# A local time "YYYY-MM-DD HH:MM"; a day "YYYY-MM-DD".
_moment = _parsed(
    lambda text: datetime.strptime(text, MOMENT),
    'a time like "2026-12-01 09:00" (YYYY-MM-DD HH:MM)',
)
_day = _parsed(date.fromisoformat, 'a day YYYY-MM-DD, like "2026-12-01"')


def _zone(text: str) -> str:
    """An IANA time zone name."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise argparse.ArgumentTypeError(
            f'"{text}" is not an IANA time zone like "Europe/Paris"'
        ) from None
    return text


def _port(text: str) -> int:
    """A TCP port, 1 to 65535."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f'"{text}" is not a port number (1 to 65535)')
    return int(text)


def _version() -> str:
    """The installed package's version (pyproject.toml), as pip knows it."""
    try:
        return metadata.version("carebot")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    env_db = os.environ.get("CAREBOT_DATABASE", DEFAULT_DB)
    db_help = (
        "a SQLite file or a postgresql://user@host:port/dbname URL "
        f"(default: $CAREBOT_DATABASE or {DEFAULT_DB}; now {env_db})"
    )
    parser = _Parser(prog="carebot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"carebot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=summary)  # type: ignore[no-any-return]

    p = command("import", "load an agency file (all or nothing) and say what changed")
    p.add_argument("file", type=Path, help="the agency file (TOML, see docs/agency-file.md)")
    p.add_argument("--db", default=env_db, help=db_help)
    p.add_argument(
        "--force",
        action="store_true",
        help="remove people left out of the file even if they hold open requests",
    )
    p.add_argument(
        "--reset-schedules",
        action="store_true",
        help="replace the hours and days off providers changed by chat with the file's",
    )

    p = command("run", "the live bot: web app, timers, channels (settings: CAREBOT_*)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8080, help="port to listen on (default 8080)")

    p = command("backup", "copy the database safely while the bot runs (SQLite online backup)")
    p.add_argument("dest", type=Path, help="the copy to write; must not exist yet")
    p.add_argument("--db", default=env_db, help=db_help)

    p = command("sms-send", "post a signed inbound SMS to carebot run, as Twilio would")
    p.add_argument("text", help="the message body")
    p.add_argument("--from", dest="sender", required=True, help="the sender, e.g. +447700900123")
    p.add_argument(
        "--url",
        default=os.environ.get("CAREBOT_PUBLIC_URL", "http://127.0.0.1:8080"),
        help="where the bot listens (default: $CAREBOT_PUBLIC_URL or http://127.0.0.1:8080)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("CAREBOT_TWILIO_AUTH_TOKEN"),
        help="the Twilio auth token to sign with (default: $CAREBOT_TWILIO_AUTH_TOKEN)",
    )
    p.add_argument("--public-url", help="the URL to sign (default: $CAREBOT_PUBLIC_URL, or --url)")
    p.add_argument(
        "--to",
        default=os.environ.get("CAREBOT_TWILIO_FROM", "+15005550006"),
        help="the agency's number (default: $CAREBOT_TWILIO_FROM)",
    )
    p.add_argument("--sid", help="the MessageSid (default: a new one; repeat it to replay)")

    p = command("export", "export the ledger as CSV for the accountant")
    p.add_argument("what", choices=["ledger"], help="what to export: ledger")
    p.add_argument("--from", dest="start", type=_day, required=True, help="first day, YYYY-MM-DD")
    p.add_argument(
        "--to", dest="end", type=_day, required=True, help="last day (included), YYYY-MM-DD"
    )
    p.add_argument("--db", default=env_db, help=db_help)
    p.add_argument(
        "-o", "--output", type=Path, help="write the CSV to this file (default: standard output)"
    )

    p = command("console-link", "print a one-time sign-in link to the web console for staff")
    p.add_argument("staff_id", metavar="STAFF_ID", help="the staff member's id (agency file)")
    p.add_argument("--db", default=env_db, help=db_help)

    p = command("replay", "run conversation transcripts on a virtual clock")
    p.add_argument("files", nargs="+", type=Path, help="transcripts (see docs/transcripts.md)")
    p.add_argument("-v", "--verbose", action="store_true", help="print each conversation")
    p.add_argument(
        "--db",
        metavar="SERVER",
        default=os.environ.get("CAREBOT_REPLAY_DATABASE"),
        help="replay on this PostgreSQL server, postgresql://user@host:port/dbname: each "
        "transcript in a schema of its own, dropped after it (default: "
        "$CAREBOT_REPLAY_DATABASE, else a fresh SQLite file per transcript)",
    )

    p = command("demo", "chat with a sample agency in the terminal")
    p.add_argument("--db", default="./carebot-demo.db", help="the demo's SQLite file")
    p.add_argument(
        "--agency", type=Path, default=DEMO_AGENCY, help="the agency file to load (default: demo)"
    )
    p.add_argument(
        "--now", type=_moment, help="start the virtual clock here (YYYY-MM-DD HH:MM, agency time)"
    )
    p.add_argument("--keep", action="store_true", help="reuse the demo database")

    p = command("parse-when", "read a French/English date range")
    p.add_argument("text", nargs="?", help='e.g. "demain de 14h à 18h"')
    p.add_argument("--now", type=_moment, help="the present, YYYY-MM-DD HH:MM (default: now)")
    p.add_argument(
        "--tz", type=_zone, default="Europe/Paris", help="time zone of --now (Europe/Paris)"
    )
    p.add_argument("--lang", choices=["fr", "en"], default="fr", help="language (default fr)")
    p.add_argument("--jsonl", type=Path, help="read cases from this file, one JSON per line")

    p = command("parse-sms", "read a provider's reply")
    p.add_argument("text", nargs="?", help='e.g. "retard 15"')
    p.add_argument("--lang", choices=["fr", "en"], default="fr", help="language (default fr)")
    p.add_argument("--now", help="YYYY-MM-DD HH:MM (local): a moved reply then carries its day")
    p.add_argument("--jsonl", type=Path, help="read cases from this file, one JSON per line")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `carebot` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "export" and args.end < args.start:
        parser.error(f"--from {args.start} is after --to {args.end}")
    level = logging.INFO if args.command == "run" else logging.WARNING
    from bot.logs import configure
    from storage.postgres import Unreachable
    from storage.versions import NewerDatabase

    configure(level, os.environ.get("CAREBOT_LOG_FILE") if args.command == "run" else None)
    try:
        return _dispatch(args)
    except Refused as exc:
        print(f"carebot {args.command}: {exc}", file=sys.stderr)
        return 1
    except (NewerDatabase, Unreachable) as exc:
        print(f"carebot {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "import":
        return asyncio.run(_import(args.file, args.db, args.force, args.reset_schedules))
    if args.command == "run":
        return _run(args)
    if args.command == "backup":
        from storage.backup import backup

        if _is_url(args.db):
            raise Refused(
                "carebot backup copies a SQLite file; for PostgreSQL use the server's own "
                "tools: pg_dump --format=custom --file DEST DBNAME (restore with pg_restore)"
            )
        _existing(args.db)
        try:
            pages = backup(args.db, args.dest)
        except FileExistsError:
            raise Refused(f"{args.dest} exists already; choose a new name") from None
        except OSError as exc:
            raise Refused(f"cannot write {args.dest}: {exc.strerror or exc}") from None
        print(f"backed up {args.db} to {args.dest} ({pages} pages)")
        return 0
    if args.command == "sms-send":
        return _sms_send(args)
    if args.command == "export":
        return _export(args)
    if args.command == "console-link":
        return asyncio.run(_console_link(args.staff_id, args.db))
    if args.command == "replay":
        from bot.root import replay_files

        if args.db and not _is_url(args.db):
            raise Refused(
                f"--db {args.db}: replays start from empty databases; give a PostgreSQL "
                "server's URL (postgresql://...), or nothing for SQLite files"
            )
        return asyncio.run(replay_files(args.files, args.verbose, server=args.db))
    if args.command == "demo":
        from bot.root import run_demo

        # Ctrl-C must leave the demo even when its parent started it with SIGINT ignored (a
        # background job of a non-interactive shell does; the ignore is inherited and Python
        # then installs no KeyboardInterrupt handler).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return asyncio.run(run_demo(args.db, args.agency, args.now, keep=args.keep))
        except KeyboardInterrupt:
            # The database is closed by now; but a thread still waits in input() holding
            # stdin's lock, on which a normal interpreter exit aborts (SIGABRT).
            print(file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
    if args.command == "parse-when":
        return _parse_when(args)
    return _parse_sms(args)


def _is_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def _existing(db: str) -> None:
    """Refuse to work on a database that is not there (opening would create an empty one);
    a PostgreSQL URL is checked when it is opened."""
    if not _is_url(db) and not Path(db).is_file():
        raise Refused(f"no database at {db} (carebot import creates it; or give --db)")


def _run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.root import run_live
    from bot.settings import Settings, describe

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"carebot run: configuration: {describe(exc)}", file=sys.stderr)
        return 2
    _existing(settings.database)
    return _run_fast(run_live(settings, args.host, args.port))


async def _console_link(staff_id: str, db: str) -> int:
    """Print a sign-in link for a staff member (settings as `carebot run` reads them)."""
    from pydantic import ValidationError

    from bot.clock import SystemClock
    from bot.domain.agency import Staff
    from bot.domain.errors import NotFound
    from bot.root import open_carebot
    from bot.settings import ConfigError, Settings, describe

    try:
        links = Settings().console_links()
    except ValidationError as exc:
        raise Refused(f"configuration: {describe(exc)}") from None
    except ConfigError as exc:
        raise Refused(f"configuration: {exc}") from None
    if links is None:
        raise Refused("the console is off: set CAREBOT_CONSOLE_SECRET (and CAREBOT_CONSOLE_URL)")
    _existing(db)
    bot = await open_carebot(db, SystemClock())
    try:
        person = await bot.person(staff_id)
    except NotFound:
        person = None
    finally:
        await bot.close()
    if not isinstance(person, Staff):
        raise Refused(f"{staff_id!r} is not a staff member of this agency")
    print(links.link(person.id, bot.clock.now()))
    return 0


def _run_fast(main: Coroutine[Any, Any, int]) -> int:
    """Run the live bot on uvloop when it is installed (faster I/O), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def _import(path: Path, db: str, force: bool, reset_schedules: bool = False) -> int:
    from bot.agency_file import AgencyFileError, load_agency_file
    from bot.clock import SystemClock
    from bot.domain.errors import RosterConflict, RosterInUse
    from bot.root import open_carebot

    try:
        data = load_agency_file(path)
    except AgencyFileError as exc:
        raise Refused(str(exc)) from None
    bot = await open_carebot(db, SystemClock())
    try:
        changes = await bot.import_agency(data, force=force, reset_schedules=reset_schedules)
    except RosterInUse as exc:
        raise Refused(f"{path.name}: {exc}; cancel or reassign first, or use --force") from None
    except RosterConflict as exc:
        raise Refused(f"{path.name}: {exc}") from None
    finally:
        await bot.close()
    print(
        f"imported {data.agency.name}: {len(data.services)} services, "
        f"{len(data.members)} members, {len(data.providers)} providers, "
        f"{len(data.staff)} staff into {db}"
    )
    if changes.nothing:
        print("nothing changed")
    for label, ids in (
        ("added", changes.added),
        ("updated", changes.updated),
        ("removed", changes.removed),
    ):
        if ids:
            print(f"{label}: {', '.join(ids)}")
    if changes.settings:
        print("updated: the agency, its policy or its services")
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot.domain.errors import NotFound
    from bot.root import export_ledger

    _existing(args.db)
    buffer = io.StringIO()
    try:
        asyncio.run(export_ledger(args.db, args.start, args.end, buffer))
    except NotFound:
        raise Refused(f"{args.db} holds no agency yet (run carebot import first)") from None
    # Written only once complete: a failed export leaves no half or empty file behind.
    if args.output is None:
        sys.stdout.write(buffer.getvalue())
        return 0
    try:
        args.output.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise Refused(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0


def _sms_send(args: argparse.Namespace) -> int:
    from bot.handlers.sms_standin import send_as_twilio

    if not args.token:
        print("carebot sms-send: give --token or set CAREBOT_TWILIO_AUTH_TOKEN", file=sys.stderr)
        return 2
    try:
        status, body = send_as_twilio(
            args.url,
            args.token,
            args.sender,
            args.text,
            to=args.to,
            account_sid=os.environ.get("CAREBOT_TWILIO_ACCOUNT_SID", "AC" + "0" * 32),
            public_url=args.public_url or os.environ.get("CAREBOT_PUBLIC_URL") or args.url,
            message_sid=args.sid,
        )
    except (OSError, ValueError) as exc:
        raise Refused(f"cannot reach {args.url}: {getattr(exc, 'reason', exc)}") from None
    print(f"{status} {body}")
    return 0 if status == 200 else 1


def _jsonl(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise Refused(f"{path}: line {exc.lineno} is not JSON") from None


def _parse_when(args: argparse.Namespace) -> int:
    from bot.nlu.when import WhenError, parse_when, when_to_json

    def one(text: str, moment: datetime, lang: str) -> tuple[dict[str, str | None], bool]:
        try:
            return when_to_json(parse_when(text, moment, lang)), True
        except WhenError as exc:
            return {"error": exc.reason}, False

    if args.jsonl:
        for item in _jsonl(args.jsonl):
            try:
                moment = datetime.strptime(item["now"], MOMENT)
            except (KeyError, ValueError):
                raise Refused(f'{args.jsonl}: a case without a valid "now": {item}') from None
            result, _ = one(item.get("text", ""), moment, item.get("lang", "fr"))
            print(json.dumps(result, ensure_ascii=False))
        return 0
    if args.text is None:
        print("carebot parse-when: give a text or --jsonl FILE", file=sys.stderr)
        return 2
    moment = args.now or datetime.now(ZoneInfo(args.tz)).replace(tzinfo=None, second=0)
    result, ok = one(args.text, moment, args.lang)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if ok else 1


def _parse_sms(args: argparse.Namespace) -> int:
    from bot.nlu.replies import parse_reply, reply_to_json

    def one(text: str, lang: str, now: str | None) -> str:
        moment = None if now is None else datetime.strptime(now, "%Y-%m-%d %H:%M")
        return json.dumps(reply_to_json(parse_reply(text, lang, moment)), ensure_ascii=False)

    if args.jsonl:
        # A line's own "now" wins over --now, as for parse-when.
        for item in _jsonl(args.jsonl):
            print(one(item.get("text", ""), item.get("lang", "fr"), item.get("now", args.now)))
        return 0
    if args.text is None:
        print("carebot parse-sms: give a text or --jsonl FILE", file=sys.stderr)
        return 2
    print(one(args.text, args.lang, args.now))
    return 0


if __name__ == "__main__":
    sys.exit(main())
