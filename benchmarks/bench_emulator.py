"""Emulator figures: cold start to first answered call, call latency, warm ``labs.start()``.

Run: ``python benchmarks/bench_emulator.py`` (or ``make bench``). Prints figures; asserts nothing.
Uses a workshop folder of its own, so a learner's running emulator is not touched.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time


def main() -> int:
    """Measure and print."""
    os.environ["LABS_WORKSHOP_DIR"] = tempfile.mkdtemp(prefix="labs-bench-")
    import labs
    from labs import emulator

    cold = []
    for _ in range(5):
        started = time.perf_counter()
        ctx = labs.start(quiet=True)
        ctx.client("sts").get_caller_identity()
        cold.append(time.perf_counter() - started)
        emulator.stop()

    ctx = labs.start(quiet=True)
    s3 = ctx.client("s3")
    s3.list_buckets()
    latencies = []
    for _ in range(300):
        started = time.perf_counter()
        s3.list_buckets()
        latencies.append(time.perf_counter() - started)
    warm = []
    for _ in range(20):
        started = time.perf_counter()
        labs.start(quiet=True)
        warm.append(time.perf_counter() - started)
    emulator.stop()

    p95 = statistics.quantiles(latencies, n=100)[94]
    print("emulator")
    print(
        f"  cold start to first answered call   median {statistics.median(cold):.2f} s "
        f"(min {min(cold):.2f}, max {max(cold):.2f}; 5 starts, includes labs.start())"
    )
    print(
        f"  call latency (s3 list_buckets)      median {statistics.median(latencies) * 1e3:.1f} ms,"
        f" p95 {p95 * 1e3:.1f} ms (300 calls)"
    )
    print(
        f"  labs.start() warm                   median {statistics.median(warm) * 1e3:.1f} ms "
        "(20 calls)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
