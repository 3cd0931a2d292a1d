"""Session-wide test setup: a private workshop folder and emulator, stopped at the end.

Lives at the project root so that it also covers the nbval run over ``solutions/``: notebook
kernels inherit ``LABS_WORKSHOP_DIR`` and so share the test session's emulator, never a learner's.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

# Before anything imports labs: the environment the suite was started with (setup/isolated.sh
# puts real-looking AWS credentials in it), and a workshop folder of the tests' own.
ORIGINAL_AWS_ENV = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
os.environ.setdefault("LABS_SUITE_AWS_ENV", json.dumps(ORIGINAL_AWS_ENV))
os.environ.setdefault("LABS_WORKSHOP_DIR", tempfile.mkdtemp(prefix="labs-test-"))
# Notebook shell cells (`!aws`, `!python`) find this environment's tools first, as under make.
_bin = os.path.dirname(sys.executable)
if not os.environ.get("PATH", "").startswith(_bin + os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


def pytest_sessionfinish(session, exitstatus):
    """Stop the session's emulator (only in the controlling process under xdist)."""
    if hasattr(session.config, "workerinput"):
        return
    from labs import emulator

    emulator.stop()
