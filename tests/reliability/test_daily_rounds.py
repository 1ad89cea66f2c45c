"""The daily rounds run once a day across workers (issue 12): the check-in sweep (§10), the
series roll, the weekly credits. Each is a timer that re-arms itself: a timer row fires once
(its claim), and a once-only key per round and day keeps a second row of one round (two
workers arming it at the same moment) from running it again and re-arming it again."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.postgres import is_url
from tests.reliability.support import Roster, two_workers, wait_until

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(4)
ROUNDS = ("hiatus_sweep", "weekly_credits", "series_roll")


def test_each_daily_round_runs_once_across_workers(tmp_path: Path) -> None:
    """Both workers see the rounds due at once, each armed twice (as two workers arming one at
    the same moment would leave them): each round runs once and is armed again once."""
    with two_workers(tmp_path, ROSTER) as (a, _):
        now = "now()" if is_url(a.db) else "datetime('now')"
        kinds = ", ".join(f"'{k}'" for k in ROUNDS)
        # The import armed the sweep and the credits; the first series arms the roll.
        a.rows(f"INSERT INTO timers (kind, due_at) VALUES ('series_roll', {now}) RETURNING id")
        a.rows(
            f"INSERT INTO timers (kind, due_at) SELECT kind, due_at FROM timers "
            f"WHERE kind IN ({kinds}) AND state = 'pending' RETURNING id"
        )
        a.rows(
            f"UPDATE timers SET due_at = {now} WHERE kind IN ({kinds}) AND state = 'pending' "
            "RETURNING id"
        )

        def counts() -> dict[tuple[str, str], int]:
            found = a.rows(
                f"SELECT kind, state, COUNT(*) FROM timers WHERE kind IN ({kinds}) "
                "GROUP BY kind, state"
            )
            return {(kind, state): int(n) for kind, state, n in found}

        wait_until(lambda: all(counts().get((k, "fired"), 0) == 2 for k in ROUNDS), 20, counts)
        found = counts()
        for kind in ROUNDS:
            assert found.get((kind, "pending")) == 1, (kind, found)
