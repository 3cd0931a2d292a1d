"""*Check your work* for the containers lab: a Dockerfile, a .dockerignore, a lifecycle policy.

Each check prints one ``✔`` line (:func:`labs.checks.passed`) or raises
:class:`labs.errors.CheckFailed` saying what was expected, what was found, and a hint.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from labs.checks import answered, exercise, passed
from labs.containers.context import context_files
from labs.containers.dockerfile import lint, parse
from labs.containers.ecr import lifecycle_preview
from labs.containers.image import config_from_dockerfile
from labs.errors import CheckFailed, InputError

__all__ = ["PROJECT_FILES", "dockerfile_fixed", "dockerignore_protects", "lifecycle_policy"]

PROJECT_FILES: dict[str, str] = {
    ".git/HEAD": "ref: refs/heads/main\n",
    ".git/config": "[core]\n\trepositoryformatversion = 0\n",
    ".git/objects/pack/pack-5f1c.pack": "PACK" + "x" * 400,
    ".env": "PAYMENTS_API_KEY=sk-live-0000\n",
    "deploy/signing-key.pem": "-----BEGIN PRIVATE KEY-----\n...\n",
    "__pycache__/catalog.cpython-311.pyc": "\x00" * 120,
    "tests/__pycache__/test_catalog.cpython-311-pytest-9.2.0.pyc": "\x00" * 150,
    ".pytest_cache/v/cache/nodeids": "[]\n",
    "reports/junit.xml": "<testsuite/>\n",
    "Dockerfile": "FROM python:3.11.7-slim\n",
    "README.md": "# bookstore\n",
    "__init__.py": "",
    "catalog.py": "# catalog service\n",
    "orders.py": "# orders service\n",
    "payments.py": "# payments service\n",
    "tests/__init__.py": "",
    "tests/test_catalog.py": "def test_books(): ...\n",
}
"""A project folder with what usually leaks into images: git history, an .env, a key, caches."""


def _said(exc: InputError) -> str:
    """An InputError as one line: where, then what (its hint goes to the check's hint)."""
    return f"{exc.where}: {exc.what}" if exc.where else exc.what


def _listed(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … and {len(names) - limit} more" if len(names) > limit else "")


def _must_stay_out(path: str) -> bool:
    return (
        path.startswith(".git/")
        or path == ".env"
        or path.endswith((".pem", ".key"))
        or "__pycache__/" in path
        or path.startswith((".pytest_cache/", "reports/"))
    )


def _must_be_sent(path: str) -> bool:
    return path.endswith(".py") and "__pycache__/" not in path


@exercise("08", 2)
def dockerignore_protects(answer: Any, files: dict[str, str] | None = None) -> None:
    """Pass when a ``.dockerignore`` keeps secrets, git and caches out and the sources in.

    Args:
        answer: The ``.dockerignore`` text the learner wrote.
        files: The project's files (path → content); default :data:`PROJECT_FILES`.
    """
    text = answered(answer, "Your .dockerignore")
    if not isinstance(text, str):
        raise CheckFailed("a .dockerignore is text, one pattern a line.", found=type(text).__name__)
    files = PROJECT_FILES if files is None else files
    try:
        listing = context_files(files, text)
    except InputError as exc:
        raise CheckFailed(
            "your .dockerignore has a line Docker cannot read.", found=_said(exc), hint=exc.hint
        ) from None
    sent = dict(zip(listing["path"], listing["sent"], strict=True))
    leaks = [p for p, s in sent.items() if s and _must_stay_out(p)]
    if leaks:
        hint = "Patterns match from the context's root: '*.pem' misses deploy/signing-key.pem; "
        hint += "'**/*.pem' and '**/__pycache__' match at any depth."
        raise CheckFailed(
            "files that must stay out of the image are still sent to the builder.",
            expected="no .git, .env, keys, __pycache__, .pytest_cache or reports in the context",
            found=_listed(leaks),
            hint=hint,
        )
    lost = [p for p, s in sent.items() if not s and _must_be_sent(p)]
    if lost:
        raise CheckFailed(
            "sources the build needs are excluded.",
            expected="every .py file outside __pycache__ sent (the test stage runs tests/)",
            found=f"excluded: {_listed(lost)}",
            hint="A pattern like '*.py' or 'tests' is too broad; exclude caches by name.",
        )
    kept_out = len(listing) - int(listing["sent"].sum())
    passed(
        f".dockerignore keeps {kept_out} files out (git, .env, the key, caches, reports) and "
        f"sends the {sum(_must_be_sent(p) for p in sent)} source files"
    )


@exercise("08", 1)
def dockerfile_fixed(answer: Any, *, dockerignore: str | None) -> None:
    """Pass when a Dockerfile lints without errors or warnings and still runs the bookstore.

    Inline ``# hadolint ignore=`` comments are disregarded: fix the finding, don't hide it.

    Args:
        answer: The Dockerfile text the learner wrote.
        dockerignore: The ``.dockerignore`` beside it.
    """
    text = answered(answer, "Your Dockerfile")
    if not isinstance(text, str):
        raise CheckFailed("a Dockerfile is text.", found=type(text).__name__)
    try:
        findings = lint(text, dockerignore=dockerignore, ignore_pragmas=True)
    except InputError as exc:
        raise CheckFailed(
            "your Dockerfile cannot be parsed.", found=_said(exc), hint=exc.hint
        ) from None
    serious = findings[findings["severity"].isin(["error", "warning"])]
    if len(serious):
        listed = "; ".join(
            f"{row.rule} (line {'-' if pd.isna(row.line) else row.line}): {row.message}"
            for row in serious.itertuples()
        )
        first = serious.iloc[0]
        raise CheckFailed(
            f"{len(serious)} finding(s) of severity error or warning remain.",
            expected="none",
            found=listed,
            hint=f"Start with {first['rule']}: {first['fix']}",
        )
    parsed = parse(text)
    config = config_from_dockerfile(parsed)
    command = " ".join([*config.get("Entrypoint", []), *config.get("Cmd", [])])
    if "bookstore" not in command:
        raise CheckFailed(
            "the image no longer starts the bookstore.",
            expected='CMD ["python", "-m", "bookstore", …] in the final stage',
            found=command or "no CMD or ENTRYPOINT",
        )
    base = parsed.lineage()[-1].image
    notes = len(findings)
    passed(
        f"the Dockerfile lints clean: {len(parsed.stages)} stage(s), final stage on {base}, "
        f"USER {config.get('User')}, a HEALTHCHECK"
        + (f" ({notes} info note(s) left)" if notes else "")
    )


@exercise("08", 3)
def lifecycle_policy(policy: Any, images: Any, *, now: Any) -> None:
    """Pass when a policy keeps the 5 newest release images and expires untagged ones after a day.

    Graded by what the policy does to ``images`` (its :func:`lifecycle_preview`): exactly the
    release images beyond the newest five and the untagged images pushed more than one day
    before ``now`` expire; every other image stays.
    """
    policy = answered(policy, "Your lifecycle policy")
    try:
        preview = lifecycle_preview(policy, images, now=now)
    except InputError as exc:
        raise CheckFailed(
            "ECR would refuse this lifecycle policy.", found=_said(exc), hint=exc.hint
        ) from None
    when = pd.Timestamp(now)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    tags = preview["tags"].str.split(", ")
    release = np.array([any(t.startswith("release") for t in ts if t) for ts in tags])
    rank = np.cumsum(release)  # preview is newest first
    untagged = (preview["tags"] == "").to_numpy()
    age = ((when - preview["pushed_at"]).dt.total_seconds() / 86400).to_numpy()
    expected = (release & (rank > 5)) | (untagged & (age > 1))
    actual = (preview["action"] == "expire").to_numpy()

    def names(mask: np.ndarray) -> str:
        picked = preview[mask]
        return _listed(
            [
                t if t else f"untagged ({a:.1f} days old)"
                for t, a in zip(picked["tags"], picked["age_days"], strict=True)
            ]
        )

    if (actual & ~expected).any():
        raise CheckFailed(
            "your policy expires images it should keep.",
            expected="only releases beyond the newest 5, and untagged images older than 1 day",
            found=f"also expires: {names(actual & ~expected)}",
            hint="Select releases with tagStatus 'tagged' and a release prefix or pattern; an "
            "'any' rule also reaches dev builds.",
        )
    if (expected & ~actual).any():
        raise CheckFailed(
            "some images that should expire are kept.",
            expected=f"{int(expected.sum())} images expired",
            found=f"kept: {names(expected & ~actual)}",
            hint="Two rules: tagged release images with imageCountMoreThan 5, and untagged "
            "images with sinceImagePushed 1 day.",
        )
    passed(
        f"your policy expires {int(expected.sum())} images: "
        f"{int((release & (rank > 5)).sum())} releases beyond the newest 5 and "
        f"{int((untagged & (age > 1)).sum())} untagged images older than a day; every dev "
        "build stays"
    )
