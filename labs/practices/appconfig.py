"""AWS AppConfig resources for feature flags: application, flag profile, hosted versions.

The calls the lab makes against the emulator (or a real account), idempotent so that a notebook
can be re-run from the top:

* :func:`ensure_application` — find the application by name or create it. AppConfig names are
  not unique and the local emulator cannot list applications (``ListApplications`` answers
  HTTP 500, FACTS.md), so on the local target the application is found through the cleanup
  ledger (:mod:`labs.cleanup.ledger`), where ``labs.start()`` records every application a
  context's clients create; on AWS, ``ListApplications`` finds it.
* :func:`ensure_flag_profile` — find or create a configuration profile of type
  ``AWS.AppConfig.FeatureFlags`` with location ``hosted``
  ("Creating a feature flag configuration profile (command line)",
  https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-feature-flag-configuration-commandline.html).
* :func:`put_flags` — validate a flag document with
  :func:`labs.practices.flags.validate_document`, then ``CreateHostedConfigurationVersion``.
  AppConfig validates on upload; the emulator stores any bytes, even text that is not JSON,
  so the local check is what stands between a learner's typo and a stored version.
* :func:`get_flags` — read a hosted version back.
* :func:`emulator_support` — ask the emulator, call by call, what it does.

Everything is tagged with ``ctx.tags(lab=...)``; ``labs.cleanup.cleanup(ctx, lab="12")``
deletes the application with its profiles and versions.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from labs.errors import InputError
from labs.practices.flags import validate_document

__all__ = [
    "FEATURE_FLAGS_TYPE",
    "emulator_support",
    "ensure_application",
    "ensure_flag_profile",
    "get_flags",
    "put_flags",
]

FEATURE_FLAGS_TYPE = "AWS.AppConfig.FeatureFlags"
"""The configuration profile type of feature flags."""


def _pages(client: Any, operation: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [
        item
        for page in client.get_paginator(operation).paginate(**kwargs)
        for item in page.get("Items", [])
    ]


def _is_gone(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("ResourceNotFoundException", "404")


def ensure_application(
    ctx: Any, name: str, *, lab: str, description: str | None = None
) -> dict[str, Any]:
    """Return the AppConfig application called ``name`` (tagged for ``lab``), creating it once.

    Args:
        ctx: The workshop context.
        name: The application name (use ``ctx.name(...)``).
        lab: The lab number its tags carry, e.g. ``"12"``.
        description: Its description.

    Returns:
        ``{"Id", "Name", "created"}``; ``created`` is False when it already existed.
    """
    client = ctx.client("appconfig")
    candidates: list[str]
    if ctx.is_local:
        from labs.cleanup import forget, ledger

        candidates = [
            e["id"] for e in ledger(ctx, "appconfig") if e.get("name") == name and e.get("id")
        ]
        for app_id in candidates:
            try:
                client.get_application(ApplicationId=app_id)
            except ClientError as exc:
                if not _is_gone(exc):
                    raise
                forget(ctx, "appconfig", id=app_id)
                continue
            return {"Id": app_id, "Name": name, "created": False}
    else:
        for app in _pages(client, "list_applications"):
            if app["Name"] == name:
                return {"Id": app["Id"], "Name": name, "created": False}
    kwargs: dict[str, Any] = {"Name": name, "Tags": dict(ctx.tags(lab=lab))}
    if description:
        kwargs["Description"] = description
    created = client.create_application(**kwargs)
    if ctx.is_local:  # labs.start() tracks this already; recording again is harmless
        from labs.cleanup import record

        record(ctx, "appconfig", "application", name, id=created["Id"], tags=ctx.tags(lab=lab))
    return {"Id": created["Id"], "Name": name, "created": True}


def ensure_flag_profile(
    ctx: Any, application_id: str, name: str, *, lab: str, description: str | None = None
) -> dict[str, Any]:
    """Return the feature-flag configuration profile ``name`` of an application, creating it once.

    The profile has ``Type="AWS.AppConfig.FeatureFlags"`` and ``LocationUri="hosted"``, as the
    user guide's command-line procedure creates it.

    Returns:
        ``{"Id", "Name", "Type", "created"}``.

    Raises:
        InputError: A profile of that name exists with another type.
    """
    client = ctx.client("appconfig")
    for profile in _pages(client, "list_configuration_profiles", ApplicationId=application_id):
        if profile["Name"] == name:
            if profile.get("Type") != FEATURE_FLAGS_TYPE:
                raise InputError(
                    f"Profile {name!r} exists with type {profile.get('Type')!r}, not "
                    f"{FEATURE_FLAGS_TYPE}.",
                    where="name",
                    hint="Use another name for the feature-flag profile.",
                )
            return {"Id": profile["Id"], "Name": name, "Type": FEATURE_FLAGS_TYPE, "created": False}
    kwargs: dict[str, Any] = {
        "ApplicationId": application_id,
        "Name": name,
        "LocationUri": "hosted",
        "Type": FEATURE_FLAGS_TYPE,
        "Tags": dict(ctx.tags(lab=lab)),
    }
    if description:
        kwargs["Description"] = description
    created = client.create_configuration_profile(**kwargs)
    return {"Id": created["Id"], "Name": name, "Type": FEATURE_FLAGS_TYPE, "created": True}


def put_flags(
    ctx: Any,
    application_id: str,
    profile_id: str,
    document: Any,
    *,
    description: str | None = None,
) -> int:
    """Validate a feature-flag document, then store it as a new hosted version; return its number.

    Raises:
        labs.practices.flags.FlagDocumentError: The document is invalid (nothing is uploaded);
            ``where`` is the JSON path of the problem.
    """
    doc = validate_document(document)
    kwargs: dict[str, Any] = {
        "ApplicationId": application_id,
        "ConfigurationProfileId": profile_id,
        "Content": json.dumps(doc, indent=1).encode("utf-8"),
        "ContentType": "application/json",
    }
    if description:
        kwargs["Description"] = description
    response = ctx.client("appconfig").create_hosted_configuration_version(**kwargs)
    return int(response["VersionNumber"])


def get_flags(ctx: Any, application_id: str, profile_id: str, version: int) -> dict[str, Any]:
    """Return hosted version ``version`` of a feature-flag profile as a dict."""
    response = ctx.client("appconfig").get_hosted_configuration_version(
        ApplicationId=application_id, ConfigurationProfileId=profile_id, VersionNumber=version
    )
    body = response["Content"]
    return json.loads(body.read() if hasattr(body, "read") else body)


def _outcome(call: Any) -> str:
    try:
        call()
    except (ClientError, ResponseParserError) as exc:
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if status in (404, 500) or code in ("404", "500") or isinstance(exc, ResponseParserError):
            return f"not implemented (HTTP {status or code or 'error'})"
        return f"error: {code}"
    return "works"


def emulator_support(ctx: Any, application_id: str) -> pd.DataFrame:
    """Call each AppConfig API the lab needs on the local emulator and report what it does.

    The probe works in a profile of its own (``emulator-probe``), deleted at the end, so that it
    leaves nothing behind. Read calls and the control-plane calls the lab would make on AWS (an
    environment, a deployment strategy, a deployment, a configuration session of the
    ``appconfigdata`` data plane) are tried for real; the answers match what FACTS.md records
    for moto 5.2.

    Returns:
        One row per call: ``api``, ``what for``, ``emulator``.

    Raises:
        InputError: On the aws target, where every call works and some would create resources.
    """
    if not ctx.is_local:
        raise InputError(
            "emulator_support() probes the local emulator only.",
            hint="On AWS every AppConfig API works; nothing needs probing.",
        )
    ac = ctx.client("appconfig")
    data = ctx.client("appconfigdata")
    profile_id = ac.create_configuration_profile(
        ApplicationId=application_id,
        Name="emulator-probe",
        LocationUri="hosted",
        Type=FEATURE_FLAGS_TYPE,
    )["Id"]
    app, prof = application_id, profile_id
    calls = [
        (
            "GetApplication",
            "find the application by id",
            lambda: ac.get_application(ApplicationId=app),
        ),
        ("ListApplications", "find it by name", lambda: ac.list_applications()),
        (
            "ListConfigurationProfiles",
            "find the flag profile by name",
            lambda: ac.list_configuration_profiles(ApplicationId=app),
        ),
        (
            "CreateHostedConfigurationVersion",
            "store a version whose text is not JSON (AWS refuses it)",
            lambda: ac.create_hosted_configuration_version(
                ApplicationId=app,
                ConfigurationProfileId=prof,
                Content=b"this is not JSON",
                ContentType="application/json",
            ),
        ),
        (
            "ListHostedConfigurationVersions",
            "list the stored versions",
            lambda: ac.list_hosted_configuration_versions(
                ApplicationId=app, ConfigurationProfileId=prof
            ),
        ),
        (
            "CreateEnvironment",
            "an environment whose alarms roll deployments back",
            lambda: ac.create_environment(ApplicationId=app, Name="probe"),
        ),
        (
            "CreateDeploymentStrategy",
            "a linear or exponential rollout",
            lambda: ac.create_deployment_strategy(
                Name="labs-probe", DeploymentDurationInMinutes=10, GrowthFactor=20
            ),
        ),
        (
            "StartDeployment",
            "roll a version out",
            lambda: ac.start_deployment(
                ApplicationId=app,
                EnvironmentId="probe",
                DeploymentStrategyId="AppConfig.AllAtOnce",
                ConfigurationProfileId=prof,
                ConfigurationVersion="1",
            ),
        ),
        (
            "appconfigdata StartConfigurationSession",
            "read flags at run time (the data plane)",
            lambda: data.start_configuration_session(
                ApplicationIdentifier=app,
                EnvironmentIdentifier="probe",
                ConfigurationProfileIdentifier=prof,
            ),
        ),
    ]
    try:
        rows = [
            {"api": api, "what for": why, "emulator": _outcome(call)} for api, why, call in calls
        ]
    finally:
        with contextlib.suppress(ClientError):
            ac.delete_hosted_configuration_version(
                ApplicationId=app, ConfigurationProfileId=prof, VersionNumber=1
            )
        ac.delete_configuration_profile(ApplicationId=app, ConfigurationProfileId=prof)
    return pd.DataFrame(rows)
