"""Benchmark both parsers on the repo's phrase sets: accuracy, and warm p50/p99 per phrase.

Usage: python bench/bench_when.py [--rounds N] [--when FILE ...] [--sms FILE ...]
By default parse-when reads tests/nlu/data/when-dev.jsonl and when-typed.jsonl, parse-sms
sms-dev.jsonl and sms-typed.jsonl. Prints a Markdown table (latencies in microseconds),
then the phrases each parser got wrong. A few seconds at the default 100 rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "nlu" / "data"
sys.path.insert(0, str(REPO))  # runs from a checkout without installing the package

from bot.nlu.replies import parse_reply, reply_to_json  # noqa: E402
from bot.nlu.when import WhenError, parse_when, when_to_json  # noqa: E402

Row = dict[str, Any]


def when_outcome(row: Row) -> Any:
    """What parse-when prints for a dev-set line, with every error as {"error": true}."""
    now = datetime.strptime(row["now"], "%Y-%m-%d %H:%M")
    try:
        return dict(when_to_json(parse_when(row["text"], now, row["lang"])))
    except WhenError:
        return {"error": True}


def sms_outcome(row: Row) -> Any:
    """What parse-sms prints for a dev-set line."""
    return reply_to_json(parse_reply(row["text"], row["lang"]))


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `samples`."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(rows: list[Row], outcome: Callable[[Row], Any], rounds: int) -> dict[str, Any]:
    """Accuracy on one pass (which also warms the caches), then per-call warm latencies."""
    wrong = [(row, got) for row in rows if (got := outcome(row)) != row["expect"]]
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for row in rows:
            start = clock()
            outcome(row)
            samples.append((clock() - start) / 1000)
    return {
        "right": len(rows) - len(wrong),
        "total": len(rows),
        "p50": percentile(samples, 0.50),
        "p99": percentile(samples, 0.99),
        "wrong": wrong,
    }


def load(path: Path) -> list[Row]:
    """The JSON lines of a phrase set."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument(
        "--when",
        type=Path,
        nargs="*",
        default=[DATA / "when-dev.jsonl", DATA / "when-typed.jsonl"],
    )
    parser.add_argument(
        "--sms", type=Path, nargs="*", default=[DATA / "sms-dev.jsonl", DATA / "sms-typed.jsonl"]
    )
    args = parser.parse_args()

    print(f"{args.rounds} warm rounds per set; latency of one call, in µs\n")
    print("| parser | set | accuracy | p50 (µs) | p99 (µs) |")
    print("|---|---|---|---|---|")
    mistakes: list[str] = []
    for name, paths, outcome in (
        ("parse-when", args.when, when_outcome),
        ("parse-sms", args.sms, sms_outcome),
    ):
        for path in paths:
            result = measure(load(path), outcome, args.rounds)
            accuracy = result["right"] / result["total"]
            print(
                f"| {name} | {path.name} | {accuracy:.1%} ({result['right']}/{result['total']}) "
                f"| {result['p50']:.0f} | {result['p99']:.0f} |"
            )
            mistakes += [
                f"{name} {path.name}: {row['text']!r} got {got}, want {row['expect']}"
                for row, got in result["wrong"]
            ]
    for mistake in mistakes:
        print(f"\nwrong: {mistake}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
