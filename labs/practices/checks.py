"""*Check your work* for the feature-flag and A/B-testing lab.

Each check prints one ``✔`` line when the answer is right and otherwise raises
:class:`labs.errors.CheckFailed` with what was expected, what was found and a hint — also when
the exercise has not been answered yet (its variable still ``None``). Answers are judged by
what they do: a rule by the users it selects, a sample size against statsmodels, a decision
against the tests it should rest on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from labs.checks import answered, exercise, passed
from labs.errors import CheckFailed
from labs.practices import abtest
from labs.practices.rules import RuleError, parse_rule, rule_mask

__all__ = ["experiment_size", "premium_rule", "ship_decision"]

_PREMIUM_CASES: tuple[tuple[dict[str, Any], bool], ...] = (
    ({"userId": "u000001", "plan": "premium"}, True),
    ({"userId": "u000002", "plan": "standard"}, False),
    ({"userId": "u000003"}, False),
    ({"userId": "u000004", "plan": "premium", "country": "FR"}, True),
    ({"userId": "u000005", "plan": "premium-trial"}, False),
    ({"plan": "premium"}, True),
)


@exercise("12", 1)
def premium_rule(answer: Any, users: pd.DataFrame | None = None) -> None:
    """Check a variant rule that gives the new checkout to premium users, and only to them.

    The rule is parsed (a malformed rule fails with its caret), then evaluated on a few
    contexts (premium, standard, no plan at all, a ``"premium-trial"`` plan) and, when
    ``users`` is given, on every bookstore user: it must select exactly the premium ones.
    """
    what = "the rule for premium users"
    rule = answered(answer, what, hint='Set answer to a rule string, e.g. "(eq $key \\"value\\")".')
    if not isinstance(rule, str):
        raise CheckFailed(what, expected="a rule as a string", found=type(rule).__name__)
    try:
        parsed = parse_rule(rule)
    except RuleError as exc:
        raise CheckFailed(
            f"{what} does not parse: {exc.problem} (character {exc.position})",
            hint='A rule is (operator operand operand), e.g. (eq $plan "premium").',
        ) from None
    for context, expected in _PREMIUM_CASES:
        found = parsed.matches(context, flag="checkout")
        if found != expected:
            raise CheckFailed(
                f"{what} for the context {context}",
                expected=expected,
                found=found,
                hint='Compare the context value $plan with the string "premium" (eq), exactly.',
            )
    detail = ""
    if users is not None:
        mask = rule_mask(parsed, users, flag="checkout")
        wanted = (users["plan"] == "premium").to_numpy()
        wrong = int((mask != wanted).sum())
        if wrong:
            raise CheckFailed(
                f"{what} on the {len(users):,} bookstore users",
                expected=f"{int(wanted.sum()):,} premium users selected",
                found=f"{int(mask.sum()):,} selected, {wrong:,} wrongly",
                hint="The rule must select exactly the users whose plan is premium.",
            )
        detail = f": {int(mask.sum()):,} of {len(users):,} bookstore users"
    passed(f"{what} selects premium users and nobody else{detail}")


@exercise("12", 2)
def experiment_size(
    answer: Any,
    *,
    baseline: float,
    minimum_detectable_effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> None:
    """Check the users per group of an experiment against statsmodels (within 1%).

    The reference is :func:`labs.practices.abtest.sample_size`: Cohen's *h* between the
    baseline and ``baseline * (1 + effect)``, then ``NormalIndPower().solve_power``.
    """
    what = "users per group"
    value = answered(answer, what)
    try:
        found = float(value)
    except (TypeError, ValueError):
        raise CheckFailed(what, expected="a number of users", found=repr(value)) from None
    expected = abtest.sample_size(
        baseline, minimum_detectable_effect, alpha=alpha, power=power, relative=True
    )
    if math.isclose(found, 2 * expected, rel_tol=0.01):
        raise CheckFailed(
            what,
            expected=f"{expected:,} per group",
            found=f"{found:,.0f}",
            hint="That is both groups together; give the size of one group.",
        )
    if not math.isclose(found, expected, rel_tol=0.01):
        raise CheckFailed(
            what,
            expected=f"about {expected:,} (±1%)",
            found=f"{found:,.0f}",
            hint="The effect is relative: the target rate is baseline * (1 + effect). Use "
            "proportion_effectsize(target, baseline) and NormalIndPower().solve_power(...), or "
            "labs.practices.abtest.sample_size.",
        )
    passed(f"{what}: {found:,.0f} (statsmodels: {expected:,}) — {2 * expected:,} users in all")


def _verdict(value: Any) -> str:
    text = str(value).strip().lower().replace("’", "'").replace("do not", "don't")
    return "don't ship" if text in ("dont ship", "don't ship", "no") else text


@exercise("12", 3)
def ship_decision(answer: Any, results: Mapping[str, Any], *, margin: float = 0.10) -> None:
    """Check a ship / don't-ship decision and the numbers it rests on.

    ``answer`` is a dict with ``lift`` (the relative lift of conversion), ``significant``
    (bool), ``guardrail_holds`` (bool) and ``decision`` (``"ship"`` or ``"don't ship"``);
    ``results`` holds the experiment's counts: ``users_a``, ``converted_a``, ``errors_a``,
    ``users_b``, ``converted_b``, ``errors_b``. The reference runs
    :func:`~labs.practices.abtest.two_proportion_test`, :func:`~labs.practices.abtest.guardrail`
    and :func:`~labs.practices.abtest.decide`.
    """
    what = "the decision"
    value = answered(answer, what)
    if not isinstance(value, Mapping):
        raise CheckFailed(
            what,
            expected="a dict with lift, significant, guardrail_holds and decision",
            found=type(value).__name__,
        )
    missing = [k for k in ("lift", "significant", "guardrail_holds", "decision") if k not in value]
    if missing:
        raise CheckFailed(
            what,
            expected="keys lift, significant, guardrail_holds, decision",
            found=f"missing {missing}",
        )
    test = abtest.two_proportion_test(
        int(results["converted_a"]), int(results["users_a"]),
        int(results["converted_b"]), int(results["users_b"]),
    )  # fmt: skip
    guard = abtest.guardrail(
        "payment errors",
        int(results["errors_a"]), int(results["users_a"]),
        int(results["errors_b"]), int(results["users_b"]),
        margin=margin,
    )  # fmt: skip
    truth = abtest.decide(test, [guard])
    try:
        lift = float(value["lift"])
    except (TypeError, ValueError):
        raise CheckFailed("the lift", expected="a number", found=repr(value["lift"])) from None
    if not math.isclose(lift, test.lift, rel_tol=0.01, abs_tol=1e-4):
        hint = "The lift is relative: rate_b / rate_a - 1."
        if math.isclose(lift, test.difference, rel_tol=0.01):
            hint = "That is the difference in points; the lift is relative: rate_b / rate_a - 1."
        raise CheckFailed(
            "the lift of conversion", expected=f"{test.lift:+.4f}", found=f"{lift:+.4f}", hint=hint
        )
    if bool(value["significant"]) != test.significant or not isinstance(
        value["significant"], bool | np.bool_
    ):
        raise CheckFailed(
            "whether the lift is significant",
            expected=test.significant,
            found=value["significant"],
            hint="Run the two-proportion z-test (abtest.two_proportion_test) and compare its "
            "p-value with alpha = 0.05.",
        )
    if bool(value["guardrail_holds"]) != guard.passed:
        raise CheckFailed(
            "whether the payment-error guardrail holds",
            expected=guard.passed,
            found=value["guardrail_holds"],
            hint="Use the upper bound of the relative change in payment errors against the "
            f"{margin:.0%} margin (abtest.guardrail), not only its p-value.",
        )
    decision = _verdict(value["decision"])
    if decision != truth.verdict:
        raise CheckFailed(
            what,
            expected=truth.verdict,
            found=value["decision"],
            hint="Ship only when the primary metric rose significantly AND every guardrail holds.",
        )
    passed(f"{what}: {truth.verdict} — lift {test.lift:+.1%} (p = {test.p_value:.4f}), {guard!r}")
