"""The cfn-lint wrapper: findings as a table, and the gate every deploy goes through."""

from __future__ import annotations

import pytest

from labs.iac import linter, samples, templates
from labs.iac.errors import TemplateError
from labs.iac.linter import LINT_COLUMNS


def test_the_bookstore_templates_lint_clean() -> None:
    for text in (samples.BOOKSTORE_DATA, samples.BOOKSTORE_APP):
        findings = linter.lint(text)
        assert list(findings.columns) == LINT_COLUMNS
        assert linter.errors(findings).empty, findings


def test_each_mistake_is_found_on_its_line() -> None:
    findings = linter.lint(samples.PAYMENTS_WITH_MISTAKES)
    rows = set(zip(findings["rule"], findings["line"], strict=True))
    assert rows == {("E3002", 9), ("E3030", 15), ("E3006", 18)}
    assert set(findings["severity"]) == {"error"}
    assert list(findings["line"]) == sorted(findings["line"])
    typo = findings[findings["rule"] == "E3002"].iloc[0]
    assert typo["path"] == "Resources/PaymentsQueue/Properties/VisibilityTimout"
    assert "VisibilityTimeout" in typo["message"]


def test_a_dict_is_linted_as_json() -> None:
    tpl = templates.load(samples.PAYMENTS_WITH_MISTAKES)
    assert set(linter.lint(tpl)["rule"]) == {"E3002", "E3030", "E3006"}


def test_warnings_come_after_errors_and_can_be_ignored() -> None:
    text = samples.PAYMENTS_WITH_MISTAKES.replace(
        "Resources:", "Parameters:\n  Unused:\n    Type: String\nResources:"
    )
    findings = linter.lint(text)
    assert "W2001" in set(findings["rule"])  # an unused parameter
    assert list(findings["severity"]).index("warning") > max(
        i for i, s in enumerate(findings["severity"]) if s == "error"
    )
    assert "W2001" not in set(linter.lint(text, ignore=["W"])["rule"])


def test_require_clean_refuses_errors_naming_rule_and_line() -> None:
    with pytest.raises(TemplateError) as raised:
        linter.require_clean(samples.PAYMENTS_WITH_MISTAKES, name="payments.yaml")
    message = str(raised.value)
    assert message.startswith("payments.yaml: cfn-lint found 3 error(s)")
    assert "E3006 line 18" in message and "nothing was deployed" in message
    assert linter.require_clean(samples.BOOKSTORE_APP).empty


def test_invalid_yaml_is_a_finding_not_a_crash() -> None:
    findings = linter.lint("Resources:\n  Q:\n    Type: [\n")
    assert list(findings["rule"]) == ["E0000"]
