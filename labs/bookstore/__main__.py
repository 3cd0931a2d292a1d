"""Entry point of ``python -m labs.bookstore`` (see :mod:`.server` and ``--help``)."""

from __future__ import annotations

from .server import main

if __name__ == "__main__":
    raise SystemExit(main())
