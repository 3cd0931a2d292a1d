"""Fixtures shared by the unit tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "setup"))


@pytest.fixture(scope="session")
def ctx():
    """The workshop context on the session's emulator."""
    import labs

    return labs.start(quiet=True)


@pytest.fixture
def private_workshop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A workshop folder (and so an emulator) of this test's own, stopped afterwards.

    For tests that kill or stop the emulator, so that they never disturb the shared one.
    """
    import os

    from labs import emulator

    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    folder = tmp_path / "workshop"
    monkeypatch.setenv("LABS_WORKSHOP_DIR", str(folder))
    try:
        yield folder
    finally:
        emulator.stop()
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[key]
        os.environ.update(saved)
