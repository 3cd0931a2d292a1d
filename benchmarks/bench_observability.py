"""Time CloudWatch Logs filter pattern matching on a million JSON events; print events per second.

The events are request log lines shaped like the bookstore's (service, version, method, path,
status, latency_ms, request_id, message), 2% of them payments 5xx errors. Each pattern is
compiled once and run with ``FilterPattern.match_many`` (the path ``filter_log_events`` and the
metric filters use), over all the events; ``matches`` one event at a time is timed on a tenth of
them for comparison. JSON patterns parse every event that could match; a pattern with a
required literal (``$.service = "payments"``) skips the events that do not contain it first.

Figures, not pass/fail timings: nothing is asserted, because machines differ.

Run from the repository root::

    .venv/bin/python benchmarks/bench_observability.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labs.observability.logs import compile_pattern

EVENTS = 1_000_000
PATTERNS = (
    '{ $.service = "payments" && $.status >= 500 }',
    "{ $.latency_ms > 250 }",
    "{ ($.status >= 500 || $.latency_ms > 400) && $.method = POST }",
    'ERROR -"payment declined"',
    "%inject[a-z]+%",
    "{ $.error = * }",
)


def make_events(count: int, seed: int = 0) -> list[str]:
    """Return ``count`` JSON request log lines, seeded."""
    rng = np.random.default_rng(seed)
    services = np.array(["catalog", "orders", "payments"])[rng.integers(0, 3, count)]
    failing = rng.random(count) < 0.06
    status = np.where(
        failing, 500, rng.choice([200, 201, 404, 402], count, p=[0.8, 0.1, 0.05, 0.05])
    )
    latency = np.round(rng.lognormal(3.5, 0.7, count), 3)
    lines = []
    for i in range(count):
        service, code = services[i], int(status[i])
        level = "ERROR" if code >= 500 else "INFO"
        error = (
            ', "error": "injected fault: version v2-bad fails 25% of requests"'
            if code >= 500
            else ""
        )
        lines.append(
            f'{{"timestamp": "2026-01-05T09:00:00.000Z", "level": "{level}", '
            f'"service": "{service}", "version": "v1", "method": "POST", "path": "/{service}", '
            f'"status": {code}, '
            f'"latency_ms": {latency[i]}, "request_id": "req-{i:08d}"{error}, '
            f'"message": "POST /{service} {code}"}}'
        )
    return lines


def main() -> None:
    """Print the throughput of each pattern."""
    started = time.perf_counter()
    events = make_events(EVENTS)
    print(f"{EVENTS:,} JSON events generated in {time.perf_counter() - started:.1f} s")
    sample = events[: EVENTS // 10]
    for text in PATTERNS:
        pattern = compile_pattern(text)
        started = time.perf_counter()
        matched = int(pattern.match_many(events).sum())
        bulk = EVENTS / (time.perf_counter() - started)
        started = time.perf_counter()
        for message in sample:
            pattern.matches(message)
        single = len(sample) / (time.perf_counter() - started)
        print(
            f"{text:<64} {bulk / 1e3:8,.0f}k events/s with match_many "
            f"({single / 1e3:,.0f}k/s one by one); {matched:,} matches"
        )


if __name__ == "__main__":
    main()
