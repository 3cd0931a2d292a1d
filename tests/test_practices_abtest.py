"""Tests for the A/B-testing helpers, checked against scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize, proportions_ztest

from labs.errors import InputError
from labs.practices import abtest


def _closed_form_n(p1: float, p2: float, alpha: float, power: float) -> float:
    """n per group = 2((z_{1-α/2} + z_{power}) / h)² (an arcsine-transformed rate: variance 1/n)."""
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    return 2 * ((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) / h) ** 2


@pytest.mark.parametrize(
    ("baseline", "effect", "alpha", "power"),
    [(0.04, 0.10, 0.05, 0.8), (0.10, 0.05, 0.05, 0.9), (0.30, 0.2, 0.01, 0.8)],
)
def test_sample_size_matches_statsmodels_and_the_closed_form(baseline, effect, alpha, power):
    n = abtest.sample_size(baseline, effect, alpha=alpha, power=power)
    target = baseline * (1 + effect)
    reference = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(target, baseline), alpha=alpha, power=power
    )
    assert n == math.ceil(reference)
    assert n == pytest.approx(_closed_form_n(baseline, target, alpha, power), rel=0.002)
    assert abtest.power(n, baseline, effect, alpha=alpha) >= power - 1e-9


def test_sample_size_behaves():
    assert abtest.sample_size(0.04, 0.10) == 39455  # the docstring's example
    assert abtest.sample_size(0.04, 0.05) > abtest.sample_size(0.04, 0.10)  # smaller effect
    assert abtest.sample_size(0.04, 0.004, relative=False) == abtest.sample_size(0.04, 0.10)
    assert abtest.sample_size(0.04, 0.10, alternative="larger") < abtest.sample_size(0.04, 0.10)
    unequal = abtest.sample_size(0.04, 0.10, ratio=2)
    assert unequal < abtest.sample_size(0.04, 0.10)  # more treatment users, fewer control
    with pytest.raises(InputError, match="baseline"):
        abtest.sample_size(4, 0.1)
    with pytest.raises(InputError, match="outside"):
        abtest.sample_size(0.9, 0.5)


def test_two_proportion_test_matches_scipy_by_hand():
    a, na, b, nb = 400, 10_000, 470, 10_200
    result = abtest.two_proportion_test(a, na, b, nb)
    pa, pb = a / na, b / nb
    pooled = (a + b) / (na + nb)
    z = (pb - pa) / math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert result.p_value == pytest.approx(proportions_ztest([b, a], [nb, na])[1])
    q = stats.norm.ppf(0.975)
    se = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    assert result.difference_ci == pytest.approx((pb - pa - q * se, pb - pa + q * se))
    log_se = math.sqrt(1 / b - 1 / nb + 1 / a - 1 / na)
    ratio = pb / pa
    assert result.lift == pytest.approx(ratio - 1)
    assert result.lift_ci == pytest.approx(
        (ratio * math.exp(-q * log_se) - 1, ratio * math.exp(q * log_se) - 1), rel=1e-6
    )
    assert result.significant
    assert "significant at alpha = 0.05" in repr(result)


def test_no_difference_is_not_significant_and_bad_counts_are_refused():
    same = abtest.two_proportion_test(400, 10_000, 401, 10_000)
    assert not same.significant and same.lift_ci[0] < 0 < same.lift_ci[1]
    with pytest.raises(InputError, match="converted"):
        abtest.two_proportion_test(0, 100, 5, 100)
    with pytest.raises(InputError):
        abtest.two_proportion_test(5.5, 100, 5, 100)  # type: ignore[arg-type]


def test_guardrail_uses_the_one_sided_upper_bound_of_the_ratio():
    a, na, b, nb = 200, 20_000, 215, 20_000
    g = abtest.guardrail("payment errors", a, na, b, nb, margin=0.30)
    ratio = (b / nb) / (a / na)
    log_se = math.sqrt(1 / b - 1 / nb + 1 / a - 1 / na)
    upper = ratio * math.exp(stats.norm.ppf(0.95) * log_se) - 1
    assert g.upper_bound == pytest.approx(upper, rel=1e-6)
    assert g.change == pytest.approx(ratio - 1)
    assert g.passed  # +7.5% observed, at most ~+27% plausible, under +30%
    strict = abtest.guardrail("payment errors", a, na, b, nb, margin=0.10)
    assert not strict.passed  # "not significantly worse" is not enough with this few events
    assert "BREACHED" in repr(strict)
    with pytest.raises(InputError, match="needs events"):
        abtest.guardrail("x", 0, 100, 1, 100)


def test_decide():
    win = abtest.two_proportion_test(400, 10_000, 480, 10_000)
    flat = abtest.two_proportion_test(400, 10_000, 405, 10_000)
    loss = abtest.two_proportion_test(480, 10_000, 400, 10_000)
    safe = abtest.guardrail("errors", 100, 10_000, 100, 10_000, margin=0.5)
    harm = abtest.guardrail("errors", 100, 10_000, 160, 10_000, margin=0.1)
    assert abtest.decide(win, [safe]).verdict == "ship"
    assert abtest.decide(win, [safe, harm]).verdict == "don't ship"
    assert abtest.decide(flat, [safe]).verdict == "don't ship"
    assert abtest.decide(loss).verdict == "don't ship"
    assert abtest.decide(win, min_lift=0.5).verdict == "don't ship"
    text = repr(abtest.decide(win, [harm]))
    assert text.startswith("Decision: don't ship") and "breached" in text


def test_peeking_inflates_false_positives_and_one_look_does_not():
    result = abtest.simulate_peeking(2000, 28, seed=1)
    assert result.p_values.shape == (2000, 28)
    assert abs(result.false_positive_end - 0.05) < 0.015  # about alpha
    assert result.false_positive_peeking > 0.15  # several times alpha
    assert result.by_day["stopped_by_now"].is_monotonic_increasing
    assert result.by_day["stopped_by_now"].iloc[-1] == result.false_positive_peeking
    assert result.by_day.index.tolist() == list(range(1, 29))
    again = abtest.simulate_peeking(2000, 28, seed=1)
    assert np.array_equal(result.p_values, again.p_values)
    assert "a look every day" in repr(result)


def test_peeking_p_values_are_the_pooled_z_tests_of_statsmodels():
    users = 300
    result = abtest.simulate_peeking(50, 10, users_per_day=users, rate=0.1, seed=4)
    rng = np.random.default_rng(4)
    daily = rng.binomial(users, 0.1, size=(50, 10, 2)).cumsum(axis=1)
    for e, d in [(0, 0), (3, 4), (49, 9)]:
        n = users * (d + 1)
        _, p = proportions_ztest([daily[e, d, 1], daily[e, d, 0]], [n, n])
        assert result.p_values[e, d] == pytest.approx(p)


def test_bookstore_users_and_conversions_are_seeded():
    users = abtest.bookstore_users(20_000)
    assert users.equals(abtest.bookstore_users(20_000))
    assert list(users.columns) == ["userId", "plan", "country", "device", "email"]
    assert users["userId"].iloc[0] == "u000001" and users["userId"].is_unique
    assert abs((users["plan"] == "premium").mean() - 0.15) < 0.01
    variants = np.where(np.arange(20_000) % 2 == 0, "A", "B")
    converted = abtest.simulate_conversions(variants, {"A": 0.04, "B": 0.06}, seed=2)
    frame = pd.DataFrame({"variant": variants, "converted": converted})
    table = abtest.summarise(frame)
    assert table.loc["A", "users"] == 10_000
    assert abs(table.loc["A", "converted_rate"] - 0.04) < 0.006
    assert abs(table.loc["B", "converted_rate"] - 0.06) < 0.006
    with pytest.raises(InputError, match="No rate"):
        abtest.simulate_conversions(["A", "C"], {"A": 0.1})
    with pytest.raises(InputError, match="no column"):
        abtest.summarise(frame, metrics=("refunded",))


# --------------------------------------------------------------------------------------------
# Exercises 2 and 3: their checks, graded both ways
# --------------------------------------------------------------------------------------------

ONE_CLICK = {
    "users_a": 25_000, "converted_a": 1_000, "errors_a": 250,
    "users_b": 25_000, "converted_b": 1_125, "errors_b": 300,
}  # fmt: skip
RIGHT = {"lift": 0.125, "significant": True, "guardrail_holds": False, "decision": "don't ship"}


def test_experiment_size_check(capsys):
    from labs.errors import CheckFailed
    from labs.practices import checks

    expected = abtest.sample_size(0.12, 0.05, power=0.9)
    checks.experiment_size(expected, baseline=0.12, minimum_detectable_effect=0.05, power=0.9)
    assert "✔" in capsys.readouterr().out
    for wrong, phrase in ((None, "no answer"), (2 * expected, "both groups"), (1000, "about"),
                          ("many", "a number")):  # fmt: skip
        with pytest.raises(CheckFailed, match=phrase):
            checks.experiment_size(wrong, baseline=0.12, minimum_detectable_effect=0.05, power=0.9)


def test_ship_decision_check(capsys):
    from labs.errors import CheckFailed
    from labs.practices import checks

    checks.ship_decision(RIGHT, ONE_CLICK)
    checks.ship_decision({**RIGHT, "decision": "Do not ship"}, ONE_CLICK)
    assert capsys.readouterr().out.count("✔ the decision: don't ship") == 2
    wrong_answers = [
        (None, "no answer"),
        ("don't ship", "a dict"),
        ({"decision": "ship"}, "missing"),
        ({**RIGHT, "lift": 0.005}, "difference in points"),
        ({**RIGHT, "significant": False}, "significant"),
        ({**RIGHT, "guardrail_holds": True}, "guardrail holds"),
        ({**RIGHT, "decision": "ship"}, "expected: don't ship"),
    ]
    for answer, phrase in wrong_answers:
        with pytest.raises(CheckFailed, match=phrase):
            checks.ship_decision(answer, ONE_CLICK)
