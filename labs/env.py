"""The workshop context: ``ctx = labs.start()`` and the only way to an AWS client.

Two targets (DESIGN.md, "How a call flows"):

* ``local`` (the default): the local emulator on 127.0.0.1. The process environment is rewritten
  so that nothing — not a stray ``boto3`` call, not an ``!aws`` shell cell — can reach a real
  account: dummy credentials, ``AWS_ENDPOINT_URL`` pointing at the emulator, a config and a
  credentials file of the workshop's own, and no ``AWS_PROFILE``.
* ``aws`` (opt-in): a real account, only with ``LABS_TARGET=aws`` **and** ``LABS_AWS_ACCOUNT``
  equal to the account STS reports, in an allowed region. Otherwise a refusal says what to set.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from labs import emulator, iam
from labs.errors import EmulatorError, InputError, TargetRefused

__all__ = ["WORKSHOP_TAG", "TagSet", "Workshop", "start"]

Target = Literal["local", "aws"]

WORKSHOP_TAG = ("workshop", "devops-on-aws-labs")
"""The tag every workshop resource carries; ``labs.cleanup`` deletes by it."""

LOCAL_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_AWS_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")
"""Regions the aws target accepts unless ``LABS_AWS_REGIONS`` names others (comma-separated)."""

# Variables that could steer an SDK or the CLI towards a real account; cleared on the local target.
_CREDENTIAL_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CA_BUNDLE",
)
_ORIGINAL_ENV: dict[str, str] | None = None


class TagSet(dict[str, str]):
    """Tags for a workshop resource, as a dict, with the list shapes different APIs want."""

    def as_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        """Return ``[{"Key": k, "Value": v}, …]``; ECS wants ``key="key", value="value"``."""
        return [{key: k, value: v} for k, v in self.items()]


@dataclass(frozen=True)
class Workshop:
    """The workshop context every ``labs`` call that talks to AWS takes first.

    Attributes:
        target: ``"local"`` (the emulator) or ``"aws"`` (a real account, opted in).
        region: The AWS region every client uses.
        account_id: The account STS reports (the emulator's is 123456789012).
        endpoint: The emulator's URL on the local target, None on the aws target.
    """

    target: Target
    region: str
    account_id: str
    endpoint: str | None
    _session: boto3.session.Session = field(repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        """True on the local emulator target."""
        return self.target == "local"

    def client(self, service: str, **kwargs: Any) -> BaseClient:
        """Return a boto3 client for ``service`` on this workshop's target.

        On the local target the client talks to the emulator, never retries (an unimplemented
        call fails fast) and restarts a dead emulator before its next call.
        """
        if self.is_local:
            kwargs.setdefault("endpoint_url", self.endpoint)
            kwargs.setdefault("config", _LOCAL_CONFIG)
        else:
            kwargs.setdefault("config", _AWS_CONFIG)
        try:
            client = self._session.client(service, region_name=self.region, **kwargs)
        except Exception as exc:  # botocore's UnknownServiceError has a long, unhelpful message
            if type(exc).__name__ == "UnknownServiceError":
                raise InputError(
                    f"There is no AWS service called {service!r}.",
                    hint="Use the boto3 name, e.g. 's3', 'codebuild', 'logs'.",
                ) from None
            raise
        if self.is_local:
            client.meta.events.register("before-send", _revive_emulator(self.endpoint))
        iam.record_hook(client)  # LABS_RECORD_CALLS: the IAM actions used (setup/iam/)
        return client

    def tags(self, lab: str | None = None, **extra: str) -> TagSet:
        """Return the tags a resource created by ``lab`` carries (the workshop tag first)."""
        tags = TagSet({WORKSHOP_TAG[0]: WORKSHOP_TAG[1]})
        if lab is not None:
            tags["lab"] = str(lab)
        tags.update({k: str(v) for k, v in extra.items()})
        return tags

    def name(self, base: str, *, globally_unique: bool = False) -> str:
        """Return a workshop resource name: ``labs-<base>``.

        Args:
            base: What the resource is, e.g. ``"bookstore-artifacts"``.
            globally_unique: The name must be unique across AWS (an S3 bucket): on the aws target
                the account id and region are appended.
        """
        name = f"labs-{base}"
        if globally_unique and not self.is_local:
            name = f"{name}-{self.account_id}-{self.region}"
        return name

    def describe(self) -> str:
        """Return the lines ``labs.start()`` prints: target, region, account and versions."""
        if self.is_local:
            where = f"local emulator at {self.endpoint} (moto {_version('moto')})"
            account = f"{self.account_id} (the emulator's: no AWS account is used)"
        else:
            where = "AWS (a real account: resources cost money; `make cleanup` removes them)"
            account = self.account_id
        py = ".".join(platform.python_version_tuple()[:2])
        return "\n".join(
            [
                "Workshop ready",
                f"  target    {where}",
                f"  region    {self.region}",
                f"  account   {account}",
                f"  versions  labs {_version('devops-aws-labs')}, boto3 {_version('boto3')}, "
                f"python {py}",
            ]
        )


_LOCAL_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=120
)
_AWS_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        if dist == "devops-aws-labs":
            from labs import __version__

            return __version__
        return "not installed"


def _revive_emulator(endpoint: str | None) -> Any:
    """Build a ``before-send`` hook that restarts a dead emulator before the request goes out."""

    def hook(**_: Any) -> None:
        current = emulator.running()
        if current is not None and current.endpoint == endpoint:
            return
        revived = emulator.ensure_running()
        if revived.endpoint != endpoint:
            raise EmulatorError(
                f"The local AWS emulator moved to {revived.endpoint}; this client still points "
                f"at {endpoint}.",
                hint="Run `ctx = labs.start()` again and re-run the notebook from the top.",
            )

    return hook


def start(
    target: Target | None = None, *, region: str | None = None, quiet: bool = False
) -> Workshop:
    """Connect to the workshop's target and return its context; safe to call again and again.

    On the local target it starts the emulator (or reuses the running one) and isolates this
    process and its children from any real AWS account. On the aws target it checks the opt-in
    first and refuses unless every condition holds.

    Args:
        target: ``"local"`` or ``"aws"``; default ``LABS_TARGET`` or ``"local"``.
        region: The region; default ``LABS_REGION``, then ``us-east-1`` locally or the profile's
            region on AWS.
        quiet: Do not print the summary.

    Raises:
        TargetRefused: The aws target was asked for without every opt-in in place.
        EmulatorError: The local emulator could not be started.
    """
    chosen = (target or os.environ.get("LABS_TARGET") or "local").strip().lower()
    if chosen not in ("local", "aws"):
        raise InputError(
            f"Unknown target {chosen!r}.",
            where="LABS_TARGET",
            hint="Use 'local' (the emulator, the default) or 'aws' (a real account).",
        )
    ctx = _start_local(region) if chosen == "local" else _start_aws(region)
    if not quiet:
        print(ctx.describe())
    return ctx


def _start_local(region: str | None) -> Workshop:
    region = region or os.environ.get("LABS_REGION") or DEFAULT_REGION
    emu = emulator.ensure_running()
    isolate(emu.endpoint, region)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    ctx = Workshop("local", region, LOCAL_ACCOUNT, emu.endpoint, session)
    # The emulator cannot list CodeCommit repositories or AppConfig applications: record the
    # ones this context's clients create, so labs.cleanup finds those a learner makes by hand.
    # Imported here: the ledger imports no pandas, and labs.cleanup itself imports labs.env.
    from labs.cleanup.tracking import track

    track(ctx)
    return ctx


def isolate(
    endpoint: str,
    region: str,
    environ: os._Environ[str] | dict[str, str] | None = None,
) -> None:
    """Point this process and its children at the emulator, away from any real account.

    Writes a config and a credentials file of the workshop's own under ``.workshop/aws/`` and
    sets ``AWS_CONFIG_FILE``/``AWS_SHARED_CREDENTIALS_FILE`` to them, sets dummy keys and
    ``AWS_ENDPOINT_URL``, and removes ``AWS_PROFILE`` and every other credential source. The
    original values are kept so that a later aws-target start can restore them.
    """
    global _ORIGINAL_ENV
    env = os.environ if environ is None else environ
    if _ORIGINAL_ENV is None and env is os.environ:
        _ORIGINAL_ENV = {k: v for k, v in env.items() if k.startswith("AWS_")}
    folder = emulator.workshop_dir() / "aws"
    folder.mkdir(exist_ok=True)
    config, credentials = folder / "config", folder / "credentials"
    config.write_text(
        f"[default]\nregion = {region}\noutput = json\nmax_attempts = 1\n"
        f"endpoint_url = {endpoint}\n"
    )
    credentials.write_text(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    for var in _CREDENTIAL_VARS:
        env.pop(var, None)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
        }
    )


def _restore_original_env() -> None:
    """Undo :func:`isolate` in this process (used before switching to the aws target)."""
    global _ORIGINAL_ENV
    if _ORIGINAL_ENV is None:
        return
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(_ORIGINAL_ENV)
    _ORIGINAL_ENV = None


def allowed_regions(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Return the regions the aws target accepts (``LABS_AWS_REGIONS`` or the defaults)."""
    env = os.environ if environ is None else environ
    listed = [r.strip() for r in env.get("LABS_AWS_REGIONS", "").split(",") if r.strip()]
    return tuple(listed) or DEFAULT_AWS_REGIONS


def _check_opt_in_variables(environ: Mapping[str, str]) -> str:
    """Check ``LABS_TARGET`` and ``LABS_AWS_ACCOUNT``; return the account id they name."""
    if environ.get("LABS_TARGET", "").strip().lower() != "aws":
        raise TargetRefused(
            "The aws target needs LABS_TARGET=aws in the environment that started Jupyter.",
            hint="Set LABS_TARGET=aws and LABS_AWS_ACCOUNT=<your 12-digit account id>, then "
            "restart the kernel. Without them the workshop runs on the local emulator.",
        )
    wanted = environ.get("LABS_AWS_ACCOUNT", "").strip()
    if not wanted:
        raise TargetRefused(
            "LABS_AWS_ACCOUNT is not set, so the workshop does not know which account you "
            "agreed to use.",
            hint="Set LABS_AWS_ACCOUNT to the 12-digit id of the account you want to use "
            "(`aws sts get-caller-identity` shows it).",
        )
    if not re.fullmatch(r"\d{12}", wanted):
        raise TargetRefused(
            f"LABS_AWS_ACCOUNT={wanted!r} is not a 12-digit AWS account id.",
            where="LABS_AWS_ACCOUNT",
        )
    return wanted


def check_aws_opt_in(environ: Mapping[str, str], region: str | None, sts: BaseClient) -> str:
    """Return the account id when every aws-target opt-in holds; refuse otherwise.

    The rules: ``LABS_TARGET=aws``; ``LABS_AWS_ACCOUNT`` set to a 12-digit account id; a region
    among :func:`allowed_regions`; and the account STS reports for the current credentials equal
    to ``LABS_AWS_ACCOUNT``. Nothing is created before all of them hold.

    Raises:
        TargetRefused: Naming the rule that failed and what to set.
    """
    wanted = _check_opt_in_variables(environ)
    regions = allowed_regions(environ)
    if region not in regions:
        raise TargetRefused(
            f"Region {region!r} is not one the workshop allows on a real account.",
            where="LABS_REGION / AWS_REGION",
            hint=f"Use one of {', '.join(regions)}, or list yours in LABS_AWS_REGIONS.",
        )
    try:
        actual = sts.get_caller_identity()["Account"]
    except Exception as exc:
        raise TargetRefused(
            f"Could not ask STS which account your credentials belong to ({type(exc).__name__}).",
            hint="Check `aws sts get-caller-identity` works in the same shell.",
        ) from None
    if actual != wanted:
        raise TargetRefused(
            f"Your credentials belong to account {actual}, but LABS_AWS_ACCOUNT is {wanted}. "
            "Nothing was created.",
            hint="Switch profile or correct LABS_AWS_ACCOUNT; they must name the same account.",
        )
    return actual


def _start_aws(region: str | None) -> Workshop:
    # The opt-in variables are checked before the isolation is undone, so that a refused
    # attempt leaves this process exactly as isolated as it was.
    _check_opt_in_variables(os.environ)
    isolated = dict(os.environ) if _ORIGINAL_ENV is not None else None
    _restore_original_env()
    try:
        session = boto3.session.Session()
        region = region or os.environ.get("LABS_REGION") or session.region_name
        sts = session.client("sts", region_name=region, config=_AWS_CONFIG)
        account = check_aws_opt_in(os.environ, region, sts)
    except TargetRefused:
        if isolated is not None:
            _reisolate(isolated)
        raise
    assert region is not None  # checked by check_aws_opt_in
    return Workshop("aws", region, account, None, session)


def _reisolate(isolated_env: dict[str, str]) -> None:
    """Put back the isolated environment after a refused switch to the aws target."""
    global _ORIGINAL_ENV
    _ORIGINAL_ENV = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in isolated_env.items() if k.startswith("AWS_")})
