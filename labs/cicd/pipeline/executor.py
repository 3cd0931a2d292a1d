"""The pipeline executor: runs executions through a pipeline's stages on a simulated clock.

The emulator stores pipelines and executions but runs no action (every execution is
``Succeeded`` the moment it starts, FACTS.md). This module implements what CodePipeline does,
following "How pipeline executions work"
(https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts-how-it-works.html):

* **Stages are locked while they process an execution.** Each stage processes one execution at
  a time; when the execution completes the stage it moves on to the next one and the stage is
  unlocked. A failure releases the lock too.
* **Later executions wait in front of a locked stage.** In ``SUPERSEDED`` mode (the default) a
  locked stage holds *one* waiting execution: a more recent execution overtakes it, and the
  older one ends as ``Superseded`` — "executions are only superseded in between stages". In
  ``QUEUED`` mode (V2) they wait in order; in ``PARALLEL`` mode (V2) stages are not locked.
* **Inside a stage**, actions run in ``runOrder`` groups, smallest first; the actions of a group
  run in parallel ("Pipeline structure reference"). A failed action lets its parallel siblings
  finish, starts no later group, and fails the stage and the execution (``Failed``).
* **Retry** (``RetryStageExecution``): ``FAILED_ACTIONS`` runs the failed actions again and
  carries on; ``ALL_ACTIONS`` runs the stage from its first action. A failed execution can no
  longer be retried once another execution has entered the stage
  (https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-actions-retry.html).
* **Manual approval** keeps its stage locked until approved or rejected; rejected, or
  unanswered for seven days, it fails like any action
  (https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals.html).
* **Stop** (``StopPipelineExecution``): *stop and wait* lets the running actions finish
  (``Stopping``, then ``Stopped``), *stop and abandon* marks them ``Abandoned`` at once.
* **Update** (``UpdatePipeline``): a new pipeline version cancels the executions in progress
  (``Cancelled``); a failed execution of an older version can no longer be retried.
* **Variables**: an action's configuration is resolved as it starts; ``#{codepipeline.
  PipelineExecutionId}`` always exists, an action's output variables go to its namespace.

Time is simulated (a :class:`~labs.observability.clock.SimClock` the executor moves from event to
event): every action takes the minutes its handler says (a build 6, a canary
deployment as long as the deployment engine took), and commits arrive at their commit times, so
a day of commits with overlapping executions runs in seconds. An action's work (the git export,
the build, the deployment) is really done when the action starts; its result becomes visible
when its simulated minutes are over.

Where AWS leaves a choice open: a stage whose action failed is marked failed when its last
running action ends; a superseded failed execution keeps the status ``Failed``.
"""

from __future__ import annotations

import heapq
import random
import shutil
import tempfile
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labs.cicd.pipeline.artifacts import ArtifactRef, ArtifactStore, artifact_key, extract
from labs.cicd.pipeline.model import Action, PipelineDefinition, Stage, resolve
from labs.errors import InputError, LabsError
from labs.observability.clock import SimClock

__all__ = [
    "APPROVAL_TIMEOUT",
    "ActionExecution",
    "ActionOutcome",
    "ActionRequest",
    "Execution",
    "Executor",
    "Handler",
    "StageRun",
    "approve_after",
    "reject_after",
]

APPROVAL_TIMEOUT = pd.Timedelta(days=7)
"""An approval nobody answers fails after seven days."""
FINISHED = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")
RETRY_MODES = ("FAILED_ACTIONS", "ALL_ACTIONS")


@dataclass
class ActionOutcome:
    """What an action handler reports.

    Attributes:
        status: ``Succeeded`` or ``Failed``.
        minutes: How long the action takes on the simulated clock.
        summary: One line for people (``externalExecutionSummary``).
        outputs: Output artifact name -> zip (bytes or a path to a zip file).
        variables: Output variables (go to the action's namespace).
        external_id: The id of the work in the service that did it (a build id, a deployment).
        external_url: A link to it, if any.
        error_code: ``errorDetails.code`` when failed.
        details: Anything else the handler wants to keep (a BuildResult, a DeploymentResult).
    """

    status: str = "Succeeded"
    minutes: float = 1.0
    summary: str = ""
    outputs: Mapping[str, bytes | Path] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    external_id: str | None = None
    external_url: str | None = None
    error_code: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, summary: str, *, minutes: float = 0.0, code: str = "JobFailed") -> Any:
        """A failed outcome."""
        return cls(status="Failed", minutes=minutes, summary=summary, error_code=code)


@dataclass
class ActionRequest:
    """What a handler gets to run one action.

    Attributes:
        pipeline: The pipeline's name.
        execution: The execution (read it, do not change it).
        stage: The stage's name.
        action: The action as declared.
        configuration: Its configuration with every ``#{…}`` reference resolved.
        inputs: Input artifact name -> zip bytes.
        started: The simulated time the action starts.
        attempt: 1, or more for a retried action.
        scratch: Where :attr:`workdir` is made, on first use (deleted afterwards).
    """

    pipeline: str
    execution: Execution
    stage: str
    action: Action
    configuration: dict[str, str]
    inputs: dict[str, bytes]
    started: pd.Timestamp
    attempt: int
    scratch: Path

    @property
    def workdir(self) -> Path:
        """A scratch folder of the action's own, made on first use and deleted afterwards."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch

    def extract(self, name: str | None = None) -> Path:
        """Unzip input artifact ``name`` (default: the first) into the scratch folder."""
        if not self.inputs:
            raise InputError(
                f"Action {self.action.name!r} has no input artifact.",
                where=f"stage {self.stage!r}, action {self.action.name!r}, inputArtifacts",
            )
        name = name or self.action.input_artifacts[0]
        return extract(self.inputs[name], self.workdir / "in" / name)


Handler = Callable[[ActionRequest], ActionOutcome]
"""An action handler: runs one action and reports its :class:`ActionOutcome`."""
Approver = Callable[["Execution", "ActionExecution"], "tuple[str, str, float] | None"]


def approve_after(minutes: float = 10.0, summary: str = "Approved") -> Approver:
    """An approver that approves every approval ``minutes`` after it starts (for tests, demos)."""

    def approver(execution: Execution, action: ActionExecution) -> tuple[str, str, float]:
        return ("Approved", summary, minutes)

    return approver


def reject_after(minutes: float = 10.0, summary: str = "Rejected") -> Approver:
    """An approver that rejects every approval ``minutes`` after it starts."""

    def approver(execution: Execution, action: ActionExecution) -> tuple[str, str, float]:
        return ("Rejected", summary, minutes)

    return approver


@dataclass
class ActionExecution:
    """One run of one action (``ActionExecutionDetail``)."""

    id: str
    execution_id: str
    execution_number: int
    stage: str
    action: Action
    attempt: int
    start: pd.Timestamp
    status: str = "InProgress"
    end: pd.Timestamp | None = None
    summary: str = ""
    configuration: dict[str, str] = field(default_factory=dict)
    resolved_configuration: dict[str, str] = field(default_factory=dict)
    input_artifacts: list[ArtifactRef] = field(default_factory=list)
    output_artifacts: list[ArtifactRef] = field(default_factory=list)
    output_variables: dict[str, str] = field(default_factory=dict)
    external_id: str | None = None
    external_url: str | None = None
    error_code: str | None = None
    token: str | None = None
    updated_by: str = "codepipeline"
    details: Mapping[str, Any] = field(default_factory=dict)
    pending: ActionOutcome | None = field(default=None, repr=False)
    events: list[int] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        """The action's name."""
        return self.action.name

    @property
    def minutes(self) -> float:
        """Simulated minutes from start to end (so far, while running)."""
        if self.end is None:
            return float("nan")
        return (self.end - self.start).total_seconds() / 60.0


@dataclass
class StageRun:
    """An execution's passage through one stage (``StageExecution``)."""

    stage: str
    status: str
    start: pd.Timestamp
    end: pd.Timestamp | None = None
    attempts: int = 1


@dataclass
class Execution:
    """One pipeline execution (``PipelineExecution``): a commit travelling through the stages.

    Attributes:
        id: ``pipelineExecutionId``.
        number: 1 for the pipeline's first execution, 2 for the next…
        pipeline: The pipeline's name.
        pipeline_version: The pipeline version it runs.
        commit: The source revision (a commit SHA).
        message: The commit's subject line.
        author: The commit's author.
        triggered: When it started (simulated).
        trigger_type: ``StartPipelineExecution``, ``CloudWatchEvent``, …
        status: ``InProgress``, ``Stopping``, ``Stopped``, ``Succeeded``, ``Superseded`` or
            ``Failed``.
        summary: Why it ended as it did.
        updated: Its last change (simulated).
        stage_runs: Stage name -> :class:`StageRun`, for the stages it entered.
        actions: Every :class:`ActionExecution`, in start order.
    """

    id: str
    number: int
    pipeline: str
    pipeline_version: int
    commit: str
    message: str
    author: str
    triggered: pd.Timestamp
    trigger_type: str = "StartPipelineExecution"
    execution_mode: str = "SUPERSEDED"
    status: str = "InProgress"
    summary: str = "waiting to start"
    updated: pd.Timestamp | None = None
    stage_runs: dict[str, StageRun] = field(default_factory=dict)
    actions: list[ActionExecution] = field(default_factory=list)
    artifacts: dict[str, ArtifactRef] = field(default_factory=dict, repr=False)
    variables: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    stage_index: int = 0
    waiting: bool = False
    run_order: int = 0
    failed_stage: str | None = None
    stopping: bool = False
    latest: dict[tuple[str, str], ActionExecution] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        """``<Execution #3 Succeeded: 'Add release notes'>``."""
        return f"<Execution #{self.number} {self.status}: {self.message!r}>"

    @property
    def finished(self) -> bool:
        """True once the execution can change no more (retry aside)."""
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        """True when the execution succeeded."""
        return self.status == "Succeeded"

    @property
    def minutes(self) -> float:
        """Simulated minutes from its start to its last change."""
        end = self.updated or self.triggered
        return (end - self.triggered).total_seconds() / 60.0

    def action(self, stage: str, name: str | None = None) -> ActionExecution:
        """The latest run of action ``name`` of ``stage`` (default: the stage's only action).

        Raises:
            InputError: The action did not run in this execution.
        """
        runs = [a for a in self.actions if a.stage == stage and (name is None or a.name == name)]
        if not runs:
            ran = sorted({f"{a.stage}/{a.name}" for a in self.actions})
            raise InputError(
                f"Execution #{self.number} ran no action {name or ''} in stage {stage!r}.",
                hint=f"It ran: {', '.join(ran) or 'nothing yet'}.",
            )
        return runs[-1]

    def stages(self) -> pd.DataFrame:
        """One row per stage it entered: status, start, end, minutes, attempts."""
        return pd.DataFrame(
            [
                {
                    "stage": run.stage,
                    "status": run.status,
                    "start": run.start,
                    "end": run.end,
                    "minutes": None
                    if run.end is None
                    else round((run.end - run.start).total_seconds() / 60.0, 1),
                    "attempts": run.attempts,
                }
                for run in self.stage_runs.values()
            ],
            columns=["stage", "status", "start", "end", "minutes", "attempts"],
        )

    def action_table(self) -> pd.DataFrame:
        """One row per action run: stage, action, attempt, status, minutes, summary."""
        return pd.DataFrame(
            [
                {
                    "stage": a.stage,
                    "action": a.name,
                    "runOrder": a.action.run_order,
                    "attempt": a.attempt,
                    "status": a.status,
                    "start": a.start,
                    "minutes": None if a.end is None else round(a.minutes, 1),
                    "summary": a.summary,
                }
                for a in self.actions
            ],
            columns=[
                "stage",
                "action",
                "runOrder",
                "attempt",
                "status",
                "start",
                "minutes",
                "summary",
            ],
        )


@dataclass
class _Slot:
    """A stage's lock: who is in it, who waits in front of it, who entered last."""

    occupants: set[str] = field(default_factory=set)
    waiting: deque[str] = field(default_factory=deque)
    last_entered: str | None = None


@dataclass(order=True)
class _Event:
    time: pd.Timestamp
    seq: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False)
    passive: bool = field(compare=False, default=False)


class _Ids:
    """Seeded ids: the same seed gives the same ids, run after run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


class Executor:
    """Runs executions of one pipeline definition; see the module docstring.

    Args:
        definition: The pipeline (validated here).
        handlers: Provider name -> handler (``"CodeCommit"``, ``"CodeBuild"``,
            ``"CodeDeployToECS"``, …). Manual approvals need none.
        store: Where artifacts go (:mod:`labs.cicd.pipeline.artifacts`).
        start: Where the simulated clock starts.
        approver: Answers approvals automatically (:func:`approve_after`), or None: approvals
            wait for :meth:`answer`.
        seed: Seeds action execution ids, approval tokens and artifact keys.
        on_trigger: Called with each new execution; may return its id (the emulator's).
        on_action_done: Called with (execution, action execution, outcome) as an action ends.
        version: The pipeline version the executions run.
        region: The pipeline's region (reported in action executions).
    """

    def __init__(
        self,
        definition: PipelineDefinition,
        handlers: Mapping[str, Handler],
        *,
        store: ArtifactStore,
        start: pd.Timestamp | str = "2026-01-05T09:00:00Z",
        approver: Approver | None = None,
        seed: int = 0,
        on_trigger: Callable[[Execution], str | None] | None = None,
        on_action_done: Callable[[Execution, ActionExecution, ActionOutcome], None] | None = None,
        version: int = 1,
        region: str = "us-east-1",
    ) -> None:
        self.handlers = dict(handlers)
        self.region = region
        self.store = store
        self.clock = SimClock(start)
        self.approver = approver
        self.ids = _Ids(seed)
        self.keys = random.Random(seed + 1)
        self.on_trigger = on_trigger
        self.on_action_done = on_action_done
        self.executions: dict[str, Execution] = {}
        self._actions: dict[str, ActionExecution] = {}
        self._events: list[_Event] = []
        self._seq = 0
        self._active = 0
        self._cancelled: set[int] = set()
        self._scratch = Path(tempfile.mkdtemp(prefix="labs-pipeline-"))
        weakref.finalize(self, shutil.rmtree, self._scratch, True)
        self.definition = definition
        self.version = version
        self.slots: dict[str, _Slot] = {}
        self.set_definition(definition, version)

    @property
    def now(self) -> pd.Timestamp:
        """The simulated time: the last event's (the clock only moves forward)."""
        return self.clock.now

    # -- the definition ---------------------------------------------------------------------

    def set_definition(self, definition: PipelineDefinition, version: int) -> None:
        """Use ``definition`` for executions that start from now on (``update_pipeline``).

        A new ``version`` cancels the executions still in progress (``Cancelled``), as a changed
        pipeline definition does in CodePipeline.

        Raises:
            PipelineError: The definition breaks a structure rule.
            InputError: An action's provider has no handler.
        """
        definition.validate()
        missing = sorted(
            {
                a.provider
                for _, a in definition.actions()
                if a.category != "Approval" and a.provider not in self.handlers
            }
        )
        if missing:
            raise InputError(
                f"No handler runs actions of provider {', '.join(missing)}.",
                where="handlers",
                hint=f"Handlers given: {', '.join(sorted(self.handlers)) or 'none'}.",
            )
        if version != self.version and self.executions:
            # "Cancelled: the pipeline's definition was updated before the pipeline execution
            # could be completed" (PipelineExecution.status). Waiting ones first, so that no
            # release lets one of them into a stage.
            busy = sorted(
                (e for e in self.executions.values() if not e.finished),
                key=lambda e: not e.waiting,
            )
            for execution in busy:
                self._end(execution, "Cancelled", "cancelled: the pipeline was updated")
        self.definition, self.version = definition, version
        for name in definition.stage_names:
            self.slots.setdefault(name, _Slot())

    # -- starting and driving ---------------------------------------------------------------

    def trigger(
        self,
        commit: str,
        *,
        at: pd.Timestamp | None = None,
        message: str = "",
        author: str = "",
        trigger_type: str = "StartPipelineExecution",
    ) -> Execution:
        """Start an execution of ``commit`` at simulated time ``at`` (not before now)."""
        if at is not None:
            at = pd.Timestamp(at)
            at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
        when = self.now if at is None else max(self.now, at)
        execution = Execution(
            id="",
            number=len(self.executions) + 1,
            pipeline=self.definition.name,
            pipeline_version=self.version,
            commit=commit,
            message=message,
            author=author,
            triggered=when,
            trigger_type=trigger_type,
            execution_mode=self.definition.execution_mode,
            updated=when,
        )
        execution.id = (self.on_trigger(execution) if self.on_trigger else None) or self.ids.uuid()
        execution.variables["codepipeline"] = {"PipelineExecutionId": execution.id}
        self.executions[execution.id] = execution
        self._push(when, "trigger", execution.id)
        return execution

    def advance(self, *, on_event: Callable[[], None] | None = None) -> None:
        """Process events in time order until nothing is left to do but wait for people.

        Args:
            on_event: Called after each event is processed (a progress bar counts finished
                executions with it); None calls nothing.
        """
        while self._active > 0:
            event = heapq.heappop(self._events)
            if event.seq in self._cancelled:
                self._cancelled.discard(event.seq)
                continue
            if not event.passive:
                self._active -= 1
            if event.time > self.now:
                self.clock.advance((event.time - self.now).total_seconds())
            getattr(self, f"_on_{event.kind}")(event.payload)
            if on_event is not None:
                on_event()

    def _end(self, execution: Execution, status: str, summary: str) -> None:
        """End an execution now: leave the queue, or abandon its running actions."""
        if execution.waiting:
            self.slots[self._stage(execution.stage_index).name].waiting.remove(execution.id)
            execution.waiting = False
        elif execution.stage_runs:
            stage = self._stage(execution.stage_index)
            for action in stage.group(execution.run_order):
                run = execution.latest.get((stage.name, action.name))
                if run is not None and run.status == "InProgress":
                    run.status, run.end, run.pending = "Abandoned", self.now, None
                    run.summary = f"abandoned: the execution was {status.lower()}"
                    for seq in run.events:
                        self._cancel(seq)
            stage_run = execution.stage_runs.get(stage.name)
            if stage_run is not None and stage_run.status == "InProgress":
                stage_run.status, stage_run.end = status, self.now
            if execution.id in self.slots[stage.name].occupants:
                self._release(execution.stage_index, execution)
        execution.status, execution.summary, execution.updated = status, summary, self.now
        execution.stopping = False

    def _push(self, when: pd.Timestamp, kind: str, payload: Any, *, passive: bool = False) -> int:
        self._seq += 1
        heapq.heappush(self._events, _Event(when, self._seq, kind, payload, passive))
        if not passive:
            self._active += 1
        return self._seq

    def _cancel(self, seq: int | None) -> None:
        if seq is None:
            return
        for event in self._events:
            if event.seq == seq and seq not in self._cancelled:
                self._cancelled.add(seq)
                if not event.passive:
                    self._active -= 1
                return

    def execution(self, key: str | int | Execution) -> Execution:
        """The execution with this id, number, or the execution itself.

        Raises:
            InputError: No such execution.
        """
        if isinstance(key, Execution):
            return self.executions[key.id]
        for execution in self.executions.values():
            if execution.id == key or execution.number == key:
                return execution
        raise InputError(
            f"Pipeline {self.definition.name!r} has no execution {key!r}.",
            hint=f"It has executions 1 to {len(self.executions)}.",
        )

    # -- events -----------------------------------------------------------------------------

    def _on_trigger(self, execution_id: str) -> None:
        execution = self.executions[execution_id]
        if execution.status == "InProgress":
            self._arrive(execution, 0)

    def _on_done(self, action_id: str) -> None:
        action = self._find_action(action_id)
        if action.status != "InProgress" or action.pending is None:
            return
        self._complete(action, action.pending)

    def _on_answer(self, payload: tuple[str, str, str, str]) -> None:
        action_id, status, summary, by = payload
        action = self._find_action(action_id)
        if action.status != "InProgress":
            return
        for seq in action.events:
            self._cancel(seq)
        action.updated_by = by
        outcome = ActionOutcome(
            status="Succeeded" if status == "Approved" else "Failed",
            minutes=0,
            summary=f"{status} by {by}" + (f": {summary}" if summary else ""),
            error_code=None if status == "Approved" else "Rejected",
        )
        self._complete(action, outcome)

    def _on_timeout(self, action_id: str) -> None:
        action = self._find_action(action_id)
        if action.status == "InProgress":
            outcome = ActionOutcome.failed(
                "The approval was not answered within 7 days: it fails like a failed action.",
                code="TimedOut",
            )
            self._complete(action, outcome)

    def _find_action(self, action_id: str) -> ActionExecution:
        return self._actions[action_id]

    # -- stages -----------------------------------------------------------------------------

    def _stage(self, index: int) -> Stage:
        return self.definition.stages[index]

    def _arrive(self, execution: Execution, index: int) -> None:
        """The execution is ready for stage ``index``: enter it, or wait in front of it."""
        stage = self._stage(index)
        slot = self.slots[stage.name]
        execution.stage_index = index
        mode = self.definition.execution_mode
        if mode == "PARALLEL" or not slot.occupants:
            self._enter(execution, index)
            return
        if mode == "SUPERSEDED":
            for older in list(slot.waiting):
                self._supersede(self.executions[older], execution, stage.name)
            slot.waiting.clear()
        slot.waiting.append(execution.id)
        execution.waiting = True
        holder = self.executions[next(iter(slot.occupants))]
        execution.summary = f"waiting for stage {stage.name} (locked by execution #{holder.number})"
        execution.updated = self.now

    def _supersede(self, execution: Execution, newer: Execution, stage: str) -> None:
        execution.status = "Superseded"
        execution.waiting = False
        execution.summary = (
            f"superseded by execution #{newer.number} while waiting for stage {stage}"
        )
        execution.updated = self.now

    def _enter(self, execution: Execution, index: int, *, retry: bool = False) -> None:
        stage = self._stage(index)
        slot = self.slots[stage.name]
        slot.occupants.add(execution.id)
        slot.last_entered = execution.id
        execution.waiting = False
        execution.status = "InProgress"
        execution.summary = f"in stage {stage.name}"
        execution.updated = self.now
        run = execution.stage_runs.get(stage.name)
        if retry and run is not None:
            run.status, run.end, run.attempts = "InProgress", None, run.attempts + 1
        else:
            execution.stage_runs[stage.name] = StageRun(stage.name, "InProgress", self.now)
        self._start_group(execution, index, stage.run_orders[0])

    def _release(self, index: int, execution: Execution) -> None:
        stage = self._stage(index)
        slot = self.slots[stage.name]
        slot.occupants.discard(execution.id)
        if self.definition.execution_mode != "PARALLEL" and not slot.occupants and slot.waiting:
            following = self.executions[slot.waiting.popleft()]
            self._enter(following, index)

    def _start_group(self, execution: Execution, index: int, order: int) -> None:
        execution.run_order = order
        stage = self._stage(index)
        for action in stage.group(order):
            self._start_action(execution, stage, action)

    # -- actions ----------------------------------------------------------------------------

    def _start_action(self, execution: Execution, stage: Stage, action: Action) -> None:
        previous = execution.latest.get((stage.name, action.name))
        attempt = 1 if previous is None else previous.attempt + 1
        run = ActionExecution(
            id=self.ids.uuid(),
            execution_id=execution.id,
            execution_number=execution.number,
            stage=stage.name,
            action=action,
            attempt=attempt,
            start=self.now,
            configuration=dict(action.configuration),
        )
        execution.actions.append(run)
        execution.latest[(stage.name, action.name)] = run
        self._actions[run.id] = run
        execution.updated = self.now
        try:
            run.resolved_configuration = resolve(action.configuration, execution.variables)
        except InputError as exc:
            run.pending = ActionOutcome.failed(str(exc), code="ConfigurationError")
            run.events.append(self._push(self.now, "done", run.id))
            return
        inputs: dict[str, bytes] = {}
        for name in action.input_artifacts:
            ref = execution.artifacts.get(name)
            if ref is None:
                run.pending = ActionOutcome.failed(
                    f"Input artifact {name!r} does not exist in this execution.",
                    code="InputArtifactMissing",
                )
                run.events.append(self._push(self.now, "done", run.id))
                return
            run.input_artifacts.append(ref)
            inputs[name] = self.store.get(ref.key)
        if action.category == "Approval":
            self._start_approval(execution, run)
            return
        outcome = self._call_handler(execution, stage, action, run, inputs)
        run.pending = outcome
        done = self.now + pd.Timedelta(minutes=max(outcome.minutes, 0.0))
        run.events.append(self._push(done, "done", run.id))

    def _call_handler(
        self,
        execution: Execution,
        stage: Stage,
        action: Action,
        run: ActionExecution,
        inputs: dict[str, bytes],
    ) -> ActionOutcome:
        workdir = self._scratch / f"action-{run.id}"
        request = ActionRequest(
            pipeline=self.definition.name,
            execution=execution,
            stage=stage.name,
            action=action,
            configuration=dict(run.resolved_configuration),
            inputs=inputs,
            started=self.now,
            attempt=run.attempt,
            scratch=workdir,
        )
        try:
            outcome = self.handlers[action.provider](request)
            if outcome.status not in ("Succeeded", "Failed"):
                raise InputError(
                    f"A handler must report Succeeded or Failed, not {outcome.status!r}.",
                    where=f"handler of provider {action.provider!r}",
                )
            refs = []
            for name, data in outcome.outputs.items():
                if name not in action.output_artifacts:
                    continue  # an artifact the declaration does not name is not kept
                body = data if isinstance(data, bytes) else Path(data).read_bytes()
                key = artifact_key(self.definition.name, name, self.keys)
                self.store.put(key, body)
                refs.append(ArtifactRef(name, self.store.bucket, key))
            missing = [n for n in action.output_artifacts if n not in {r.name for r in refs}]
            if outcome.status == "Succeeded" and missing:
                outcome = ActionOutcome.failed(
                    f"The action produced no output artifact {missing[0]!r}.",
                    minutes=outcome.minutes,
                    code="OutputArtifactMissing",
                )
            else:
                run.output_artifacts = refs
        except LabsError as exc:
            outcome = ActionOutcome.failed(str(exc).splitlines()[0], code="JobFailed")
        finally:
            if workdir.exists():
                shutil.rmtree(workdir, ignore_errors=True)
        return outcome

    def _start_approval(self, execution: Execution, run: ActionExecution) -> None:
        run.token = self.ids.uuid()
        run.summary = "waiting for approval"
        run.events.append(self._push(self.now + APPROVAL_TIMEOUT, "timeout", run.id, passive=True))
        execution.summary = f"waiting for approval {run.stage}/{run.name}"
        if self.approver is not None:
            decision = self.approver(execution, run)
            if decision is not None:
                status, summary, minutes = decision
                when = self.now + pd.Timedelta(minutes=minutes)
                run.events.append(self._push(when, "answer", (run.id, status, summary, "approver")))

    def _complete(self, run: ActionExecution, outcome: ActionOutcome) -> None:
        execution = self.executions[run.execution_id]
        run.status = outcome.status
        run.end = self.now
        run.summary = outcome.summary
        run.external_id = outcome.external_id or run.external_id
        run.external_url = outcome.external_url
        run.error_code = outcome.error_code if outcome.status == "Failed" else None
        run.details = {**run.details, **outcome.details}
        run.pending = None
        for seq in run.events:
            self._cancel(seq)
        run.events = []
        if outcome.status == "Succeeded":
            run.output_variables = {k: str(v) for k, v in outcome.variables.items()}
            execution.artifacts.update({ref.name: ref for ref in run.output_artifacts})
            if run.action.namespace:
                execution.variables[run.action.namespace] = dict(run.output_variables)
        else:
            run.output_artifacts = []
        execution.updated = self.now
        if self.on_action_done is not None:
            self.on_action_done(execution, run, outcome)
        self._after_action(execution)

    def _after_action(self, execution: Execution) -> None:
        index = execution.stage_index
        stage = self._stage(index)
        group = [execution.latest[(stage.name, a.name)] for a in stage.group(execution.run_order)]
        if any(a.status == "InProgress" for a in group):
            return
        run = execution.stage_runs[stage.name]
        if execution.stopping:
            run.status, run.end = "Stopped", self.now
            execution.status, execution.stopping = "Stopped", False
            execution.summary = f"stopped in stage {stage.name}"
            self._release(index, execution)
            return
        failed = [a for a in group if a.status == "Failed"]
        if failed:
            run.status, run.end = "Failed", self.now
            execution.status = "Failed"
            execution.failed_stage = stage.name
            execution.summary = f"stage {stage.name} failed: {failed[0].name}: {failed[0].summary}"
            self._release(index, execution)
            return
        orders = stage.run_orders
        position = orders.index(execution.run_order)
        if position + 1 < len(orders):
            self._start_group(execution, index, orders[position + 1])
            return
        run.status, run.end = "Succeeded", self.now
        self._release(index, execution)
        if index + 1 < len(self.definition.stages):
            self._arrive(execution, index + 1)
        else:
            execution.status = "Succeeded"
            execution.summary = "all stages succeeded"
            execution.updated = self.now

    # -- what people do ---------------------------------------------------------------------

    def pending_approvals(self) -> list[ActionExecution]:
        """The approval actions waiting for an answer, oldest first."""
        return [
            a
            for e in self.executions.values()
            for a in e.actions
            if a.action.category == "Approval" and a.status == "InProgress"
        ]

    def answer(
        self,
        status: str,
        *,
        execution: str | int | Execution | None = None,
        stage: str | None = None,
        action: str | None = None,
        summary: str = "",
        after_minutes: float = 0.0,
        by: str = "you",
    ) -> Execution:
        """Approve or reject a waiting approval (``PutApprovalResult``), then carry on.

        Args:
            status: ``Approved`` or ``Rejected``.
            execution: Which execution's approval (id, number); default the only one waiting.
            stage: The approval's stage, to choose among several.
            action: The approval's action name, to choose among several.
            summary: The approver's comment.
            after_minutes: Simulated minutes after the approval started (or now, if later).
            by: Who answers.

        Raises:
            InputError: No approval is waiting, or several are and none was chosen.
        """
        if status not in ("Approved", "Rejected"):
            raise InputError(f"An approval is Approved or Rejected, not {status!r}.")
        chosen = self.execution(execution) if execution is not None else None
        waiting = [
            a
            for a in self.pending_approvals()
            if (chosen is None or a.execution_id == chosen.id)
            and (stage is None or a.stage == stage)
            and (action is None or a.name == action)
        ]
        if not waiting:
            raise InputError(
                "No approval is waiting" + (" there." if chosen or stage or action else "."),
                hint="Run an execution that reaches an approval action first; "
                "pending_approvals() lists those waiting.",
            )
        if len(waiting) > 1 and chosen is None and stage is None and action is None:
            listed = ", ".join(f"#{a.execution_number} {a.stage}/{a.name}" for a in waiting)
            raise InputError(
                f"{len(waiting)} approvals are waiting ({listed}).",
                hint="Say which with execution=<number>.",
            )
        run = waiting[0]
        when = max(self.now, run.start + pd.Timedelta(minutes=after_minutes))
        self._push(when, "answer", (run.id, status, summary, by))
        self.advance()
        return self.executions[run.execution_id]

    def retry(
        self,
        execution: str | int | Execution,
        stage: str | None = None,
        mode: str = "FAILED_ACTIONS",
    ) -> Execution:
        """Retry a failed stage of a failed execution (``RetryStageExecution``), then carry on.

        Raises:
            InputError: The execution did not fail, the stage is not where it failed, another
                execution has entered that stage since, or ``mode`` is unknown.
        """
        run = self.execution(execution)
        if mode not in RETRY_MODES:
            raise InputError(
                f"retryMode must be FAILED_ACTIONS or ALL_ACTIONS, not {mode!r}.",
                where="mode",
            )
        if run.status != "Failed" or run.failed_stage is None:
            raise InputError(
                f"Execution #{run.number} is {run.status}: only a failed execution can be retried.",
                hint="Retry is for a stage whose actions failed.",
            )
        stage = stage or run.failed_stage
        if stage != run.failed_stage:
            raise InputError(
                f"Execution #{run.number} failed in stage {run.failed_stage!r}, not {stage!r}.",
                hint=f"retry(execution, {run.failed_stage!r}).",
            )
        if run.pipeline_version != self.version:
            raise InputError(
                f"Execution #{run.number} ran pipeline version {run.pipeline_version}; the "
                f"pipeline is now version {self.version}.",
                hint="A stage cannot be retried once the pipeline's structure has changed.",
            )
        slot = self.slots[stage]
        parallel = self.definition.execution_mode == "PARALLEL"
        if not parallel and (slot.last_entered != run.id or slot.occupants):
            newer = self.executions.get(slot.last_entered or "")
            raise InputError(
                f"Execution #{run.number} can no longer be retried: execution "
                f"#{newer.number if newer else '?'} entered stage {stage!r} after it failed.",
                hint="CodePipeline: once another execution enters the failed stage, the failed "
                "execution cannot be retried. Fix forward with a new commit.",
            )
        index = self.definition.stage_names.index(stage)
        run.failed_stage = None
        if mode == "ALL_ACTIONS":
            self._enter(run, index, retry=True)
        else:
            slot.occupants.add(run.id)
            run.status, run.summary, run.updated = "InProgress", f"in stage {stage}", self.now
            stage_run = run.stage_runs[stage]
            stage_run.status, stage_run.end = "InProgress", None
            stage_run.attempts += 1
            definition_stage = self._stage(index)
            for action in definition_stage.group(run.run_order):
                if run.latest[(stage, action.name)].status == "Failed":
                    self._start_action(run, definition_stage, action)
        self.advance()
        return run

    def stop(
        self, execution: str | int | Execution, *, abandon: bool = False, reason: str = ""
    ) -> Execution:
        """Stop an execution (``StopPipelineExecution``): wait for its actions, or abandon them.

        Raises:
            InputError: The execution is not in progress.
        """
        run = self.execution(execution)
        if run.status != "InProgress":
            raise InputError(f"Execution #{run.number} is {run.status}: nothing to stop.")
        why = f": {reason}" if reason else ""
        if run.waiting or abandon or not run.stage_runs:
            self._end(run, "Stopped", ("stopped and abandoned" if abandon else "stopped") + why)
        else:
            run.status, run.stopping = "Stopping", True
            run.summary, run.updated = f"stopping: waiting for running actions{why}", self.now
        self.advance()
        return run

    def close(self) -> None:
        """Delete the scratch folder."""
        shutil.rmtree(self._scratch, ignore_errors=True)
