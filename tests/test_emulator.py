"""The local emulator: one shared process on loopback, revived when it dies, stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workshop_processes import listening_addresses

from labs import emulator
from labs.errors import EmulatorError


def test_start_listens_on_loopback_only(private_workshop: Path) -> None:
    emu = emulator.ensure_running()
    assert emu.endpoint == f"http://127.0.0.1:{emu.port}"
    assert emulator.is_alive(emu)
    # 0100007F is 127.0.0.1 in the kernel's little-endian hex; nothing on 0.0.0.0 or ::.
    assert listening_addresses(emu.port) == {"0100007F"}
    state = json.loads((private_workshop / "emulator.json").read_text())
    assert state["pid"] == emu.pid and state["endpoint"] == emu.endpoint


def test_second_start_reuses_the_running_emulator(private_workshop: Path) -> None:
    first = emulator.ensure_running()
    again = emulator.ensure_running()
    assert (again.pid, again.port, again.restarted) == (first.pid, first.port, False)


def test_another_process_shares_the_same_emulator(private_workshop: Path) -> None:
    emu = emulator.ensure_running()
    code = "from labs import emulator; print(emulator.ensure_running().pid)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    assert int(out.stdout.strip()) == emu.pid


def test_a_dead_emulator_is_restarted_on_the_same_port_with_a_message(
    private_workshop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = emulator.ensure_running()
    os.kill(emu.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while emulator.running() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emulator.running() is None
    revived = emulator.ensure_running()
    assert revived.restarted and revived.pid != emu.pid and revived.port == emu.port
    message = capsys.readouterr().err
    assert "had stopped" in message and "re-run this notebook from the top" in message


def test_stop_is_idempotent_and_leaves_no_process(private_workshop: Path) -> None:
    emu = emulator.ensure_running()
    assert emulator.stop() is True
    assert emulator.stop() is False
    assert not Path(f"/proc/{emu.pid}").exists() or "Z" in Path(f"/proc/{emu.pid}/stat").read_text()
    assert not (private_workshop / "emulator.json").exists()


def test_reset_empties_the_emulator(private_workshop: Path) -> None:
    import labs

    ctx = labs.start(quiet=True)
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket="labs-reset-me")
    emulator.reset()
    assert s3.list_buckets()["Buckets"] == []


def test_reset_without_an_emulator_says_how_to_start_one(private_workshop: Path) -> None:
    with pytest.raises(EmulatorError, match=r"labs\.start\(\)"):
        emulator.reset()


def test_command_line_status_start_stop(private_workshop: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "labs.emulator", *args],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )

    assert cli("status").returncode == 1
    assert "running at http://127.0.0.1:" in cli("start").stdout
    assert cli("status").returncode == 0
    assert "stopped" in cli("stop").stdout
    assert cli("status").returncode == 1
