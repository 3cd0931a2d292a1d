"""A game day on the bookstore: inject a fault, detect it with an alarm, mitigate it, simulated.

A *game day* is a rehearsal: the team injects a fault on purpose, then detects, diagnoses and
mitigates it as it would a real incident, and writes the postmortem. :class:`GameDay` runs one
on a bookstore service, minute by simulated minute, with the workshop's engines:

* **traffic** — :class:`labs.observability.traffic.TrafficSimulator` sends the service's
  requests, split between the versions (and flagged code paths) serving each minute, and
  publishes them as CloudWatch metrics (namespace ``Bookstore``, dimension ``Service``);
* **detection** — :class:`labs.observability.alarm_runner.AlarmRunner` evaluates the game
  day's CloudWatch alarms after every minute (period, M out of N, missing data), writes their
  state to CloudWatch and publishes the notification to the alarm's SNS topic: the page;
* **the fault and the rollback** — :meth:`GameDay.deploy` ships a release with the deployment
  engine's strategy (:class:`labs.deploy.strategies.TrafficShift`, ECS blue/green, by default
  ``CodeDeployDefault.ECSAllAtOnce``), which moves traffic minute by minute; in the emulator a
  CodeDeploy deployment is created for it and the ALB listener's weights follow
  (:mod:`labs.deploy.aws_resources`). :meth:`GameDay.rollback` is what CodeDeploy documents for
  a manual rollback — "creating a new deployment that uses any previously deployed application
  revision" (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html):
  while the original task set still runs it reroutes traffic back at once, afterwards it is a
  new blue/green deployment of the last good version;
* **the kill switch** — :meth:`GameDay.apply_flags` applies an AppConfig feature-flag document
  (``AWS.AppConfig.FeatureFlags``), evaluated for the bookstore's users with
  :mod:`labs.practices.flags`: the share of users for whom a flagged code path is on gets that
  path's fault switch.

``engine.run`` of lab 04 runs one deployment to completion on a clock of its own; a game day
needs people to act between minutes on one clock, so it steps the same strategies itself. Its
deployments watch no alarms and roll nothing back by themselves: that is the scenario's
deployment group, and the postmortem's first contributing factor.

The game day records its incident as it goes: ``started`` (the first minute in which requests
reached a faulty version or flagged code path: failing, or slower — ``v2-slow`` only adds
latency), ``detected`` (an alarm went to ``ALARM`` after that) and
``mitigated`` (the first minute, after detection, with no traffic on a faulty version or path)
are recorded by the simulation; ``acknowledged``, ``resolved`` and notes by the people, through
:meth:`GameDay.acknowledge`, :meth:`GameDay.resolve` and :meth:`GameDay.note`.
:meth:`GameDay.timeline` returns them as a checked :class:`labs.practices.incidents.Timeline`.

For diagnosis, :func:`request_logs` sends orders through the **real** bookstore services with
the versions the game day served each minute, capturing their JSON log lines at simulated time,
:func:`write_logs` stores them in CloudWatch Logs, and :func:`trace_sample` runs the traced
bookstore (lab 11) with the live versions for the last minutes, its segments sent to X-Ray.

Without a context (``ctx=None``) the same game day runs as a dry run: alarms are
:class:`~labs.observability.alarms.Alarm` objects evaluated in memory, nothing is created.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labs.bookstore import (
    LATENCY_BASELINES,
    LOGGER_NAME,
    SEED_BOOKS,
    SERVICES,
    VERSIONS,
    CatalogApp,
    FaultSwitch,
    JsonFormatter,
    LatencyBaseline,
    OrdersApp,
    PaymentsApp,
    WsgiClient,
    fault_for_version,
)
from labs.deploy import aws_resources, releases
from labs.deploy.strategies import FAILED, SUCCEEDED, Rollout, TrafficShift
from labs.errors import InputError
from labs.observability.alarm_runner import AlarmRunner
from labs.observability.alarms import ALARM, OK, Alarm
from labs.observability.clock import ServiceClock, SimClock, SimTime
from labs.observability.published import MetricStore
from labs.observability.traffic import (
    NAMESPACE,
    UNAVAILABLE,
    TrafficSimulator,
    VersionBehaviour,
    publish,
)
from labs.practices import flags as flag_rules
from labs.practices import incidents

__all__ = [
    "DEFAULT_CONFIG",
    "HISTORY_COLUMNS",
    "LOG_GROUP",
    "GameDay",
    "combine",
    "ensure_pager",
    "flag_exposure",
    "read_pages",
    "request_logs",
    "trace_sample",
    "write_logs",
]

DEFAULT_CONFIG = "CodeDeployDefault.ECSAllAtOnce"
"""The game day's deployment configuration: all traffic at once, as in the scenario."""
LOG_GROUP = "/labs/gameday/bookstore"
"""CloudWatch Logs group of the bookstore's request logs during a game day."""
HISTORY_COLUMNS = [
    "minute", "time", "serving", "requests", "errors", "error_rate_pct", "failed_by_fault",
    "p99_ms", "alarm", "events",
]  # fmt: skip
"""Columns of :attr:`GameDay.history`: one row per simulated minute."""
_FLAG_KEY = re.compile(r"^[a-z][a-zA-Z\d_-]{0,63}$")
_ORDERS_OWN = LatencyBaseline(median_ms=20.0, p99_ms=90.0)  # orders' own work, without its calls


def combine(first: FaultSwitch, second: FaultSwitch) -> FaultSwitch:
    """Two fault switches on one request path: failures compound, latencies add up.

    A request fails if either fails (``1 − (1 − a)(1 − b)``, independent draws).
    """
    rate = 1.0 - (1.0 - first.error_rate) * (1.0 - second.error_rate)
    return FaultSwitch(
        error_rate=min(1.0, rate),
        added_latency_ms=first.added_latency_ms + second.added_latency_ms,
        seed=first.seed,
    )


def flag_exposure(document: Any, flag: str, contexts: pd.DataFrame) -> float:
    """Return the share of ``contexts`` (users) for whom ``flag`` is enabled, from 0 to 1.

    A basic flag is on or off for everyone; a multi-variant flag is evaluated per user with
    :func:`labs.practices.flags.assign_variants` (rules, ``split``), and the share is that of
    users whose variant is enabled. A flag absent from the document is off.
    """
    doc = flag_rules.validate_document(document)
    if flag not in doc.get("flags", {}):
        return 0.0
    value = doc.get("values", {}).get(flag, {})
    if "_variants" in value:
        names = flag_rules.assign_variants(flag_rules.variants_of(doc, flag), contexts, flag=flag)
        enabled = {v["name"]: bool(v.get("enabled", False)) for v in value["_variants"]}
        return float(np.mean([enabled[str(n)] for n in names])) if len(names) else 0.0
    return 1.0 if value.get("enabled", False) else 0.0


def _behaviour(service: str, label: str, fault: FaultSwitch) -> VersionBehaviour:
    mu, sigma = LATENCY_BASELINES[service].lognormal_params()
    return VersionBehaviour(label, fault.error_rate, math.exp(mu), sigma, fault.added_latency_ms)


@dataclass
class _Deployment:
    """A deployment in progress: its rollout and what it replaces."""

    row: dict[str, Any]
    rollout: Rollout
    start_minute: int
    source: str
    target: str


@dataclass
class _Emulator:
    """What the game day writes to the emulator for its deployments (prepared on first use)."""

    ctx: Any
    lab: str
    strategy: TrafficShift
    baseline: str
    lb: Any = None
    target: Any = None
    colours: dict[str, str] = field(default_factory=dict)
    weights: tuple[str, int, str, int] | None = None
    created_network: bool = False

    def prepare(self, live: str) -> None:
        if self.target is not None:
            return
        ctx, lab = self.ctx, self.lab
        named = [{"Name": "tag:Name", "Values": [ctx.name("bookstore")]}]
        self.created_network = not ctx.client("ec2").describe_vpcs(Filters=named)["Vpcs"]
        network = aws_resources.ensure_network(ctx, lab=lab)
        self.lb = aws_resources.ensure_load_balancer(ctx, network, lab=lab)
        ecs = aws_resources.ensure_ecs(ctx, network, self.lb, self.baseline, lab=lab)
        self.target = aws_resources.ensure_codedeploy(
            ctx, self.strategy, alarms=(), auto_rollback=(), lb=self.lb, ecs_names=ecs, lab=lab
        )
        now = aws_resources.listener_weights(ctx, self.lb)
        self.colours[live] = "blue" if now["blue"] >= now["green"] else "green"

    def deploy(self, version: str, source: str, description: str) -> str:
        self.colours[version] = "green" if self.colours.get(source) == "blue" else "blue"
        return aws_resources.create_deployment(
            self.ctx, self.target, self.strategy, releases.get(version), releases.get(source),
            alarms=(), auto_rollback=(), description=description, lab=self.lab,
        )  # fmt: skip

    def share(self, source: str, target: str, percent: float) -> None:
        new = round(percent)
        wanted = (self.colours[source], 100 - new, self.colours[target], new)
        if wanted == self.weights:
            return
        read = aws_resources.set_listener_weights(
            self.ctx, self.lb, {wanted[0]: wanted[1], wanted[2]: wanted[3]}
        )
        if (read[wanted[0]], read[wanted[2]]) != (wanted[1], wanted[3]):
            raise RuntimeError(f"listener weights read back {read}, not {wanted}")
        self.weights = wanted


class GameDay:
    """One game day on one bookstore service, stepped a simulated minute at a time.

    See the module docstring for what happens each minute and what is recorded.

    Args:
        ctx: The workshop context on the local emulator, or None for a dry run.
        service: The bookstore service under test (``payments`` by default).
        baseline: The version serving when the game day starts.
        alarms: The alarms that page: names of CloudWatch alarms, or
            :class:`~labs.observability.alarms.Alarm` objects (required for a dry run).
        incident_id: The id of the incident the game day records.
        title: Its title.
        seed: Seeds the traffic, the rollouts and the users.
        requests_per_second: The service's traffic.
        users: Active users (requests come from them; flags are evaluated for them).
        minutes: Simulated minutes to reserve for the game day.
        faults: Fault switches of custom version labels (others: ``labs.bookstore.VERSIONS``).
        flag_faults: Fault switch of each code path behind a feature flag, by flag key: the
            requests of users for whom the flag is on get it on top of their version's.
        config: The CodeDeploy ECS configuration of :meth:`deploy`.
        lab: The ``lab`` tag of what is created in the emulator.

    Attributes:
        clock: The simulated clock.
        live: The version serving all traffic when no deployment is in progress.
    """

    def __init__(
        self,
        ctx: Any | None,
        *,
        service: str = "payments",
        baseline: str = "v1",
        alarms: Sequence[str | Alarm] = (),
        incident_id: str = "GAMEDAY-1",
        title: str = "",
        seed: int = 13,
        requests_per_second: float = 20.0,
        users: int = 20_000,
        minutes: int = 90,
        faults: Mapping[str, FaultSwitch] | None = None,
        flag_faults: Mapping[str, FaultSwitch] | None = None,
        config: str = DEFAULT_CONFIG,
        lab: str = "13",
    ) -> None:
        if ctx is not None and not ctx.is_local:
            raise InputError(
                "A game day runs on the local emulator or as a dry run (ctx=None).",
                where="ctx",
                hint="On a real account, run it as a dry run: GameDay(None, alarms=[Alarm(...)]).",
            )
        if service not in SERVICES:
            raise InputError(
                f"The bookstore has no service {service!r}.",
                where="service",
                hint=f"Use one of {', '.join(SERVICES)}.",
            )
        self.faults = dict(faults or {})
        self.flag_faults = dict(flag_faults or {})
        for label, switches in (("faults", self.faults), ("flag_faults", self.flag_faults)):
            for key, switch in switches.items():
                if not isinstance(switch, FaultSwitch):
                    raise InputError(
                        f"{label}[{key!r}] must be a FaultSwitch, got {type(switch).__name__}.",
                        where=label,
                    )
        for key in self.flag_faults:
            if not isinstance(key, str) or not _FLAG_KEY.match(key):
                raise InputError(f"{key!r} is not a flag key.", where="flag_faults")
        for key in self.faults:
            if not isinstance(key, str) or not key or "+" in key:
                raise InputError(f"{key!r} is not a version label (no '+').", where="faults")
        self.ctx = ctx
        self.service = service
        self.incident_id = str(incident_id)
        self.title = title or f"{service}: game day"
        self.seed = int(seed)
        self.users = int(users)
        self.known_versions = sorted(
            set(VERSIONS) | set(releases.RELEASES) | set(self.faults) | {baseline}
        )
        behaviours: dict[str, VersionBehaviour] = {}
        for version in self.known_versions:
            behaviours[version] = _behaviour(service, version, self.fault_switch(version))
            for flag in self.flag_faults:
                label = f"{version}+{flag}"
                behaviours[label] = _behaviour(service, label, self.fault_switch(label))
        self.strategy = TrafficShift(config)
        if self.strategy.platform != "ECS":
            raise InputError(
                f"{config} is not an ECS configuration; the game day deploys ECS blue/green.",
                where="config",
                hint="e.g. CodeDeployDefault.ECSAllAtOnce or ECSCanary10Percent5Minutes.",
            )
        self.alarms = self._definitions(list(alarms))
        self.sim = TrafficSimulator(
            service, requests_per_second=requests_per_second, seed=self.seed, users=self.users,
            behaviours=behaviours,
        )  # fmt: skip
        self.clock = SimClock.reserve(ctx, minutes)
        self.minutes = int(minutes)
        self._store = MetricStore() if ctx is None else None
        names = [a.alarm_name for a in self.alarms]
        self.runner = (
            AlarmRunner(ctx, self.alarms if ctx is None else names, store=self._store)
            if self.alarms
            else None
        )
        self.baseline = baseline
        self.live = baseline
        self._last_good: str | None = None
        self._deployment: _Deployment | None = None
        self._emulator = _Emulator(ctx, lab, self.strategy, baseline) if ctx is not None else None
        self._exposure: dict[str, float] = dict.fromkeys(self.flag_faults, 0.0)
        self._contexts: pd.DataFrame | None = None
        self._rows: list[dict[str, Any]] = []
        self._served: list[dict[str, float]] = []
        self._events: list[dict[str, Any]] = []
        self._carry: list[str] = []
        self._deployments: list[dict[str, Any]] = []
        self._marks: dict[str, pd.Timestamp | None] = dict.fromkeys(
            ("started", "detected", "mitigated", "acknowledged", "resolved")
        )
        self._cause: str | None = None
        self._mitigator = ("deployment pipeline", "automation", "")
        self._faulty_seen: set[str] = set()
        self._states: dict[str, str] = {}

    # -- set-up -------------------------------------------------------------------------------

    def _definitions(self, alarms: list[str | Alarm]) -> list[Alarm]:
        named = [a for a in alarms if not isinstance(a, Alarm)]
        if named and self.ctx is None:
            raise InputError(
                "A dry run (ctx=None) evaluates alarms in memory and needs Alarm objects.",
                where="alarms",
            )
        found = {a.alarm_name: a for a in alarms if isinstance(a, Alarm)}
        if named:
            described = self.ctx.client("cloudwatch").describe_alarms(AlarmNames=named)
            found.update(
                {a["AlarmName"]: Alarm.from_describe(a) for a in described["MetricAlarms"]}
            )
            missing = [n for n in named if n not in found]
            if missing:
                raise InputError(
                    f"There is no CloudWatch alarm called {missing[0]!r}.",
                    where="alarms",
                    hint="Create it first with cloudwatch.put_metric_alarm(...).",
                )
        order = [a.alarm_name if isinstance(a, Alarm) else a for a in alarms]
        return [found[name] for name in order]

    def fault_switch(self, label: str) -> FaultSwitch:
        """The fault switch of a version label, or of ``"<version>+<flag>"`` (a flagged path)."""
        if "+" in label:
            version, flag = label.split("+", 1)
            if flag not in self.flag_faults:
                raise InputError(f"No flagged code path {flag!r} in this game day.", where=label)
            return combine(self.fault_switch(version), self.flag_faults[flag])
        return self.faults.get(label) or fault_for_version(label)

    def is_faulty(self, label: str) -> bool:
        """True when requests to ``label`` fail or slow down because of a fault switch."""
        return label == UNAVAILABLE or not self.fault_switch(label).is_healthy

    # -- time ---------------------------------------------------------------------------------

    @property
    def now(self) -> pd.Timestamp:
        """The current simulated time."""
        return self.clock.now

    @property
    def start(self) -> pd.Timestamp:
        """When the game day started (simulated)."""
        return self.clock.start

    @property
    def minute(self) -> int:
        """Whole minutes since the game day started."""
        return round(self.clock.elapsed_minutes)

    def advance(self, minutes: int = 1) -> pd.DataFrame:
        """Simulate ``minutes`` minutes and return their rows of :attr:`history`."""
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            raise InputError(f"minutes is a whole number, got {minutes!r}.", where="minutes")
        self._room(minutes)
        first = len(self._rows)
        for _ in range(minutes):
            self._step()
        return self.history.iloc[first:].reset_index(drop=True)

    def advance_until(
        self, condition: Callable[[GameDay], bool], *, max_minutes: int = 30, what: str = ""
    ) -> int:
        """Simulate minute by minute until ``condition(self)`` holds; return the minutes taken.

        Raises:
            InputError: When it does not hold within ``max_minutes``.
        """
        for taken in range(1, max_minutes + 1):
            self._room(1)
            self._step()
            if condition(self):
                return taken
        raise InputError(
            f"{what or 'The condition'} did not happen within {max_minutes} simulated minutes.",
            where="advance_until",
            hint="Check the scenario (is the fault injected? does the alarm watch the right "
            "metric?) or allow more minutes.",
        )

    def advance_until_alarm(self, max_minutes: int = 30) -> int:
        """Simulate until an alarm is in ``ALARM``; return the minutes taken."""
        return self.advance_until(
            lambda day: ALARM in day.alarm_states().values(),
            max_minutes=max_minutes,
            what="An alarm going to ALARM",
        )

    def advance_until_ok(self, max_minutes: int = 30) -> int:
        """Simulate until every alarm is ``OK``; return the minutes taken."""
        return self.advance_until(
            lambda day: (
                bool(day.alarm_states()) and all(s == OK for s in day.alarm_states().values())
            ),
            max_minutes=max_minutes,
            what="Every alarm back to OK",
        )

    def _room(self, minutes: int) -> None:
        if self.clock.elapsed_minutes + minutes > self.minutes:
            raise InputError(
                f"The game day reserved {self.minutes} simulated minutes; "
                f"{self.clock.elapsed_minutes:g} are used and {minutes} more were asked for.",
                where="minutes",
                hint="Create the GameDay with more minutes=.",
            )

    def alarm_states(self) -> dict[str, str]:
        """Every alarm's state after the last minute."""
        return dict(self._states)

    # -- what people and pipelines do ----------------------------------------------------------

    def _event(self, kind: str, at: pd.Timestamp, actor: str, role: str, text: str) -> None:
        if kind in self._marks:
            self._marks[kind] = at
        self._events.append({"at": at, "kind": kind, "actor": actor, "role": role, "text": text})

    def note(self, text: str, *, actor: str, role: str) -> None:
        """Record a note in the incident timeline, now (a finding, a decision, a message)."""
        self._event("note", self.now, actor, role, text)

    def acknowledge(self, actor: str, *, role: str = "on-call engineer", text: str = "") -> None:
        """Record that ``actor`` acknowledged the page, now."""
        if self._marks["detected"] is None:
            raise InputError(
                "Nothing to acknowledge: no alarm has detected an incident yet.",
                hint="advance_until_alarm() first.",
            )
        if self._marks["acknowledged"] is not None:
            raise InputError("The page was already acknowledged.")
        self._event("acknowledged", self.now, actor, role, text or "page acknowledged")

    def resolve(self, actor: str, *, role: str = "incident commander", text: str = "") -> None:
        """Record that ``actor`` resolved (closed) the incident, now."""
        if self._marks["mitigated"] is None:
            raise InputError(
                "The incident is not mitigated yet: users are still affected.",
                hint="Mitigate first (rollback() or apply_flags()), then advance a minute.",
            )
        if self._marks["resolved"] is not None:
            raise InputError("The incident is already resolved.")
        self._event("resolved", self.now, actor, role, text or "incident resolved")

    def deploy(
        self, version: str, *, actor: str = "deployment pipeline", role: str = "automation"
    ) -> str:
        """Start a deployment of ``version`` (a release: this is how a bad one gets in).

        The traffic moves from the next simulated minute on, as the configuration says. In the
        emulator: a CodeDeploy deployment (no alarms, no automatic rollback) and the listener.

        Returns:
            The game day's id of the deployment (``<incident id>-deploy-<n>``).
        """
        if version not in self.known_versions:
            raise InputError(
                f"Unknown version {version!r} in this game day.",
                where="version",
                hint=f"Use one of {', '.join(self.known_versions)}, or give its fault switch "
                "in GameDay(faults={...}).",
            )
        self._last_good = self.live
        return self._start_deployment(version, "release", actor, role)

    def rollback(self, *, actor: str, role: str = "on-call engineer") -> str:
        """Roll back to the version that served before the last release: a new deployment.

        While the last deployment still runs (its original task set is kept for the
        termination wait), traffic is rerouted to the original at once; afterwards the last
        good version is deployed again, blue/green, with the same configuration.
        """
        if self._last_good is None:
            raise InputError("Nothing to roll back: no release was deployed in this game day.")
        target = self._last_good
        current = self._deployment
        for row in reversed(self._deployments):
            if row["kind"] == "release":
                row["rolled_back"] = True
                break
        self._mitigator = (actor, role, f"all traffic back on {target} (rollback)")
        if current is not None and current.row["kind"] == "release":
            current.row["status"] = "Stopped"
            current.rollout.stop()
            rollout = self.strategy.rollback(
                current.rollout, releases.get(target), self._rng("rollback")
            )
            return self._start_deployment(
                target, "rollback", actor, role, rollout=rollout, source=current.target
            )
        return self._start_deployment(target, "rollback", actor, role)

    def _rng(self, purpose: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, len(self._deployments), len(purpose)])

    def _start_deployment(
        self,
        version: str,
        kind: str,
        actor: str,
        role: str,
        *,
        rollout: Rollout | None = None,
        source: str | None = None,
    ) -> str:
        if self._deployment is not None and rollout is None:
            raise InputError(
                f"Deployment {self._deployment.row['deploy_id']} is still in progress.",
                hint="advance() until it finishes, or rollback().",
            )
        source = source or self.live
        deploy_id = f"{self.incident_id}-deploy-{len(self._deployments) + 1}"
        codedeploy_id = None
        if self._emulator is not None:
            self._emulator.prepare(self.live)
            what = "rollback to" if kind == "rollback" else "release"
            codedeploy_id = self._emulator.deploy(
                version, source, f"game day {self.incident_id}: {what} {self.service} {version}"
            )
        row = {
            "deploy_id": deploy_id,
            "codedeploy_id": codedeploy_id,
            "version": version,
            "kind": kind,
            "config": self.strategy.deployment_config.name,
            "deployed_at": self.now,
            "status": "InProgress",
            "change_ids": None,
            "rolled_back": False,
            "fixes_incident_id": (
                self.incident_id if kind == "rollback" and self._marks["started"] else None
            ),
        }
        self._deployments.append(row)
        rollout = rollout or self.strategy.rollout(releases.get(version), self._rng(kind))
        self._deployment = _Deployment(row, rollout, self.minute, source, version)
        config = self.strategy.deployment_config.name.removeprefix("CodeDeployDefault.")
        if kind == "release":
            text = (
                f"deployment {deploy_id} of {self.service} {version} started ({config}; "
                "no alarms, no automatic rollback)"
            )
        else:
            text = f"rollback deployment {deploy_id} started: {self.service} {version} again"
        self._event("note", self.now, actor, role, text)
        return deploy_id

    def user_contexts(self) -> pd.DataFrame:
        """The users flags are evaluated for (``labs.practices.abtest.bookstore_users``)."""
        if self._contexts is None:
            from labs.practices.abtest import bookstore_users

            self._contexts = bookstore_users(self.users, seed=self.seed)
        return self._contexts

    def apply_flags(
        self, document: Any, *, actor: str, role: str = "engineer", text: str = ""
    ) -> dict[str, float]:
        """Apply a feature-flag document from the next minute on; return each flag's exposure.

        The document is validated (:func:`labs.practices.flags.validate_document`) and each
        flag of ``flag_faults`` is evaluated for every user (:func:`flag_exposure`). On AWS
        the document would reach the service through an AppConfig deployment and the AppConfig
        Agent; here it takes effect at the next simulated minute. With a partial exposure the
        traffic simulator still draws failing users among all users, so ``users affected``
        is then an upper bound.

        Raises:
            InputError: Two flagged paths on at once (the game day models one at a time).
        """
        doc = flag_rules.validate_document(document)
        exposure = {
            flag: flag_exposure(doc, flag, self.user_contexts()) for flag in self.flag_faults
        }
        on = [flag for flag, share in exposure.items() if share > 0]
        if len(on) > 1:
            raise InputError(
                f"Flags {on} would switch on two flagged code paths at once.",
                where="document",
                hint="A game day injects one fault at a time.",
            )
        turned_off = [
            f for f, share in exposure.items() if share == 0 and self._exposure.get(f, 0) > 0
        ]
        if turned_off:
            self._mitigator = (actor, role, f"flag {turned_off[0]} off for every user")
        self._exposure = exposure
        summary = ", ".join(f"{f} on for {share:.0%} of users" for f, share in exposure.items())
        self._event("note", self.now, actor, role, text or f"flags applied: {summary}")
        return exposure

    # -- one minute ---------------------------------------------------------------------------

    def _deployment_weights(self, events: list[str]) -> dict[str, float]:
        current = self._deployment
        if current is None:
            return {self.live: 100.0}
        tick = current.rollout.tick(self.minute - current.start_minute)
        events.extend(tick.events)
        share = tick.percent_new
        served = 1.0 - tick.unavailable_pct / 100.0
        weights = {
            current.source: served * (100.0 - share),
            current.target: served * share,
        }
        if tick.unavailable_pct:
            weights[UNAVAILABLE] = tick.unavailable_pct
        if self._emulator is not None:
            self._emulator.share(current.source, current.target, share)
        if current.rollout.status == SUCCEEDED:
            self.live, self._deployment = current.target, None
            current.row["status"] = "Succeeded"
            self._carry.append(
                f"deployment {current.row['deploy_id']} succeeded: {current.target} serves all "
                "traffic"
            )
        elif current.rollout.status == FAILED:
            self._deployment = None
            current.row["status"] = "Failed"
            self._carry.append(
                f"deployment {current.row['deploy_id']} failed: {current.rollout.reason}"
            )
        return weights

    def _with_flags(self, weights: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for label, weight in weights.items():
            flagged = [(f, e) for f, e in self._exposure.items() if e > 0 and label != UNAVAILABLE]
            if not flagged:
                out[label] = out.get(label, 0.0) + weight
                continue
            flag, share = flagged[0]
            out[label] = out.get(label, 0.0) + weight * (1.0 - share)
            out[f"{label}+{flag}"] = weight * share
        return {k: v for k, v in out.items() if v > 0}

    def _step(self) -> None:
        events, self._carry = self._carry, []
        weights = self._with_flags(self._deployment_weights(events))
        start = self.now
        period = self.sim.step(start, weights)
        if self.ctx is not None:
            publish(self.ctx, period)
        else:
            assert self._store is not None
            self._store.add(NAMESPACE, period.metric_data())
        self.clock.advance(60)
        if self.runner is not None:
            evaluated = self.runner.evaluate(self.now)
            previous = dict(self._states)
            self._states = dict(zip(evaluated["alarm"], evaluated["state"], strict=True))
        else:
            previous = {}
        failed_by_fault = int(period.fault_errors.sum())
        faulty = [label for label in weights if self.is_faulty(label)]
        self._faulty_seen.update(faulty)
        marks = self._marks
        exposed = sum(
            int(n) for v, n in zip(period.versions, period.requests, strict=True)
            if self.is_faulty(v)
        )  # fmt: skip
        if marks["started"] is None and exposed > 0:
            bad = ", ".join(f"{self.service} {label}" for label in faulty)
            self._event(
                "started", start, bad, "system",
                f"{exposed} requests reached {bad} in the first minute; {failed_by_fault} failed",
            )  # fmt: skip
            current = self._deployment
            if current is not None and self.is_faulty(current.target):
                self._cause = current.row["deploy_id"]
        firing = [name for name, state in self._states.items() if state == ALARM]
        if marks["started"] is not None and marks["detected"] is None and firing:
            alarm = next(a for a in self.alarms if a.alarm_name == firing[0])
            self._event("detected", self.now, alarm.alarm_name, "monitoring", _alarm_text(alarm))
        elif marks["detected"] is not None:
            for name, state in self._states.items():
                if state == OK and previous.get(name) == ALARM:
                    self._event("note", self.now, name, "monitoring", f"alarm {name} back to OK")
        if marks["detected"] is not None and marks["mitigated"] is None and not faulty:
            actor, role, what = self._mitigator
            self._event("mitigated", start, actor, role, f"impact ended: {what}")
        self._served.append(weights)
        requests = period.total_requests
        self._rows.append(
            {
                "minute": self.minute - 1,
                "time": start,
                "serving": " · ".join(f"{k} {v:.0f}%" for k, v in weights.items()),
                "requests": requests,
                "errors": period.total_errors,
                "error_rate_pct": 100.0 * period.total_errors / max(requests, 1),
                "failed_by_fault": failed_by_fault,
                "p99_ms": period.percentiles()["p99"],
                "alarm": _combined(list(self._states.values())),
                "events": "; ".join(events),
            }
        )

    # -- results ------------------------------------------------------------------------------

    @property
    def history(self) -> pd.DataFrame:
        """One row per simulated minute (:data:`HISTORY_COLUMNS`)."""
        return pd.DataFrame(self._rows, columns=HISTORY_COLUMNS)

    def serving(self) -> dict[str, float]:
        """The share (%) of the last minute's traffic each version or flagged path got."""
        return dict(self._served[-1]) if self._served else {self.live: 100.0}

    def events(self) -> pd.DataFrame:
        """The incident events recorded so far, in time order."""
        frame = pd.DataFrame(self._events, columns=["at", "kind", "actor", "role", "text"])
        return frame.sort_values("at", kind="stable").reset_index(drop=True)

    def timeline(self, title: str | None = None) -> incidents.Timeline:
        """The incident as a checked :class:`~labs.practices.incidents.Timeline`."""
        return incidents.timeline(
            self.incident_id,
            title or self.title,
            self.events(),
            service=self.service,
            caused_by_deploy_id=self._cause,
        )

    def deployments(self) -> pd.DataFrame:
        """The game day's deployments: ``deploy_id``, ``codedeploy_id``, ``version``, ``kind``
        (release, rollback), ``config``, ``deployed_at``, ``status``, ``change_ids``,
        ``rolled_back``, ``fixes_incident_id`` — the columns :func:`labs.dora.metrics` reads."""
        columns = [
            "deploy_id", "codedeploy_id", "version", "kind", "config", "deployed_at", "status",
            "change_ids", "rolled_back", "fixes_incident_id",
        ]  # fmt: skip
        return pd.DataFrame(self._deployments, columns=columns)

    @property
    def created_network(self) -> bool:
        """True when this game day created the bookstore's VPC in the emulator (its cleanup
        then deletes it with :func:`labs.deploy.aws_resources.delete_network`); False when it
        reused one (lab 04's, for instance) or created none."""
        return self._emulator is not None and self._emulator.created_network

    def listener_weights(self) -> dict[str, int] | None:
        """The ALB listener's weights as read back from the emulator, by version label.

        None in a dry run or before the first deployment.
        """
        emulator = self._emulator
        if emulator is None or emulator.lb is None:
            return None
        read = aws_resources.listener_weights(self.ctx, emulator.lb)
        latest = {colour: version for version, colour in emulator.colours.items()}
        return {latest[colour]: weight for colour, weight in sorted(read.items())}

    def impact(self) -> dict[str, Any]:
        """Requests that failed because of the fault, and the users who met at least one."""
        affected = self.sim.users_affected(sorted(self._faulty_seen)) if self._faulty_seen else 0
        return {
            "failed_requests": int(self.history["failed_by_fault"].sum()),
            "users_affected": affected,
            "users": self.users,
            "users_affected_pct": 100.0 * affected / self.users,
        }

    def plot(self, title: str | None = None) -> Any:
        """The error rate per minute, the alarm threshold, ALARM periods and the lifecycle.

        Returns:
            A matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        history = self.history
        if history.empty:
            raise InputError("The game day has not run yet: nothing to plot.", hint="advance()")
        fig, ax = plt.subplots(figsize=(10, 3.8))
        edges = [*history["minute"], int(history["minute"].iloc[-1]) + 1]
        ax.stairs(history["error_rate_pct"], edges, color="#1f77b4", lw=1.8,
                  label=f"{self.service} error rate (per minute)")  # fmt: skip
        for alarm in self.alarms:
            if alarm.metric_name == "ErrorRate":
                ax.axhline(alarm.threshold, color="#d62728", ls="--", lw=1,
                           label=f"alarm threshold ({alarm.threshold:g}%)")  # fmt: skip
        in_alarm = history["alarm"] == ALARM
        for i, minute in enumerate(history.loc[in_alarm, "minute"]):
            ax.axvspan(minute + 1, minute + 2, color="#d62728", alpha=0.08, lw=0,
                       label="alarm in ALARM" if i == 0 else None)  # fmt: skip
        top = max(float(history["error_rate_pct"].max()), 1.0) * 1.15
        right = float(edges[-1])
        for event in self._events:
            if event["kind"] == "note":
                continue
            at = (event["at"] - self.start).total_seconds() / 60.0
            right = max(right, at)
            ax.axvline(at, color="#555555", lw=0.8, ls=":")
            ax.text(at, top, event["kind"], rotation=90, va="top", ha="right", fontsize=8,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})  # fmt: skip
        ax.set_ylim(0, top * 1.05)
        ax.set_xlim(0, right + 1)
        ax.set_title(title or f"Game day {self.incident_id}: {self.service} error rate per minute")
        ax.set_xlabel("minutes since the game day started (simulated)")
        ax.set_ylabel("requests failing (%)")
        ax.legend(loc="center right", fontsize=8)
        fig.tight_layout()
        return fig


def _alarm_text(alarm: Alarm) -> str:
    m = alarm.datapoints_to_alarm or alarm.evaluation_periods
    statistic = alarm.extended_statistic or alarm.statistic
    operator = {
        "GreaterThanThreshold": ">",
        "GreaterThanOrEqualToThreshold": "≥",
        "LessThanThreshold": "<",
        "LessThanOrEqualToThreshold": "≤",
    }.get(alarm.comparison_operator, alarm.comparison_operator)
    return (
        f"alarm went to ALARM: {statistic} {alarm.metric_name} {operator} {alarm.threshold:g} "
        f"in {m} of {alarm.evaluation_periods} periods of {alarm.period} s; page sent"
    )


def _combined(states: list[str]) -> str:
    if not states:
        return "no alarms"
    if ALARM in states:
        return ALARM
    return OK if all(s == OK for s in states) else "INSUFFICIENT_DATA"


# --------------------------------------------------------------------------------------------
# The pager: SNS topic -> SQS queue
# --------------------------------------------------------------------------------------------


def ensure_pager(ctx: Any, *, lab: str = "13") -> tuple[str, str]:
    """Create (once) the on-call pager: an SNS topic with an SQS queue subscribed to it.

    The alarms' actions publish to the topic; the queue stands for the on-call engineer's
    phone. The queue is purged, so a re-run starts with no page. Returns ``(topic_arn,
    queue_url)``.
    """
    tags = ctx.tags(lab=lab)
    sns, sqs = ctx.client("sns"), ctx.client("sqs")
    topic = sns.create_topic(Name=ctx.name("gameday-pager"), Tags=tags.as_list())["TopicArn"]
    queue = sqs.create_queue(QueueName=ctx.name("gameday-pager-phone"), tags=dict(tags))["QueueUrl"]
    sqs.purge_queue(QueueUrl=queue)
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscribed = sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
    if not any(s.get("Endpoint") == arn for s in subscribed):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def read_pages(ctx: Any, queue_url: str) -> pd.DataFrame:
    """Read (and delete) the alarm notifications in the pager queue, oldest first.

    Returns:
        ``alarm``, ``old_state``, ``new_state``, ``metric``, ``threshold`` and ``changed_at``
        (the simulated time in the notification's ``StateChangeTime``).
    """
    sqs = ctx.client("sqs")
    rows = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            break
        for message in messages:
            body = json.loads(json.loads(message["Body"])["Message"])
            trigger = body.get("Trigger", {})
            rows.append(
                {
                    "alarm": body["AlarmName"],
                    "old_state": body["OldStateValue"],
                    "new_state": body["NewStateValue"],
                    "metric": trigger.get("MetricName"),
                    "threshold": trigger.get("Threshold"),
                    "changed_at": pd.Timestamp(body["StateChangeTime"]).tz_convert("UTC"),
                }
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    columns = ["alarm", "old_state", "new_state", "metric", "threshold", "changed_at"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("changed_at", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Diagnosis: the real bookstore's logs, and traces
# --------------------------------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self, start: pd.Timestamp, time: SimTime) -> None:
        super().__init__(logging.INFO)
        self.start_s = start.timestamp()
        self.time = time
        self.json = JsonFormatter()
        self.lines: list[tuple[float, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.created = round(self.start_s + self.time.now, 3) + 4e-7
        record.msecs = round(record.created % 1, 3) * 1000
        stream = f"{record.__dict__.get('service', '?')}/{record.__dict__.get('version', '?')}"
        self.lines.append((record.created, stream, self.json.format(record)))


class _Routed:
    """A client that sends each request to the app of the label chosen for the current order."""

    def __init__(self, make: Callable[[str], Any]) -> None:
        self.make = make
        self.clients: dict[str, WsgiClient] = {}
        self.current = ""

    def request(self, method: str, path: str, body: Any = None, *, headers: Any = None) -> Any:
        if self.current not in self.clients:
            self.clients[self.current] = WsgiClient(self.make(self.current))
        return self.clients[self.current].request(method, path, body, headers=headers)


def request_logs(
    day: GameDay, *, orders_per_minute: float = 20.0, seed: int | None = None
) -> pd.DataFrame:
    """Send orders through the real bookstore services for every minute the game day ran.

    Each minute, a Poisson number of ``POST /orders`` (``orders_per_minute`` on average) is
    sent to ``orders`` (which calls ``catalog`` and ``payments``), spread over the minute; the
    game day's service answers each order with the version — or flagged path — drawn from the
    shares it served that minute, the other two services with ``v1``. Requests that found no
    healthy target never reach a service and write no line. The services write their usual
    JSON log line per request (:class:`labs.bookstore.JsonFormatter`), captured with the
    simulated time. A sample of the traffic, not all of it: the metrics count every request.

    Returns:
        ``timestamp`` (simulated, UTC), ``stream`` (``service/version``), ``message`` (JSON),
        oldest first — what :func:`write_logs` stores.
    """
    if not day._served:
        raise InputError("The game day has not run yet.", hint="advance() first.")
    rng = np.random.default_rng([day.seed, 10] if seed is None else seed)
    time = SimTime()
    counter = [0]

    def request_id() -> str:
        counter[0] += 1
        return f"req-{day.seed:03d}-{counter[0]:06d}"

    def make(service: str, label: str) -> Any:
        cls = {"catalog": CatalogApp, "payments": PaymentsApp}[service]
        version = label if service == day.service else "v1"
        fault = day.fault_switch(version) if service == day.service else fault_for_version("v1")
        fault = FaultSwitch(
            fault.error_rate, fault.added_latency_ms, seed=int(rng.integers(1 << 30))
        )
        clock = ServiceClock(time, np.random.default_rng(int(rng.integers(1 << 30))),
                              LATENCY_BASELINES[service])  # fmt: skip
        return cls(version=version, fault=fault, sleep=time.sleep, clock=clock,
                   request_id_factory=request_id)  # fmt: skip

    catalog = _Routed(lambda label: make("catalog", label))
    payments = _Routed(lambda label: make("payments", label))
    orders_apps: dict[str, OrdersApp] = {}

    def orders_app(label: str) -> OrdersApp:
        if label not in orders_apps:
            version = label if day.service == "orders" else "v1"
            fault = day.fault_switch(version)
            fault = FaultSwitch(fault.error_rate, fault.added_latency_ms,
                                seed=int(rng.integers(1 << 30)))  # fmt: skip
            clock = ServiceClock(time, np.random.default_rng(int(rng.integers(1 << 30))),
                                  _ORDERS_OWN)  # fmt: skip
            orders_apps[label] = OrdersApp(
                catalog, payments, version=version, fault=fault, sleep=time.sleep, clock=clock,
                request_id_factory=request_id,
            )  # fmt: skip
        return orders_apps[label]

    capture = _Capture(day.start, time)
    logger = logging.getLogger(LOGGER_NAME)
    saved = (logger.level, logger.propagate)
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    books = [b.id for b in SEED_BOOKS]
    try:
        for minute, weights in enumerate(day._served):
            labels = [k for k in weights if k != UNAVAILABLE]
            shares = np.array([weights[k] for k in weights], dtype=float)
            n = int(rng.poisson(orders_per_minute))
            offsets = np.sort(rng.uniform(0.0, 60.0, n))
            picks = rng.choice(len(weights), size=n, p=shares / shares.sum())
            keys = list(weights)
            for offset, pick in zip(offsets, picks, strict=True):
                label = keys[int(pick)]
                if label == UNAVAILABLE or label not in labels:
                    continue
                time.now = minute * 60.0 + float(offset)
                catalog.current = label if day.service == "catalog" else "v1"
                payments.current = label if day.service == "payments" else "v1"
                body = {
                    "book_id": books[int(rng.integers(len(books)))],
                    "quantity": int(rng.choice([1, 1, 1, 1, 2, 2, 3])),
                    "customer_id": f"c-{int(rng.integers(1, 500)):03d}",
                }
                WsgiClient(orders_app(label if day.service == "orders" else "v1")).post(
                    "/orders", body
                )
    finally:
        logger.removeHandler(capture)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    frame = pd.DataFrame(capture.lines, columns=["created", "stream", "message"])
    frame.insert(
        0, "timestamp", pd.to_datetime(frame.pop("created"), unit="s", utc=True).dt.round("ms")
    )
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def write_logs(
    ctx: Any, frame: pd.DataFrame, *, tags: Mapping[str, str], group: str = LOG_GROUP
) -> pd.DataFrame:
    """Store request log lines in CloudWatch Logs, one stream per ``service/version``.

    Uses :func:`labs.observability.logs.put_events` (which keeps simulated times readable
    despite ``PutLogEvents``' 14-day limit). Returns the events written per stream.
    """
    from labs.observability import logs

    logs.ensure_log_group(ctx, group, tags=tags)
    counts = [
        {"stream": str(stream), "events": logs.put_events(ctx, group, str(stream), part)}
        for stream, part in frame.groupby("stream", sort=True)
    ]
    return pd.DataFrame(counts, columns=["stream", "events"])


def trace_sample(
    ctx: Any | None, day: GameDay, *, orders: int = 60, minutes: int = 5, seed: int | None = None
) -> Any:
    """Trace ``orders`` orders through the traced bookstore (lab 11) over the last ``minutes``.

    The game day's service runs the version (or flagged path) that served most of the last
    minute's traffic; the traces go to X-Ray (the emulator) on a clock that starts ``minutes``
    before the game day's now, so they fall in the incident's window. The servers are stopped
    (and the segments flushed) before this returns.

    Returns:
        The stopped :class:`labs.observability.tracing.TracedBookstore`; its ``window`` is the
        traced time, ``segments()`` the documents without the emulator.
    """
    from labs.observability import tracing

    serving = day.serving()
    label = max((k for k in serving if k != UNAVAILABLE), key=lambda k: serving[k])
    start = max(day.start, day.now - pd.Timedelta(minutes=minutes))
    clock = tracing.TraceClock(start)
    span = (day.now - start).total_seconds()
    store = tracing.TracedBookstore(
        ctx,
        versions={day.service: label},
        faults={day.service: day.fault_switch(label)},
        seed=day.seed if seed is None else seed,
        minutes=span / 60.0,
        clock=clock,
    )
    with store:
        store.send_orders(orders, requests_per_second=max(orders / (span / 3.0), 0.01))
    return store
