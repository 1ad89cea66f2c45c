"""A disk that fills and frees: nothing stuck, nothing sent twice (issue 13, findings 3, 4).

The database lives on a small tmpfs that the test mounts (root only; skipped where `mount`
is refused), and the disk is filled for real with a file. Where no tmpfs can be mounted (CI
as a plain user) the same test runs with an injected SQLITE_FULL instead: while the file
CAREBOT_TEST_DISK_FULL_WHILE names exists, every commit of `carebot run` fails as on a full
disk. Four SMS are in flight at the fake Twilio, slow to answer, and four more to the
same people wait behind them, when the test fills the disk: the settles fail, /healthz says
so (503). Once the disk has room again, without a restart, every message goes out, once,
and /healthz is 200 again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fakes.twilio import FakeTwilio
from tests.reliability.support import LiveRun, Roster, import_agency, sms_form, wait_until

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(4)
SLOW = 5.0  # the fake Twilio's answers to the first four creates come this late


@dataclass
class Disk:
    """Where the database lives, and how to fill and free that disk."""

    folder: Path
    env: dict[str, str]
    fill: Callable[[], Path]  # returns the file to remove to free it


@pytest.fixture(params=["tmpfs", "injected"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Disk]:
    """A 16 MiB tmpfs mounted for the test (unmounted after), or the injected fault."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if request.param == "injected":
        switch = tmp_path / "disk-full"

        def inject() -> Path:
            switch.touch()
            return switch

        yield Disk(folder, {"CAREBOT_TEST_DISK_FULL_WHILE": str(switch)}, inject)
        return
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8); the injected case runs")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"mount refused: {made.stderr.decode(errors='replace').strip()}")
    try:
        yield Disk(folder, {}, lambda: _fill(folder))
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> Path:
    """Write a file until the disk is full; the file."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    with contextlib.suppress(OSError), filler.open("ab", buffering=0) as out:
        while True:  # the last few bytes too
            out.write(b"\0" * 512)
    return filler


def _health(run: LiveRun) -> int:
    return httpx.get(run.url + "/healthz", timeout=15).status_code


def test_a_full_disk_delays_messages_and_then_they_go_out_once(tmp_path: Path, disk: Disk) -> None:
    db = disk.folder / "carebot.db"
    import_agency(ROSTER.write(tmp_path), db)
    with FakeTwilio() as fake:
        env = disk.env | {"CAREBOT_SMS_STORE_SECONDS": "30"}  # the webhook outwaits the test
        run = LiveRun(
            tmp_path / "run", tmp_path / "agency.toml", twilio=fake, database=db, env=env
        )
        run.home.mkdir()
        try:
            run.start()
            fake.delay_next(len(ROSTER.members), SLOW)
            for who in ROSTER.members:
                assert run.sms(sms_form(str(who.phone), "aide")) == 200
            wait_until(lambda: len(fake.messages()) == 4, 10, run.backlog)
            for who in ROSTER.members:  # their answers wait behind the ones in flight
                assert run.sms(sms_form(str(who.phone), "solde")) == 200
            wait_until(lambda: len(run.outbox()) == 8, 10, run.backlog)
            filler = disk.fill()
            # An SMS arrives while the disk is full: its webhook holds until it is stored.
            answered: list[int] = []
            carer = str(ROSTER.providers[0].phone)
            poster = threading.Thread(
                target=lambda: answered.append(run.sms(sms_form(carer, "aide"), timeout=40))
            )
            poster.start()
            wait_until(lambda: _health(run) == 503, SLOW + 10)
            wait_until(lambda: len(fake.requests()) == 4, SLOW + 10)  # answered: settles now
            time.sleep(2.0)  # a few failed settles
            assert _health(run) == 503
            assert not answered  # still held
            filler.unlink()
            poster.join(20)
            assert answered == [200]
            wait_until(lambda: run.settled() and len(run.outbox()) == 9, 20, run.backlog)
            wait_until(lambda: _health(run) == 200, 15)  # once no write failed for 10 s
            time.sleep(1.0)  # a duplicate would have time to arrive
            rows = run.outbox()
            assert {r["state"] for r in rows} == {"sent"}, run.backlog()
            per_row = Counter(m.idempotency_token for m in fake.messages())
            assert per_row == Counter(f"carebot-outbox-{r['id']}" for r in rows), per_row
            for who in ROSTER.members:  # in order, per person
                bodies = [m.body for m in fake.messages(str(who.phone))]
                assert len(bodies) == 2 and "OUI" not in bodies[1], bodies
            assert "settling message 1 failed" in run.log.read_text(errors="replace")
            assert run.alive(), run.log_tail()
        finally:
            run.stop()
