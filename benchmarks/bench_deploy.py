"""Time the traffic simulator and the deployment engine; print the figures.

* Simulated requests per second of wall time: one hour of traffic at 20,000 requests per second
  (72 million requests) split between two versions, with per-request latencies drawn and
  histogrammed (``TrafficSimulator.step``). The target is at least 10 million per second.
* Deployment runs per second: dry runs (``ctx=None``) of a canary of ``v2-bad`` with an alarm,
  the unit the lab's exercises and checks repeat.

Figures, not pass/fail timings: nothing is asserted, because machines differ.

Run from the repository root::

    .venv/bin/python benchmarks/bench_deploy.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labs.deploy import engine
from labs.deploy.strategies import TrafficShift
from labs.observability.alarms import Alarm
from labs.observability.traffic import TrafficSimulator

REQUESTS_PER_SECOND = 20_000
MINUTES = 60
RUNS = 3
START = pd.Timestamp("2026-01-05T09:00:00Z")


def simulate_hour(seed: int) -> int:
    """Simulate an hour of traffic, 90/10 between v1 and v2-bad; return the requests made."""
    sim = TrafficSimulator(requests_per_second=REQUESTS_PER_SECOND, seed=seed)
    total = 0
    for minute in range(MINUTES):
        period = sim.step(START + pd.Timedelta(minutes=minute), {"v1": 90, "v2-bad": 10})
        total += period.total_requests
    return total


def main() -> None:
    """Print the simulator's throughput and the engine's dry-run rate."""
    simulate_hour(0)  # warm up numpy
    rates = []
    for run in range(RUNS):
        started = time.perf_counter()
        requests = simulate_hour(run + 1)
        rates.append(requests / (time.perf_counter() - started))
    best, median = max(rates), statistics.median(rates)
    print(
        f"traffic simulator: {median / 1e6:.1f} million simulated requests per second "
        f"(median of {RUNS}; best {best / 1e6:.1f}M; {requests:,} requests per run; "
        "target >= 10M/s)"
    )

    alarm = Alarm(
        "bench-errors", "ErrorRate", "Bookstore", 60, 2, 1.0, "GreaterThanThreshold",
        statistic="Average", dimensions=[("Service", "orders")],
    )  # fmt: skip
    strategy = TrafficShift("CodeDeployDefault.ECSCanary10Percent5Minutes")
    runs = 20
    started = time.perf_counter()
    for seed in range(runs):
        engine.run(None, strategy, release="v2-bad", alarms=[alarm], seed=seed)
    seconds = time.perf_counter() - started
    print(
        f"deployment engine: {runs / seconds:.1f} dry runs per second "
        f"({1000 * seconds / runs:.0f} ms per canary of v2-bad with an alarm)"
    )


if __name__ == "__main__":
    main()
