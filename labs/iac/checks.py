"""*Check your work* for the infrastructure-as-code labs (CloudFormation and the CDK).

Each check recomputes the answer with ``labs.iac`` itself — cfn-lint, the condition evaluator,
the change-set preview, drift detection — and prints one ``✔`` line, or raises
:class:`labs.errors.CheckFailed` saying what was expected, what was found and a hint (also
when the exercise has no answer yet).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pandas as pd

from labs.checks import answered, exercise, passed, solved
from labs.env import Workshop
from labs.errors import CheckFailed
from labs.iac import drift
from labs.iac.errors import TemplateError
from labs.iac.intrinsics import (
    Scope,
    active_resources,
    condition_values,
    parameter_values,
    resolve,
)
from labs.iac.linter import errors, lint
from labs.iac.templates import load, resources

__all__ = [
    "assertion_written",
    "condition_added",
    "construct_prop",
    "drifted_property",
    "lint_fixed",
    "nag_finding_fixed",
    "replacements_predicted",
]


def _template(answer: Any, what: str) -> dict[str, Any]:
    answer = answered(answer, what)
    try:
        return load(answer)
    except TemplateError as exc:
        raise CheckFailed(
            f"{what} cannot be read as a template.",
            found=str(exc).splitlines()[0],
            hint=exc.hint or "Check the YAML indentation and the short forms (!Ref …).",
        ) from None


@exercise("06", 1)
def lint_fixed(fixed: Any, broken: str) -> None:
    """Pass when ``fixed`` lints without errors and still does what ``broken`` meant to do.

    Args:
        fixed: The learner's template text (or dict).
        broken: The template with mistakes the exercise started from.
    """
    what = "the fixed payments template"
    template = _template(fixed, what)
    bad = errors(lint(fixed if isinstance(fixed, str) else template))
    if not bad.empty:
        first = bad.iloc[0]
        raise CheckFailed(
            f"cfn-lint still finds {len(bad)} error(s) in {what}.",
            found=f"{first['rule']} line {first['line']}: {first['message'][:140]}",
            hint="Run labs.iac.lint(fixed) to see them all; each message says what to change.",
        )
    original = load(broken)
    wanted = {
        k: ("AWS::SNS::Topic" if v == "AWS::SNS::Topik" else v)
        for k, v in resources(original).items()
    }
    found = resources(template)
    if found != wanted:
        raise CheckFailed(
            f"{what} does not declare the same resources as before.",
            expected=wanted,
            found=found,
            hint="Fix each mistake; do not delete a resource to make the linter quiet.",
        )
    queue = template["Resources"]["PaymentsQueue"].get("Properties", {})
    if str(queue.get("VisibilityTimeout")) != "60":
        raise CheckFailed(
            "PaymentsQueue should keep the 60-second visibility timeout the author meant.",
            expected="VisibilityTimeout: 60",
            found=f"VisibilityTimeout: {queue.get('VisibilityTimeout')}",
            hint="The property's name was misspelt; its value was right.",
        )
    passed("the template lints clean and keeps its three resources and their intent")


@exercise("06", 2)
def condition_added(template: Any) -> None:
    """Pass when ``LongRetention`` holds in prod or when ``Compliance`` is ``yes``.

    The check evaluates the template for every combination, as CloudFormation would at deploy
    time: the service log group keeps 365 days when the condition holds, the mapping's value
    otherwise, and the template still lints clean.
    """
    what = "your template with the LongRetention condition"
    tpl = _template(template, what)
    conditions = tpl.get("Conditions", {}) or {}
    if "LongRetention" not in conditions:
        raise CheckFailed(
            "there is no condition called LongRetention.",
            found=f"conditions {sorted(conditions)}",
            hint="Add it under tpl['Conditions'] with Fn::Or.",
        )
    if "Compliance" not in (tpl.get("Parameters", {}) or {}):
        raise CheckFailed(
            "there is no parameter called Compliance.",
            hint="Add it under tpl['Parameters'] with Type String, Default 'no', "
            "AllowedValues ['yes', 'no'].",
        )
    results = {}
    for env in ("dev", "prod"):
        for compliance in ("no", "yes"):
            try:
                scope = Scope(
                    parameters=parameter_values(tpl, {"Env": env, "Compliance": compliance}),
                    mappings=tpl.get("Mappings", {}) or {},
                )
                scope.conditions = condition_values(tpl, scope)
            except TemplateError as exc:
                raise CheckFailed(
                    f"the template cannot be evaluated with Env={env}, Compliance={compliance}.",
                    found=str(exc).splitlines()[0],
                    hint=exc.hint,
                ) from None
            group = tpl["Resources"]["ServiceLogGroup"]
            if "ServiceLogGroup" not in active_resources(tpl, scope.conditions):
                results[(env, compliance)] = None
                continue
            days = resolve(group.get("Properties", {}).get("RetentionInDays"), scope)
            results[(env, compliance)] = int(days) if str(days).isdigit() else days
    expected = {("dev", "no"): 7, ("dev", "yes"): 365, ("prod", "no"): 365, ("prod", "yes"): 365}
    if results != expected:
        wrong = [
            f"Env={env}, Compliance={c}: {results[(env, c)]} days (want {days})"
            for (env, c), days in expected.items()
            if results[(env, c)] != days
        ]
        raise CheckFailed(
            "the service log group's retention does not follow LongRetention yet.",
            expected="365 days when Env is prod or Compliance is yes, else the mapping's 7",
            found="; ".join(wrong),
            hint="Set RetentionInDays to {'Fn::If': ['LongRetention', 365, <the FindInMap>]} "
            "and define LongRetention with Fn::Or of the IsProd condition and Fn::Equals.",
        )
    bad = errors(lint(tpl))
    if not bad.empty:
        raise CheckFailed(
            "the template no longer lints clean.",
            found=f"{bad.iloc[0]['rule']}: {bad.iloc[0]['message'][:140]}",
            hint="labs.iac.lint(tpl) shows every finding.",
        )
    passed("LongRetention gives 365 days in prod or under compliance, 7 days otherwise")


@exercise("06", 3)
def replacements_predicted(predicted: Any, changes: pd.DataFrame) -> None:
    """Pass when ``predicted`` names exactly the resources the change set replaces.

    Args:
        predicted: The learner's set (or list) of logical ids.
        changes: The change set's changes (``ChangeSet.changes``).
    """
    what = "your prediction of the replaced resources"
    predicted = answered(predicted, what)
    if isinstance(predicted, str) or not isinstance(predicted, Iterable):
        raise CheckFailed(
            what,
            expected="a set of logical ids, e.g. {'SomeResource'}",
            found=repr(predicted),
        )
    actual = set(changes.loc[changes["replacement"] == "True", "logical_id"])
    guess = {str(p) for p in predicted}
    if guess != actual:
        missed, extra = sorted(actual - guess), sorted(guess - actual)
        raise CheckFailed(
            what,
            expected=sorted(actual) if not missed and not extra else None,
            found=f"missing {missed}, not replaced: {extra}",
            hint="A resource is replaced when one of its changes has RequiresRecreation "
            "'Always' with a Static evaluation; 'Never' means an update in place.",
        )
    passed(f"CloudFormation replaces {sorted(actual)}: every other change is made in place")


@exercise("06", 4)
def drifted_property(ctx: Workshop, stack_name: str, answer: Any) -> None:
    """Pass when ``answer`` is ``(logical id, property path)`` of the drifted property.

    Args:
        ctx: The workshop context.
        stack_name: The stack that drifted.
        answer: The learner's ``(logical_id, property_path)``, e.g. ``("X", "/Prop")``.
    """
    what = "the drifted resource and property"
    answer = answered(answer, what)
    if not (isinstance(answer, tuple | list) and len(answer) == 2):
        raise CheckFailed(
            what,
            expected="a pair (logical_id, property_path), e.g. ('OrdersQueue', '/DelaySeconds')",
            found=repr(answer),
        )
    found = drift.differences(drift.detect(ctx, stack_name))
    pairs = set(zip(found["logical_id"], found["property_path"], strict=True))
    if not pairs:
        raise CheckFailed(
            f"stack {stack_name} has no drift at the moment.",
            hint="Run the cell that makes your colleague's change, then look again.",
        )
    if (str(answer[0]), str(answer[1])) not in pairs:
        raise CheckFailed(
            what,
            found=tuple(answer),
            hint="labs.iac.drift.differences(labs.iac.drift.detect(ctx, DATA)) lists every "
            "difference; the path starts with '/'.",
        )
    row = found[(found["logical_id"] == answer[0]) & (found["property_path"] == answer[1])].iloc[0]
    passed(f"{answer[0]} {answer[1]} drifted: expected {row['expected']}, actually {row['actual']}")


# --------------------------------------------------------------------------------------------
# The CDK lab
# --------------------------------------------------------------------------------------------


def _run_test(test: Any, template: dict[str, Any], what: str) -> Exception | None:
    """Run a learner's assertion test on ``template``; return what it raised (None: passed)."""
    from aws_cdk.assertions import Template

    try:
        solved(test, Template.from_json(template), what=what)
    except CheckFailed as failure:
        if "NotImplementedError" in str(failure) or "not written yet" in str(failure):
            raise
        return failure
    except Exception as exc:  # an assertion failing is what a test does
        return exc
    return None


@exercise("07", 1)
def assertion_written(test: Any, template: dict[str, Any]) -> None:
    """Pass when ``test`` passes on the services template and fails when the threshold is wrong.

    Args:
        test: The learner's function taking an ``aws_cdk.assertions.Template``.
        template: The synthesized services template (a dict).
    """
    what = f"{getattr(test, '__name__', 'your test')}()"
    answered(test, what)
    error = _run_test(test, template, what)
    if error is not None:
        raise CheckFailed(
            f"{what} fails on the real services template.",
            found=str(error).strip().splitlines()[0][:200],
            hint="The payments backlog alarm is named 'labs-cdk-payments-backlog' and its "
            "Threshold is 20; has_resource_properties matches a subset of the properties.",
        )
    broken = copy.deepcopy(template)
    for resource in broken["Resources"].values():
        props = resource.get("Properties", {})
        if props.get("AlarmName") == "labs-cdk-payments-backlog":
            props["Threshold"] = 100
    if _run_test(test, broken, what) is None:
        raise CheckFailed(
            f"{what} also passes when the payments backlog threshold is 100, so it does not "
            "test the threshold.",
            hint="Assert the alarm's properties: template.has_resource_properties("
            "'AWS::CloudWatch::Alarm', {'AlarmName': …, 'Threshold': 20}).",
        )
    passed(f"{what} passes on the template and fails when the threshold is wrong")


@exercise("07", 2)
def nag_finding_fixed(bucket_factory: Any) -> None:
    """Pass when the bucket ``bucket_factory`` makes has no open cdk-nag finding.

    The check builds a stack holding only that bucket, runs cdk-nag's AwsSolutions pack and
    expects no open finding: ``AwsSolutions-S10`` fixed (SSL required) and
    ``AwsSolutions-S1`` acknowledged with a reason.
    """
    import aws_cdk as cdk

    from labs.iac import cdk as lab_cdk

    what = f"{getattr(bucket_factory, '__name__', 'your function')}()"
    answered(bucket_factory, what)
    app = lab_cdk.new_app("check-nag", nag=True)
    stack = cdk.Stack(app, "Check")
    bucket = solved(bucket_factory, stack, what=what)
    if bucket is None or type(bucket).__name__ != "Bucket":
        raise CheckFailed(
            f"{what} should return the s3.Bucket it creates.",
            found=type(bucket).__name__,
            hint="End the function with `return bucket`.",
        )
    found = lab_cdk.synth(app).findings
    still = found[found["status"] == "open"]
    if not still.empty:
        raise CheckFailed(
            "cdk-nag still reports open findings on your bucket.",
            found=", ".join(sorted(set(still["rule"]))),
            hint="S10: create the bucket with enforce_ssl=True. S1: acknowledge it with "
            "lab_cdk.acknowledge(bucket, 'AwsSolutions-S1', '<why access logs are not needed>').",
        )
    acknowledged = found[found["status"] == "acknowledged"]
    if "AwsSolutions-S10" in set(acknowledged["rule"]):
        raise CheckFailed(
            "AwsSolutions-S10 is acknowledged, not fixed.",
            hint="Requiring SSL costs nothing: fix it with enforce_ssl=True instead.",
        )
    reasons = "; ".join(acknowledged["reason"])
    passed(f"no open cdk-nag findings on the bucket (acknowledged: {reasons or 'none'})")


@exercise("07", 3)
def construct_prop(service_class: Any) -> None:
    """Pass when ``service_class`` takes ``alarm_email`` and subscribes it to the alarm topic.

    The check synthesizes the construct with and without the prop and asserts, with
    ``aws_cdk.assertions``, one e-mail subscription to the construct's alarm topic — and none
    when the prop is not given.
    """
    import aws_cdk as cdk
    from aws_cdk.assertions import Match, Template

    from labs.iac import cdk as lab_cdk

    what = f"{getattr(service_class, '__name__', 'your class')}"
    answered(service_class, what)
    templates_ = {}
    for email in ("oncall@example.com", None):
        app = lab_cdk.new_app("check-prop")
        stack = cdk.Stack(app, "Check")
        kwargs = {"service_name": "refunds"} | ({"alarm_email": email} if email else {})
        construct = solved(service_class, stack, "Refunds", what=what, **kwargs)
        topic_id = stack.get_logical_id(construct.alarm_topic.node.default_child)
        templates_[email] = (Template.from_stack(stack), topic_id)
    template, topic_id = templates_["oncall@example.com"]
    subscriptions = template.find_resources("AWS::SNS::Subscription")
    expected = {
        "Protocol": "email",
        "Endpoint": "oncall@example.com",
        "TopicArn": {"Ref": topic_id},
    }
    if len(subscriptions) != 1:
        raise CheckFailed(
            "with alarm_email='oncall@example.com' there should be one SNS subscription.",
            found=f"{len(subscriptions)} subscription(s)",
            hint="In __init__, after super().__init__(...): if alarm_email, call "
            "self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email)).",
        )
    try:
        template.has_resource_properties("AWS::SNS::Subscription", Match.object_like(expected))
    except Exception:
        found = next(iter(subscriptions.values())).get("Properties", {})
        raise CheckFailed(
            "the subscription is not an e-mail subscription of the alarm topic.",
            expected=expected,
            found=found,
            hint="Subscribe self.alarm_topic, the topic both alarms notify.",
        ) from None
    without, _ = templates_[None]
    if without.find_resources("AWS::SNS::Subscription"):
        raise CheckFailed(
            "without alarm_email there should be no subscription.",
            hint="Subscribe only when alarm_email is given (its default is None).",
        )
    passed(f"{what} subscribes alarm_email to the alarm topic, and only when it is given")
