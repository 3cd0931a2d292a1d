"""A learner's kernel survives the emulator dying between two cells."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient


@pytest.mark.notebook
def test_the_next_cell_after_a_crash_recovers_with_one_clear_message(
    private_workshop: Path,
) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import labs\nctx = labs.start(quiet=True)\n"
                "s3 = ctx.client('s3')\ns3.create_bucket(Bucket='labs-crash')"
            ),
            nbformat.v4.new_code_cell("print(len(s3.list_buckets()['Buckets']))"),
            nbformat.v4.new_code_cell(
                "ctx = labs.start(quiet=True)\n"
                "print(ctx.client('sts').get_caller_identity()['Account'])"
            ),
        ]
    )
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(private_workshop.parent)}},
    )
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        state = json.loads((private_workshop / "emulator.json").read_text())
        os.kill(state["pid"], signal.SIGKILL)
        time.sleep(0.3)
        client.execute_cell(nb.cells[1], 1)
        client.execute_cell(nb.cells[2], 2)

    streams = {o.name: o.text for o in nb.cells[1].outputs if o.output_type == "stream"}
    assert streams["stdout"] == "0\n"  # the new emulator is empty, and says so:
    assert streams["stderr"].count("\n") == 1
    assert "The local AWS emulator had stopped" in streams["stderr"]
    assert "re-run this notebook from the top" in streams["stderr"]
    assert nb.cells[2].outputs[0].text == "123456789012\n"


@pytest.mark.notebook
def test_a_lab_rerun_from_the_top_passes_after_the_emulator_died_between_notebooks(
    private_workshop: Path,
) -> None:
    """Lab 02 runs, the emulator is killed, the next notebook starts: one sentence, then pass."""
    import run_all

    lab = Path(__file__).resolve().parent.parent / "solutions" / "02_source_codecommit.ipynb"
    _, first_run = run_all.execute(lab)
    assert first_run.passed, first_run.error
    state = json.loads((private_workshop / "emulator.json").read_text())
    os.kill(state["pid"], signal.SIGKILL)
    time.sleep(0.3)

    again, rerun = run_all.execute(lab)

    assert rerun.passed, rerun.error

    first = next(c for c in again.cells if c.cell_type == "code")
    stderr = "".join(o.text for o in first.outputs if o.get("name") == "stderr")
    assert stderr.count("\n") == 1 and "The local AWS emulator had stopped" in stderr
    revived = json.loads((private_workshop / "emulator.json").read_text())
    assert revived["pid"] != state["pid"] and revived["port"] == state["port"]
