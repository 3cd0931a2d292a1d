"""Processes of one workshop folder (emulator, kernels, lab servers) and their sockets.

Every process the workshop starts inherits ``LABS_WORKSHOP_DIR``: the emulator, the kernels
``make run-all`` starts, and the servers their cells start. Reading ``/proc/<pid>/environ``
finds all of them, whatever they are called.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Process:
    """A live process: its id and command line."""

    pid: int
    command: str


def of_workshop(folder: Path) -> list[Process]:
    """Live processes (not zombies) whose environment has ``LABS_WORKSHOP_DIR=<folder>``."""
    wanted = f"LABS_WORKSHOP_DIR={folder}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if wanted in environ and "\nState:\tZ" not in status:
            found.append(Process(int(entry.name), command))
    return found


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port``, from the kernel's socket table.

    Addresses are as the kernel writes them: ``0100007F`` is 127.0.0.1, ``00000000`` is 0.0.0.0.
    """
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(address)
    return found


@contextlib.contextmanager
def using_workshop(folder: Path) -> Iterator[None]:
    """Point this process's ``labs`` at ``folder`` for a while, then put everything back.

    ``labs.start()`` rewrites the ``AWS_*`` variables for the emulator it connects to; they are
    restored too, so later tests find the session's workshop as they left it.
    """
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_") or k == _VAR}
    os.environ[_VAR] = str(folder)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("AWS_") or k == _VAR]:
            del os.environ[key]
        os.environ.update(saved)


_VAR = "LABS_WORKSHOP_DIR"
