"""The suite itself runs cut off from the network, with real-looking AWS settings around it.

``make test`` runs pytest through ``setup/isolated.sh``: a network namespace with only loopback,
and an environment carrying ``AWS_PROFILE``, keys and a config file for another account. These
tests prove that this is so, so that every other test's pass means "offline and isolated".
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

# What the suite was started with, recorded by the root conftest before labs touched anything.
ORIGINAL_AWS_ENV = json.loads(os.environ.get("LABS_SUITE_AWS_ENV", "{}"))

isolated = pytest.mark.skipif(
    os.environ.get("LABS_ISOLATED") != "1", reason="not run through setup/isolated.sh"
)


@isolated
def test_only_loopback_is_reachable() -> None:
    assert [name for _, name in socket.if_nameindex()] == ["lo"]


@isolated
def test_the_suite_started_with_real_looking_aws_settings() -> None:
    assert ORIGINAL_AWS_ENV.get("AWS_PROFILE") == "prod-admin"
    assert ORIGINAL_AWS_ENV.get("AWS_ACCESS_KEY_ID", "").startswith("AKIA")
    config = (Path.home() / ".aws" / "config").read_text()
    assert "role_arn = arn:aws:iam::210987654321" in config


def test_ci_runs_isolated() -> None:
    if os.environ.get("CI") == "true":
        assert os.environ.get("LABS_ISOLATED") == "1", "CI must run the suite isolated"
