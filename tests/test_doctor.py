"""The environment doctor finds what is wrong and says what to do."""

from __future__ import annotations

from pathlib import Path

from labs import doctor


def test_this_machine_passes_the_doctor() -> None:
    findings = doctor.diagnose()
    assert [f.check for f in findings if f.status == "fail"] == []
    assert {f.check for f in findings} >= {"Python ≥ 3.11", "pinned packages", "git"}


def test_a_wrong_pin_is_reported_with_the_fix(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nboto3==0.0.1\nnot-a-real-package-xyz==1.0\n")
    finding = doctor.check_packages(requirements)
    assert finding.status == "fail"
    assert "boto3" in finding.found and "(pinned 0.0.1)" in finding.found
    assert "not-a-real-package-xyz missing" in finding.found
    assert "make lab" in finding.fix


def test_the_table_has_one_row_per_check() -> None:
    frame = doctor.table()
    assert list(frame.columns) == ["check", "status", "found", "fix"]
    assert len(frame) == len(doctor.CHECKS)
