"""Incidents as data: the timeline, severity, response times, DORA's recovery time, the postmortem.

An incident is told by its **timeline**: events with a time, an actor, the actor's role and a
line of text. Five lifecycle events are required, each exactly once (:data:`LIFECYCLE`,
defined in :data:`EVENT_DEFINITIONS`) — ``started``, ``detected``, ``acknowledged``,
``mitigated``, ``resolved`` — and any number of ``note`` events. :func:`timeline` checks a
timeline and refuses, with an :class:`~labs.errors.InputError` that names the event, one whose
events are not in time order, whose lifecycle is impossible (``resolved`` before ``detected``:
:data:`ORDER_RULES`), that uses an unknown actor role (:data:`ROLES`) or lacks a lifecycle event.

From timelines:

* :func:`severity` — SEV1 to SEV4 from an **impact matrix**: share of users affected ×
  functionality degraded (:func:`impact_matrix`). The matrix is an *illustrative*, common
  industry one — companies define their own, and AWS publishes no standard one.
* :func:`response_times` and :func:`mean_times` — time to detect, to acknowledge, to restore and
  to resolve per incident, and their means MTTD, MTTA, MTTR (:data:`RESPONSE_DEFINITIONS` says
  exactly what each measures; MTTR here is mean time to **restore**).
* :func:`dora_frames` — the ``changes``/``deployments``/``incidents`` frames
  :func:`labs.dora.metrics` takes, whose *failed deployment recovery time* is the median time
  to restore of the incidents a deployment caused (https://dora.dev/guides/dora-metrics/).
* :func:`postmortem` — a **blameless** postmortem (summary, impact, timeline, contributing
  factors, five whys, action items) rendered as Markdown and written under
  ``labs.emulator.workshop_dir()/postmortems/``. Blameless is enforced where it can be
  mechanically: the document names people by their role, never by name, and refuses text
  that names a person of the timeline; every action item must pass :data:`ACTION_ITEM_RULES`
  (an owner role, a due date after the incident, a change to the system rather than a request
  for more care).

The postmortem's shape follows the description in Google's SRE book ("Postmortem Culture:
Learning from Failure", https://sre.google/sre-book/postmortem-culture/): a written record of
an incident, its impact, the actions taken to mitigate or resolve it, the root cause(s) and the
follow-up actions to prevent it from recurring, written without blame.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from labs.errors import InputError

__all__ = [
    "ACTION_ITEM_RULES",
    "ACTION_KINDS",
    "COMPONENTS",
    "EVENT_DEFINITIONS",
    "FUNCTIONALITY",
    "KINDS",
    "LIFECYCLE",
    "ORDER_RULES",
    "OWNER_ROLES",
    "PEOPLE_ROLES",
    "POSTMORTEM_SECTIONS",
    "RESPONSE_DEFINITIONS",
    "ROLES",
    "SEVERITIES",
    "SYSTEM_ROLES",
    "USER_BANDS",
    "VIGILANCE_PHRASES",
    "ActionItem",
    "Event",
    "Postmortem",
    "Timeline",
    "action_item",
    "action_item_problems",
    "check_action_items",
    "check_events",
    "dora_frames",
    "impact_matrix",
    "mean_times",
    "postmortem",
    "response_times",
    "severity",
    "timeline",
    "users_band",
]

# --------------------------------------------------------------------------------------------
# The timeline
# --------------------------------------------------------------------------------------------

LIFECYCLE: tuple[str, ...] = ("started", "detected", "acknowledged", "mitigated", "resolved")
"""The lifecycle events every incident timeline holds, each exactly once."""
KINDS: tuple[str, ...] = (*LIFECYCLE, "note")
"""Every event kind: the lifecycle and ``note``."""
EVENT_DEFINITIONS: Mapping[str, str] = {
    "started": "impact began: the first moment users were affected",
    "detected": "the team learned of it: an alarm fired, or someone reported it",
    "acknowledged": "a responder took ownership of the page",
    "mitigated": "impact ended: service restored for users (rollback, flag off, failover); "
    "the cause may still be there",
    "resolved": "the incident is closed: restoration verified and the system stable; "
    "follow-up work moves to the postmortem",
    "note": "anything else worth keeping: a finding, a decision, a message sent",
}
"""What each event kind means, as this lab uses it."""
PEOPLE_ROLES: tuple[str, ...] = (
    "incident commander",
    "on-call engineer",
    "communications lead",
    "subject matter expert",
    "engineer",
    "customer support",
)
"""Roles of people in an incident. A postmortem names them by role, never by name."""
SYSTEM_ROLES: tuple[str, ...] = ("monitoring", "automation", "system")
"""Roles of systems: alarms and dashboards, pipelines and deployment tools, the service itself."""
ROLES: tuple[str, ...] = PEOPLE_ROLES + SYSTEM_ROLES
"""Every actor role a timeline accepts."""
ORDER_RULES: tuple[tuple[str, str], ...] = (
    ("started", "detected"),
    ("detected", "acknowledged"),
    ("detected", "mitigated"),
    ("detected", "resolved"),
    ("mitigated", "resolved"),
    ("acknowledged", "resolved"),
)
"""``(a, b)``: lifecycle event ``a`` happens at or before ``b``. A mitigation may come before
the acknowledgement (an automatic rollback does not wait for a person), never before detection."""
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _when(value: Any, where: str) -> pd.Timestamp:
    """A point in time as a UTC Timestamp (naive times are taken as UTC)."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"{value!r} is not a point in time.", where=where)
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        raise InputError(
            f"{value!r} is not a point in time.",
            where=where,
            hint="Use an ISO time such as '2026-01-05T09:30:00Z' or a pandas Timestamp.",
        )
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _offset(delta: pd.Timedelta) -> str:
    """``+HH:MM:SS`` (``-`` before the start)."""
    seconds = round(delta.total_seconds())
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass(frozen=True)
class Event:
    """One event of an incident timeline.

    Attributes:
        at: When it happened (UTC).
        kind: One of :data:`KINDS`.
        actor: Who or what: a person's name, an alarm's name, a pipeline.
        role: The actor's role, one of :data:`ROLES`.
        text: What happened, in a sentence.
    """

    at: pd.Timestamp
    kind: str
    actor: str
    role: str
    text: str = ""

    @property
    def is_person(self) -> bool:
        """True when the actor is a person (a role of :data:`PEOPLE_ROLES`)."""
        return self.role in PEOPLE_ROLES

    def label(self) -> str:
        """How a blameless document names the actor: the role of a person, a system by name."""
        return self.role if self.is_person else f"{self.actor} ({self.role})"


def _describe(index: int, raw: Any) -> str:
    kind = raw.get("kind", "?") if isinstance(raw, Mapping) else getattr(raw, "kind", "?")
    return f"event {index} ({kind})"


def _as_event(index: int, raw: Any) -> Event:
    """Check one event's fields and return it as an :class:`Event`."""
    where = _describe(index, raw)
    if isinstance(raw, Event):
        fields: Mapping[str, Any] = raw.__dict__
    elif isinstance(raw, Mapping):
        fields = raw
    else:
        raise InputError(
            f"An event is a mapping (or Event) with at, kind, actor, role and text; got "
            f"{type(raw).__name__}.",
            where=f"event {index}",
        )
    for key in ("at", "kind", "actor", "role"):
        value = fields.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InputError(
                f"The event has no {key!r}.",
                where=where,
                hint="Every event needs at (a time), kind, actor and role; text is optional.",
            )
    kind = fields["kind"]
    if kind not in KINDS:
        raise InputError(
            f"Unknown event kind {kind!r}.",
            where=where,
            hint=f"Use one of: {', '.join(KINDS)}.",
        )
    role = fields["role"]
    if role not in ROLES:
        raise InputError(
            f"Unknown actor role {role!r} for actor {fields['actor']!r}.",
            where=where,
            hint=f"Use one of: {', '.join(ROLES)}.",
        )
    text = fields.get("text") or ""
    if not isinstance(text, str):
        raise InputError(f"The text is a string, got {type(text).__name__}.", where=where)
    if kind == "note" and not text.strip():
        raise InputError("A note needs a text.", where=where, hint="Say what was found or decided.")
    at = _when(fields["at"], f"{where}, at")
    return Event(at, kind, str(fields["actor"]), role, text.strip())


def _rows(events: Any) -> list[Any]:
    if isinstance(events, pd.DataFrame):
        return events.to_dict("records")
    if isinstance(events, str | bytes | Mapping) or not isinstance(events, Iterable):
        raise InputError(
            "events must be a list of events (mappings or Event) or a DataFrame.",
            where="events",
        )
    return list(events)


def check_events(events: Any) -> tuple[Event, ...]:
    """Check the events of a timeline and return them as :class:`Event` objects.

    Rules, checked in this order (the first broken one raises):

    1. each event has ``at``, a known ``kind``, an ``actor`` and a known ``role``
       (:data:`ROLES`); a note has a text;
    2. events are listed in time order (an event earlier than the one before it is refused);
    3. each lifecycle event (:data:`LIFECYCLE`) appears exactly once;
    4. the lifecycle is possible: :data:`ORDER_RULES` (e.g. ``resolved`` at or after
       ``detected``).

    Raises:
        InputError: Naming the event (its position and kind) and the rule.
    """
    rows = _rows(events)
    checked = [_as_event(i, raw) for i, raw in enumerate(rows)]
    for i in range(1, len(checked)):
        before, this = checked[i - 1], checked[i]
        if this.at < before.at:
            raise InputError(
                f"It happened at {_iso(this.at)}, before event {i - 1} ({before.kind}) at "
                f"{_iso(before.at)}: a timeline lists its events in time order.",
                where=f"event {i} ({this.kind})",
                hint="Sort the events by time, or correct the time of one of them.",
            )
    seen: dict[str, int] = {}
    for i, event in enumerate(checked):
        if event.kind in LIFECYCLE:
            if event.kind in seen:
                raise InputError(
                    f"A second {event.kind!r} event (the first is event {seen[event.kind]}); "
                    "each lifecycle event happens once.",
                    where=f"event {i} ({event.kind})",
                    hint="Record a later detection, mitigation attempt or update as a note.",
                )
            seen[event.kind] = i
    for kind in LIFECYCLE:
        if kind not in seen:
            raise InputError(
                f"The timeline has no {kind!r} event.",
                where="events",
                hint=f"Every incident timeline needs {', '.join(LIFECYCLE)} — {kind}: "
                f"{EVENT_DEFINITIONS[kind]}.",
            )
    for first, then in ORDER_RULES:
        a, b = checked[seen[first]], checked[seen[then]]
        if b.at < a.at:
            raise InputError(
                f"{then!r} at {_iso(b.at)} comes before {first!r} at {_iso(a.at)}: an incident "
                f"is {first} before it is {then}.",
                where=f"event {seen[then]} ({then})",
                hint=f"Check both times. {first}: {EVENT_DEFINITIONS[first]}; "
                f"{then}: {EVENT_DEFINITIONS[then]}.",
            )
    return tuple(checked)


@dataclass(frozen=True)
class Timeline:
    """A checked incident timeline (build it with :func:`timeline`).

    Attributes:
        incident_id: The incident's id, e.g. ``"INC-2026-0105"``.
        title: One line saying what happened.
        events: The events, in time order.
        service: The service affected.
        caused_by_deploy_id: The deployment that caused it, when one did (DORA counts those).
    """

    incident_id: str
    title: str
    events: tuple[Event, ...]
    service: str = ""
    caused_by_deploy_id: str | None = None

    def time(self, kind: str) -> pd.Timestamp:
        """When lifecycle event ``kind`` happened."""
        if kind not in LIFECYCLE:
            raise InputError(f"{kind!r} is not a lifecycle event.", hint=f"Use {LIFECYCLE}.")
        return next(e.at for e in self.events if e.kind == kind)

    @property
    def started(self) -> pd.Timestamp:
        """When impact began."""
        return self.time("started")

    @property
    def detected(self) -> pd.Timestamp:
        """When the team learned of it."""
        return self.time("detected")

    @property
    def acknowledged(self) -> pd.Timestamp:
        """When a responder took the page."""
        return self.time("acknowledged")

    @property
    def mitigated(self) -> pd.Timestamp:
        """When impact ended (service restored)."""
        return self.time("mitigated")

    @property
    def resolved(self) -> pd.Timestamp:
        """When the incident was closed."""
        return self.time("resolved")

    def people(self) -> list[str]:
        """The names of the people in the timeline (actors with a role of :data:`PEOPLE_ROLES`)."""
        return sorted({e.actor for e in self.events if e.is_person})

    def frame(self) -> pd.DataFrame:
        """The events as a DataFrame: ``at``, ``since_start`` (``+HH:MM:SS``), kind, actor,
        role, text."""
        start = self.started
        return pd.DataFrame(
            {
                "at": [e.at for e in self.events],
                "since_start": [_offset(e.at - start) for e in self.events],
                "kind": [e.kind for e in self.events],
                "actor": [e.actor for e in self.events],
                "role": [e.role for e in self.events],
                "text": [e.text for e in self.events],
            }
        )

    def durations(self) -> dict[str, pd.Timedelta]:
        """Time to detect, acknowledge, restore and resolve (:data:`RESPONSE_DEFINITIONS`)."""
        return {name: self.time(a) - self.time(b) for name, (a, b, _) in _RESPONSE.items()}


def timeline(
    incident_id: str,
    title: str,
    events: Any,
    *,
    service: str = "",
    caused_by_deploy_id: str | None = None,
) -> Timeline:
    """Check an incident's events (:func:`check_events`) and return its :class:`Timeline`.

    Args:
        incident_id: Letters, digits, ``.``, ``_`` and ``-``, at most 64 characters.
        title: One line.
        events: Events as mappings (``at``, ``kind``, ``actor``, ``role``, ``text``),
            :class:`Event` objects, or a DataFrame with those columns.
        service: The service affected.
        caused_by_deploy_id: The deployment that caused the incident, if one did.

    Raises:
        InputError: A broken rule, naming the event (see :func:`check_events`).
    """
    if not isinstance(incident_id, str) or not _ID.match(incident_id):
        raise InputError(
            f"{incident_id!r} is not an incident id.",
            where="incident_id",
            hint="Letters, digits, '.', '_' and '-', e.g. 'INC-2026-0105'.",
        )
    if not isinstance(title, str) or not title.strip():
        raise InputError("The incident needs a title.", where="title")
    return Timeline(
        incident_id,
        title.strip(),
        check_events(events),
        str(service),
        None if caused_by_deploy_id is None else str(caused_by_deploy_id),
    )


# --------------------------------------------------------------------------------------------
# Severity: an illustrative impact matrix
# --------------------------------------------------------------------------------------------

USER_BANDS: tuple[tuple[str, float], ...] = (
    ("most users (≥ 50%)", 50.0),
    ("many users (10–50%)", 10.0),
    ("some users (1–10%)", 1.0),
    ("few users (< 1%)", 0.0),
)
"""Bands of the share of active users affected, with their lower bound in % (inclusive)."""
FUNCTIONALITY: Mapping[str, str] = {
    "core down": "a core journey (browse, order, pay) fails for the users affected",
    "core degraded": "a core journey works, but with errors or slowness for part of the requests",
    "non-core degraded": "a secondary feature (recommendations, order history) fails or is slow; "
    "core journeys work",
    "cosmetic": "nothing fails: layout, wording, a wrong image",
}
"""Levels of functionality degraded, most severe first, with what each means."""
SEVERITIES: Mapping[str, str] = {
    "SEV1": "critical: page everyone needed now, an incident commander and a communications lead, "
    "status page and leadership updates",
    "SEV2": "major: page the owning team now, an incident commander, status page",
    "SEV3": "minor: the owning team handles it in working hours; no public communication",
    "SEV4": "low: a ticket in the backlog",
}
"""What each severity asks of the organisation (illustrative)."""
_MATRIX = (
    (1, 1, 3, 4),
    (1, 2, 3, 4),
    (2, 3, 4, 4),
    (3, 4, 4, 4),
)


def users_band(users_affected_pct: float) -> str:
    """Return the band of :data:`USER_BANDS` a share of users (in %, 0 to 100) falls in."""
    pct = users_affected_pct
    if isinstance(pct, bool) or not isinstance(pct, int | float) or math.isnan(pct):
        raise InputError(
            f"users_affected_pct is a number from 0 to 100, got {pct!r}.",
            where="users_affected_pct",
        )
    if not 0 <= pct <= 100:
        raise InputError(
            f"users_affected_pct is a percentage from 0 to 100, got {pct!r}.",
            where="users_affected_pct",
            hint="Pass 12.5 for 12.5% of active users, not 0.125.",
        )
    return next(name for name, low in USER_BANDS if pct >= low)


def severity(users_affected_pct: float, functionality: str) -> str:
    """Return ``"SEV1"`` … ``"SEV4"`` from the impact matrix (:func:`impact_matrix`).

    The matrix is illustrative — a common industry shape (more users and more important
    functionality mean a more severe incident), not an AWS standard; every organisation writes
    its own before it needs it.

    Args:
        users_affected_pct: Share of active users affected, in % (lower band bounds inclusive).
        functionality: One of :data:`FUNCTIONALITY`.
    """
    band = users_band(users_affected_pct)
    if functionality not in FUNCTIONALITY:
        raise InputError(
            f"Unknown functionality level {functionality!r}.",
            where="functionality",
            hint=f"Use one of: {', '.join(FUNCTIONALITY)}.",
        )
    row = [name for name, _ in USER_BANDS].index(band)
    return f"SEV{_MATRIX[row][list(FUNCTIONALITY).index(functionality)]}"


def impact_matrix() -> pd.DataFrame:
    """The impact matrix: user bands (rows) × functionality degraded (columns) → severity."""
    return pd.DataFrame(
        [[f"SEV{v}" for v in row] for row in _MATRIX],
        index=pd.Index([name for name, _ in USER_BANDS], name="users affected"),
        columns=pd.Index(list(FUNCTIONALITY), name="functionality degraded"),
    )


# --------------------------------------------------------------------------------------------
# Response times: MTTD, MTTA, MTTR
# --------------------------------------------------------------------------------------------

_RESPONSE: Mapping[str, tuple[str, str, str]] = {
    "time_to_detect": ("detected", "started", "MTTD"),
    "time_to_acknowledge": ("acknowledged", "detected", "MTTA"),
    "time_to_restore": ("mitigated", "started", "MTTR"),
    "time_to_resolve": ("resolved", "started", "mean time to resolve"),
}
RESPONSE_DEFINITIONS: Mapping[str, str] = {
    "MTTD": "mean time to detect: mean over incidents of detected − started",
    "MTTA": "mean time to acknowledge: mean over incidents of acknowledged − detected",
    "MTTR": "mean time to restore: mean over incidents of mitigated − started (service "
    "restored, measured from the start of impact)",
    "mean time to resolve": "mean over incidents of resolved − started (incident closed)",
}
"""Exactly what each mean measures. MTTR is mean time to *restore* here; "R" also stands for
repair, recover, respond or resolve elsewhere — always say which."""


def _timelines(timelines: Any) -> list[Timeline]:
    items = [timelines] if isinstance(timelines, Timeline) else list(timelines or [])
    if not items:
        raise InputError("No timelines given.", where="timelines")
    for i, item in enumerate(items):
        if not isinstance(item, Timeline):
            raise InputError(
                f"Item {i} is a {type(item).__name__}, not a Timeline.",
                where="timelines",
                hint="Build each with labs.practices.incidents.timeline(...).",
            )
    ids = [t.incident_id for t in items]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise InputError(f"Incident {duplicated[0]!r} appears twice.", where="timelines")
    return items


def response_times(timelines: Timeline | Iterable[Timeline]) -> pd.DataFrame:
    """One row per incident: time to detect, acknowledge, restore and resolve, in minutes.

    Columns: ``incident_id``, ``started``, ``time_to_detect_min``, ``time_to_acknowledge_min``,
    ``time_to_restore_min``, ``time_to_resolve_min`` (definitions: :data:`RESPONSE_DEFINITIONS`).
    """
    rows = []
    for item in _timelines(timelines):
        row: dict[str, Any] = {"incident_id": item.incident_id, "started": item.started}
        for name, delta in item.durations().items():
            row[f"{name}_min"] = delta.total_seconds() / 60.0
        rows.append(row)
    return pd.DataFrame(rows)


def mean_times(timelines: Timeline | Iterable[Timeline]) -> pd.DataFrame:
    """MTTD, MTTA, MTTR (restore) and the mean time to resolve over ``timelines``, in minutes.

    Returns:
        Indexed by ``MTTD``, ``MTTA``, ``MTTR``, ``mean time to resolve``; columns ``minutes``,
        ``incidents`` and ``measures`` (:data:`RESPONSE_DEFINITIONS`).
    """
    times = response_times(timelines)
    rows = []
    for name, (_, _, label) in _RESPONSE.items():
        rows.append(
            {
                "metric": label,
                "minutes": float(times[f"{name}_min"].mean()),
                "incidents": len(times),
                "measures": RESPONSE_DEFINITIONS[label].split(": ", 1)[-1],
            }
        )
    return pd.DataFrame(rows).set_index("metric")


# --------------------------------------------------------------------------------------------
# DORA: failed deployment recovery time
# --------------------------------------------------------------------------------------------


def dora_frames(
    timelines: Timeline | Iterable[Timeline],
    deployments: pd.DataFrame,
    changes: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(changes, deployments, incidents)`` for :func:`labs.dora.metrics`.

    Each timeline becomes an incident row: ``created_at`` is when impact **started** and
    ``resolved_at`` when service was **restored** (``mitigated``), so that DORA's *failed
    deployment recovery time* — "how long it takes to recover from a failed deployment"
    (https://dora.dev/guides/dora-metrics/), the median of ``resolved_at − created_at`` over
    the incidents a deployment caused (four-keys) — is the time to restore of those incidents.
    An incident tool that opens its record at detection would leave the time to detect out.

    Args:
        timelines: The incidents.
        deployments: ``deploy_id``, ``deployed_at`` (tz-aware), ``rolled_back``,
            ``fixes_incident_id`` and optionally ``change_ids`` (default: none).
        changes: ``change_id``, ``committed_at``; empty when omitted (no lead time then).
    """
    items = _timelines(timelines)
    incidents = pd.DataFrame(
        {
            "incident_id": [t.incident_id for t in items],
            "created_at": pd.to_datetime([t.started for t in items], utc=True),
            "resolved_at": pd.to_datetime([t.mitigated for t in items], utc=True),
            "caused_by_deploy_id": [t.caused_by_deploy_id for t in items],
        }
    )
    if not isinstance(deployments, pd.DataFrame):
        raise InputError("deployments must be a DataFrame.", where="deployments")
    missing = [
        c
        for c in ("deploy_id", "deployed_at", "rolled_back", "fixes_incident_id")
        if c not in deployments.columns
    ]
    if missing:
        raise InputError(
            f"deployments has no column {missing[0]!r}.",
            where="deployments",
            hint="Give deploy_id, deployed_at, rolled_back and fixes_incident_id.",
        )
    deploys = deployments.copy()
    if "change_ids" not in deploys.columns:
        deploys["change_ids"] = None
    if changes is None:
        changes = pd.DataFrame(
            {
                "change_id": pd.Series([], dtype=str),
                "committed_at": pd.Series([], dtype="datetime64[ns, UTC]"),
            }
        )
    return changes, deploys, incidents


# --------------------------------------------------------------------------------------------
# Action items and the postmortem
# --------------------------------------------------------------------------------------------

OWNER_ROLES: tuple[str, ...] = (
    "payments team",
    "orders team",
    "catalog team",
    "platform team",
    "observability team",
    "release engineering",
    "incident management",
)
"""Who can own an action item: a team role, which outlives any one person's job."""
COMPONENTS: tuple[str, ...] = (
    "deployment configuration",
    "pipeline",
    "alarm",
    "dashboard",
    "test",
    "code",
    "feature flag",
    "runbook",
    "capacity",
)
"""The part of the system an action item changes."""
ACTION_KINDS: tuple[str, ...] = ("prevent", "detect", "mitigate")
"""What an action item improves: fewer incidents, faster detection, faster restoration."""
VIGILANCE_PHRASES: tuple[str, ...] = (
    "be careful",
    "be more careful",
    "more careful",
    "take care",
    "pay attention",
    "pay more attention",
    "be vigilant",
    "more vigilant",
    "double-check",
    "double check",
    "remember to",
    "don't forget",
    "do not forget",
    "try harder",
    "should have",
)
"""Phrases that ask a person for more care instead of changing the system: refused."""
ACTION_ITEM_RULES: tuple[str, ...] = (
    f"owner: a team role, one of {', '.join(OWNER_ROLES)} — never a person",
    "due: a date after the incident was resolved",
    f"component: the part of the system it changes, one of {', '.join(COMPONENTS)}",
    f"kind: what it improves, one of {', '.join(ACTION_KINDS)}",
    "title: a change to the system in at least four words, that does not ask people to be "
    "more careful (no phrase of VIGILANCE_PHRASES, such as 'be more careful', 'double-check', "
    "'remember to')",
)
"""The rules every action item must pass; :func:`action_item_problems` checks them."""


@dataclass(frozen=True)
class ActionItem:
    """A follow-up action of a postmortem (see :data:`ACTION_ITEM_RULES`).

    Attributes:
        title: The change, e.g. "Attach the payments error-rate alarm to the deployment group".
        owner: A team role from :data:`OWNER_ROLES`.
        due: The due date (a Timestamp, UTC).
        component: What it changes, from :data:`COMPONENTS`.
        kind: ``prevent``, ``detect`` or ``mitigate``.
    """

    title: str
    owner: str
    due: Any
    component: str
    kind: str = "prevent"


def action_item(obj: Any) -> ActionItem:
    """Return ``obj`` as an :class:`ActionItem` (from a mapping with the same keys, or as is)."""
    if isinstance(obj, ActionItem):
        return obj
    if isinstance(obj, Mapping):
        unknown = sorted(set(obj) - {"title", "owner", "due", "component", "kind"})
        if unknown:
            raise InputError(
                f"An action item has no field {unknown[0]!r}.",
                hint="Use title, owner, due, component and kind.",
            )
        return ActionItem(
            title=obj.get("title", ""),
            owner=obj.get("owner", ""),
            due=obj.get("due"),
            component=obj.get("component", ""),
            kind=obj.get("kind", "prevent"),
        )
    raise InputError(
        f"An action item is an ActionItem or a mapping, got {type(obj).__name__}.",
        hint="e.g. ActionItem(title=..., owner='payments team', due=..., component='alarm', "
        "kind='detect').",
    )


def action_item_problems(item: Any, *, resolved: Any) -> list[str]:
    """Return what is wrong with an action item, one sentence per broken rule (empty: none).

    Args:
        item: An :class:`ActionItem` or a mapping with its fields.
        resolved: When the incident was resolved; the due date must be after it.
    """
    item = action_item(item)
    problems = []
    title = item.title if isinstance(item.title, str) else ""
    if item.owner not in OWNER_ROLES:
        problems.append(
            f"owner {item.owner!r} is not a team role (use one of: {', '.join(OWNER_ROLES)})"
        )
    try:
        due = _when(item.due, "due")
    except InputError:
        problems.append(f"due {item.due!r} is not a date")
    else:
        if due <= _when(resolved, "resolved"):
            problems.append(f"due {_iso(due)} is not after the incident was resolved")
    if item.component not in COMPONENTS:
        problems.append(
            f"component {item.component!r} is not a part of the system (use one of: "
            f"{', '.join(COMPONENTS)})"
        )
    if item.kind not in ACTION_KINDS:
        problems.append(f"kind {item.kind!r} is not one of {', '.join(ACTION_KINDS)}")
    if len(title.split()) < 4:
        problems.append(f"title {title!r} does not say what changes (four words at least)")
    lowered = title.lower()
    asked = [p for p in VIGILANCE_PHRASES if p in lowered]
    if asked:
        problems.append(
            f"title asks people for more care ({asked[0]!r}) instead of changing the system"
        )
    return problems


def check_action_items(items: Any, timeline: Timeline) -> tuple[ActionItem, ...]:
    """Check every action item against :data:`ACTION_ITEM_RULES`; return them as ActionItems.

    Raises:
        InputError: Naming the first item that breaks a rule, with every rule it breaks.
    """
    if isinstance(items, ActionItem | Mapping) or not isinstance(items, Iterable):
        raise InputError("action items must be a list.", where="action_items")
    checked = []
    for i, raw in enumerate(items):
        item = action_item(raw)
        problems = action_item_problems(item, resolved=timeline.resolved)
        people = [p for p in timeline.people() if _mentions(item.title, p)]
        if people:
            problems.append(f"title names a person ({people[0]}); name the system instead")
        if problems:
            raise InputError(
                "; ".join(problems) + ".",
                where=f"action item {i} ({item.title!r})",
                hint="Rules: " + " | ".join(ACTION_ITEM_RULES),
            )
        checked.append(_with_timestamp_due(item))
    if not checked:
        raise InputError("A postmortem without action items changes nothing.", where="action_items")
    return tuple(checked)


def _with_timestamp_due(item: ActionItem) -> ActionItem:
    """The same item with ``due`` as a UTC Timestamp."""
    return ActionItem(item.title, item.owner, _when(item.due, "due"), item.component, item.kind)


def _mentions(text: str, name: str) -> bool:
    return bool(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE))


POSTMORTEM_SECTIONS: tuple[str, ...] = (
    "Summary",
    "Impact",
    "Timeline",
    "Contributing factors",
    "Five whys",
    "Action items",
)
"""The sections of a postmortem, in order (``What went well`` follows when given)."""


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _minutes(delta: pd.Timedelta) -> str:
    minutes = delta.total_seconds() / 60.0
    return f"{minutes:g} min"


@dataclass(frozen=True)
class Postmortem:
    """A blameless postmortem, generated from a timeline (build it with :func:`postmortem`).

    Attributes:
        timeline: The incident's timeline.
        severity: ``SEV1`` … ``SEV4``.
        summary: What happened and how it ended, in a paragraph.
        impact: Bullets on who was affected and how (the response times are added).
        contributing_factors: The conditions that allowed the incident.
        five_whys: Five ``(question, answer)`` pairs, each question asking why the answer
            before it was so.
        action_items: The follow-up changes.
        what_went_well: Optional bullets.
    """

    timeline: Timeline
    severity: str
    summary: str
    impact: tuple[str, ...]
    contributing_factors: tuple[str, ...]
    five_whys: tuple[tuple[str, str], ...]
    action_items: tuple[ActionItem, ...]
    what_went_well: tuple[str, ...] = ()

    def markdown(self) -> str:
        """The postmortem as Markdown; the same postmortem always gives the same text.

        Times are ISO-8601 UTC and offsets from the start of impact (``+HH:MM:SS``); people
        appear by role (:meth:`Event.label`); nothing depends on the wall clock.
        """
        t = self.timeline
        durations = t.durations()
        lines = [
            f"# Postmortem — {t.incident_id}: {t.title}",
            "",
            "| | |",
            "|---|---|",
            f"| Incident | {_cell(t.incident_id)} |",
            f"| Severity | {self.severity} — {_cell(SEVERITIES[self.severity])} |",
            f"| Service | {_cell(t.service or '—')} |",
            f"| Impact started | {_iso(t.started)} |",
            f"| Caused by deployment | {_cell(t.caused_by_deploy_id or 'none')} |",
            "| Status | resolved; action items open |",
            "",
            "*Blameless: this document describes what the system and the people in it did, and "
            "why it made sense at the time. People appear by role, not by name.*",
            "",
            "## Summary",
            "",
            self.summary,
            "",
            "## Impact",
            "",
            *[f"- {line}" for line in self.impact],
            f"- Time to detect: {_minutes(durations['time_to_detect'])}; to acknowledge: "
            f"{_minutes(durations['time_to_acknowledge'])}; to restore: "
            f"{_minutes(durations['time_to_restore'])}; to resolve: "
            f"{_minutes(durations['time_to_resolve'])}.",
            "",
            "## Timeline",
            "",
            "| Time (UTC) | Since start | Event | Who | What happened |",
            "|---|---|---|---|---|",
        ]
        for event in t.events:
            lines.append(
                f"| {_iso(event.at)} | {_offset(event.at - t.started)} | {event.kind} | "
                f"{_cell(event.label())} | {_cell(event.text)} |"
            )
        lines += ["", "## Contributing factors", ""]
        lines += [f"{i}. {factor}" for i, factor in enumerate(self.contributing_factors, 1)]
        lines += ["", "## Five whys", ""]
        for i, (question, answer) in enumerate(self.five_whys, 1):
            lines.append(f"{i}. **{question}** {answer}")
        lines += [
            "",
            "## Action items",
            "",
            "| # | Action | Improves | Component | Owner | Due |",
            "|---|---|---|---|---|---|",
        ]
        resolved_day = t.resolved.normalize()
        for i, item in enumerate(self.action_items, 1):
            days = (item.due.normalize() - resolved_day).days
            lines.append(
                f"| {i} | {_cell(item.title)} | {item.kind} | {item.component} | {item.owner} | "
                f"{_iso(item.due)} ({days} days after) |"
            )
        if self.what_went_well:
            lines += ["", "## What went well", ""]
            lines += [f"- {line}" for line in self.what_went_well]
        return "\n".join(lines) + "\n"

    def write(self, folder: str | Path | None = None) -> Path:
        """Write :meth:`markdown` to ``folder/<incident id>.md`` and return the path.

        ``folder`` defaults to ``labs.emulator.workshop_dir() / "postmortems"``.
        """
        if folder is None:
            from labs.emulator import workshop_dir

            folder = workshop_dir() / "postmortems"
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        target = path / f"{self.timeline.incident_id}.md"
        target.write_text(self.markdown(), encoding="utf-8")
        return target


def _texts(label: str, value: Any, *, at_least: int = 1) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value or [])
    bad = [i for i, v in enumerate(items) if not isinstance(v, str) or not v.strip()]
    if bad:
        raise InputError(f"Item {bad[0]} is empty or not text.", where=label)
    if len(items) < at_least:
        raise InputError(f"The postmortem needs at least {at_least} {label}.", where=label)
    return tuple(v.strip() for v in items)


def postmortem(
    timeline: Timeline,
    *,
    severity: str,
    summary: str,
    impact: Sequence[str],
    contributing_factors: Sequence[str],
    five_whys: Sequence[tuple[str, str]],
    action_items: Sequence[Any],
    what_went_well: Sequence[str] = (),
) -> Postmortem:
    """Check the parts of a blameless postmortem and return it (see :class:`Postmortem`).

    Checks: a known severity; a summary; at least one impact line and contributing factor;
    exactly five whys, each a (question, answer) pair; action items that pass
    :data:`ACTION_ITEM_RULES`; and **no text naming a person** of the timeline (people are
    named by role) — a postmortem is about the system.

    Raises:
        InputError: Naming the section (and item) that breaks a rule.
    """
    if not isinstance(timeline, Timeline):
        raise InputError("timeline must be a Timeline.", where="timeline")
    if severity not in SEVERITIES:
        raise InputError(
            f"Unknown severity {severity!r}.", where="severity", hint=f"Use {list(SEVERITIES)}."
        )
    summary = _texts("summary", summary)[0]
    impact_lines = _texts("impact", impact)
    factors = _texts("contributing factors", contributing_factors)
    whys = list(five_whys or [])
    if len(whys) != 5:
        raise InputError(
            f"Five whys are five (question, answer) pairs, got {len(whys)}.",
            where="five_whys",
            hint="Ask why five times, each question about the answer before it.",
        )
    pairs = []
    for i, pair in enumerate(whys):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise InputError("Each why is a (question, answer) pair.", where=f"five_whys[{i}]")
        pairs.append(tuple(_texts(f"five_whys[{i}]", list(pair), at_least=2)))
    items = check_action_items(action_items, timeline)
    went_well = _texts("what went well", what_went_well, at_least=0)
    sections: dict[str, list[str]] = {
        "summary": [summary],
        "impact": list(impact_lines),
        "contributing factors": list(factors),
        "five whys": [text for pair in pairs for text in pair],
        "what went well": list(went_well),
    }
    for person in timeline.people():
        for section, texts in sections.items():
            if any(_mentions(text, person) for text in texts):
                raise InputError(
                    f"The {section} names {person!r}, a person of the timeline.",
                    where=section,
                    hint="Blameless: describe what the system allowed and what the role did "
                    "(e.g. 'the on-call engineer'), not who.",
                )
    return Postmortem(
        timeline=timeline,
        severity=severity,
        summary=summary,
        impact=impact_lines,
        contributing_factors=factors,
        five_whys=tuple(pairs),  # type: ignore[arg-type]
        action_items=items,
        what_went_well=went_well,
    )
