"""``python -m labs.cleanup`` on a real account lists what it would delete and asks first.

The emulator stands in for AWS: ``main`` gets an aws-target context whose clients still reach
this module's emulator (the process environment points every SDK at it), as in
tests/test_cleanup.py.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest

from labs import cleanup as cl
from labs import emulator
from labs.cleanup import core
from labs.env import Workshop

BUCKET = "labs-confirm-bucket"


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workshop]:
    """A workshop context on an emulator of this module's own, stopped at the end."""
    import labs.env

    saved_env = dict(os.environ)
    saved_original = labs.env._ORIGINAL_ENV
    os.environ["LABS_WORKSHOP_DIR"] = str(tmp_path_factory.mktemp("confirm-workshop"))
    try:
        yield labs.env.start(quiet=True)
    finally:
        emulator.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        labs.env._ORIGINAL_ENV = saved_original


@pytest.fixture
def aws(workshop: Workshop, monkeypatch: pytest.MonkeyPatch) -> Workshop:
    """An aws-target context on the emulator, with one tagged bucket in it; main starts it."""
    s3 = workshop.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": workshop.tags(lab="99").as_list()})
    ctx = Workshop("aws", workshop.region, "210987654321", None, workshop._session)
    assert not ctx.is_local
    monkeypatch.setattr(core, "start_workshop", lambda quiet=True: ctx)
    return ctx


class _Terminal(io.StringIO):
    """Standard input that is a terminal, with the user's answer typed in."""

    def isatty(self) -> bool:
        return True


def _buckets(workshop: Workshop) -> set[str]:
    return {b["Name"] for b in workshop.client("s3").list_buckets()["Buckets"]}


def test_without_a_terminal_it_lists_and_refuses(
    workshop: Workshop, aws: Workshop, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped, not a terminal
    assert cl.main(["--service", "s3"]) == 1
    out, err = capsys.readouterr()
    assert "AWS account 210987654321" in out
    assert f"s3/bucket {BUCKET}  (lab 99)" in out
    assert "--yes" in err and "no terminal" in err
    assert BUCKET in _buckets(workshop)

    monkeypatch.setattr("sys.stdin", None)  # no standard input at all (CI)
    assert cl.main(["--service", "s3"]) == 1
    assert BUCKET in _buckets(workshop)


@pytest.mark.parametrize("answer", ["\n", "n\n", "no\n", "whatever\n", ""])
def test_anything_but_yes_deletes_nothing(
    workshop: Workshop, aws: Workshop, monkeypatch: pytest.MonkeyPatch, capsys: Any, answer: str
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    assert cl.main(["--service", "s3"]) == 1
    out = capsys.readouterr().out
    assert "Delete these 1 resource? [y/N]" in out
    assert "Nothing deleted." in out
    assert BUCKET in _buckets(workshop)


@pytest.mark.parametrize("answer", ["y\n", "YES\n"])
def test_yes_at_the_prompt_deletes(
    workshop: Workshop, aws: Workshop, monkeypatch: pytest.MonkeyPatch, capsys: Any, answer: str
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    assert cl.main(["--service", "s3"]) == 0
    out = capsys.readouterr().out
    assert "Delete these 1 resource? [y/N]" in out
    assert f"deleted      s3/bucket {BUCKET}" in out
    assert BUCKET not in _buckets(workshop)


def test_yes_flag_and_dry_run_never_ask(
    workshop: Workshop, aws: Workshop, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    def no_questions(*_: Any) -> str:
        raise AssertionError("asked")

    monkeypatch.setattr("builtins.input", no_questions)
    monkeypatch.setattr("sys.stdin", None)
    assert cl.main(["--dry-run", "--service", "s3"]) == 0
    assert "would delete" in capsys.readouterr().out
    assert BUCKET in _buckets(workshop)
    assert cl.main(["--yes", "--service", "s3"]) == 0
    assert f"deleted      s3/bucket {BUCKET}" in capsys.readouterr().out
    assert BUCKET not in _buckets(workshop)


def test_nothing_to_delete_asks_nothing(
    workshop: Workshop, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    ctx = Workshop("aws", workshop.region, "210987654321", None, workshop._session)
    monkeypatch.setattr(core, "start_workshop", lambda quiet=True: ctx)
    monkeypatch.setattr("sys.stdin", None)
    assert cl.main(["--service", "sqs"]) == 0
    assert "no workshop resources found" in capsys.readouterr().out


def test_locally_it_never_asks(
    workshop: Workshop, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    s3 = workshop.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": workshop.tags().as_list()})
    monkeypatch.setattr("sys.stdin", None)
    assert cl.main(["--service", "s3"]) == 0
    assert "Delete these" not in capsys.readouterr().out
    assert BUCKET not in _buckets(workshop)
