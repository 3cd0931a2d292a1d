"""The jsii runtime's environment, set before the CDK is first imported.

The CDK's Python packages run its Node.js core through jsii. Two environment variables matter
here, and ``labs.iac`` sets both (unless already set) when it is imported, so that any module
of the package that imports ``aws_cdk`` finds them in place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from labs import emulator

__all__ = ["prepare_jsii"]


def prepare_jsii() -> None:
    """Set the jsii runtime's environment before ``aws_cdk`` is first imported.

    Keeps jsii's package cache inside the project (``.workshop/jsii-cache``, as the Makefile
    does) instead of the home folder, and silences the end-of-life banner Node.js prints on
    every import when the Node version is past jsii's support window. Values already set win.
    """
    if "JSII_RUNTIME_PACKAGE_CACHE_ROOT" not in os.environ:
        root = Path(__file__).resolve().parents[2]
        base = root if (root / "pyproject.toml").exists() else emulator.workshop_dir().parent
        os.environ["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] = str(base / ".workshop" / "jsii-cache")
    if "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" not in os.environ:
        node = shutil.which("node")
        if node:
            try:
                version = subprocess.run(
                    [node, "--version"], capture_output=True, text=True, timeout=10
                ).stdout
            except (OSError, subprocess.SubprocessError):
                version = ""
            major = version.strip().lstrip("v").split(".")[0]
            if major.isdigit():
                os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = major
