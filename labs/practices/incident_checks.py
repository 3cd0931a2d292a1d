"""*Check your work* for the incidents and postmortems lab, and the past incidents it uses.

Each check prints ``✔`` lines when the answer is right and otherwise raises
:class:`labs.errors.CheckFailed` with what was expected, what was found and a hint — also when
the exercise has not been answered yet (its variable still ``None``). Answers are judged by
what they mean: a severity by the matrix, a mean time to restore against each wrong
definition a learner might have used, action items by the rules of
:data:`labs.practices.incidents.ACTION_ITEM_RULES`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from labs.checks import answered, exercise, passed
from labs.errors import CheckFailed, InputError
from labs.practices import incidents

__all__ = [
    "SCENARIOS",
    "action_items_answer",
    "mttr_answer",
    "past_incidents",
    "severity_answers",
]

SCENARIOS: Mapping[str, tuple[str, float, str]] = {
    "A": (
        "Every order fails at payment for everyone, for 20 minutes.",
        100.0,
        "core down",
    ),
    "B": (
        "Book pages load in 4 s instead of 0.4 s for the 30% of users on the EU edge; "
        "browsing and ordering still work.",
        30.0,
        "core degraded",
    ),
    "C": (
        "Recommendations under book pages are empty for every user; browsing, ordering and "
        "paying work.",
        100.0,
        "non-core degraded",
    ),
    "D": (
        "Checkout fails for the 0.5% of users paying with a gift card; other payments work.",
        0.5,
        "core down",
    ),
}
"""Situations to classify: text, share of users affected (%), functionality degraded."""


@exercise("13", 1)
def severity_answers(answer: Any) -> None:
    """Check a ``{"A": "SEV…", …}`` classification of :data:`SCENARIOS` with the impact matrix."""
    what = "the severities of situations A to D"
    given = answered(answer, what, hint='Set answer = {"A": "SEV1", "B": ..., "C": ..., "D": ...}.')
    if not isinstance(given, Mapping):
        raise CheckFailed(what, expected="a dict such as {'A': 'SEV1', ...}", found=type(given))
    missing = [key for key in SCENARIOS if key not in given]
    if missing:
        raise CheckFailed(what, expected=f"an answer for {list(SCENARIOS)}", found=sorted(given))
    for key, (text, pct, functionality) in SCENARIOS.items():
        expected = incidents.severity(pct, functionality)
        found = str(given[key]).strip().upper().replace(" ", "")
        if found != expected:
            band = incidents.users_band(pct)
            raise CheckFailed(
                f"situation {key}: {text}",
                expected=expected,
                found=given[key],
                hint=f"Two questions: how many users ({band}) and what is degraded — "
                f"{functionality!r}: {incidents.FUNCTIONALITY[functionality]}. Then read the row "
                "and column of the impact matrix.",
            )
        passed(f"situation {key}: {expected} ({incidents.users_band(pct)} × {functionality})")


def past_incidents() -> pd.DataFrame:
    """The events of three past (production) incidents of the bookstore, for the exercises.

    Columns: ``incident_id``, ``at``, ``kind``, ``actor``, ``role``, ``text``. Fixed data, not
    simulated: the same on every run.
    """
    rows = [
        ("INC-2025-031", "2025-03-04T10:12:00Z", "started", "catalog v14", "system",
         "search index rebuild makes catalog answer 503"),
        ("INC-2025-031", "2025-03-04T10:19:00Z", "detected", "catalog-5xx", "monitoring",
         "alarm catalog-5xx went to ALARM"),
        ("INC-2025-031", "2025-03-04T10:24:00Z", "acknowledged", "Dana", "on-call engineer",
         "page acknowledged"),
        ("INC-2025-031", "2025-03-04T10:31:00Z", "note", "Dana", "on-call engineer",
         "rebuild found in the deployment log"),
        ("INC-2025-031", "2025-03-04T10:40:00Z", "mitigated", "Dana", "on-call engineer",
         "rebuild paused; catalog answers from the old index"),
        ("INC-2025-031", "2025-03-04T11:30:00Z", "resolved", "Kim", "incident commander",
         "index rebuilt off-peak; incident closed"),
        ("INC-2025-058", "2025-05-20T14:02:00Z", "started", "payments", "system",
         "card provider times out for a third of charges"),
        ("INC-2025-058", "2025-05-20T14:30:00Z", "detected", "Lee", "customer support",
         "customers report failed payments"),
        ("INC-2025-058", "2025-05-20T14:33:00Z", "acknowledged", "Dana", "on-call engineer",
         "page acknowledged"),
        ("INC-2025-058", "2025-05-20T15:05:00Z", "mitigated", "Dana", "on-call engineer",
         "traffic moved to the secondary card provider"),
        ("INC-2025-058", "2025-05-20T16:20:00Z", "resolved", "Kim", "incident commander",
         "provider confirmed the fix; back on the primary"),
        ("INC-2025-102", "2025-09-09T08:45:00Z", "started", "orders v31", "system",
         "orders v31 rejects orders of more than 5 books"),
        ("INC-2025-102", "2025-09-09T08:50:00Z", "detected", "orders-4xx", "monitoring",
         "alarm orders-4xx went to ALARM"),
        ("INC-2025-102", "2025-09-09T08:52:00Z", "acknowledged", "Sam", "on-call engineer",
         "page acknowledged"),
        ("INC-2025-102", "2025-09-09T08:58:00Z", "mitigated", "deploy pipeline", "automation",
         "rollback to orders v30 completed"),
        ("INC-2025-102", "2025-09-09T09:30:00Z", "resolved", "Sam", "on-call engineer",
         "fix merged with a test; incident closed"),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["incident_id", "at", "kind", "actor", "role", "text"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def _mean_minutes(events: pd.DataFrame, later: str, earlier: str) -> float:
    times = events.pivot_table(index="incident_id", columns="kind", values="at", aggfunc="first")
    return float(((times[later] - times[earlier]).dt.total_seconds() / 60.0).mean())


@exercise("13", 2)
def mttr_answer(answer: Any, events: pd.DataFrame | None = None) -> None:
    """Check a mean time to restore (minutes) over :func:`past_incidents` (or ``events``).

    MTTR here is mean time to *restore*: the mean of ``mitigated − started``. A wrong answer
    is compared with the other durations a learner might have averaged, to say which one it is.
    """
    what = "the mean time to restore (MTTR) of the past incidents, in minutes"
    events = past_incidents() if events is None else events
    value = answered(answer, what, hint="Set answer to a number of minutes.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CheckFailed(what, expected="a number of minutes", found=repr(value)) from None
    expected = _mean_minutes(events, "mitigated", "started")
    if math.isclose(number, expected, rel_tol=0.01):
        timelines = [
            incidents.timeline(i, i, part.drop(columns="incident_id"))
            for i, part in events.groupby("incident_id", sort=True)
        ]
        table = incidents.mean_times(timelines)
        passed(f"{what}: {number:g} min")
        passed(
            f"incidents.mean_times agrees: MTTR {table.loc['MTTR', 'minutes']:g} min "
            f"(MTTD {table.loc['MTTD', 'minutes']:g}, MTTA {table.loc['MTTA', 'minutes']:g})"
        )
        return
    seconds = expected * 60.0
    if math.isclose(number, seconds, rel_tol=0.01):
        hint = "That is the right mean in seconds: give it in minutes."
    else:
        others = {
            "resolved − started (time to resolve)": ("resolved", "started"),
            "mitigated − detected (restore, counted from detection)": ("mitigated", "detected"),
            "detected − started (time to detect)": ("detected", "started"),
            "resolved − detected": ("resolved", "detected"),
            "mitigated − acknowledged": ("mitigated", "acknowledged"),
        }
        hint = (
            "MTTR is the mean over incidents of mitigated − started: from the moment users were "
            "affected until service was restored for them."
        )
        for label, (later, earlier) in others.items():
            if math.isclose(number, _mean_minutes(events, later, earlier), rel_tol=0.01):
                hint = f"You averaged {label}. " + hint
                break
    raise CheckFailed(what, expected=f"{expected:g} min", found=f"{number:g}", hint=hint)


@exercise("13", 3)
def action_items_answer(items: Any, timeline: incidents.Timeline) -> None:
    """Check a postmortem's action items against the rules, item by item.

    Rules (:data:`labs.practices.incidents.ACTION_ITEM_RULES`): a team role as owner, a due
    date after the incident was resolved, a component of the system, a kind (prevent, detect,
    mitigate), and a title that changes the system rather than asking for more care. At least
    three items, with different titles.
    """
    what = "the action items"
    given = answered(items, what, hint="Set action_items to a list of ActionItem(...).")
    if isinstance(given, incidents.ActionItem | Mapping) or not isinstance(given, list | tuple):
        raise CheckFailed(what, expected="a list of ActionItem", found=type(given).__name__)
    if len(given) < 3:
        raise CheckFailed(
            what,
            expected="at least 3 action items",
            found=f"{len(given)}",
            hint="One per contributing factor is a good start.",
        )
    titles = []
    for i, raw in enumerate(given):
        try:
            item = incidents.action_item(raw)
        except InputError as exc:
            raise CheckFailed(f"action item {i}: {exc.what}", hint=exc.hint) from None
        problems = incidents.action_item_problems(item, resolved=timeline.resolved)
        people = [p for p in timeline.people() if p.lower() in str(item.title).lower()]
        if people:
            problems.append(f"title names a person ({people[0]}); name the system instead")
        if problems:
            raise CheckFailed(
                f"action item {i} ({item.title!r})",
                expected="an item that passes every rule",
                found="; ".join(problems),
                hint="Rules: " + " | ".join(incidents.ACTION_ITEM_RULES),
            )
        titles.append(str(item.title).strip().lower())
        passed(f"action item {i}: {item.kind} · {item.component} · {item.owner}")
    if len(set(titles)) != len(titles):
        raise CheckFailed(what, expected="different titles", found="the same title twice")
    passed(f"{len(titles)} action items: owned by teams, due after the incident, system changes")
