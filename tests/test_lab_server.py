"""`make lab` serves JupyterLab on 127.0.0.1 with token auth, and stops cleanly."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.notebook
def test_make_lab_serves_the_notebooks_behind_a_token(private_workshop: Path) -> None:
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "LAB_PORT": str(port), "LAB_TOKEN": token, "LAB_BROWSER": "no"}
    env.pop("MAKEFLAGS", None)
    log = private_workshop.parent / "lab.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            ["make", "-s", "lab"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"make lab exited early:\n{log.read_text()[-2000:]}"
            try:
                requests.get(f"{base}/api/status", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, f"no server:\n{log.read_text()[-2000:]}"
                time.sleep(0.5)

        lab = requests.get(f"{base}/lab", params={"token": token}, timeout=10)
        assert lab.status_code == 200 and "JupyterLab" in lab.text
        listing = requests.get(f"{base}/api/contents", params={"token": token}, timeout=10)
        assert listing.status_code == 200
        names = {item["name"] for item in listing.json()["content"]}
        assert "00_setup.ipynb" in names, f"the lab opens on notebooks/, got {sorted(names)}"

        assert requests.get(f"{base}/api/contents", timeout=10).status_code == 403
        wrong = requests.get(f"{base}/api/contents", params={"token": "nope"}, timeout=10)
        assert wrong.status_code == 403

        # Only on loopback: the emulator that `make lab` started is there too.
        emulator_state = private_workshop / "emulator.json"
        assert emulator_state.exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/api/status", timeout=1)
