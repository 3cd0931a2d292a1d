"""Time ``labs.dora.metrics`` on a large seeded history and print the figure.

1,000,000 changes, 100,000 deployments (10 changes each, 1 in 20 rolled back, 1 in 50 a fix
for an incident) and 5,000 incidents over a year. The target is "well under a second"; the
figure is printed, not asserted, because machines differ.

Run from the repository root::

    .venv/bin/python benchmarks/bench_dora.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labs.dora import metrics

N_CHANGES = 1_000_000
N_DEPLOYMENTS = 100_000
N_INCIDENTS = 5_000
RUNS = 5
SEED = 20241127
YEAR_S = 365 * 24 * 3600


def make_data(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Build the seeded benchmark frames (vectorised; not part of the timing)."""
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
    per_deploy = N_CHANGES // N_DEPLOYMENTS
    commit_s = np.sort(t0 + rng.integers(0, YEAR_S, size=N_CHANGES))
    change_ids = np.char.add("c", np.char.zfill(np.arange(N_CHANGES).astype(str), 7))
    change_ids = change_ids.astype(object)
    last_commit = commit_s[per_deploy - 1 :: per_deploy]
    deploy_s = np.maximum.accumulate(last_commit + rng.integers(60, 7200, size=N_DEPLOYMENTS))
    deploy_ids = np.char.add("d", np.char.zfill(np.arange(N_DEPLOYMENTS).astype(str), 6))
    incident_ids = np.char.add("i", np.char.zfill(np.arange(N_INCIDENTS).astype(str), 5))
    caused = np.sort(rng.choice(N_DEPLOYMENTS, size=N_INCIDENTS, replace=False))
    created_s = deploy_s[caused] + rng.integers(60, 3600, size=N_INCIDENTS)
    resolved_s = created_s + rng.integers(300, 48 * 3600, size=N_INCIDENTS)
    fixes = np.full(N_DEPLOYMENTS, None, dtype=object)
    fixers = rng.choice(N_DEPLOYMENTS, size=N_DEPLOYMENTS // 50, replace=False)
    fixes[fixers] = incident_ids[rng.integers(0, N_INCIDENTS, size=fixers.size)]

    def utc(seconds: np.ndarray) -> pd.Series:
        return pd.Series(pd.to_datetime(seconds, unit="s", utc=True).as_unit("ns"))

    changes = pd.DataFrame(
        {"change_id": pd.Series(change_ids, dtype="str"), "committed_at": utc(commit_s)}
    )
    deployments = pd.DataFrame(
        {
            "deploy_id": pd.Series(deploy_ids, dtype="str"),
            "deployed_at": utc(deploy_s),
            # Fresh string objects, as a reader would produce (no shared, pre-hashed strings).
            "change_ids": pd.Series(
                np.char.add("c", np.char.zfill(np.arange(N_CHANGES).astype(str), 7))
                .reshape(-1, per_deploy)
                .tolist(),
                dtype=object,
            ),
            "rolled_back": rng.random(N_DEPLOYMENTS) < 0.05,
            "fixes_incident_id": pd.Series(fixes, dtype="str"),
        }
    )
    incidents = pd.DataFrame(
        {
            "incident_id": pd.Series(incident_ids, dtype="str"),
            "created_at": utc(created_s),
            "resolved_at": utc(resolved_s),
            "caused_by_deploy_id": pd.Series(deploy_ids[caused], dtype="str"),
        }
    )
    return changes, deployments, incidents


def main() -> None:
    """Generate the data, time ``metrics`` a few times and print the median wall time."""
    changes, deployments, incidents = make_data()
    times = []
    for _ in range(RUNS):
        begin = time.perf_counter()
        report = metrics(changes, deployments, incidents)
        times.append(time.perf_counter() - begin)
    print(report)
    print(
        f"labs.dora.metrics on {N_CHANGES:,} changes / {N_DEPLOYMENTS:,} deployments / "
        f"{N_INCIDENTS:,} incidents: median {statistics.median(times):.3f} s over {RUNS} runs "
        f"(min {min(times):.3f} s, max {max(times):.3f} s)"
    )


if __name__ == "__main__":
    main()
