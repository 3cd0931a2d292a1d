"""Build and run the bookstore's image with a Docker engine, when one answers.

Lab 08 builds for real where a Docker engine is reachable (``docker info`` answers) and goes
on without one otherwise: :func:`engine` says which, :func:`build` runs ``docker build`` on a
copy of the bookstore, and :func:`run_health` starts the container on 127.0.0.1, waits for
its ``HEALTHCHECK`` to report healthy, asks ``/health`` itself and removes the container.
Nothing here raises for a missing engine or a failed build: results say what happened, so
a notebook can print them and carry on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuildResult", "Engine", "HealthResult", "build", "engine", "remove_image", "run_health"]


@dataclass(frozen=True)
class Engine:
    """Whether a Docker engine answers here.

    Attributes:
        available: True when ``docker info`` reported a server version.
        detail: The server version, or why there is no engine.
    """

    available: bool
    detail: str


@dataclass(frozen=True)
class BuildResult:
    """The outcome of ``docker build``.

    Attributes:
        ok: True when the build succeeded.
        tag: The image tag built.
        seconds: Wall time of the build.
        log: The last lines of the build's output.
    """

    ok: bool
    tag: str
    seconds: float
    log: str


@dataclass(frozen=True)
class HealthResult:
    """The outcome of running the image and probing it.

    Attributes:
        ok: True when the container reported healthy and ``/health`` answered 200.
        status: The container's last health status (``healthy``, ``unhealthy``, ``starting``).
        detail: What ``/health`` answered, or what went wrong.
    """

    ok: bool
    status: str
    detail: str


def _run(command: list[str], *, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run a docker command (tests replace this function)."""
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _docker() -> str | None:
    return shutil.which("docker")


def engine() -> Engine:
    """Ask ``docker info`` whether an engine answers (a client alone is not enough)."""
    docker = _docker()
    if not docker:
        return Engine(False, "no docker client on this machine")
    try:
        result = _run([docker, "info", "--format", "{{.ServerVersion}}"], timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Engine(False, f"docker info did not answer ({type(exc).__name__})")
    version = result.stdout.strip()
    if result.returncode != 0 or not version:
        return Engine(False, "a docker client, but no engine answers")
    return Engine(True, f"Docker engine {version}")


def build(tag: str = "bookstore:local", *, source: str | Path | None = None) -> BuildResult:
    """Run ``docker build`` on a fresh copy of the bookstore folder (its Dockerfile inside).

    The build needs the base image (``python:3.11.7-slim``): pulled from Docker Hub unless
    it is in the engine's cache. A failure is returned, not raised.
    """
    docker = _docker()
    if not docker:
        return BuildResult(False, tag, 0.0, "no docker client")
    from labs.bookstore import copy_source

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labs-build-") as folder:
        if source is None:
            context = copy_source(folder)
        else:
            context = Path(folder) / "bookstore"
            shutil.copytree(source, context)
        try:
            result = _run([docker, "build", "--tag", tag, str(context)], timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return BuildResult(False, tag, time.perf_counter() - started, type(exc).__name__)
    output = (result.stdout + result.stderr).strip().splitlines()
    return BuildResult(
        result.returncode == 0, tag, time.perf_counter() - started, "\n".join(output[-15:])
    )


def _get(url: str, timeout: float = 3.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read(300).decode(errors="replace")


def run_health(tag: str = "bookstore:local", *, timeout: float = 90.0) -> HealthResult:
    """Run the image on 127.0.0.1, wait for its HEALTHCHECK, probe ``/health``, remove it.

    The container publishes port 8080 on a free port of 127.0.0.1 only.
    """
    docker = _docker()
    if not docker:
        return HealthResult(False, "none", "no docker client")
    started = _run([docker, "run", "--detach", "--publish", "127.0.0.1::8080", tag], timeout=60)
    if started.returncode != 0:
        return HealthResult(False, "not started", started.stderr.strip()[-300:])
    container = started.stdout.strip()
    try:
        status = "starting"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = _run([docker, "inspect", "--format", "{{json .State}}", container])
            try:
                info = json.loads(state.stdout or "{}")
            except json.JSONDecodeError:
                info = {}
            status = (info.get("Health") or {}).get("Status", "none")
            if status in ("healthy", "unhealthy") or not info.get("Running", False):
                break
            time.sleep(1.0)
        port = _run([docker, "port", container, "8080/tcp"]).stdout.strip().splitlines()
        if status != "healthy" or not port:
            return HealthResult(False, status, "the container did not become healthy")
        address = port[0].rsplit(":", 1)[-1]
        try:
            code, body = _get(f"http://127.0.0.1:{address}/health")
        except OSError as exc:
            return HealthResult(False, status, f"GET /health failed: {exc}")
        return HealthResult(code == 200, status, f"GET /health → {code} {body.strip()[:120]}")
    finally:
        _run([docker, "rm", "--force", container])


def remove_image(tag: str = "bookstore:local") -> bool:
    """Remove a locally built image (``docker image rm``); False when there was none."""
    docker = _docker()
    if not docker:
        return False
    try:
        return _run([docker, "image", "rm", "--force", tag]).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
