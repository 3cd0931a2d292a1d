"""A classroom on one machine: five learners run the same lab at the same moment.

Each learner has a workshop folder of their own (``LABS_WORKSHOP_DIR``), and so an emulator of
their own on a port of its own. All five run lab 11 at once — it starts the bookstore's three
traced servers on loopback ports of its own besides the emulator — and every run must pass, with
five different emulators on five different ports, each listening on 127.0.0.1 only, each holding
only its learner's resources. The wall time is written to ``build/classroom.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workshop_processes import listening_addresses, of_workshop, using_workshop

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "solutions" / "11_tracing_xray.ipynb"
LEARNERS = 5
FIGURES = ROOT / "build" / "classroom.json"


@pytest.mark.notebook
def test_five_learners_run_a_lab_at_once_without_touching_each_other(tmp_path: Path) -> None:
    import labs
    from labs import emulator
    from labs.cleanup import inventory

    folders = [tmp_path / f"learner-{n}" for n in range(1, LEARNERS + 1)]
    started = time.perf_counter()
    runs = [
        subprocess.Popen(
            [sys.executable, "setup/run_all.py", f"--out={folder / 'run'}", str(LAB)],
            cwd=ROOT,
            env={**os.environ, "LABS_WORKSHOP_DIR": str(folder)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for folder in folders
    ]
    try:
        outputs = [run.communicate(timeout=900)[0] for run in runs]
        seconds = time.perf_counter() - started
        for folder, run, output in zip(folders, runs, outputs, strict=True):
            assert run.returncode == 0, f"{folder.name}:\n{output[-3000:]}"
            report = json.loads((folder / "run" / "report.json").read_text())
            assert [r["passed"] for r in report["notebooks"]] == [True]

        emulators = [json.loads((f / "emulator.json").read_text()) for f in folders]
        assert len({e["port"] for e in emulators}) == LEARNERS, emulators
        assert len({e["pid"] for e in emulators}) == LEARNERS, emulators
        for emu in emulators:
            assert listening_addresses(emu["port"]) == {"0100007F"}  # 127.0.0.1 only

        # Lab 11 cleans up after itself on every learner's emulator; then one marker per
        # learner shows that each emulator holds its learner's resources and no one else's.
        for n, folder in enumerate(folders, start=1):
            with using_workshop(folder):
                ctx = labs.start(quiet=True)
                left = inventory(ctx)
                assert left.empty, f"{folder.name}:\n{left.to_string()}"
                ctx.client("s3").create_bucket(Bucket=f"labs-classroom-learner-{n}")
        for n, folder in enumerate(folders, start=1):
            with using_workshop(folder):
                buckets = labs.start(quiet=True).client("s3").list_buckets()["Buckets"]
                mine = {b["Name"] for b in buckets if b["Name"].startswith("labs-classroom-")}
                assert mine == {f"labs-classroom-learner-{n}"}
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
        for folder in folders:
            with using_workshop(folder):
                emulator.stop()
    assert all(of_workshop(folder) == [] for folder in folders)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(
        json.dumps({"learners": LEARNERS, "lab": LAB.name, "wall_seconds": round(seconds, 1)})
    )
    print(f"{LEARNERS} learners ran {LAB.name} at once in {seconds:.1f} s")
