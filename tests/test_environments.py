"""The one-click environments (devcontainer, Binder) reproduce `make lab` exactly.

Python comes from ``.python-version``, Node.js from ``.nvmrc``, every Python package from the
pinned ``requirements.txt``: each environment must name the same versions and install the
same file, never a list of its own that could drift.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PYTHON = (ROOT / ".python-version").read_text().strip()
NODE = (ROOT / ".nvmrc").read_text().strip()
DEVCONTAINER = ROOT / ".devcontainer"
BINDER = ROOT / "binder"


def _images(dockerfile: Path) -> dict[str, str]:
    """Image name → tag of every ``FROM`` line."""
    froms = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.MULTILINE)
    return dict(image.split(":", 1) for image in froms)


def test_the_pinned_versions_are_this_machines() -> None:
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == PYTHON
    assert NODE == "20"
    requires = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text())
    assert requires and requires.group(1) == PYTHON


def test_the_devcontainer_builds_the_same_python_and_node() -> None:
    images = _images(DEVCONTAINER / "Dockerfile")
    assert images["python"].startswith(f"{PYTHON}-")
    assert images["node"].startswith(f"{NODE}-")
    config = json.loads((DEVCONTAINER / "devcontainer.json").read_text())
    assert config["build"] == {"dockerfile": "Dockerfile", "context": ".."}
    # The same two commands as on a laptop: requirements.txt through `make`, then `make lab`.
    assert config["postCreateCommand"] == "make bootstrap"
    assert config["postAttachCommand"].startswith("make lab")
    assert 8888 in config["forwardPorts"]


def test_binder_builds_the_same_python_node_and_requirements() -> None:
    env = yaml.safe_load((BINDER / "environment.yml").read_text())
    deps = env["dependencies"]
    assert f"python={PYTHON}" in deps and f"nodejs={NODE}" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-r ../requirements.txt"], "Binder must install requirements.txt, no own list"
    assert (BINDER / ".." / "requirements.txt").resolve() == ROOT / "requirements.txt"
    assert "pip install --no-deps -e ." in (BINDER / "postBuild").read_text()
    assert "python -m labs.emulator start" in (BINDER / "start").read_text()


def test_make_bootstrap_installs_exactly_requirements_txt() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "$(PY) -m pip install --quiet -r requirements.txt" in makefile
    assert "$(PY) -m pip install --quiet --no-deps -e ." in makefile


def test_requirements_are_all_pinned_exactly() -> None:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line), line


def test_the_environments_name_no_host() -> None:
    """Images and packages come by name from the default registries; no address is written."""
    files = [*DEVCONTAINER.iterdir(), *BINDER.iterdir()]
    for path in files:
        assert "://" not in path.read_text(), f"{path.name} names an address"
        for image in re.findall(r"^FROM\s+(\S+)", path.read_text(), flags=re.MULTILINE):
            assert "/" not in image.split(":")[0], f"{path.name}: {image} names a registry"
