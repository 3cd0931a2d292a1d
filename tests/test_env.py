"""The workshop context: isolation from real AWS, the aws-target guard, recovery, tags."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import labs
from labs import emulator
from labs.env import LOCAL_ACCOUNT, check_aws_opt_in
from labs.errors import InputError, TargetRefused

REAL_LOOKING = {
    "AWS_PROFILE": "prod-admin",
    "AWS_ACCESS_KEY_ID": "AKIAZZZZZZZZZZZZZZZZ",  # pragma: allowlist secret
    "AWS_SECRET_ACCESS_KEY": "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",  # pragma: allowlist secret
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLE",
}


def test_real_looking_credentials_still_land_on_the_emulator(
    private_workshop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "real-config"
    config.write_text(
        "[profile prod-admin]\nregion = eu-west-2\n"
        "role_arn = arn:aws:iam::210987654321:role/Admin\nsource_profile = x\n"
    )
    for key, value in REAL_LOOKING.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))

    ctx = labs.start(quiet=True)

    assert "AWS_PROFILE" not in os.environ and "AWS_SESSION_TOKEN" not in os.environ
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_ENDPOINT_URL"] == ctx.endpoint
    assert Path(os.environ["AWS_CONFIG_FILE"]).is_relative_to(private_workshop)
    assert ctx.client("sts").get_caller_identity()["Account"] == LOCAL_ACCOUNT
    # A child process using plain boto3 (as a `!python` or `!aws` cell would) lands there too.
    code = "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert child.stdout.strip() == LOCAL_ACCOUNT


def test_a_call_the_emulator_lacks_fails_at_once_without_retries(ctx) -> None:
    # The emulator answers unimplemented operations with HTTP 500, which botocore would retry.
    client = ctx.client("codedeploy")
    sent = []
    client.meta.events.register("before-send", lambda **kw: sent.append(kw["request"].url))
    with pytest.raises(Exception):  # noqa: B017 - ClientError or ResponseParserError
        client.list_deployment_configs()
    assert len(sent) == 1


def test_client_call_recovers_after_the_emulator_is_killed(
    private_workshop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = labs.start(quiet=True)
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket="labs-before-crash")
    os.kill(emulator.running().pid, signal.SIGKILL)
    time.sleep(0.2)
    # The next call through the same client revives the emulator, on the same endpoint.
    assert s3.list_buckets()["Buckets"] == []
    assert "had stopped" in capsys.readouterr().err
    # And labs.start() afterwards is back to normal, on the revived emulator.
    assert labs.start(quiet=True).endpoint == ctx.endpoint


def test_start_is_idempotent_and_prints_the_summary(
    ctx, capsys: pytest.CaptureFixture[str]
) -> None:
    again = labs.start()
    out = capsys.readouterr().out
    assert again.endpoint == ctx.endpoint
    assert "target    local emulator at http://127.0.0.1:" in out
    assert f"account   {LOCAL_ACCOUNT}" in out and "region    us-east-1" in out


def test_unknown_target_and_unknown_service_are_explained(ctx) -> None:
    with pytest.raises(InputError, match="Unknown target 'azure'"):
        labs.start("azure")
    with pytest.raises(InputError, match="no AWS service called 's4'"):
        ctx.client("s4")


def test_tags_and_names(ctx) -> None:
    tags = ctx.tags(lab="04", owner="me")
    assert tags == {"workshop": "devops-on-aws-labs", "lab": "04", "owner": "me"}
    assert tags.as_list()[0] == {"Key": "workshop", "Value": "devops-on-aws-labs"}
    assert tags.as_list("key", "value")[1] == {"key": "lab", "value": "04"}
    assert ctx.name("artifacts", globally_unique=True) == "labs-artifacts"


# --- the aws-target guard, with the emulator's STS standing in for a real account -------------

OPTED_IN = {"LABS_TARGET": "aws", "LABS_AWS_ACCOUNT": LOCAL_ACCOUNT}


def test_guard_accepts_a_complete_opt_in(ctx) -> None:
    assert check_aws_opt_in(OPTED_IN, "us-east-1", ctx.client("sts")) == LOCAL_ACCOUNT


@pytest.mark.parametrize(
    ("environ", "region", "message"),
    [
        ({}, "us-east-1", "needs LABS_TARGET=aws"),
        ({"LABS_TARGET": "aws"}, "us-east-1", "LABS_AWS_ACCOUNT is not set"),
        ({"LABS_TARGET": "aws", "LABS_AWS_ACCOUNT": "12345"}, "us-east-1", "not a 12-digit"),
        (OPTED_IN, "ap-south-2", "Region 'ap-south-2' is not one the workshop allows"),
        (
            {**OPTED_IN, "LABS_AWS_ACCOUNT": "210987654321"},
            "us-east-1",
            "belong to account 123456789012, but LABS_AWS_ACCOUNT is 210987654321",
        ),
    ],
)
def test_guard_refuses_and_says_what_to_set(ctx, environ, region, message) -> None:
    with pytest.raises(TargetRefused, match=message):
        check_aws_opt_in(environ, region, ctx.client("sts"))


def test_guard_honours_a_custom_region_list(ctx) -> None:
    environ = {**OPTED_IN, "LABS_AWS_REGIONS": "ap-south-2"}
    assert check_aws_opt_in(environ, "ap-south-2", ctx.client("sts")) == LOCAL_ACCOUNT


def test_a_refused_aws_start_leaves_the_process_isolated(
    ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LABS_TARGET", raising=False)
    before = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    with pytest.raises(TargetRefused):
        labs.start("aws")
    assert {k: v for k, v in os.environ.items() if k.startswith("AWS_")} == before


def test_a_refused_aws_start_after_the_variables_restores_isolation(
    ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The variables are right but the account STS reports (here the emulator's, reached through
    # the inherited endpoint) differs: refused, and the isolated environment is put back.
    monkeypatch.setenv("LABS_TARGET", "aws")
    monkeypatch.setenv("LABS_AWS_ACCOUNT", "210987654321")
    monkeypatch.setenv("LABS_REGION", "us-east-1")
    before = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    monkeypatch.setattr(labs.env, "_restore_original_env", lambda: None)
    with pytest.raises(TargetRefused, match="belong to account"):
        labs.start("aws")
    assert {k: v for k, v in os.environ.items() if k.startswith("AWS_")} == before
