"""Figures of deployment runs: traffic share, error rate and alarm state over simulated minutes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ALARM_LEVELS", "timeline", "timelines"]

ALARM_LEVELS = {"no alarms": -1, "OK": 0, "INSUFFICIENT_DATA": 0.5, "ALARM": 1}
"""How alarm states are drawn: OK low, ALARM high."""


def _draw(axes: Sequence[Any], result: Any, label: str) -> None:
    frame = result.timeline
    minutes = frame["minute"]
    axes[0].step(minutes, frame["percent_new"], where="post", label=label)
    axes[1].step(minutes, frame["error_rate_pct"], where="post", label=label)
    axes[2].step(minutes, frame["alarm_state"].map(ALARM_LEVELS), where="post", label=label)


def timelines(results: Mapping[str, Any] | Sequence[Any], *, title: str = "") -> Any:
    """Draw several runs on shared axes: traffic on the release, error rate, alarm state.

    Args:
        results: Results, or a mapping label -> result (labels go in the legend).
        title: The figure's title.

    Returns:
        The matplotlib figure (end the cell with ``plt.show()``).
    """
    import matplotlib.pyplot as plt

    items = (
        list(results.items())
        if isinstance(results, Mapping)
        else [(r.strategy, r) for r in results]
    )
    fig, axes = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True, height_ratios=[3, 3, 1.4])
    for label, result in items:
        _draw(axes, result, label)
    axes[0].set_ylabel("traffic on release (%)")
    axes[0].set_ylim(-5, 105)
    axes[1].set_ylabel("error rate (%)")
    axes[2].set_ylabel("alarm")
    axes[2].set_yticks([0, 0.5, 1], ["OK", "INSUFF.", "ALARM"])
    axes[2].set_ylim(-0.2, 1.2)
    axes[2].set_xlabel("minutes since the deployment started (simulated)")
    for ax in axes:
        ax.axvline(0, color="grey", linewidth=0.8, linestyle=":")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="center right")
    fig.suptitle(title or "Deployment timelines")
    fig.tight_layout()
    return fig


def timeline(result: Any, *, title: str = "") -> Any:
    """Draw one run: traffic on the release, error rate and alarm state, with its events."""
    fig = timelines({result.release: result}, title=title or f"{result.strategy}: {result.status}")
    axes = fig.axes
    for minute in result.timeline.loc[
        result.timeline["event"].str.contains("rollback deployment"), "minute"
    ]:
        for ax in axes:
            ax.axvline(minute, color="tab:red", linewidth=0.8, alpha=0.6)
    return fig
