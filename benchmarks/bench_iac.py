"""Time the infrastructure-as-code labs' building blocks and print the figures.

What a learner waits for in labs 06 and 07: reading a template, cfn-lint (first call and
later calls), a stack deploy on the local emulator with its skipped-resources report, drift
detection on the bookstore data stack, a change-set preview; then ``import aws_cdk``, the
first ``app.synth()`` in a process and a later one. Figures are printed, not asserted, because
machines differ. The benchmark runs on an emulator of its own (a temporary workshop folder),
stopped at the end.

Run from the repository root::

    .venv/bin/python benchmarks/bench_iac.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUNS = 5


def _time(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _line(what: str, seconds: float) -> None:
    print(f"  {what:<46} {seconds * 1000:9.1f} ms")


def main() -> int:
    """Print the figures."""
    os.environ["LABS_WORKSHOP_DIR"] = tempfile.mkdtemp(prefix="labs-bench-iac-")
    import labs
    from labs import emulator
    from labs.iac import changesets, drift, linter, samples, stacks, templates

    ctx = labs.start(quiet=True)
    try:
        _line(
            "load the bookstore template (YAML, median)",
            statistics.median(
                _time(lambda: templates.load(samples.BOOKSTORE_DATA)) for _ in range(RUNS)
            ),
        )
        _line(
            "cfn-lint, first call in the process", _time(lambda: linter.lint(samples.BOOKSTORE_APP))
        )
        linter._lint.cache_clear()
        _line("cfn-lint, the data template", _time(lambda: linter.lint(samples.BOOKSTORE_DATA)))
        _line(
            "deploy the data stack (lint cached, first stack)",
            _time(
                lambda: stacks.deploy(ctx, "labs-bench-data", samples.BOOKSTORE_DATA, quiet=True)
            ),
        )
        _line(
            "drift detection, 9 resources (median)",
            statistics.median(
                _time(lambda: drift.detect(ctx, "labs-bench-data")) for _ in range(RUNS)
            ),
        )
        new = templates.load(samples.BOOKSTORE_DATA)
        new["Resources"]["BooksTable"]["Properties"]["TableName"] = "labs-bench-renamed"
        old = templates.load(samples.BOOKSTORE_DATA)
        _line(
            "change-set preview, offline (median)",
            statistics.median(_time(lambda: changesets.preview(old, new)) for _ in range(RUNS)),
        )
        _line(
            "delete the data stack",
            _time(lambda: stacks.delete(ctx, "labs-bench-data", quiet=True)),
        )

        started = time.perf_counter()
        from labs.iac import cdk as lab_cdk

        import_s = time.perf_counter() - started
        _line("import aws_cdk (through labs.iac.cdk)", import_s)
        import aws_cdk as cdk
        from aws_cdk import aws_sqs as sqs

        def synth_once() -> None:
            app = lab_cdk.new_app("bench")
            sqs.Queue(cdk.Stack(app, "Bench"), "Queue", enforce_ssl=True)
            lab_cdk.synth(app)

        _line("first app.synth() in the process", _time(synth_once))
        _line(
            "later app.synth() (median)",
            statistics.median(_time(synth_once) for _ in range(RUNS)),
        )
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
