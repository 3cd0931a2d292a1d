"""Session-wide test setup: a private workshop folder and emulator, stopped at the end.

Lives at the project root so that it also covers the nbval run over ``solutions/``: notebook
kernels inherit ``LABS_WORKSHOP_DIR`` and so share the test session's emulator, never a learner's.
Under pytest-xdist each worker gets a folder — and so an emulator — of its own, as five learners
on one machine would: notebooks running side by side never see each other's resources.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile

import pytest

# Before anything imports labs: the environment the suite was started with (setup/isolated.sh
# puts real-looking AWS credentials in it), and a workshop folder of the tests' own.
ORIGINAL_AWS_ENV = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
os.environ.setdefault("LABS_SUITE_AWS_ENV", json.dumps(ORIGINAL_AWS_ENV))
os.environ.setdefault("LABS_WORKSHOP_DIR", tempfile.mkdtemp(prefix="labs-test-"))
# Passing checks record progress (labs/progress_log.py) in the workshop folder in use, nowhere else.
os.environ.pop("LABS_PROGRESS", None)
os.environ.pop("LABS_PROGRESS_FILE", None)
_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and not os.environ["LABS_WORKSHOP_DIR"].endswith(f"-{_worker}"):
    os.environ["LABS_WORKSHOP_DIR"] = f"{os.environ['LABS_WORKSHOP_DIR']}-{_worker}"
# Notebook shell cells (`!aws`, `!python`) find this environment's tools first, as under make.
_bin = os.path.dirname(sys.executable)
if not os.environ.get("PATH", "").startswith(_bin + os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


_SESSION_WORKSHOP = os.environ["LABS_WORKSHOP_DIR"]


def _notebook_file(item):
    """The nbval collector (one .ipynb) an item belongs to, or None for ordinary tests."""
    parent = getattr(item, "parent", None)
    path = str(getattr(parent, "path", ""))
    return parent if path.endswith(".ipynb") else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Give each solution notebook under nbval a fresh emulator of its own.

    A notebook's stored outputs are what a learner sees who starts with that lab, so it is
    compared on an emulator nothing else has touched; the kernel nbval starts for the notebook
    inherits this folder. Ordinary tests keep the session's (or worker's) emulator.
    """
    notebook = _notebook_file(item)
    if notebook is None:
        return  # tests and their fixtures choose their own folder (see tests/conftest.py)
    stem = os.path.basename(str(notebook.path)).removesuffix(".ipynb")
    folder = os.path.join(_SESSION_WORKSHOP, "nbval", stem)
    if os.environ["LABS_WORKSHOP_DIR"] != folder:  # the notebook's first cell
        from labs import progress_log

        # Its checks record progress afresh, whatever an earlier run left in this folder: lab
        # 00's "where to continue" shows what a learner sees who has just done lab 00.
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(folder, progress_log.FILE_NAME))
    os.environ["LABS_WORKSHOP_DIR"] = folder


def pytest_runtest_teardown(item, nextitem):
    """Stop a notebook's emulator after its last cell."""
    notebook = _notebook_file(item)
    if notebook is not None and (nextitem is None or _notebook_file(nextitem) is not notebook):
        from labs import emulator

        emulator.stop()
        os.environ["LABS_WORKSHOP_DIR"] = _SESSION_WORKSHOP


def pytest_sessionfinish(session, exitstatus):
    """Stop this process's emulator (each xdist worker has its own)."""
    from labs import emulator

    emulator.stop()
