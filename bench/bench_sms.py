"""Accuracy and warm latency of the provider-reply parser on the dev set.

Usage: python bench/bench_sms.py [--rounds N] [--dev PATH]
Prints a small Markdown table: accuracy, and p50/p99 of one parse_reply call in microseconds,
measured after a warm-up over many rounds of the dev set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.nlu.replies import parse_reply, reply_to_json  # noqa: E402

DEFAULT_DEV = ROOT / "tests" / "nlu" / "data" / "sms-dev.jsonl"


def percentile(sorted_values: list[int], fraction: float) -> float:
    """The value at `fraction` of a sorted list (nearest rank)."""
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return float(sorted_values[index])


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    args = parser.parse_args()

    cases = [json.loads(line) for line in args.dev.read_text("utf-8").splitlines() if line]
    wrong = [
        case
        for case in cases
        if reply_to_json(parse_reply(case["text"], case["lang"])) != case["expect"]
    ]
    accuracy = 1 - len(wrong) / len(cases)

    # The first pass above warmed the caches; time each call separately from here on.
    timings: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(args.rounds):
        for case in cases:
            start = clock()
            parse_reply(case["text"], case["lang"])
            timings.append(clock() - start)
    timings.sort()

    print("| metric | value |")
    print("| --- | --- |")
    print(f"| dev lines | {len(cases)} |")
    print(f"| accuracy | {accuracy:.1%} ({len(cases) - len(wrong)}/{len(cases)}) |")
    print(f"| calls timed | {len(timings)} ({args.rounds} rounds) |")
    print(f"| warm p50 | {percentile(timings, 0.50) / 1000:.1f} µs |")
    print(f"| warm p99 | {percentile(timings, 0.99) / 1000:.1f} µs |")
    for case in wrong:
        got = reply_to_json(parse_reply(case["text"], case["lang"]))
        print(f"\nwrong: {case['lang']} {case['text']!r}: got {got}, want {case['expect']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
