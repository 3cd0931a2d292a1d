"""What :func:`labs.dora.metrics` returns: one small frozen dataclass per metric, and the report.

The five metrics and their two groups follow DORA's guide (https://dora.dev/guides/dora-metrics/):
*throughput* — change lead time, deployment frequency, failed deployment recovery time — and
*instability* — change fail rate, deployment rework rate. Everything here is plain data with a
deterministic text and HTML form, so notebook outputs compare equal from run to run.
"""

from __future__ import annotations

import html
import math
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from labs.dora.tiers import (
    DAY_HOURS,
    MONTH_HOURS,
    NO_BANDS,
    TIERS,
    WEEK_HOURS,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DoraReport", "FrequencyMetric", "Metric", "format_hours", "plot_weekly"]

THROUGHPUT = "Throughput"
INSTABILITY = "Instability"


def format_hours(hours: float) -> str:
    """Say a duration given in hours the way a person would: minutes, hours or days.

    Args:
        hours: A duration in hours.

    Returns:
        ``"45 min"`` below an hour, ``"5.2 hours"`` below two days, ``"3.1 days"`` above.
    """
    if hours < 1.0:
        return f"{hours * 60:.0f} min"
    if hours < 2 * DAY_HOURS:
        return f"{hours:.1f} hours"
    return f"{hours / DAY_HOURS:.1f} days"


@dataclass(frozen=True)
class Metric:
    """One DORA metric over a window: its value, unit, 2024 tier and a sentence to show.

    Attributes:
        name: The metric's DORA name, e.g. ``"Change lead time"``.
        group: ``"Throughput"`` or ``"Instability"``.
        value: The number, or ``None`` when the window has no data for it.
        unit: The unit of ``value``: ``"hours"``, ``"deployments/day"`` or
            ``"share of deployments"`` (a fraction 0–1).
        tier: ``"Elite"``, ``"High"``, ``"Medium"``, ``"Low"``, or ``None`` (no data, or no
            2024 bands for this metric).
        display: The value in words, e.g. ``"median 5.2 hours over 40 changes"``, or why there
            is none (``"no deployments in window"``).
        n: How many items the value was computed from (changes, deployments or incidents).
    """

    name: str
    group: str
    value: float | None
    unit: str
    tier: str | None
    display: str
    n: int = 0

    @property
    def tier_label(self) -> str:
        """The tier as the table shows it: the tier, ``"n/a (no 2024 bands)"``, or ``"—"``."""
        if self.tier is not None:
            return self.tier
        if self.name == "Deployment rework rate" and self.value is not None:
            return NO_BANDS
        return "—"

    def __str__(self) -> str:
        return f"{self.name}: {self.display} [{self.tier_label}]"


@dataclass(frozen=True)
class FrequencyMetric(Metric):
    """Deployment frequency: deployments per day plus four-keys' daily/weekly/monthly/yearly bucket.

    Attributes:
        bucket: ``"daily"``, ``"weekly"``, ``"monthly"`` or ``"yearly"`` as four-keys computes
            it (see :func:`labs.dora.frequency_bucket`), ``None`` with no deployments.
    """

    bucket: str | None = None


def _fmt_time(ts: pd.Timestamp | None) -> str:
    return "—" if ts is None else ts.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class DoraReport:
    """The five DORA metrics over one window, each with its 2024 tier.

    Build it with :func:`labs.dora.metrics`. Show it with ``.table()`` (a DataFrame),
    ``.plot()`` (a matplotlib figure) or just by evaluating it in a notebook cell.

    Attributes:
        start: First instant of the window (inclusive), UTC; ``None`` for empty data.
        end: Last instant of the window (inclusive), UTC; ``None`` for empty data.
        lead_time: Change lead time (hours, median).
        deployment_frequency: Deployments per day, with the four-keys bucket.
        change_fail_rate: Share of deployments that failed (rolled back or caused an incident).
        recovery_time: Failed deployment recovery time (hours, median).
        rework_rate: Share of deployments that were unplanned fixes for an incident.
    """

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    lead_time: Metric
    deployment_frequency: FrequencyMetric
    change_fail_rate: Metric
    recovery_time: Metric
    rework_rate: Metric

    @property
    def all(self) -> tuple[Metric, ...]:
        """The five metrics, throughput first, in DORA's order."""
        return (
            self.lead_time,
            self.deployment_frequency,
            self.recovery_time,
            self.change_fail_rate,
            self.rework_rate,
        )

    def table(self) -> pd.DataFrame:
        """The metrics as a DataFrame: one row each; metric, value, unit, tier, group.

        ``value`` is NaN where a metric has no data; ``tier`` shows ``"—"`` then, and
        ``"n/a (no 2024 bands)"`` for deployment rework rate.
        """
        metrics = self.all
        return pd.DataFrame(
            {
                "metric": [m.name for m in metrics],
                "value": np.array(
                    [np.nan if m.value is None else m.value for m in metrics], dtype=float
                ),
                "unit": [m.unit for m in metrics],
                "tier": [m.tier_label for m in metrics],
                "group": [m.group for m in metrics],
            }
        )

    def _title(self) -> str:
        return f"DORA metrics, {_fmt_time(self.start)} – {_fmt_time(self.end)}"

    def __repr__(self) -> str:
        width = max(len(m.name) for m in self.all)
        tier_width = max(len(m.tier_label) for m in self.all)
        lines = [self._title()]
        group = None
        for m in self.all:
            if m.group != group:
                group = m.group
                lines.append(f"  {group}")
            lines.append(f"    {m.name:<{width}}  {m.tier_label:<{tier_width}}  {m.display}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for m in self.all:
            rows.append(
                "<tr>"
                f"<td>{html.escape(m.group)}</td><td>{html.escape(m.name)}</td>"
                f"<td>{html.escape(m.display)}</td><td><b>{html.escape(m.tier_label)}</b></td>"
                "</tr>"
            )
        return (
            '<table class="dora-report">'
            f"<caption>{html.escape(self._title())}</caption>"
            "<thead><tr><th>group</th><th>metric</th><th>value</th><th>2024 tier</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>"
        )

    def plot(self) -> Figure:
        """Draw each metric against its 2024 tier bands, one panel per metric.

        Time metrics and deployment frequency use a log scale with the Elite/High/Medium/Low
        bands shaded; the two rates are drawn in percent, change fail rate with a dashed line at
        each tier's stated 2024 value; rework rate has no bands. Each panel's x label is the
        metric's ``display``.

        Returns:
            A matplotlib figure (not registered with pyplot, so a notebook shows it once).
        """
        from matplotlib.figure import Figure  # imported here: plotting is optional

        fig = Figure(figsize=(15, 4.4), layout="constrained")
        axes = fig.subplots(1, 5)
        shades = dict(zip(TIERS, ("#1a9850", "#91cf60", "#fee08b", "#fc8d59"), strict=True))
        bands: dict[str, list[tuple[str, float, float]]] = {
            "Change lead time": [
                ("Elite", 0.1, DAY_HOURS),
                ("High", DAY_HOURS, WEEK_HOURS),
                ("Medium", WEEK_HOURS, MONTH_HOURS),
                ("Low", MONTH_HOURS, 6 * MONTH_HOURS),
            ],
            "Failed deployment recovery time": [
                ("Elite", 0.1, 1.0),
                ("High", 1.0, DAY_HOURS),
                ("Low", DAY_HOURS, MONTH_HOURS),
            ],
            "Deployment frequency": [
                ("Low", 1 / 183, DAY_HOURS / MONTH_HOURS),
                ("Medium", DAY_HOURS / MONTH_HOURS, 1 / 7),
                ("High", 1 / 7, 1.0),
                ("Elite", 1.0, 20.0),
            ],
        }
        for ax, m in zip(axes, self.all, strict=True):
            ax.set_title(f"{textwrap.fill(m.name, 22)}\n{m.tier_label}", fontsize=10)
            ax.set_xticks([])
            ax.set_xlim(0, 1)
            ax.set_xlabel(textwrap.fill(m.display, 30), fontsize=8)
            value = m.value
            if m.name in bands:
                ax.set_yscale("log")
                for tier, lo, hi in bands[m.name]:
                    ax.axhspan(lo, hi, color=shades[tier], alpha=0.35)
                    ax.text(
                        0.97,
                        math.sqrt(lo * hi),
                        tier,
                        ha="right",
                        va="center",
                        fontsize=8,
                        transform=ax.get_yaxis_transform(),
                    )
                low = min(lo for _, lo, _ in bands[m.name])
                high = max(hi for _, _, hi in bands[m.name])
                if value is not None and value > 0:
                    low, high = min(low, value / 2), max(high, value * 2)
                ax.set_ylim(low, high)
                ax.set_ylabel(f"{m.unit} (log scale)")
            else:  # the two rates, drawn in percent
                value = None if value is None else value * 100
                ax.set_ylim(0, max(50.0, (value or 0) * 1.2))
                ax.set_ylabel("% of deployments")
                if m.name == "Change fail rate":
                    for tier, stated in (("Elite", 5), ("Medium", 10), ("High", 20), ("Low", 40)):
                        ax.axhline(stated, color=shades[tier], linestyle="--", linewidth=1.5)
                        ax.text(
                            0.97,
                            stated,
                            f"{tier} {stated}%",
                            ha="right",
                            va="bottom",
                            fontsize=8,
                            transform=ax.get_yaxis_transform(),
                        )
            if value is None:
                ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            else:
                shown = max(value, ax.get_ylim()[0])  # a zero still shows on a log axis
                ax.plot([0.4], [shown], marker="o", markersize=10, color="black")
        fig.suptitle(self._title())
        return fig


def plot_weekly(frame: pd.DataFrame, *, title: str = "DORA metrics week by week") -> Figure:
    """Plot the frame :func:`labs.dora.weekly` returns: four panels sharing the week axis.

    Args:
        frame: The weekly frame (index ``week``; columns ``deployments``, ``lead_time_hours``,
            ``change_fail_rate``, ``recovery_hours``).
        title: The figure's title.

    Returns:
        A matplotlib figure (not registered with pyplot, so a notebook shows it once).
    """
    from matplotlib.figure import Figure  # imported here: plotting is optional

    fig = Figure(figsize=(10, 8), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    weeks = frame.index.tz_convert("UTC").tz_localize(None)
    axes[0].bar(weeks, frame["deployments"], width=6, align="edge", color="#4575b4")
    axes[0].set_ylabel("deployments\n(per week)")
    axes[0].set_title("Deployment frequency")
    axes[1].plot(weeks, frame["lead_time_hours"], marker="o", color="#4575b4")
    axes[1].set_ylabel("hours")
    axes[1].set_title("Change lead time (weekly median)")
    axes[2].plot(weeks, frame["change_fail_rate"] * 100, marker="o", color="#d73027")
    axes[2].set_ylabel("% of deployments")
    axes[2].set_title("Change fail rate")
    axes[3].plot(weeks, frame["recovery_hours"], marker="o", color="#d73027")
    axes[3].set_ylabel("hours")
    axes[3].set_title("Failed deployment recovery time (weekly median)")
    axes[3].set_xlabel("week starting (Monday, UTC)")
    fig.suptitle(title)
    return fig
