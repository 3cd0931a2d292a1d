"""A/B tests done properly: size first, test once, watch guardrails, and never peek.

The statistics are statsmodels' and scipy's; this module puts them in the order an experiment
needs them and names the results:

* :func:`sample_size` and :func:`power` — users per group to detect a lift in a conversion
  rate, from Cohen's *h* (the arcsine effect size, ``statsmodels.stats.proportion.
  proportion_effectsize``) and ``statsmodels.stats.power.NormalIndPower``.
* :func:`two_proportion_test` — the two-proportion z-test (pooled standard error,
  ``proportions_ztest``), a Wald confidence interval for the difference and a log-ratio interval
  for the relative lift (``confint_proportions_2indep``).
* :func:`guardrail` — a metric that must not get worse: a one-sided non-inferiority check that
  the upper confidence bound of its relative change stays under a margin.
* :func:`decide` — ship only when the primary metric improved significantly and every
  guardrail holds.
* :func:`simulate_peeking` — many A/A experiments (no real difference) checked every day, in one
  numpy array: how often "significant" shows up by chance when you stop at the first p < α,
  against one look at the planned end.
* :func:`bookstore_users` and :func:`simulate_conversions` — seeded bookstore visitors and
  their conversions, for an experiment split by a feature flag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from labs import progressbar
from labs.errors import InputError

__all__ = [
    "PEEKING_BLOCK",
    "Decision",
    "GuardrailResult",
    "PeekingResult",
    "TestResult",
    "bookstore_users",
    "decide",
    "guardrail",
    "power",
    "sample_size",
    "simulate_conversions",
    "simulate_peeking",
    "summarise",
    "two_proportion_test",
]


def _rate(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise InputError(f"{name} is a rate strictly between 0 and 1, got {value!r}.", where=name)
    return float(value)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(f"{name} is a whole number of users or events, got {value!r}.", where=name)
    return int(value)


def _target(baseline: float, effect: float, relative: bool) -> float:
    target = baseline * (1 + effect) if relative else baseline + effect
    if not 0 < target < 1:
        raise InputError(
            f"A baseline of {baseline:g} with an effect of {effect:g} "
            f"({'relative' if relative else 'absolute'}) gives a rate of {target:g}, "
            "outside (0, 1).",
            where="minimum_detectable_effect",
        )
    return target


def sample_size(
    baseline: float,
    minimum_detectable_effect: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> int:
    """Users needed in the control group to detect a change in a conversion rate.

    Cohen's *h* between the baseline and the target rate, then
    ``NormalIndPower().solve_power`` for the control group's size; the treatment group has
    ``ratio`` times as many. Rounded up.

    Args:
        baseline: The control group's conversion rate, e.g. 0.04.
        minimum_detectable_effect: The smallest change worth detecting: relative (0.10 = +10%
            of the baseline) or, with ``relative=False``, absolute (0.004 = +0.4 points).
        relative: Whether the effect is relative to the baseline.
        alpha: The false-positive rate you accept (significance level).
        power: The chance of detecting the effect when it is real (1 − false-negative rate).
        ratio: Treatment users per control user.
        alternative: ``"two-sided"``, ``"larger"`` or ``"smaller"``.

    Example:
        >>> sample_size(0.04, 0.10)
        39455
    """
    base = _rate(baseline, "baseline")
    target = _target(base, float(minimum_detectable_effect), relative)
    _rate(alpha, "alpha")
    _rate(power, "power")
    h = proportion_effectsize(target, base)
    if alternative == "smaller":
        h = -h
    n = NormalIndPower().solve_power(
        effect_size=h, alpha=alpha, power=power, ratio=ratio, alternative=alternative
    )
    return math.ceil(float(n))


def power(
    n_per_group: int,
    baseline: float,
    minimum_detectable_effect: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    ratio: float = 1.0,
) -> float:
    """The chance that a two-sided test with ``n_per_group`` control users detects the effect."""
    base = _rate(baseline, "baseline")
    target = _target(base, float(minimum_detectable_effect), relative)
    h = proportion_effectsize(target, base)
    return float(NormalIndPower().power(effect_size=h, nobs1=n_per_group, alpha=alpha, ratio=ratio))


@dataclass(frozen=True)
class TestResult:
    """A two-proportion z-test of B (treatment) against A (control).

    Attributes:
        conversions_a, n_a, conversions_b, n_b: The counts.
        rate_a, rate_b: The conversion rates.
        difference: ``rate_b - rate_a`` (absolute).
        difference_ci: Wald confidence interval of the difference.
        lift: ``rate_b / rate_a - 1`` (relative).
        lift_ci: Confidence interval of the lift (log ratio).
        z: The z statistic (pooled standard error); positive when B converts more.
        p_value: Two-sided p-value.
        alpha: The significance level.
    """

    __test__ = False  # not a pytest test class

    conversions_a: int
    n_a: int
    conversions_b: int
    n_b: int
    rate_a: float
    rate_b: float
    difference: float
    difference_ci: tuple[float, float]
    lift: float
    lift_ci: tuple[float, float]
    z: float
    p_value: float
    alpha: float

    @property
    def significant(self) -> bool:
        """Whether the p-value is below alpha."""
        return self.p_value < self.alpha

    def __repr__(self) -> str:
        """Rates, lift with its interval, z and p."""
        level = f"{1 - self.alpha:.0%}"
        verdict = "significant" if self.significant else "not significant"
        lo, hi = self.lift_ci
        d_lo, d_hi = (100 * x for x in self.difference_ci)
        return (
            f"A {self.rate_a:.2%} ({self.conversions_a}/{self.n_a}) vs "
            f"B {self.rate_b:.2%} ({self.conversions_b}/{self.n_b})\n"
            f"  lift {self.lift:+.1%} ({level} CI {lo:+.1%} to {hi:+.1%}); "
            f"difference {self.difference * 100:+.2f} points "
            f"({level} CI {d_lo:+.2f} to {d_hi:+.2f})\n"
            f"  z = {self.z:.2f}, p = {self.p_value:.4f}: {verdict} at alpha = {self.alpha:g}"
        )


def two_proportion_test(
    conversions_a: int, n_a: int, conversions_b: int, n_b: int, *, alpha: float = 0.05
) -> TestResult:
    """Test whether B's conversion rate differs from A's; give the lift with its interval.

    The z statistic uses the pooled proportion (``statsmodels.stats.proportion.
    proportions_ztest``); the difference's interval is Wald's and the lift's comes from the log
    of the ratio (``confint_proportions_2indep(..., compare="ratio", method="log")``).
    """
    a, na = _count(conversions_a, "conversions_a"), _count(n_a, "n_a")
    b, nb = _count(conversions_b, "conversions_b"), _count(n_b, "n_b")
    if not (0 < a < na and 0 < b < nb):
        raise InputError(
            "Each group needs some users who converted and some who did not "
            f"(A: {a} of {na}, B: {b} of {nb}).",
            hint="Run the experiment longer, or check the counts.",
        )
    _rate(alpha, "alpha")
    z, p = proportions_ztest([b, a], [nb, na])
    diff_ci = confint_proportions_2indep(b, nb, a, na, method="wald", compare="diff", alpha=alpha)
    ratio_ci = confint_proportions_2indep(b, nb, a, na, method="log", compare="ratio", alpha=alpha)
    rate_a, rate_b = a / na, b / nb
    return TestResult(
        a,
        na,
        b,
        nb,
        rate_a,
        rate_b,
        rate_b - rate_a,
        (float(diff_ci[0]), float(diff_ci[1])),
        rate_b / rate_a - 1,
        (float(ratio_ci[0]) - 1, float(ratio_ci[1]) - 1),
        float(z),
        float(p),
        alpha,
    )


@dataclass(frozen=True)
class GuardrailResult:
    """A guardrail metric checked for harm: it passes when its worst plausible change is small.

    Attributes:
        name: The metric, e.g. ``"payment errors"``.
        rate_a, rate_b: Its rate in control and treatment.
        change: Relative change ``rate_b / rate_a - 1``.
        upper_bound: One-sided upper confidence bound of the relative change.
        margin: The largest relative increase that is acceptable.
        passed: ``upper_bound < margin``.
    """

    name: str
    rate_a: float
    rate_b: float
    change: float
    upper_bound: float
    margin: float
    passed: bool

    def __repr__(self) -> str:
        """One line: the change, its upper bound and the verdict."""
        verdict = "holds" if self.passed else "BREACHED"
        return (
            f"guardrail {self.name}: {self.rate_a:.2%} -> {self.rate_b:.2%} ({self.change:+.1%}); "
            f"worst plausible {self.upper_bound:+.1%} vs margin {self.margin:+.0%}: {verdict}"
        )


def guardrail(
    name: str,
    events_a: int,
    n_a: int,
    events_b: int,
    n_b: int,
    *,
    margin: float = 0.10,
    alpha: float = 0.05,
) -> GuardrailResult:
    """Check that a *bad* event (errors, refunds, slow pages) did not grow by more than ``margin``.

    A non-inferiority test: the upper bound of the one-sided ``1 − alpha`` confidence interval
    of the relative change ``rate_b / rate_a − 1`` (log-ratio method, that is the two-sided
    interval at ``2·alpha``) must stay below ``margin``. "Not significantly worse" is not enough:
    with few events, an experiment can miss real harm, and this check fails then too.

    Args:
        name: The metric's name.
        events_a, n_a: Bad events and users in control.
        events_b, n_b: Bad events and users in treatment.
        margin: Largest acceptable relative increase (0.10 = 10% more errors).
        alpha: One-sided error rate of the check.
    """
    a, na = _count(events_a, "events_a"), _count(n_a, "n_a")
    b, nb = _count(events_b, "events_b"), _count(n_b, "n_b")
    if a == 0 or na == 0 or nb == 0:
        raise InputError(
            f"The guardrail {name!r} needs events in control and users in both groups.",
            hint="With no control events the relative change is undefined; use a longer run.",
        )
    _rate(alpha, "alpha")
    interval = confint_proportions_2indep(
        b, nb, a, na, method="log", compare="ratio", alpha=2 * alpha
    )
    upper = float(interval[1]) - 1
    rate_a, rate_b = a / na, b / nb
    return GuardrailResult(name, rate_a, rate_b, rate_b / rate_a - 1, upper, margin, upper < margin)


@dataclass(frozen=True)
class Decision:
    """Ship or not, and why.

    Attributes:
        verdict: ``"ship"`` or ``"don't ship"``.
        reasons: One line per reason.
    """

    verdict: str
    reasons: tuple[str, ...]

    def __repr__(self) -> str:
        """The verdict, then the reasons."""
        return "\n".join([f"Decision: {self.verdict}", *(f"  - {r}" for r in self.reasons)])


def decide(
    primary: TestResult, guardrails: Sequence[GuardrailResult] = (), *, min_lift: float = 0.0
) -> Decision:
    """Ship only when the primary metric rose significantly and every guardrail holds.

    Args:
        primary: The primary metric's test (conversion).
        guardrails: Guardrail checks; every one must pass.
        min_lift: The smallest lift worth shipping (practical significance).
    """
    reasons: list[str] = []
    ok = True
    if not primary.significant:
        ok = False
        reasons.append(
            f"the primary metric's change is not significant (p = {primary.p_value:.3f})"
        )
    elif primary.lift <= min_lift:
        ok = False
        reasons.append(
            f"the primary metric moved by {primary.lift:+.1%}, not above {min_lift:+.1%}"
        )
    else:
        reasons.append(f"the primary metric rose {primary.lift:+.1%} (p = {primary.p_value:.4f})")
    for g in guardrails:
        if not g.passed:
            ok = False
            reasons.append(
                f"guardrail {g.name} breached: up to {g.upper_bound:+.1%} (margin {g.margin:+.0%})"
            )
        else:
            reasons.append(f"guardrail {g.name} holds (at most {g.upper_bound:+.1%})")
    return Decision("ship" if ok else "don't ship", tuple(reasons))


@dataclass(frozen=True)
class PeekingResult:
    """A/A experiments checked every day: how often chance alone looks significant.

    Attributes:
        experiments: How many A/A experiments.
        days: Days each one ran.
        alpha: The significance level used at every look.
        false_positive_end: Share significant at one look on the last day (≈ alpha).
        false_positive_peeking: Share significant on *some* day (stopping at the first p < alpha).
        by_day: Per day: ``significant_today`` (share with p < alpha that day) and
            ``stopped_by_now`` (share that would have been stopped as "significant" by that day).
        p_values: The p-values, shape (experiments, days).
    """

    experiments: int
    days: int
    alpha: float
    false_positive_end: float
    false_positive_peeking: float
    by_day: pd.DataFrame
    p_values: np.ndarray = field(repr=False)

    def __repr__(self) -> str:
        """The two false-positive rates."""
        return (
            f"{self.experiments} A/A experiments x {self.days} days, alpha = {self.alpha:g}\n"
            f"  one look at the end:     {self.false_positive_end:.1%} false positives\n"
            f"  a look every day:        {self.false_positive_peeking:.1%} false positives"
        )


PEEKING_BLOCK = 1000
"""Experiments simulated per block when :func:`simulate_peeking` shows its progress."""


def _peeking_p_values(
    rng: np.random.Generator,
    experiments: int,
    days: int,
    users_per_day: int,
    rate: float,
    n: np.ndarray,
) -> np.ndarray:
    """The pooled z-test's p-values of ``experiments`` A/A tests, every day: (experiments, days)."""
    daily = rng.binomial(users_per_day, rate, size=(experiments, days, 2))
    conversions = daily.cumsum(axis=1)
    p_a, p_b = conversions[..., 0] / n, conversions[..., 1] / n
    pooled = (conversions[..., 0] + conversions[..., 1]) / (2 * n)
    se = np.sqrt(pooled * (1 - pooled) * (2 / n))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, (p_b - p_a) / se, 0.0)
    return 2 * stats.norm.sf(np.abs(z))


def simulate_peeking(
    experiments: int = 2000,
    days: int = 28,
    *,
    users_per_day: int = 400,
    rate: float = 0.05,
    alpha: float = 0.05,
    seed: int = 0,
    progress: bool = False,
) -> PeekingResult:
    """Run ``experiments`` A/A tests for ``days`` days and test each one every day, vectorised.

    Both groups convert at the same ``rate``: every "significant" result is a false positive.
    Daily conversions per group are drawn in one array of shape (experiments, days, 2)
    (binomial, ``users_per_day`` each), summed cumulatively, and the pooled two-proportion
    z-test is computed for every experiment and day at once (``scipy.stats.norm``).

    With ``progress=True`` the experiments are simulated in blocks of
    :data:`PEEKING_BLOCK` with a progress bar (:mod:`labs.progressbar`), which also bounds the
    memory of a large run; the draws come from the same generator in the same order, so the
    result is the same as in one block.
    """
    for name, value in (
        ("experiments", experiments),
        ("days", days),
        ("users_per_day", users_per_day),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive whole number, got {value!r}.", where=name)
    _rate(rate, "rate")
    _rate(alpha, "alpha")
    rng = np.random.default_rng(seed)
    n = users_per_day * np.arange(1, days + 1)  # users per group so far, shape (days,)
    if not progress:
        p_values = _peeking_p_values(rng, experiments, days, users_per_day, rate, n)
    else:
        p_values = np.empty((experiments, days))
        with progressbar.progress(
            total=experiments, desc="A/A experiments, tested every day", unit="experiment"
        ) as bar:
            for start in range(0, experiments, PEEKING_BLOCK):
                size = min(PEEKING_BLOCK, experiments - start)
                block = _peeking_p_values(rng, size, days, users_per_day, rate, n)
                p_values[start : start + size] = block
                bar.update(size)
    significant = p_values < alpha
    stopped = np.logical_or.accumulate(significant, axis=1)
    by_day = pd.DataFrame(
        {
            "day": np.arange(1, days + 1),
            "users_per_group": n,
            "significant_today": significant.mean(axis=0),
            "stopped_by_now": stopped.mean(axis=0),
        }
    ).set_index("day")
    return PeekingResult(
        experiments,
        days,
        alpha,
        float(significant[:, -1].mean()),
        float(stopped[:, -1].mean()),
        by_day,
        p_values,
    )


_COUNTRIES = ("US", "GB", "DE", "FR", "JP", "BR", "IN")
_COUNTRY_SHARE = (0.38, 0.14, 0.12, 0.1, 0.09, 0.09, 0.08)


def bookstore_users(
    n: int = 40_000, *, premium_share: float = 0.15, seed: int = 12
) -> pd.DataFrame:
    """Seeded visitors of the bookstore: one row per user, columns usable as flag contexts.

    Columns: ``userId`` (``"u000001"``...), ``plan`` (``"premium"`` or ``"standard"``),
    ``country`` (ISO code), ``device`` (``"mobile"``/``"desktop"``), ``email``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n must be a positive whole number, got {n!r}.", where="n")
    rng = np.random.default_rng(seed)
    ids = np.char.add("u", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    plan = np.where(rng.random(n) < premium_share, "premium", "standard")
    country = rng.choice(_COUNTRIES, size=n, p=_COUNTRY_SHARE)
    device = np.where(rng.random(n) < 0.6, "mobile", "desktop")
    email = np.char.add(ids, "@example.com")
    return pd.DataFrame(
        {"userId": ids, "plan": plan, "country": country, "device": device, "email": email}
    ).astype("str")


def simulate_conversions(
    variants: Sequence[str] | np.ndarray,
    rates: Mapping[str, float],
    *,
    seed: int = 0,
) -> np.ndarray:
    """Whether each user converted, given the variant they saw and each variant's true rate.

    One uniform draw per user from a seeded generator, compared with the rate of the user's
    variant: vectorised, and the same users get the same draws whatever the rates.
    """
    names = np.asarray(variants, dtype=object)
    missing = sorted(set(names) - set(rates))
    if missing:
        raise InputError(
            f"No rate for variant(s) {missing}.",
            where="rates",
            hint=f"Give a rate for each of {sorted(set(names))}.",
        )
    for key, value in rates.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise InputError(f"The rate of {key!r} must be between 0 and 1, got {value!r}.")
    draws = np.random.default_rng(seed).random(len(names))
    table = pd.Series(rates, dtype=float)
    return draws < table.reindex(names).to_numpy()


def summarise(
    frame: pd.DataFrame, *, by: str = "variant", metrics: Sequence[str] = ("converted",)
) -> pd.DataFrame:
    """Users and event counts/rates per group: one row per value of ``by``."""
    missing = [c for c in (by, *metrics) if c not in frame.columns]
    if missing:
        raise InputError(f"The frame has no column(s) {missing}.", where="frame")
    grouped = frame.groupby(by, sort=True)
    out = pd.DataFrame({"users": grouped.size()})
    for metric in metrics:
        out[metric] = grouped[metric].sum().astype(int)
        out[f"{metric}_rate"] = out[metric] / out["users"]
    return out
