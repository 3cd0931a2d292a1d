"""Validate a template with cfn-lint, in-process, before anything is deployed.

The local emulator accepts unknown properties and skips resource types it does not know
without a word (FACTS.md), and even on AWS a deploy is the slowest place to find a typo. So
every deploy in ``labs.iac`` runs cfn-lint first — the linter AWS maintains
(https://github.com/aws-cloudformation/cfn-lint), which checks a template against the same
resource type schemas CloudFormation uses — and refuses a template with errors.

:func:`lint` calls cfn-lint's Python API (``cfnlint.api.lint``, cfn-lint 1.x) and returns its
findings as a table: rule id, severity, line, column, path in the template, message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from labs.iac.errors import TemplateError

__all__ = ["LINT_COLUMNS", "errors", "lint", "require_clean"]

LINT_COLUMNS = ["rule", "severity", "line", "column", "path", "message"]
_SEVERITY_ORDER = {"error": 0, "warning": 1, "informational": 2}


def _text(template: str | Path | Mapping[str, Any]) -> str:
    if isinstance(template, Mapping):
        return json.dumps(template, indent=2, default=str)
    if not isinstance(template, (str, Path)):
        raise TemplateError(
            f"A template is text, a path or a dict, not {type(template).__name__}.",
            where="template",
            hint="Pass the YAML/JSON text, a Path to the file, or the template as a dict.",
        )
    if isinstance(template, Path) or (
        "\n" not in template and template.endswith((".yaml", ".yml", ".json"))
    ):
        return Path(template).read_text(encoding="utf-8")
    return template


def lint(
    template: str | Path | Mapping[str, Any],
    *,
    regions: Iterable[str] = ("us-east-1",),
    ignore: Iterable[str] = (),
) -> pd.DataFrame:
    """Lint a template with cfn-lint and return its findings, most severe first, by line.

    Args:
        template: YAML or JSON text, a file path, or a template dict (linted as JSON, so the
            line numbers refer to that JSON).
        regions: Regions to check resource types and values against.
        ignore: Rule ids (or prefixes, ``"W"``) to leave out, as ``--ignore-checks`` does.

    Returns:
        One row per finding: rule (``E3002``…), severity (``error``, ``warning``,
        ``informational``), line, column, path (``Resources/Queue/Properties/…``) and message.
        An empty frame means cfn-lint found nothing.
    """
    rows = [
        dict(zip(LINT_COLUMNS, row, strict=True))
        for row in _lint(_text(template), tuple(regions), tuple(ignore))
    ]
    frame = pd.DataFrame(rows, columns=LINT_COLUMNS)
    if frame.empty:
        return frame
    order = frame["severity"].map(_SEVERITY_ORDER).fillna(3)
    frame = (
        frame.assign(_order=order)
        .sort_values(["_order", "line", "column", "rule"], kind="stable")
        .drop(columns="_order")
        .drop_duplicates()
        .reset_index(drop=True)
    )
    return frame


@lru_cache(maxsize=64)
def _lint(
    text: str, regions: tuple[str, ...], ignore: tuple[str, ...]
) -> tuple[tuple[Any, ...], ...]:
    """Run cfn-lint once per distinct template (a deploy lints what was just linted)."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    config = ManualArgs(regions=list(regions), ignore_checks=list(ignore))
    return tuple(
        (
            m.rule.id,
            str(getattr(m.rule, "severity", "error")).lower(),
            int(m.linenumber),
            int(m.columnnumber),
            "/".join(str(p) for p in (getattr(m, "path", None) or [])),
            str(m.message),
        )
        for m in cfn_lint(text, config=config)
    )


def errors(findings: pd.DataFrame) -> pd.DataFrame:
    """Return only the findings of severity ``error`` (the ones that block a deploy)."""
    return findings[findings["severity"] == "error"].reset_index(drop=True)


def require_clean(
    template: str | Path | Mapping[str, Any], *, name: str = "template", **kwargs: Any
) -> pd.DataFrame:
    """Lint a template and raise when cfn-lint reports an error; return all findings otherwise.

    Raises:
        TemplateError: Naming the first errors (rule, line, message) and how to see them all.
    """
    findings = lint(template, **kwargs)
    bad = errors(findings)
    if not bad.empty:
        lines = [
            f"{row.rule} line {row.line}: {_short(row.message)}" for row in bad.head(5).itertuples()
        ]
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise TemplateError(
            f"cfn-lint found {len(bad)} error(s){more}, so nothing was deployed:\n  "
            + "\n  ".join(lines),
            where=name,
            hint="Fix them and deploy again; labs.iac.lint(template) shows every finding.",
        )
    return findings


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
