"""The environment doctor: is this machine ready for the workshop, and if not, what to do.

``make lab`` and ``make test`` run it before anything else (``python -m labs.doctor``), and the
setup notebook shows its table. Each row is one check with a status — ``ok``, ``warn`` (a lab
will adapt, e.g. no Docker engine) or ``fail`` (fix it first) — and what to do.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Finding", "diagnose", "main", "table"]

MIN_PYTHON = (3, 11)
MIN_NODE = 18
MIN_FREE_GIB = 2.0
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Finding:
    """One row of the doctor's report."""

    check: str
    status: str  # "ok" | "warn" | "fail"
    found: str
    fix: str = ""


def _run(command: list[str], timeout: float = 10.0) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def check_python() -> Finding:
    """Python must be 3.11 or newer."""
    found = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MIN_PYTHON:
        return Finding("Python ≥ 3.11", "ok", found)
    return Finding(
        "Python ≥ 3.11", "fail", found, "Install Python 3.11 or newer and run `make lab` again."
    )


def check_packages(requirements: Path = ROOT / "requirements.txt") -> Finding:
    """Every package pinned in requirements.txt is installed at its pinned version."""
    if not requirements.exists():
        return Finding("pinned packages", "warn", "no requirements.txt beside labs/")
    wrong = []
    for line in requirements.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if not match:
            continue
        name, version = match.group(1), match.group(3)
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name} missing")
            continue
        if have != version:
            wrong.append(f"{name} {have} (pinned {version})")
    if not wrong:
        return Finding("pinned packages", "ok", "all match requirements.txt")
    return Finding(
        "pinned packages",
        "fail",
        "; ".join(wrong[:5]),
        "Delete .venv and run `make lab` (it reinstalls from requirements.txt).",
    )


def check_node() -> Finding:
    """Node.js 18+ runs the CDK's jsii runtime (lab 07 only)."""
    node = shutil.which("node")
    result = _run([node, "--version"]) if node else None
    if result is None or result.returncode != 0:
        return Finding(
            "Node.js (CDK lab)",
            "warn",
            "not found",
            "Install Node.js 20 for lab 07 (the CDK); every other lab runs without.",
        )
    version = result.stdout.strip()
    major = int(re.sub(r"\D", "", version.split(".")[0]) or 0)
    if major < MIN_NODE:
        return Finding("Node.js (CDK lab)", "warn", version, "Lab 07 needs Node.js 18 or newer.")
    return Finding("Node.js (CDK lab)", "ok", version)


def check_git() -> Finding:
    """git records the bookstore's history (labs 01, 02, 05)."""
    result = _run(["git", "--version"])
    if result is None or result.returncode != 0:
        return Finding("git", "fail", "not found", "Install git (any recent version).")
    return Finding("git", "ok", result.stdout.strip().removeprefix("git version "))


def check_disk(path: Path = ROOT) -> Finding:
    """At least 2 GiB free where the workshop keeps its state."""
    free = shutil.disk_usage(path).free / 2**30
    if free >= MIN_FREE_GIB:
        return Finding("free disk", "ok", f"{free:.1f} GiB")
    return Finding(
        "free disk",
        "fail",
        f"{free:.1f} GiB",
        f"Free at least {MIN_FREE_GIB:g} GiB (the CDK cache alone takes ~200 MB).",
    )


def check_loopback() -> Finding:
    """The emulator and JupyterLab listen on 127.0.0.1: a loopback port must be bindable."""
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
        return Finding("loopback 127.0.0.1", "ok", "a port can be bound")
    except OSError as exc:
        return Finding(
            "loopback 127.0.0.1",
            "fail",
            str(exc),
            "The emulator needs the loopback interface; check firewall/sandbox rules.",
        )


def check_docker() -> Finding:
    """A Docker engine lets lab 08 build images; without one the lab goes on without building."""
    docker = shutil.which("docker")
    if not docker:
        return Finding(
            "Docker engine (lab 08)",
            "warn",
            "no docker client",
            "Optional: lab 08 skips the build and still pushes an image manifest.",
        )
    result = _run([docker, "info", "--format", "{{.ServerVersion}}"], timeout=5)
    if result is None or result.returncode != 0 or not result.stdout.strip():
        return Finding(
            "Docker engine (lab 08)",
            "warn",
            "client only, no engine answers",
            "Optional: lab 08 skips the build and still pushes an image manifest.",
        )
    return Finding("Docker engine (lab 08)", "ok", f"engine {result.stdout.strip()}")


def check_target() -> Finding:
    """Say which target the labs will use; the aws target needs an explicit opt-in."""
    target = os.environ.get("LABS_TARGET", "local") or "local"
    if target == "local":
        return Finding("target", "ok", "local emulator (no AWS account is used)")
    account = os.environ.get("LABS_AWS_ACCOUNT", "")
    status = "ok" if re.fullmatch(r"\d{12}", account) else "fail"
    return Finding(
        "target",
        status,
        f"{target}, LABS_AWS_ACCOUNT={account or 'unset'}",
        "" if status == "ok" else "Set LABS_AWS_ACCOUNT to your 12-digit account id.",
    )


CHECKS = (
    check_python,
    check_packages,
    check_git,
    check_node,
    check_disk,
    check_loopback,
    check_docker,
    check_target,
)


def diagnose() -> list[Finding]:
    """Run every check and return its findings, in order."""
    return [check() for check in CHECKS]


def table(findings: list[Finding] | None = None):  # -> pandas.DataFrame
    """Return the findings as a DataFrame (for the setup notebook)."""
    import pandas as pd

    return pd.DataFrame([asdict(f) for f in (findings or diagnose())])


def main() -> int:
    """Print the report; exit 1 when any check fails."""
    findings = diagnose()
    width = max(len(f.check) for f in findings)
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    print("Environment doctor")
    for f in findings:
        print(f"  [{marks[f.status]}] {f.check:<{width}}  {f.found}")
        if f.fix and f.status != "ok":
            print(f"         {'':<{width}}  → {f.fix}")
    failed = [f for f in findings if f.status == "fail"]
    if failed:
        print(f"{len(failed)} check(s) failed: fix them and run again.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
