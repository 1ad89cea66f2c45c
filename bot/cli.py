"""The `carebot` command: import, run, replay, demo, sms-send, and the two parsers."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_DB = "./carebot.db"
DEMO_AGENCY = Path(__file__).resolve().parent.parent / "agencies" / "demo.toml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carebot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="load an agency file (all or nothing)")
    p.add_argument("file", type=Path)
    p.add_argument("--db", default=os.environ.get("CAREBOT_DATABASE", DEFAULT_DB))

    p = sub.add_parser("run", help="the live bot: web app, timers, channels")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)

    p = sub.add_parser("sms-send", help="post a signed inbound SMS to carebot run, as Twilio")
    p.add_argument("text")
    p.add_argument("--from", dest="sender", required=True, help="the sender, e.g. +447700900123")
    p.add_argument("--url", default=os.environ.get("CAREBOT_PUBLIC_URL", "http://127.0.0.1:8080"))
    p.add_argument("--token", default=os.environ.get("CAREBOT_TWILIO_AUTH_TOKEN"))
    p.add_argument("--public-url", help="the URL to sign (default: $CAREBOT_PUBLIC_URL, or --url)")
    p.add_argument("--to", default=os.environ.get("CAREBOT_TWILIO_FROM", "+15005550006"))
    p.add_argument("--sid", help="the MessageSid (default: a new one; repeat it to replay)")

    p = sub.add_parser("export", help="export the ledger as CSV for the accountant")
    p.add_argument("what", choices=["ledger"])
    p.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, help="last day (included), YYYY-MM-DD")
    p.add_argument("--db", default=os.environ.get("CAREBOT_DATABASE", DEFAULT_DB))

    p = sub.add_parser("replay", help="run conversation transcripts on a virtual clock")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("-v", "--verbose", action="store_true")

    p = sub.add_parser("demo", help="chat with a sample agency in the terminal")
    p.add_argument("--db", default="./carebot-demo.db")
    p.add_argument("--agency", type=Path, default=DEMO_AGENCY)
    p.add_argument("--now", help="start the virtual clock here (YYYY-MM-DD HH:MM, agency time)")
    p.add_argument("--keep", action="store_true", help="reuse the demo database")

    p = sub.add_parser("parse-when", help="read a French/English date range")
    p.add_argument("text", nargs="?")
    p.add_argument("--now", help="YYYY-MM-DD HH:MM (local)")
    p.add_argument("--tz", default="Europe/Paris")
    p.add_argument("--lang", default="fr")
    p.add_argument("--jsonl", type=Path)

    p = sub.add_parser("parse-sms", help="read a provider's reply")
    p.add_argument("text", nargs="?")
    p.add_argument("--lang", default="fr")
    p.add_argument("--now", help="YYYY-MM-DD HH:MM (local): a moved reply then carries its day")
    p.add_argument("--jsonl", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `carebot` console script."""
    args = _parser().parse_args(argv)
    level = logging.INFO if args.command == "run" else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "import":
        return asyncio.run(_import(args.file, args.db))
    if args.command == "run":
        from bot.handlers.live import run_live
        from bot.settings import Settings

        return _run_fast(run_live(Settings(), args.host, args.port))
    if args.command == "sms-send":
        return _sms_send(args)
    if args.command == "export":
        from bot.handlers.export import export_ledger

        return asyncio.run(export_ledger(args.db, args.start, args.end, sys.stdout))
    if args.command == "replay":
        from bot.replay import run_files

        return asyncio.run(run_files(args.files, args.verbose))
    if args.command == "demo":
        from bot.handlers.demo import run_demo

        return asyncio.run(run_demo(args.db, args.agency, args.now, keep=args.keep))
    if args.command == "parse-when":
        return _parse_when(args)
    if args.command == "parse-sms":
        return _parse_sms(args)
    return 2


def _run_fast(main: Coroutine[Any, Any, int]) -> int:
    """Run the live bot on uvloop when it is installed (faster I/O), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def _import(path: Path, db: str) -> int:
    from bot.agency_file import AgencyFileError, load_agency_file
    from bot.app import Carebot
    from bot.clock import SystemClock
    from bot.domain.errors import RosterConflict

    try:
        data = load_agency_file(path)
    except AgencyFileError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    bot = await Carebot.open(db, SystemClock())
    try:
        await bot.import_agency(data)
    except RosterConflict as exc:
        print(f"refused: {path.name}: {exc}", file=sys.stderr)
        return 1
    finally:
        await bot.close()
    print(
        f"imported {data.agency.name}: {len(data.services)} services, "
        f"{len(data.members)} members, {len(data.providers)} providers, "
        f"{len(data.staff)} staff into {db}"
    )
    return 0


def _sms_send(args: argparse.Namespace) -> int:
    from bot.handlers.sms import send_as_twilio

    if not args.token:
        print("sms-send: give --token or set CAREBOT_TWILIO_AUTH_TOKEN", file=sys.stderr)
        return 2
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
    print(f"{status} {body}")
    return 0 if status == 200 else 1


def _jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _parse_when(args: argparse.Namespace) -> int:
    from bot.nlu.when import WhenError, parse_when, when_to_json

    def one(text: str, now: str, lang: str) -> tuple[dict[str, str | None] | dict[str, str], bool]:
        moment = datetime.strptime(now, "%Y-%m-%d %H:%M")
        try:
            return when_to_json(parse_when(text, moment, lang)), True
        except WhenError as exc:
            return {"error": exc.reason}, False

    if args.jsonl:
        for item in _jsonl(args.jsonl):
            result, _ = one(item["text"], item["now"], item.get("lang", "fr"))
            print(json.dumps(result, ensure_ascii=False))
        return 0
    if args.text is None:
        print("parse-when: give a text or --jsonl FILE", file=sys.stderr)
        return 2
    now = args.now or datetime.now().strftime("%Y-%m-%d %H:%M")
    result, ok = one(args.text, now, args.lang)
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
            print(one(item["text"], item.get("lang", "fr"), item.get("now", args.now)))
        return 0
    if args.text is None:
        print("parse-sms: give a text or --jsonl FILE", file=sys.stderr)
        return 2
    print(one(args.text, args.lang, args.now))
    return 0


if __name__ == "__main__":
    sys.exit(main())
