"""Figures: a pipeline's stages and actions left to right; executions over simulated time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from labs.cicd.pipeline.executor import Execution
from labs.cicd.pipeline.model import PipelineDefinition

__all__ = ["STATUS_COLOURS", "draw", "timeline"]

STATUS_COLOURS = {
    "Succeeded": "#1a9850",
    "Failed": "#d73027",
    "InProgress": "#4575b4",
    "Stopped": "#878787",
    "Stopping": "#878787",
    "Abandoned": "#878787",
    "Cancelled": "#bababa",
    "Superseded": "#bababa",
}
"""The colour of each execution, stage and action status."""
_ABOVE = 0.38  # waiting lines and crosses sit just above a stage's bars
_CATEGORY_COLOURS = {
    "Source": "#deebf7",
    "Build": "#fee8c8",
    "Test": "#fff7bc",
    "Approval": "#f2f0f7",
    "Deploy": "#e5f5e0",
    "Invoke": "#f0f0f0",
    "Compute": "#f0f0f0",
}


def draw(definition: PipelineDefinition, *, title: str | None = None) -> Any:
    """Draw the pipeline: stages left to right, each stage's ``runOrder`` groups left to right,
    parallel actions stacked, with each action's category, provider and artifacts.

    Returns:
        The matplotlib figure (end the cell with ``plt.show()``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    columns = [len(stage.run_orders) for stage in definition.stages]
    tallest = max(len(stage.group(o)) for stage in definition.stages for o in stage.run_orders)
    box_w, box_h, gap, stage_gap = 2.3, 1.05, 0.25, 0.9
    widths = [c * box_w + (c - 1) * gap + 0.4 for c in columns]
    total_w = sum(widths) + stage_gap * (len(widths) - 1)
    height = tallest * box_h + (tallest - 1) * gap + 0.9
    fig, ax = plt.subplots(figsize=(max(7.0, total_w * 1.05), 1.0 + height * 1.05))
    x = 0.0
    previous_right = None
    for stage, width in zip(definition.stages, widths, strict=True):
        ax.add_patch(
            FancyBboxPatch(
                (x, 0),
                width,
                height,
                boxstyle="round,pad=0.02,rounding_size=0.15",
                facecolor="#fafafa",
                edgecolor="#636363",
                linewidth=1.2,
            )
        )
        ax.text(
            x + width / 2,
            height - 0.3,
            stage.name,
            ha="center",
            va="center",
            fontsize=10,
            fontweight="bold",
        )
        ax_x = x + 0.2
        for order in stage.run_orders:
            group = stage.group(order)
            used = len(group) * box_h + (len(group) - 1) * gap
            top = (height - 0.6 + used) / 2
            for i, action in enumerate(group):
                y = top - (i + 1) * box_h - i * gap
                ax.add_patch(
                    FancyBboxPatch(
                        (ax_x, y),
                        box_w,
                        box_h,
                        boxstyle="round,pad=0.02,rounding_size=0.1",
                        facecolor=_CATEGORY_COLOURS.get(action.category, "#f0f0f0"),
                        edgecolor="#969696",
                    )
                )
                lines = [
                    f"{action.name}  (runOrder {action.run_order})",
                    f"{action.category} · {action.provider}",
                ]
                if action.input_artifacts:
                    lines.append("in: " + ", ".join(action.input_artifacts))
                if action.output_artifacts:
                    lines.append("out: " + ", ".join(action.output_artifacts))
                ax.text(
                    ax_x + box_w / 2,
                    y + box_h / 2,
                    "\n".join(lines),
                    ha="center",
                    va="center",
                    fontsize=7.5,
                )
            ax_x += box_w + gap
        if previous_right is not None:
            ax.add_patch(
                FancyArrowPatch(
                    (previous_right + 0.05, height / 2),
                    (x - 0.05, height / 2),
                    arrowstyle="-|>",
                    mutation_scale=14,
                    color="#636363",
                )
            )
        previous_right = x + width
        x += width + stage_gap
    ax.set_xlim(-0.2, total_w + 0.2)
    ax.set_ylim(-0.2, height + 0.2)
    ax.set_axis_off()
    ax.set_title(
        title
        or f"Pipeline {definition.name} ({definition.pipeline_type}, "
        f"{definition.execution_mode}): stages run left to right"
    )
    fig.tight_layout()
    return fig


def timeline(
    executions: Iterable[Execution],
    definition: PipelineDefinition,
    *,
    title: str = "Pipeline executions over simulated time",
) -> Any:
    """Draw each execution's passage through the stages over simulated time.

    One row per stage; a bar per execution in it, coloured by how the stage ended for that
    execution and labelled with the execution's number; a dashed line just above a stage where an
    execution waited in front of it while it was locked, ending in a cross if a newer execution
    superseded it; a triangle where a commit arrived.

    Returns:
        The matplotlib figure (end the cell with ``plt.show()``).
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    runs = list(executions)
    stages = definition.stage_names
    row = {name: len(stages) - 1 - i for i, name in enumerate(stages)}
    fig, ax = plt.subplots(figsize=(11, 1.0 + 0.75 * len(stages)))
    wait = {"color": "#969696", "linewidth": 1.2, "linestyle": (0, (2, 1.5))}
    for execution in runs:
        ready = execution.triggered  # when it could enter its next stage
        passed = [r for r in execution.stage_runs.values() if r.stage in row]
        for run in passed:
            if run.start > ready:  # waited in front of a locked stage
                ax.plot([ready, run.start], [row[run.stage] + _ABOVE] * 2, **wait)
            end = run.end or execution.updated or run.start
            width = max((end - run.start).total_seconds() / 86400.0, 0.5 / 1440)
            ax.barh(
                row[run.stage],
                width,
                left=mdates.date2num(run.start),
                height=0.55,
                color=STATUS_COLOURS.get(run.status, "#969696"),
                edgecolor="white",
                linewidth=0.5,
            )
            if width >= 3 / 1440:  # room for the number
                ax.text(
                    mdates.date2num(run.start) + width / 2,
                    row[run.stage],
                    str(execution.number),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white",
                )
            ready = end
        if execution.status == "Superseded":
            where = stages[min(execution.stage_index, len(stages) - 1)]
            ax.plot([ready, execution.updated], [row[where] + _ABOVE] * 2, **wait)
            ax.plot(
                execution.updated,
                row[where] + _ABOVE,
                marker="x",
                color="#d73027",
                markersize=7,
                markeredgewidth=2,
            )
        ax.plot(execution.triggered, len(stages) - 0.35, marker="v", color="#636363", markersize=5)
    ax.set_yticks(range(len(stages)), list(reversed(stages)))
    ax.set_ylim(-0.6, len(stages) - 0.1)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_xlabel("simulated time (UTC, hours:minutes); ▼ a commit arrives")
    ax.set_ylabel("stage")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=STATUS_COLOURS[s])
        for s in ("Succeeded", "Failed", "InProgress")
    ]
    handles.append(plt.Line2D([], [], **wait))
    handles.append(plt.Line2D([], [], marker="x", color="#d73027", linestyle="", markeredgewidth=2))
    ax.legend(
        handles,
        ["stage succeeded", "stage failed", "in progress", "waiting for a stage", "superseded"],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
    )
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def executions_between(executions: Iterable[Execution], start: Any, end: Any) -> list[Execution]:
    """The executions triggered in ``[start, end)`` (simulated time)."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    return [e for e in executions if lo <= e.triggered < hi]
