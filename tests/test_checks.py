"""Check helpers and error messages: what a learner sees when an answer is not right yet."""

from __future__ import annotations

import pytest

from labs import checks
from labs.errors import CheckFailed, InputError, LabsError


def test_a_passing_check_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    checks.equal(4, 4, "two plus two")
    assert capsys.readouterr().out == "✔ two plus two: 4\n"


def test_a_failing_check_says_expected_found_and_hint() -> None:
    with pytest.raises(CheckFailed) as failure:
        checks.equal(5, 4, "two plus two", hint="Count on your fingers.")
    text = str(failure.value)
    assert text.splitlines() == [
        "Not yet: two plus two",
        "  expected: 4",
        "  found:    5",
        "Hint: Count on your fingers.",
    ]


def test_notebooks_show_the_message_not_a_traceback() -> None:
    error = InputError(
        "column 'deployed_at' is missing", where="deployments, row 3", hint="Add it."
    )
    assert error._render_traceback_() == [
        "InputError: deployments, row 3: column 'deployed_at' is missing",
        "  Hint: Add it.",
    ]
    assert isinstance(error, ValueError) and isinstance(error, LabsError)


@pytest.mark.parametrize("missing", [None, ...])
def test_an_unanswered_exercise_is_named(missing: object) -> None:
    with pytest.raises(CheckFailed, match="lead time has no answer yet"):
        checks.close(missing, 3.0, "lead time")


def test_close_accepts_within_tolerance_and_rejects_outside(
    capsys: pytest.CaptureFixture[str],
) -> None:
    checks.close(100.5, 100, "lead time", rel=0.01, unit=" h")
    assert "✔ lead time: 100.5 h" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"expected: 100 h \(±1%\)"):
        checks.close(103, 100, "lead time", rel=0.01, unit=" h")
    with pytest.raises(CheckFailed, match="a number near 100"):
        checks.close("soon", 100, "lead time")


def test_solved_turns_a_stub_into_a_check_failure() -> None:
    def lead_time() -> float:
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match=r"lead_time\(\) is not written yet"):
        checks.solved(lead_time)

    def broken() -> float:
        return 1 / 0

    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        checks.solved(broken)
    assert checks.solved(lambda x: x * 2, 21) == 42


def test_one_of_and_has_columns() -> None:
    import pandas as pd

    checks.one_of("Elite", ["Elite", "High"], "tier")
    with pytest.raises(CheckFailed, match="one of"):
        checks.one_of("Great", ["Elite", "High"], "tier")
    checks.has_columns(pd.DataFrame({"a": [1], "b": [2]}), ["a", "b"], "frame")
    with pytest.raises(CheckFailed, match=r"missing \['c'\]"):
        checks.has_columns(pd.DataFrame({"a": [1]}), ["a", "c"], "frame")


def test_bucket_tagged(ctx, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = ctx.client("s3")
    with pytest.raises(CheckFailed, match="no bucket called 'labs-check-me'"):
        checks.bucket_tagged(ctx, "labs-check-me", ctx.tags(lab="t"))
    s3.create_bucket(Bucket="labs-check-me")
    with pytest.raises(CheckFailed, match="found:    no tags"):
        checks.bucket_tagged(ctx, "labs-check-me", ctx.tags(lab="t"))
    s3.put_bucket_tagging(Bucket="labs-check-me", Tagging={"TagSet": ctx.tags(lab="t").as_list()})
    checks.bucket_tagged(ctx, "labs-check-me", ctx.tags(lab="t"))
    assert "✔ bucket labs-check-me exists" in capsys.readouterr().out
    s3.delete_bucket(Bucket="labs-check-me")
