"""*Check your work* for the deployment lab: each check passes with ✔ or raises ``CheckFailed``.

The checks run the deployment engine themselves, so an answer is judged by what it does: a
configuration by the blast radius it allows, an alarm by whether it rolls a bad canary back
(and leaves a good one alone), a formula by how it compares with simulated traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from labs.checks import answered, check, exercise, passed, solved
from labs.deploy import configs, engine
from labs.deploy.strategies import TrafficShift
from labs.errors import CheckFailed, InputError
from labs.observability.alarms import Alarm

__all__ = [
    "ECS_CONFIGS",
    "canary_alarm",
    "config_choice",
    "expected_failed_requests",
    "reference_failed_requests",
]

ECS_CONFIGS = (
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
)
"""The predefined ECS configurations the lab compares."""


def reference_failed_requests(config: str, requests_per_second: float, error_rate: float) -> float:
    """Return the failed requests expected while ``config`` shifts traffic to a failing release.

    The release fails ``error_rate`` of its requests; counting stops when it serves 100% (no
    alarm, no rollback). Each step of ``traffic_schedule()`` holds its share of traffic until
    the next step starts: ``sum(share_i × (t_{i+1} − t_i)) × 60 × requests_per_second ×
    error_rate``.
    """
    schedule = configs.get(config).traffic_schedule()
    minutes = sum(
        pct / 100.0 * (schedule[i + 1][0] - t) for i, (t, pct) in enumerate(schedule[:-1])
    )
    return minutes * 60.0 * requests_per_second * error_rate


@exercise("04", 1)
def config_choice(
    answer: str | None,
    *,
    bound: int,
    alarms: Sequence[Alarm],
    requests_per_second: float = 200.0,
    seed: int = 0,
) -> None:
    """Check the choice of the fastest ECS configuration whose blast radius stays within a bound.

    The answer must reach 100% fastest on a good release (``v2``) among the predefined ECS
    configurations whose ``v2-bad`` run, with ``alarms`` watching, fails at most ``bound``
    requests. Every configuration is run (dry runs, milliseconds each).
    """
    name = answered(answer, "your choice of configuration")
    if name not in ECS_CONFIGS:
        raise CheckFailed(
            "the answer is not one of the predefined ECS configurations",
            expected=f"one of {', '.join(ECS_CONFIGS)}",
            found=repr(name),
            hint="Use the full name, with the CodeDeployDefault. prefix.",
        )
    rows = {}
    for config in ECS_CONFIGS:
        strategy = TrafficShift(config)
        bad = engine.run(None, strategy, release="v2-bad", alarms=alarms, seed=seed,
                         requests_per_second=requests_per_second)  # fmt: skip
        good = engine.run(None, strategy, release="v2", alarms=alarms, seed=seed,
                          requests_per_second=requests_per_second)  # fmt: skip
        rows[config] = (bad.figures()["failed_requests"], good.figures()["time_to_100_min"])
    failed, minutes = rows[name]
    check(
        failed <= bound,
        f"{name} keeps the blast radius of v2-bad within {bound:,} failed requests",
        expected=f"at most {bound:,} failed requests",
        found=f"{failed:,} failed requests",
        hint="Compare figures()['failed_requests'] of a v2-bad run for each configuration.",
    )
    fastest = min(m for f, m in rows.values() if f <= bound)
    check(
        minutes == fastest,
        f"{name} is the fastest to 100% among the configurations within the bound",
        expected=f"{fastest:g} minutes to 100% on v2",
        found=f"{minutes:g} minutes",
        hint="Among those within the bound, pick the smallest time_to_100_min on v2.",
        success=(
            f"{name}: {failed:,} failed requests on v2-bad, 100% of v2 after {minutes:g} minutes"
        ),
    )


@exercise("04", 2)
def canary_alarm(
    ctx: Any,
    alarm_name: str,
    *,
    config: str = "CodeDeployDefault.ECSCanary10Percent5Minutes",
    background_error_rate: float = 0.002,
    seed: int = 4,
) -> None:
    """Check that an alarm rolls a bad canary back and leaves a good one alone.

    Two canaries run with alarm ``alarm_name`` and background failures: ``v2-bad`` must be
    rolled back before it reaches 100%, ``v2`` must succeed (no false alarm).
    """
    described = ctx.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    if not described:
        raise CheckFailed(
            f"there is no CloudWatch alarm called {alarm_name!r}",
            hint="Create it with cloudwatch.put_metric_alarm(AlarmName=alarm_name, ...).",
        )
    try:
        definition = Alarm.from_describe(described[0])
    except InputError as exc:
        raise CheckFailed(f"the alarm cannot be evaluated: {exc.what}", hint=exc.hint) from None
    # On the emulator the runs are real (CodeDeploy, ALB, CloudWatch); on a real account they
    # are dry runs of the same alarm definition, which cost nothing.
    where, alarms = (ctx, [alarm_name]) if ctx.is_local else (None, [definition])
    strategy = TrafficShift(config)
    runs = {}
    for release in ("v2-bad", "v2"):
        runs[release] = engine.run(
            where, strategy, release=release, alarms=alarms, seed=seed,
            background_error_rate=background_error_rate,
        )  # fmt: skip
    bad, good = runs["v2-bad"], runs["v2"]
    reached = bad.timeline.loc[bad.timeline["minute"] >= 0, "percent_new"].max()
    check(
        bad.status == "RolledBack" and reached < 100,
        "the alarm stops the v2-bad canary and CodeDeploy rolls it back before 100%",
        expected="RolledBack while the canary holds 10% of the traffic",
        found=f"{bad.status}, up to {reached:.0f}% of the traffic on v2-bad",
        hint="Watch the service's ErrorRate (dimension Service=orders) with a period of 60 s: "
        "the canary lasts 5 minutes, so the alarm must fire within them.",
    )
    check(
        good.status == "Succeeded",
        "the alarm lets a good release (v2) finish",
        expected="Succeeded",
        found=f"{good.status}: {good.reason}",
        hint=f"Background failures are {background_error_rate:.1%} of requests whatever the "
        "version: a threshold at or below that fires on every deployment.",
    )
    figures = bad.figures()
    passed(
        f"alarm {alarm_name}: v2-bad rolled back after {figures['time_to_detect_min']:g} min "
        f"({figures['failed_requests']:,} failed requests); v2 went to 100%"
    )


@exercise("04", 3)
def expected_failed_requests(
    func: Callable[[str, float, float], float],
    *,
    requests_per_second: float = 200.0,
    seed: int = 0,
) -> None:
    """Check a learner's estimate of the failed requests of a rollout.

    ``func(config, requests_per_second, error_rate)`` is compared with the schedule arithmetic
    for several configurations, then with a simulated linear rollout.
    """
    cases = [
        ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", 200.0, 0.25),
        ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", 100.0, 0.1),
        ("CodeDeployDefault.ECSCanary10Percent15Minutes", 50.0, 0.25),
        ("CodeDeployDefault.LambdaAllAtOnce", 200.0, 0.25),
    ]
    for config, rps, rate in cases:
        found = solved(func, config, rps, rate, what="expected_failed(...)")
        answered(found, "expected_failed(...)")
        want = reference_failed_requests(config, rps, rate)
        ok = isinstance(found, int | float) and math.isclose(
            found, want, rel_tol=1e-6, abs_tol=1e-6
        )
        check(
            ok,
            f"expected failed requests for {config.removeprefix('CodeDeployDefault.')} at "
            f"{rps:g} req/s and {rate:.0%} errors",
            expected=f"{want:,.0f}",
            found=f"{found!r}",
            hint="Each step keeps its share until the next step; the last step (100%) ends "
            "the count. Requests per minute = 60 × requests_per_second.",
        )
    config = cases[0][0]
    run = engine.run(None, TrafficShift(config), release="v2-bad", seed=seed,
                     requests_per_second=requests_per_second)  # fmt: skip
    timeline = run.timeline
    simulated = int(
        timeline.loc[timeline["minute"] < run.full_at_minute, "failed_by_release"].sum()
    )
    expected = func(config, requests_per_second, 0.25)
    check(
        abs(simulated - expected) <= 0.05 * expected,
        "the formula agrees with a simulated rollout",
        expected=f"{expected:,.0f} ± 5%",
        found=f"{simulated:,}",
        success=f"expected {expected:,.0f} failed requests; the simulation counted {simulated:,}",
    )
