"""Tests for the traffic simulator, the simulated clock and the metric ledger."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from labs.bookstore import LATENCY_BASELINES
from labs.errors import InputError
from labs.observability import published
from labs.observability.clock import CLOCK_PARAMETER, EPOCH, SimClock
from labs.observability.published import MetricStore
from labs.observability.traffic import (
    BIN_VALUES,
    N_BINS,
    UNAVAILABLE,
    TrafficSimulator,
    histogram_percentiles,
    publish,
)

T0 = pd.Timestamp("2026-01-05T09:00:00Z")


def _run(seed: int, minutes: int = 5, weights: dict | None = None, **kwargs) -> pd.DataFrame:
    sim = TrafficSimulator(seed=seed, **kwargs)
    shares = weights or {"v1": 90, "v2-bad": 10}
    frame = pd.DataFrame([shares] * minutes, index=pd.date_range(T0, periods=minutes, freq="min"))
    return sim.run(frame)


def test_same_seed_same_traffic_and_other_seed_differs():
    a, b, c = _run(7), _run(7), _run(8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["requests"].equals(c["requests"])


def test_error_fraction_is_near_the_fault_switch_rate():
    frame = _run(1, minutes=20, weights={"v2-bad": 1.0})
    bad = frame[frame["version"] == "v2-bad"]
    n, errors = bad["requests"].sum(), bad["errors"].sum()
    rate = errors / n
    assert abs(rate - 0.25) < 4 * math.sqrt(0.25 * 0.75 / n)
    assert bad["fault_errors"].sum() == errors  # no background failures by default


def test_background_errors_touch_every_version_but_are_not_fault_errors():
    frame = _run(2, minutes=20, weights={"v1": 1.0}, background_error_rate=0.01)
    v1 = frame[frame["version"] == "v1"]
    assert v1["fault_errors"].sum() == 0
    assert 0.008 < v1["errors"].sum() / v1["requests"].sum() < 0.012


def test_requests_split_by_weight_and_rate():
    frame = _run(3, minutes=30, requests_per_second=100.0)
    per_version = frame[frame["version"] != "all"].groupby("version")["requests"].sum()
    total = per_version.sum()
    assert abs(total - 30 * 60 * 100) < 4 * math.sqrt(30 * 60 * 100)
    assert abs(per_version["v2-bad"] / total - 0.10) < 0.01


def test_latency_percentiles_follow_the_bookstore_baseline_and_fault():
    frame = _run(4, minutes=10, weights={"v1": 1.0, "v2-bad": 1.0}, requests_per_second=500.0)
    base = LATENCY_BASELINES["orders"]
    v1 = frame[frame["version"] == "v1"]
    assert v1["p50_ms"].median() == pytest.approx(base.median_ms, rel=0.03)
    assert v1["p99_ms"].median() == pytest.approx(base.p99_ms, rel=0.05)
    bad = frame[frame["version"] == "v2-bad"]
    assert bad["p50_ms"].median() == pytest.approx(base.median_ms + 400, rel=0.03)


def test_unavailable_traffic_fails_and_has_no_latency():
    sim = TrafficSimulator(seed=5)
    period = sim.step(T0, {"v1": 1, UNAVAILABLE: 1})
    i = period.versions.index(UNAVAILABLE)
    assert period.errors[i] == period.requests[i] > 0
    assert period.histograms[i].sum() == 0
    assert sim.users_affected(UNAVAILABLE) > 0
    assert sim.users_affected("v1") == 0


def test_users_affected_counts_distinct_users_of_fault_failures():
    sim = TrafficSimulator(seed=6, users=50)
    for minute in range(3):
        sim.step(T0 + pd.Timedelta(minutes=minute), {"v2-bad": 1})
    assert sim.users_affected("v2-bad") == 50  # thousands of failures over 50 users
    assert sim.users_affected() == 50


def test_histogram_percentiles_nearest_rank_and_empty():
    hist = np.zeros((2, N_BINS), dtype=int)
    hist[0, 100], hist[0, 200] = 99, 1
    out = histogram_percentiles(hist, (50, 99, 100))
    assert out[0, 0] == BIN_VALUES[100] and out[0, 1] == BIN_VALUES[100]
    assert out[0, 2] == BIN_VALUES[200]
    assert np.isnan(out[1]).all()


def test_metric_data_and_the_ledger_agree_with_the_period():
    sim = TrafficSimulator(seed=9)
    period = sim.step(T0, {"v1": 80, "v2-slow": 20})
    datums = period.metric_data()
    assert all(len(d.get("Values", ())) <= published.MAX_VALUES_PER_DATUM for d in datums)
    store = MetricStore()
    store.add("Bookstore", datums)
    service = {"Service": "orders"}
    assert store.statistic("Bookstore", "Requests", service, T0, 60, "Sum") == period.total_requests
    assert store.statistic("Bookstore", "Latency", service, T0, 60, "p99") == pytest.approx(
        period.percentiles()["p99"]
    )
    assert store.statistic("Bookstore", "Latency", service, T0, 60, "SampleCount") == (
        period.total_requests
    )
    slow = {"Service": "orders", "Version": "v2-slow"}
    assert store.statistic("Bookstore", "Latency", slow, T0, 60, "p50") > 900
    assert math.isnan(
        store.statistic("Bookstore", "Latency", service, T0 + pd.Timedelta("1h"), 60, "p99")
    )
    stats = [d for d in period.metric_data("statistics") if d["MetricName"] == "Latency"]
    assert len(stats) == 3 and all("StatisticValues" in d for d in stats)


def test_statistic_sets_have_no_percentiles_and_bad_statistics_are_refused():
    store = MetricStore()
    summary = {"SampleCount": 2, "Sum": 30, "Minimum": 10, "Maximum": 20}
    datum = {"MetricName": "Latency", "Timestamp": T0, "StatisticValues": summary}
    store.add("Bookstore", [datum])
    assert store.statistic("Bookstore", "Latency", [], T0, 60, "Average") == 15
    assert math.isnan(store.statistic("Bookstore", "Latency", [], T0, 60, "p99"))
    with pytest.raises(InputError, match="Unknown statistic"):
        store.statistic("Bookstore", "Latency", [], T0, 60, "median")


def test_put_metric_data_splits_calls_within_the_api_limits():
    calls = []
    cloudwatch = SimpleNamespace(put_metric_data=lambda **kw: calls.append(len(kw["MetricData"])))
    ctx = SimpleNamespace(client=lambda service: cloudwatch, is_local=False, endpoint=None)
    datums = [{"MetricName": "Requests", "Value": 1.0, "Timestamp": T0}] * 2500
    assert published.put_metric_data(ctx, "Bookstore", datums) == 3
    assert calls == [1000, 1000, 500]
    with pytest.raises(InputError, match="at most 150"):
        published.put_metric_data(ctx, "B", [{"MetricName": "L", "Values": [1.0] * 151}])


def test_simulator_refuses_bad_input():
    with pytest.raises(InputError):
        TrafficSimulator(service="shipping")
    with pytest.raises(InputError):
        TrafficSimulator(background_error_rate=1.5)
    with pytest.raises(InputError):
        TrafficSimulator().step(T0, {"v1": 0})


def test_clock_starts_at_the_epoch_and_only_moves_forward():
    clock = SimClock()
    assert clock.now == EPOCH == pd.Timestamp("2026-01-05T09:00:00Z")
    assert clock.advance(90) == EPOCH + pd.Timedelta(seconds=90)
    assert clock.elapsed_minutes == 1.5
    with pytest.raises(InputError):
        clock.advance(-1)
    assert SimClock.reserve(None, 30).now == EPOCH


def test_clock_reservations_never_overlap_on_the_emulator(ctx):
    first = SimClock.reserve(ctx, 40)
    second = SimClock.reserve(ctx, 40)
    assert second.start >= first.start + pd.Timedelta(minutes=40)
    assert second.start.minute == 0  # windows start on the hour
    value = ctx.client("ssm").get_parameter(Name=CLOCK_PARAMETER)["Parameter"]["Value"]
    assert pd.Timestamp(value) > second.start


def test_publish_reaches_the_emulator_and_the_ledger(ctx):
    clock = SimClock.reserve(ctx, 5)
    sim = TrafficSimulator(seed=11, service="catalog")
    period = sim.step(clock.now, {"v1": 1})
    publish(ctx, period)
    cloudwatch = ctx.client("cloudwatch")
    dims = [{"Name": "Service", "Value": "catalog"}]
    window = {"StartTime": clock.now, "EndTime": clock.now + pd.Timedelta(minutes=1)}

    def metric_data(name: str, stat: str) -> list[float]:
        metric = {"Namespace": "Bookstore", "MetricName": name, "Dimensions": dims}
        query = {"Id": "q", "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat}}
        return cloudwatch.get_metric_data(MetricDataQueries=[query], **window)["MetricDataResults"][
            0
        ]["Values"]

    assert metric_data("Requests", "Sum") == [period.total_requests]
    assert metric_data("Latency", "SampleCount") == [period.total_requests]
    # The emulator's get_metric_statistics matches dimensions as a subset: {Service} also sums
    # {Service, Version}. CloudWatch matches exactly; the alarm runner uses get_metric_data.
    mixed = cloudwatch.get_metric_statistics(
        Namespace="Bookstore", MetricName="Requests", Dimensions=dims, Period=60,
        Statistics=["Sum"], **window,
    )  # fmt: skip
    assert [p["Sum"] for p in mixed["Datapoints"]] == [2 * period.total_requests]
    p99 = published.ledger(ctx).statistic("Bookstore", "Latency", dims, clock.now, 60, "p99")
    assert p99 == pytest.approx(period.percentiles()["p99"])
