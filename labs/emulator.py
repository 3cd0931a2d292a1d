"""The local AWS emulator: one ``moto_server`` process on 127.0.0.1, shared by every kernel.

The emulator runs as a subprocess so that its state is visible to every notebook kernel, to
``!aws`` shell cells and to the tests (an in-process server is not). Who started it does not
matter: its endpoint and pid live in a state file, ``.workshop/emulator.json``, and every
``labs.start()`` reuses a live emulator or starts one. A dead emulator is detected and restarted
on the same port when possible, with a message that says what was lost.

Nothing here talks to AWS; the emulator answers on loopback only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from labs.errors import EmulatorError

__all__ = [
    "Emulator",
    "ensure_running",
    "is_alive",
    "reset",
    "running",
    "stop",
    "workshop_dir",
]

HOST = "127.0.0.1"
STATE_FILE = "emulator.json"
LOG_FILE = "emulator.log"
START_TIMEOUT_S = 30.0


def workshop_dir() -> Path:
    """Return the folder that holds the workshop's local state (created if missing).

    ``LABS_WORKSHOP_DIR`` wins; otherwise ``.workshop/`` at the project root (the folder that
    holds the ``labs`` package), or in the current directory when ``labs`` is installed elsewhere.
    """
    override = os.environ.get("LABS_WORKSHOP_DIR")
    if override:
        path = Path(override)
    else:
        root = Path(__file__).resolve().parent.parent
        path = (root if (root / "pyproject.toml").exists() else Path.cwd()) / ".workshop"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Emulator:
    """A running emulator as recorded in the state file.

    Attributes:
        endpoint: Its base URL, e.g. ``http://127.0.0.1:50123``.
        port: The loopback port it listens on.
        pid: Its process id.
        started_at: Wall-clock start time (seconds since the epoch).
        restarted: True when this call had to replace an emulator that had died.
    """

    endpoint: str
    port: int
    pid: int
    started_at: float
    restarted: bool = False


def _state_path() -> Path:
    return workshop_dir() / STATE_FILE


def _read_state() -> Emulator | None:
    try:
        data = json.loads(_state_path().read_text())
        return Emulator(
            data["endpoint"], int(data["port"]), int(data["pid"]), float(data["started_at"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(emu: Emulator) -> None:
    data = asdict(emu)
    data.pop("restarted")
    tmp = _state_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(_state_path())


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """Serialise emulator start/stop between kernels and processes."""
    with open(workshop_dir() / "emulator.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _port_open(port: int, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((HOST, port)) == 0


def _process_alive(pid: int) -> bool:
    """True when ``pid`` runs and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def is_alive(emu: Emulator | None = None) -> bool:
    """Return True when the recorded emulator (or ``emu``) runs and accepts connections."""
    emu = emu or _read_state()
    return emu is not None and _process_alive(emu.pid) and _port_open(emu.port)


def running() -> Emulator | None:
    """Return the live emulator, or None when none is running (starts nothing)."""
    emu = _read_state()
    return emu if emu is not None and is_alive(emu) else None


def _port_reusable(port: int, wait: float = 2.0) -> bool:
    """True when ``port`` can be bound again, waiting briefly for a dying server to let go."""
    deadline = time.monotonic() + wait
    while True:
        # moto_server (werkzeug) binds with SO_REUSEADDR, so the probe does too: connections
        # of the dead server left in TIME_WAIT do not block it.
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _moto_server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]


def _wait_until_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    url = f"http://{HOST}:{port}/moto-api/"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise EmulatorError(
                f"The local AWS emulator exited at start (code {proc.returncode}).",
                where=str(log),
                hint=f"Its last output was:\n{tail}\nIs moto[server] installed? "
                "Run `make lab` or `make test` to create the virtual environment.",
            )
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(url, timeout=1) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.05)
    proc.kill()
    raise EmulatorError(
        f"The local AWS emulator did not answer within {START_TIMEOUT_S:.0f} s.",
        where=str(log),
        hint="Look at the log for the reason; `make cleanup` stops stray emulators.",
    )


def _spawn(port: int) -> Emulator:
    log = workshop_dir() / LOG_FILE
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            _moto_server_command(port),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _wait_until_ready(proc, port, log)
    # The emulator outlives the kernel that started it; nobody waits for it, so it must
    # not linger as a zombie of this process once it is stopped.
    _DETACHED.append(proc)
    return Emulator(f"http://{HOST}:{port}", port, proc.pid, time.time())


_DETACHED: list[subprocess.Popen[bytes]] = []


def ensure_running(*, quiet: bool = False) -> Emulator:
    """Return the live emulator, starting one (or restarting a dead one) when needed.

    A dead emulator is replaced on the same port when that port is free, so clients made
    before keep working; everything it held is gone, and the message says so.

    Args:
        quiet: Do not print the restart message.

    Raises:
        EmulatorError: The emulator could not be started.
    """
    _reap()
    with _lock():
        previous = _read_state()
        if previous is not None and is_alive(previous):
            return previous
        port = _free_port()
        if previous is not None and _port_reusable(previous.port):
            port = previous.port
        emu = _spawn(port)
        _write_state(emu)
    if previous is not None:
        if not quiet:
            print(
                f"The local AWS emulator had stopped (pid {previous.pid}); started a new one "
                f"on {emu.endpoint}. Resources created before are gone: re-run this notebook "
                "from the top.",
                file=sys.stderr,
            )
        return Emulator(emu.endpoint, emu.port, emu.pid, emu.started_at, restarted=True)
    return emu


def reset() -> None:
    """Delete every resource in the emulator (moto's reset API); the process keeps running.

    Raises:
        EmulatorError: No emulator is running.
    """
    emu = running()
    if emu is None:
        raise EmulatorError(
            "No local AWS emulator is running, so there is nothing to reset.",
            hint="Start one with `ctx = labs.start()`.",
        )
    request = urllib.request.Request(f"{emu.endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise EmulatorError(f"The emulator refused the reset (HTTP {response.status}).")


def stop(*, timeout: float = 10.0) -> bool:
    """Stop the emulator recorded in the state file; return True when one was stopped.

    Idempotent: with no emulator running it only removes a stale state file.
    """
    with _lock():
        emu = _read_state()
        _state_path().unlink(missing_ok=True)
        if emu is None or not _process_alive(emu.pid):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(emu.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _process_alive(emu.pid):
            _reap(emu.pid)
            time.sleep(0.05)
        if _process_alive(emu.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(emu.pid, signal.SIGKILL)
        _reap(emu.pid)
        return True


def _reap(pid: int | None = None) -> None:
    """Collect exit statuses of emulators this process started (no zombie left behind)."""
    for proc in list(_DETACHED):
        if (pid is None or proc.pid == pid) and proc.poll() is not None:
            _DETACHED.remove(proc)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m labs.emulator start|stop|status|reset``."""
    import argparse

    parser = argparse.ArgumentParser(description="Manage the local AWS emulator.")
    parser.add_argument("action", choices=["start", "stop", "status", "reset"])
    action = parser.parse_args(argv).action
    if action == "start":
        emu = ensure_running()
        print(f"Local AWS emulator running at {emu.endpoint} (pid {emu.pid}).")
    elif action == "stop":
        print("Emulator stopped." if stop() else "No emulator was running.")
    elif action == "reset":
        reset()
        print("Emulator reset: every resource in it is gone.")
    else:
        emu = running()
        print(f"Running at {emu.endpoint} (pid {emu.pid})." if emu else "Not running.")
        return 0 if emu else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
