"""Throughput of feature-flag rule evaluation, and the time of the peeking simulation.

Figures, not pass/fail timings (machines differ):

* a ``split`` rule evaluated one context at a time (``rule_matches``), ids per second;
* the same rule over a DataFrame of ids (``rule_mask``, the vectorised path: one SHA-256 per
  id, then an integer comparison in numpy), ids per second;
* a compound rule and a three-variant flag (``assign_variants``) over 1,000,000 users;
* 2,000 A/A experiments x 28 days checked daily (``simulate_peeking``).

Run from the repository root::

    .venv/bin/python benchmarks/bench_practices.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labs.practices import abtest, flags, rules

SPLIT = "(split pct::20 by::$userId)"
COMPOUND = '(and (eq $plan "premium") (not (in $country ["US", "GB"])) (split pct::50 by::$userId))'
VARIANTS = [
    ("premium", '(eq $plan "premium")'),
    ("experiment", '(split pct::50 by::$userId seed::"checkout-2026")'),
    ("control", None),
]
RUNS = 3


def best(func: Callable[[], object], runs: int = RUNS) -> float:
    """The best wall time of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Print each figure."""
    n_scalar, n_vector = 100_000, 1_000_000
    users = abtest.bookstore_users(n_vector, seed=1)
    ids = users["userId"].tolist()
    rule = rules.parse_rule(SPLIT)

    scalar = best(lambda: [rule.matches({"userId": i}, flag="f") for i in ids[:n_scalar]])
    print(f"split rule, one context at a time:  {n_scalar / scalar:>12,.0f} ids/s")
    vector = best(lambda: rules.rule_mask(rule, users[["userId"]], flag="f"))
    print(f"split rule, vectorised (rule_mask): {n_vector / vector:>12,.0f} ids/s")
    raw = best(lambda: rules.in_split(ids, 20, flag="f"))
    print(f"split only (in_split on a list):    {n_vector / raw:>12,.0f} ids/s")
    compound = best(lambda: rules.rule_mask(COMPOUND, users, flag="f"))
    print(f"compound rule, vectorised:          {n_vector / compound:>12,.0f} contexts/s")
    assign = best(lambda: flags.assign_variants(VARIANTS, users, flag="checkout"))
    print(f"3-variant flag (assign_variants):   {n_vector / assign:>12,.0f} contexts/s")
    # agreement, so that a fast wrong answer cannot pass unnoticed
    sample = users.iloc[:2000]
    by_row = [flags.select_variant(VARIANTS, r, flag="checkout") for r in sample.to_dict("records")]
    assert list(flags.assign_variants(VARIANTS, sample, flag="checkout")) == by_row

    peeking = [best(lambda: abtest.simulate_peeking(2000, 28, seed=0), runs=1) for _ in range(3)]
    print(f"2,000 A/A experiments x 28 days:    {statistics.median(peeking) * 1000:>12,.0f} ms")
    shares = pd.Series(flags.assign_variants(VARIANTS, users, flag="checkout")).value_counts(
        normalize=True
    )
    print("variant shares over 1M users:", {k: round(float(v), 4) for k, v in shares.items()})


if __name__ == "__main__":
    main()
