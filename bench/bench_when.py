"""Benchmark bot.nlu.when on the dev set: accuracy and warm per-phrase latency.

Usage: python bench/bench_when.py [WHEN_DEV_JSONL] [--rounds N]
Prints a small Markdown table (latencies in microseconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEV_SET = REPO.parent / "shared" / "data" / "when-dev.jsonl"

Parse = Callable[[str, datetime, str], Any]


def load_parser() -> tuple[Parse, Callable[[Any], dict[str, str | None]], type[Exception]]:
    """Import the parser, so the script runs from a checkout without installing the package."""
    sys.path.insert(0, str(REPO))
    from bot.nlu.when import WhenError, parse_when, when_to_json

    return parse_when, when_to_json, WhenError


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `samples`."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    """Run the benchmark and print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dev_set", nargs="?", type=Path, default=DEFAULT_DEV_SET)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    parse_when, when_to_json, when_error = load_parser()

    rows = [json.loads(line) for line in args.dev_set.read_text("utf-8").splitlines() if line]
    cases = [
        (row["text"], datetime.strptime(row["now"], "%Y-%m-%d %H:%M"), row["lang"], row["expect"])
        for row in rows
    ]

    def outcome(text: str, now: datetime, lang: str) -> dict[str, Any]:
        try:
            return dict(when_to_json(parse_when(text, now, lang)))
        except when_error:
            return {"error": True}

    cold_start = time.perf_counter()
    wrong = [text for text, now, lang, expect in cases if outcome(text, now, lang) != expect]
    cold_ms = (time.perf_counter() - cold_start) * 1000

    samples: list[float] = []
    for _ in range(args.rounds):
        for text, now, lang, _expect in cases:
            start = time.perf_counter_ns()
            outcome(text, now, lang)
            samples.append((time.perf_counter_ns() - start) / 1000)

    accuracy = 1 - len(wrong) / len(cases)
    print(f"parse_when on {args.dev_set.name}: {len(cases)} phrases x {args.rounds} warm rounds\n")
    print("| metric | value |")
    print("|---|---|")
    print(f"| accuracy | {accuracy:.1%} ({len(cases) - len(wrong)}/{len(cases)}) |")
    print(f"| p50 (µs) | {percentile(samples, 0.50):.0f} |")
    print(f"| p99 (µs) | {percentile(samples, 0.99):.0f} |")
    print(f"| mean (µs) | {statistics.fmean(samples):.0f} |")
    print(f"| first pass, all phrases (ms) | {cold_ms:.0f} |")
    for text in wrong:
        print(f"\nwrong: {text!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
