"""No secret in the repository, and no real account id or key in a notebook's outputs.

The scan is ``detect-secrets`` over every file git knows (tracked, and new files not ignored),
with the settings stored in ``.secrets.baseline``; a finding that is not in the baseline fails.
Every baseline entry is audited as not a secret (the fake ``AKIAZZZZ…`` keys of
setup/isolated.sh and lab 00, the emulator's ``testing`` keys, trace ids, a placeholder PEM).
After checking a new finding is not a secret, update the baseline and audit it::

    git ls-files -co --exclude-standard | grep -vx .secrets.baseline \\
      | xargs .venv/bin/detect-secrets scan --baseline .secrets.baseline
    .venv/bin/detect-secrets audit .secrets.baseline

or mark the line with ``# pragma: allowlist secret``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from detect_secrets import SecretsCollection
from detect_secrets.core import baseline as ds_baseline
from detect_secrets.settings import transient_settings

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".secrets.baseline"
EMULATOR_ACCOUNT = "123456789012"
FAKE_KEYS = {"AKIAZZZZZZZZZZZZZZZZ"}  # pragma: allowlist secret
"""The deliberate fake access key of setup/isolated.sh, tests/test_env.py and lab 00."""


def _files() -> list[str]:
    """Every file git tracks or would track (not ignored), relative to the repository root."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    return sorted(f for f in set(listed) if f and f != BASELINE.name and (ROOT / f).is_file())


def test_the_baseline_is_audited() -> None:
    saved = ds_baseline.load_from_file(str(BASELINE))
    entries = [(f, s) for f, found in saved["results"].items() for s in found]
    assert entries, "the baseline should hold the audited false positives"
    unaudited = [f"{f}:{s['line_number']} {s['type']}" for f, s in entries if s.get("is_secret")]
    unaudited += [f"{f}:{s['line_number']} {s['type']}" for f, s in entries if "is_secret" not in s]
    assert not unaudited, f"baseline entries not audited as false positives: {unaudited}"
    excluded = saved["filters_used"]
    assert any(f["path"].endswith("should_exclude_file") for f in excluded)


def test_no_new_secret_in_the_repository() -> None:
    saved = ds_baseline.load_from_file(str(BASELINE))
    known = {
        (name, secret["hashed_secret"], secret["type"])
        for name, found in saved["results"].items()
        for secret in found
    }
    scanned = SecretsCollection(root=str(ROOT))
    with transient_settings(saved):
        for name in _files():
            scanned.scan_file(name)
    new = sorted(
        f"{name}:{secret.line_number} {secret.type}"
        for name, secret in scanned
        if (name, secret.secret_hash, secret.type) not in known
    )
    assert not new, (
        f"detect-secrets found what may be secrets: {new}. Remove them, or, if they are not "
        "secrets, mark the line `# pragma: allowlist secret` or update the baseline (see "
        "this module's docstring)."
    )


def _output_texts(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    texts = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if "text" in output:
                texts.append("".join(output["text"]))
            texts += ["\n".join(output.get("traceback", []))]
            for kind, data in output.get("data", {}).items():
                if not kind.startswith("image/"):
                    texts.append("".join(data) if isinstance(data, list) else json.dumps(data))
    return texts


NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
    (ROOT / "notebooks").glob("*.ipynb")
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_outputs_show_no_real_account_or_key(path: Path) -> None:
    text = "\n".join(_output_texts(path))
    accounts = set(re.findall(r"(?<![\w.])\d{12}(?![\w.])", text)) - {EMULATOR_ACCOUNT}
    assert not accounts, f"{path.name}: an output shows account id(s) {sorted(accounts)}"
    keys = set(re.findall(r"(?:AKIA|ASIA)[0-9A-Z]{16}", text)) - FAKE_KEYS
    assert not keys, f"{path.name}: an output shows access key id(s) {sorted(keys)}"
    assert not re.search(r"aws_secret_access_key", text, re.IGNORECASE), (
        f"{path.name}: an output shows an aws_secret_access_key"
    )


def test_the_scan_would_catch_a_planted_key(tmp_path: Path) -> None:
    """The baseline's settings still detect an AWS key: a scan that finds nothing proves nothing."""
    key = "AKIA" + "QX7T2VB4NE6LR3MD"  # built here so that this file holds no key
    (tmp_path / "leak.py").write_text(f'AWS_ACCESS_KEY_ID = "{key}"\n')
    saved = ds_baseline.load_from_file(str(BASELINE))
    scanned = SecretsCollection(root=str(tmp_path))
    with transient_settings(saved):
        scanned.scan_file("leak.py")
    assert {secret.type for _, secret in scanned} >= {"AWS Access Key"}
