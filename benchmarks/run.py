"""Run every benchmark in this folder and print its figures (``make bench``).

Figures, not pass/fail timings: nothing here is asserted. ``--series`` also times a full
``make run-all`` (the whole series headless), which takes minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main(argv: list[str] | None = None) -> int:
    """Run each ``bench_*.py`` in its own process, then optionally the whole series."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-series", action="store_true", help="skip the full run-all timing")
    args = parser.parse_args(argv)
    failures = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n## {script.name}", flush=True)
        failures += subprocess.run([sys.executable, str(script)], check=False).returncode != 0
    if not args.no_series:
        print("\n## the whole series (setup/run_all.py)", flush=True)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(ROOT / "setup" / "run_all.py")],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        report = ROOT / "build" / "run-all" / "report.json"
        if report.exists():
            data = json.loads(report.read_text())
            for run in data["notebooks"]:
                print(
                    f"  {run['notebook']:<40} {run['seconds']:7.1f} s "
                    f"{'pass' if run['passed'] else 'FAIL'}"
                )
        print(f"  make run-all wall time               {wall:.1f} s (exit {result.returncode})")
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
