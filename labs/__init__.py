"""DevOps on AWS Labs: the helper library behind the workshop notebooks.

Every notebook starts with ``ctx = labs.start()``; the context it returns is the only way to an
AWS client. Subpackages are imported on first use (``labs.dora``, ``labs.deploy``, …), so
``import labs`` stays fast and touches nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["Workshop", "__version__", "hint", "progress", "start"]

_SUBMODULES = {
    "bookstore",
    "checks",
    "cicd",
    "cleanup",
    "containers",
    "deploy",
    "doctor",
    "dora",
    "emulator",
    "env",
    "errors",
    "hints",
    "iac",
    "observability",
    "practices",
    "progress_log",
    "setup_checks",
}


def __getattr__(name: str) -> Any:
    """Import ``labs.<name>`` on first use, so notebooks can write ``labs.dora.metrics(...)``."""
    if name in _SUBMODULES:
        return importlib.import_module(f"labs.{name}")
    if name in ("start", "Workshop"):  # labs.start() is labs.env.start()
        return getattr(importlib.import_module("labs.env"), name)
    if name == "hint":  # labs.hint("04", 2) is labs.hints.hint
        return importlib.import_module("labs.hints").hint
    raise AttributeError(f"module 'labs' has no attribute {name!r}")


def progress() -> Any:
    """Which labs' checks you have passed, and where to continue (a table in Jupyter).

    Every *Check your work* that passes records itself (``labs.progress_log``);
    ``make progress`` prints the same from a terminal.
    """
    return importlib.import_module("labs.progress_log").progress()
