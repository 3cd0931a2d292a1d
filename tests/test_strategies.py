"""Branching strategies simulated (labs.cicd.strategies) and the checks built on them."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from labs.cicd import checks, strategies
from labs.cicd.strategies import COLUMNS, STRATEGIES, Team
from labs.errors import CheckFailed, InputError

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def merges() -> pd.DataFrame:
    return strategies.simulate_all(Team(), seed=7)


# --- determinism and shape --------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_seed_same_frame_other_seed_other_frame(strategy: str) -> None:
    a = strategies.simulate(strategy, Team(), seed=3)
    b = strategies.simulate(strategy, Team(), seed=3)
    pd.testing.assert_frame_equal(a, b)
    c = strategies.simulate(strategy, Team(), seed=4)
    assert not a["branch_age_days"].equals(c["branch_age_days"])


def test_simulate_all_is_the_three_simulations_stacked(merges: pd.DataFrame) -> None:
    for name in STRATEGIES:
        alone = strategies.simulate(name, Team(), seed=7)
        mine = merges[merges["strategy"] == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone, mine)


def test_frame_columns_and_invariants(merges: pd.DataFrame) -> None:
    assert list(merges.columns) == list(COLUMNS)
    assert merges["conflict"].dtype == bool
    for column in ("branch_age_days", "integration_delay_days", "lead_time_days"):
        assert (merges[column] > 0).all(), column
    np.testing.assert_allclose(
        merges["branch_age_days"], merges["merged_day"] - merges["created_day"]
    )
    assert (merges["ready_day"] <= merges["merged_day"]).all()
    assert (merges["merged_day"] <= merges["in_main_day"]).all()
    assert (merges["in_main_day"] < merges["deployed_day"]).all()
    # Work starts within the simulated days (a trunk-based change's later slices may not).
    assert (merges.loc[merges["part"] == 1, "created_day"] < Team().days).all()


def test_every_strategy_does_the_same_work(merges: pd.DataFrame) -> None:
    work = merges.groupby(["strategy", "change"])["size_hours"].sum().unstack(0)
    np.testing.assert_allclose(work["trunk-based"], work["github-flow"])
    np.testing.assert_allclose(work["gitflow"], work["github-flow"])


def test_trunk_based_merges_slices_of_at_most_batch_hours() -> None:
    team = Team(batch_hours=3)
    trunk = strategies.simulate("trunk-based", team, seed=1)
    assert (trunk["size_hours"] <= 3 + 1e-9).all()
    assert (trunk.groupby("change")["part"].max() == trunk.groupby("change")["parts"].first()).all()
    assert (trunk["parts"] > 1).any()
    flow = strategies.simulate("github-flow", team, seed=1)
    assert (flow["parts"] == 1).all() and len(trunk) > len(flow)


def test_github_flow_and_gitflow_share_their_feature_branches(merges: pd.DataFrame) -> None:
    flow = merges[merges["strategy"] == "github-flow"].sort_values("change")
    gitflow = merges[merges["strategy"] == "gitflow"].sort_values("change")
    np.testing.assert_allclose(flow["branch_age_days"], gitflow["branch_age_days"])
    assert (flow["conflict"].to_numpy() == gitflow["conflict"].to_numpy()).all()


def test_gitflow_reaches_production_only_with_releases() -> None:
    team = Team(release_every_days=5, hardening_days=1)
    gitflow = strategies.simulate("gitflow", team, seed=2)
    cadence = team.release_every_days
    cuts = gitflow["in_main_day"] - team.hardening_days
    np.testing.assert_allclose(cuts / cadence, np.round(cuts / cadence), atol=1e-9)
    assert (cuts >= gitflow["merged_day"] - 1e-9).all()
    assert gitflow["deployed_day"].nunique() == cuts.nunique()


# --- what the simulation shows ----------------------------------------------------------------


def test_conflict_rate_rises_with_branch_age() -> None:
    pooled = pd.concat(
        [strategies.simulate("github-flow", Team(developers=12), seed=s) for s in range(4)]
    )
    rates = strategies.conflict_rate_by_age(pooled)
    counts = pd.cut(pooled["branch_age_days"], list(strategies.AGE_BINS_DAYS), right=False)
    enough = counts.value_counts(sort=False).to_numpy() >= 30
    filled = rates.to_numpy()[enough]
    assert len(filled) >= 3
    assert (np.diff(filled) > 0).all(), filled


@pytest.mark.parametrize("seed", [1, 7, 11])
def test_trunk_based_beats_gitflow_on_branch_age_and_lead_time(seed: int) -> None:
    table = strategies.compare(Team(), seed=seed)
    assert list(table.index) == list(STRATEGIES)
    trunk, gitflow, flow = table.loc["trunk-based"], table.loc["gitflow"], table.loc["github-flow"]
    assert trunk["median_branch_age_days"] < gitflow["median_branch_age_days"]
    assert trunk["median_lead_time_days"] < gitflow["median_lead_time_days"]
    assert trunk["p90_lead_time_days"] < gitflow["p90_lead_time_days"]
    assert trunk["conflict_rate"] < gitflow["conflict_rate"]
    assert flow["median_lead_time_days"] < gitflow["median_lead_time_days"]
    assert gitflow["median_integration_delay_days"] > flow["median_integration_delay_days"]
    assert gitflow["deploys_per_day"] <= 1 / Team().release_every_days + 1e-9


def test_more_developers_and_fewer_files_mean_more_conflicts() -> None:
    def rate(team: Team) -> float:
        return float(
            np.mean(
                [
                    strategies.compare(team, seed=s).loc["github-flow", "conflict_rate"]
                    for s in range(3)
                ]
            )
        )

    small, big = rate(Team(developers=3)), rate(Team(developers=20))
    assert small < big
    assert rate(Team(files=2000, hotspot=0)) < rate(Team(files=40))


def test_slower_reviews_mean_older_branches() -> None:
    quick = strategies.compare(Team(review_delay_hours=1), seed=5)
    slow = strategies.compare(Team(review_delay_hours=24), seed=5)
    assert (
        slow.loc["github-flow", "median_branch_age_days"]
        > quick.loc["github-flow", "median_branch_age_days"] + 1
    )


def test_conflict_rate_by_age_matches_a_manual_count(merges: pd.DataFrame) -> None:
    flow = merges[merges["strategy"] == "github-flow"]
    rates = strategies.conflict_rate_by_age(flow)
    assert len(rates) == len(strategies.AGE_BINS_DAYS) - 1
    young = flow[flow["branch_age_days"] < 1]
    old = flow[flow["branch_age_days"] >= 4]
    manual_old = old["conflict"].mean()
    assert math.isclose(rates.iloc[-1], manual_old)
    by_hand = young[young["branch_age_days"] >= 0.5]["conflict"].mean()
    assert math.isclose(rates.iloc[1], by_hand)


def test_plots_have_titles_and_labelled_axes(merges: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    for plot in (
        strategies.plot_branch_age,
        strategies.plot_conflicts_by_age,
        strategies.plot_lead_time,
    ):
        fig = plot(merges)
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert "days" in ax.get_xlabel() + ax.get_ylabel()
        plt.close(fig)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("developers", 0, "whole number of at least 1"),
        ("developers", 2.5, "whole number of at least 1"),
        ("days", True, "whole number of at least 1"),
        ("files", "many", "whole number of at least 1"),
        ("review_delay_hours", -1, "0 or more"),
        ("change_hours_median", 0, "greater than 0"),
        ("batch_hours", 0, "greater than 0"),
        ("conflict_per_overlap", math.nan, "finite number"),
        ("hotspot", "high", "must be a number"),
    ],
)
def test_team_validation_names_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        Team(**{field: value})
    assert f"Team.{field}" in str(info.value)


def test_too_big_a_team_is_refused_with_a_hint() -> None:
    with pytest.raises(InputError, match="developer-days") as info:
        Team(developers=500, days=365)
    assert "fewer days" in str(info.value)


def test_simulate_errors() -> None:
    with pytest.raises(InputError, match="Unknown branching strategy 'svn'") as info:
        strategies.simulate("svn", seed=1)
    assert "trunk-based" in str(info.value)
    with pytest.raises(InputError, match="seed"):
        strategies.simulate("gitflow", seed=-1)
    with pytest.raises(InputError, match="team must be a Team"):
        strategies.compare({"developers": 3}, seed=1)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no column 'conflict'"):
        strategies.conflict_rate_by_age(pd.DataFrame({"branch_age_days": [1.0]}))
    with pytest.raises(InputError, match="needs a DataFrame"):
        strategies.plot_lead_time([1, 2, 3])  # type: ignore[arg-type]


def test_strategy_names_accept_common_spellings() -> None:
    assert strategies.strategy_name("Trunk") == "trunk-based"
    assert strategies.strategy_name("git_flow") == "gitflow"
    assert strategies.strategy_name("GitHub Flow") == "github-flow"


# --- checks of exercises 2 and 3 --------------------------------------------------------------

STATED = Team(
    developers=16,
    files=80,
    hotspot=1.2,
    change_hours_median=16,
    review_delay_hours=8,
    sync_review_hours=4,
)
LIMITS = {"seed": 7, "max_p90_lead_time_days": 3, "max_conflict_rate": 0.40}


def test_strategy_choice_check_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CheckFailed, match="no answer yet"):
        checks.strategy_choice(None, STATED, **LIMITS)
    with pytest.raises(CheckFailed, match="not a strategy the simulation knows"):
        checks.strategy_choice("svn", STATED, **LIMITS)
    with pytest.raises(CheckFailed, match="p90 lead time") as info:
        checks.strategy_choice("gitflow", STATED, **LIMITS)
    assert "release branch" in str(info.value)
    with pytest.raises(CheckFailed, match="conflict"):
        checks.strategy_choice("github-flow", STATED, **LIMITS)
    checks.strategy_choice("trunk-based", STATED, **LIMITS)
    assert capsys.readouterr().out.startswith("✔ trunk-based")


def test_strategy_choice_explains_a_qualifying_but_slower_choice() -> None:
    loose = {"seed": 7, "max_p90_lead_time_days": 100, "max_conflict_rate": 1.0}
    with pytest.raises(CheckFailed, match="meets both limits, but another strategy"):
        checks.strategy_choice("github-flow", STATED, **loose)


def test_conflict_rates_check_both_ways(
    merges: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = merges[merges["strategy"] == "github-flow"]

    def stub(frame: pd.DataFrame) -> None:
        return None

    def unwritten(frame: pd.DataFrame) -> pd.Series:
        raise NotImplementedError()

    def right_closed(frame: pd.DataFrame) -> pd.Series:
        buckets = pd.cut(frame["branch_age_days"], list(strategies.AGE_BINS_DAYS))
        return frame.groupby(buckets, observed=False)["conflict"].mean()

    def solution(frame: pd.DataFrame) -> pd.Series:
        buckets = pd.cut(frame["branch_age_days"], list(strategies.AGE_BINS_DAYS), right=False)
        return frame.groupby(buckets, observed=False)["conflict"].mean()

    with pytest.raises(CheckFailed, match="returned None"):
        checks.conflict_rates(stub, flow)
    with pytest.raises(CheckFailed, match="not written yet"):
        checks.conflict_rates(unwritten, flow)
    with pytest.raises(CheckFailed, match="per branch-age bucket") as info:
        checks.conflict_rates(lambda frame: [0.5, 0.5], flow)
    assert "expected" in str(info.value)
    checks.conflict_rates(solution, flow)
    assert capsys.readouterr().out.startswith("✔")
    # A right-closed cut differs only where an age sits exactly on an edge: never, with
    # continuous ages, so it passes too — the check compares values, not the index.
    checks.conflict_rates(right_closed, flow)
