"""A pipeline as CodePipeline declares it: stages, actions, artifacts, variables — and its rules.

The dataclasses here are plain data. :meth:`PipelineDefinition.declaration` turns one into the
``pipeline`` structure ``create_pipeline``/``update_pipeline`` take (pipeline type V2), and
:meth:`PipelineDefinition.validate` checks the rules of the "CodePipeline pipeline structure
reference" (https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-pipeline-structure.html)
and of the variables reference
(https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html):

* at least two stages; the first holds only source actions, no other stage holds any; stage
  names are unique; every stage has at least one action;
* action names are unique within a stage; ``actionTypeId`` has a valid category, an owner of
  ``AWS``, ``ThirdParty`` or ``Custom``, and version ``"1"``; ``runOrder`` is a whole number
  from 1 to 999 (default 1): actions with the same ``runOrder`` run in parallel, a stage runs its
  ``runOrder`` groups from the smallest up;
* an input artifact must be the output artifact of an action that runs *before* it (an earlier
  stage, or the same stage with a smaller ``runOrder``); output artifact names are unique;
* namespaces are unique, differ from every artifact name and from the reserved ``codepipeline``;
  a ``#{Namespace.Variable}`` reference names ``codepipeline``, ``variables`` (pipeline-level
  variables, V2) or the namespace of an action that runs before the referencing one;
* ``QUEUED`` and ``PARALLEL`` execution modes need pipeline type V2.

The small builders (:func:`source_action`, :func:`build_action`, :func:`test_action`,
:func:`approval_action`, :func:`deploy_action`) make the actions the bookstore's pipeline uses
with CodePipeline's configuration keys.

One field is not part of CodePipeline's declaration: :attr:`Action.buildspec`, where the
CodeBuild project of a build or test action finds its buildspec (on AWS the project holds it;
see :mod:`labs.cicd.buildspec`). It never appears in :meth:`PipelineDefinition.declaration`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from labs.errors import InputError

__all__ = [
    "CATEGORIES",
    "EXECUTION_MODES",
    "OWNERS",
    "STRUCTURE_URL",
    "Action",
    "ActionTypeId",
    "PipelineDefinition",
    "PipelineError",
    "PipelineVariable",
    "Stage",
    "approval_action",
    "build_action",
    "deploy_action",
    "references",
    "resolve",
    "source_action",
    "test_action",
]

STRUCTURE_URL = (
    "https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-pipeline-structure.html"
)
CATEGORIES = ("Source", "Build", "Test", "Deploy", "Approval", "Invoke", "Compute")
"""Valid ``actionTypeId.category`` values."""
OWNERS = ("AWS", "ThirdParty", "Custom")
"""Valid ``actionTypeId.owner`` values."""
EXECUTION_MODES = ("SUPERSEDED", "QUEUED", "PARALLEL")
"""Pipeline execution modes; ``SUPERSEDED`` is the default."""
PIPELINE_TYPES = ("V1", "V2")
RESERVED_NAMESPACES = ("codepipeline", "variables")

_NAME = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")
_ARTIFACT = re.compile(r"^[a-zA-Z0-9_\-]{1,100}$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9@\-_]{1,100}$")
_REFERENCE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_.]+)\}")


class PipelineError(InputError):
    """A pipeline definition that breaks CodePipeline's structure rules."""


@dataclass(frozen=True)
class ActionTypeId:
    """What an action is: ``category`` (Source, Build, Test, Deploy, Approval, …), ``owner``,
    ``provider`` (CodeCommit, CodeBuild, Manual, CodeDeployToECS, …) and ``version``."""

    category: str
    provider: str
    owner: str = "AWS"
    version: str = "1"

    def declaration(self) -> dict[str, str]:
        """The ``actionTypeId`` structure."""
        return {
            "category": self.category,
            "owner": self.owner,
            "provider": self.provider,
            "version": self.version,
        }


@dataclass(frozen=True)
class Action:
    """One action of a stage, as ``ActionDeclaration``.

    Attributes:
        name: Unique within its stage.
        action_type: The :class:`ActionTypeId`.
        run_order: Actions of a stage run in ``run_order`` groups, smallest first; actions with
            the same value run in parallel.
        configuration: The provider's configuration (string values; ``#{ns.var}`` references
            are resolved when the action starts).
        input_artifacts: Names of the artifacts the action reads.
        output_artifacts: Names of the artifacts it produces.
        namespace: Where its output variables go (``#{namespace.Variable}``), or None.
        buildspec: Build and test actions only, not declared to CodePipeline: the CodeBuild
            project's buildspec — a path inside the primary input artifact (default
            ``buildspec.yml``) or the YAML text itself.
    """

    name: str
    action_type: ActionTypeId
    run_order: int = 1
    configuration: Mapping[str, str] = field(default_factory=dict)
    input_artifacts: tuple[str, ...] = ()
    output_artifacts: tuple[str, ...] = ()
    namespace: str | None = None
    buildspec: str | None = None

    def __post_init__(self) -> None:
        """Store sequences as tuples and the configuration as a plain dict."""
        object.__setattr__(self, "input_artifacts", tuple(self.input_artifacts))
        object.__setattr__(self, "output_artifacts", tuple(self.output_artifacts))
        object.__setattr__(self, "configuration", dict(self.configuration))

    @property
    def category(self) -> str:
        """The action's category."""
        return self.action_type.category

    @property
    def provider(self) -> str:
        """The action's provider."""
        return self.action_type.provider

    def declaration(self) -> dict[str, Any]:
        """The ``ActionDeclaration`` structure, with every field CodePipeline fills in."""
        out: dict[str, Any] = {
            "name": self.name,
            "actionTypeId": self.action_type.declaration(),
            "runOrder": self.run_order,
            "configuration": dict(self.configuration),
            "outputArtifacts": [{"name": n} for n in self.output_artifacts],
            "inputArtifacts": [{"name": n} for n in self.input_artifacts],
        }
        if self.namespace:
            out["namespace"] = self.namespace
        return out

    def __hash__(self) -> int:
        return hash((self.name, self.action_type, self.run_order))


@dataclass(frozen=True)
class Stage:
    """A stage: a name and its actions (``StageDeclaration``)."""

    name: str
    actions: tuple[Action, ...] = ()

    def __post_init__(self) -> None:
        """Store the actions as a tuple."""
        object.__setattr__(self, "actions", tuple(self.actions))

    @property
    def run_orders(self) -> list[int]:
        """The stage's ``runOrder`` values, smallest first (one group each)."""
        return sorted({a.run_order for a in self.actions})

    def group(self, run_order: int) -> list[Action]:
        """The actions that run together at ``run_order``."""
        return [a for a in self.actions if a.run_order == run_order]

    def action(self, name: str) -> Action:
        """The action called ``name``.

        Raises:
            InputError: No such action in this stage.
        """
        for action in self.actions:
            if action.name == name:
                return action
        raise InputError(
            f"Stage {self.name!r} has no action called {name!r}.",
            hint=f"Its actions: {', '.join(a.name for a in self.actions) or 'none'}.",
        )

    def declaration(self) -> dict[str, Any]:
        """The ``StageDeclaration`` structure."""
        return {"name": self.name, "actions": [a.declaration() for a in self.actions]}


@dataclass(frozen=True)
class PipelineVariable:
    """A pipeline-level variable (V2): ``#{variables.<name>}``, overridable per execution."""

    name: str
    default_value: str = ""
    description: str = ""

    def declaration(self) -> dict[str, str]:
        """The ``PipelineVariableDeclaration`` structure."""
        out = {"name": self.name, "defaultValue": self.default_value}
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class PipelineDefinition:
    """A pipeline: its name, stages and execution mode (CodePipeline's ``PipelineDeclaration``).

    Attributes:
        name: The pipeline's name.
        stages: The stages, in order.
        execution_mode: ``SUPERSEDED`` (default), ``QUEUED`` or ``PARALLEL``.
        pipeline_type: ``V2`` (default) or ``V1``.
        variables: Pipeline-level variables (V2).
    """

    name: str
    stages: tuple[Stage, ...]
    execution_mode: str = "SUPERSEDED"
    pipeline_type: str = "V2"
    variables: tuple[PipelineVariable, ...] = ()

    def __post_init__(self) -> None:
        """Store sequences as tuples."""
        for key in ("stages", "variables"):
            value = getattr(self, key)
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise PipelineError(
                    f"{key} must be a list, not {type(value).__name__}.",
                    where=f"pipeline {self.name!r}, {key}",
                    hint="e.g. stages=[Stage('Source', [...]), Stage('Build', [...])].",
                )
            object.__setattr__(self, key, tuple(value))

    # -- reading ----------------------------------------------------------------------------

    @property
    def stage_names(self) -> list[str]:
        """The stage names, in order."""
        return [s.name for s in self.stages]

    def stage(self, name: str) -> Stage:
        """The stage called ``name``.

        Raises:
            InputError: No such stage.
        """
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise InputError(
            f"Pipeline {self.name!r} has no stage called {name!r}.",
            hint=f"Its stages: {', '.join(self.stage_names)}.",
        )

    def actions(self) -> list[tuple[Stage, Action]]:
        """Every (stage, action), in the order they can run."""
        return [
            (stage, action)
            for stage in self.stages
            for order in stage.run_orders
            for action in stage.group(order)
        ]

    def summary(self) -> pd.DataFrame:
        """One row per action: stage, run order, category, provider, artifacts, namespace."""
        return pd.DataFrame(
            [
                {
                    "stage": stage.name,
                    "runOrder": action.run_order,
                    "action": action.name,
                    "category": action.category,
                    "provider": action.provider,
                    "inputArtifacts": ", ".join(action.input_artifacts),
                    "outputArtifacts": ", ".join(action.output_artifacts),
                    "namespace": action.namespace or "",
                }
                for stage, action in self.actions()
            ]
        )

    def declaration(self, *, role_arn: str, artifact_bucket: str) -> dict[str, Any]:
        """The ``pipeline`` structure of ``create_pipeline``/``update_pipeline``.

        Args:
            role_arn: The CodePipeline service role.
            artifact_bucket: The S3 bucket of the artifact store.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "roleArn": role_arn,
            "artifactStore": {"type": "S3", "location": artifact_bucket},
            "stages": [s.declaration() for s in self.stages],
            "executionMode": self.execution_mode,
            "pipelineType": self.pipeline_type,
        }
        if self.variables:
            out["variables"] = [v.declaration() for v in self.variables]
        return out

    @classmethod
    def from_declaration(cls, pipeline: Mapping[str, Any]) -> PipelineDefinition:
        """Read a ``pipeline`` structure (what ``get_pipeline`` answers) back into a definition."""
        stages = []
        for stage in pipeline.get("stages", []):
            actions = []
            for action in stage.get("actions", []):
                kind = action["actionTypeId"]
                actions.append(
                    Action(
                        name=action["name"],
                        action_type=ActionTypeId(
                            kind["category"],
                            kind["provider"],
                            kind.get("owner", "AWS"),
                            kind.get("version", "1"),
                        ),
                        run_order=int(action.get("runOrder", 1)),
                        configuration=dict(action.get("configuration") or {}),
                        input_artifacts=tuple(a["name"] for a in action.get("inputArtifacts", [])),
                        output_artifacts=tuple(
                            a["name"] for a in action.get("outputArtifacts", [])
                        ),
                        namespace=action.get("namespace"),
                    )
                )
            stages.append(Stage(stage["name"], tuple(actions)))
        return cls(
            name=pipeline["name"],
            stages=tuple(stages),
            execution_mode=pipeline.get("executionMode", "SUPERSEDED"),
            pipeline_type=pipeline.get("pipelineType", "V1"),
            variables=tuple(
                PipelineVariable(v["name"], v.get("defaultValue", ""), v.get("description", ""))
                for v in pipeline.get("variables", [])
            ),
        )

    # -- changing (every change returns a new definition) -----------------------------------

    def with_stage(
        self, stage: Stage, *, after: str | None = None, before: str | None = None
    ) -> PipelineDefinition:
        """Return a copy with ``stage`` inserted after (or before) the stage named; default last.

        Raises:
            InputError: A stage of that name exists, or ``after``/``before`` names none.
        """
        if not isinstance(stage, Stage):
            raise InputError(
                f"with_stage takes a Stage, not {type(stage).__name__}.",
                hint="Stage('Test', [test_action(...)]).",
            )
        if stage.name in self.stage_names:
            raise PipelineError(
                f"Pipeline {self.name!r} already has a stage called {stage.name!r}.",
                hint="Stage names must be unique; choose another, or change that stage with "
                "with_action().",
            )
        stages = list(self.stages)
        if after is not None:
            index = self.stage_names.index(self.stage(after).name) + 1
        elif before is not None:
            index = self.stage_names.index(self.stage(before).name)
        else:
            index = len(stages)
        stages.insert(index, stage)
        return replace(self, stages=tuple(stages))

    def with_action(self, stage: str, action: Action) -> PipelineDefinition:
        """Return a copy with ``action`` added to the stage named ``stage``.

        Raises:
            InputError: No such stage, or it already has an action of that name.
        """
        current = self.stage(stage)
        if any(a.name == action.name for a in current.actions):
            raise PipelineError(
                f"Stage {stage!r} already has an action called {action.name!r}.",
                hint="Action names must be unique within a stage.",
            )
        updated = replace(current, actions=(*current.actions, action))
        return replace(self, stages=tuple(updated if s.name == stage else s for s in self.stages))

    def without_stage(self, name: str) -> PipelineDefinition:
        """Return a copy without the stage called ``name``."""
        self.stage(name)
        return replace(self, stages=tuple(s for s in self.stages if s.name != name))

    def with_buildspec(self, project: str, buildspec: str) -> PipelineDefinition:
        """Return a copy whose actions using CodeBuild project ``project`` read ``buildspec``.

        The buildspec belongs to the CodeBuild project, not to the pipeline: the declaration
        (and so the pipeline's version) does not change.

        Raises:
            InputError: No action uses that project.
        """
        found = False
        stages = []
        for stage in self.stages:
            actions = []
            for action in stage.actions:
                if action.configuration.get("ProjectName") == project:
                    action = replace(action, buildspec=buildspec)
                    found = True
                actions.append(action)
            stages.append(replace(stage, actions=tuple(actions)))
        if not found:
            projects = sorted(
                {
                    a.configuration["ProjectName"]
                    for _, a in self.actions()
                    if "ProjectName" in a.configuration
                }
            )
            raise InputError(
                f"No action of pipeline {self.name!r} uses CodeBuild project {project!r}.",
                hint=f"Projects used: {', '.join(projects) or 'none'}.",
            )
        return replace(self, stages=tuple(stages))

    # -- the rules -------------------------------------------------------------------------

    def validate(self) -> PipelineDefinition:
        """Check CodePipeline's structure rules (module docstring); return ``self`` if they hold.

        Raises:
            PipelineError: Naming the stage, action and field that break a rule.
        """
        _check_name(self.name, "pipeline name", "name")
        if self.pipeline_type not in PIPELINE_TYPES:
            raise PipelineError(
                f"pipelineType must be V1 or V2, not {self.pipeline_type!r}.",
                where="pipelineType",
            )
        if self.execution_mode not in EXECUTION_MODES:
            raise PipelineError(
                f"executionMode must be one of {', '.join(EXECUTION_MODES)}, not "
                f"{self.execution_mode!r}.",
                where="executionMode",
            )
        if self.execution_mode != "SUPERSEDED" and self.pipeline_type != "V2":
            raise PipelineError(
                f"executionMode {self.execution_mode} needs pipeline type V2.",
                where="executionMode",
                hint="Set pipeline_type='V2' (the default).",
            )
        if len(self.stages) < 2:
            raise PipelineError(
                f"A pipeline needs at least two stages; {self.name!r} has {len(self.stages)}.",
                where="stages",
                hint="A source stage and at least one stage that does something with it.",
            )
        for index, stage in enumerate(self.stages):
            if not isinstance(stage, Stage):
                raise PipelineError(
                    f"A stage must be a Stage, not {type(stage).__name__}.",
                    where=f"stages[{index}]",
                    hint="Build it with Stage(name, [actions]).",
                )
            for position, action in enumerate(stage.actions):
                if not isinstance(action, Action):
                    raise PipelineError(
                        f"An action must be an Action, not {type(action).__name__}.",
                        where=f"stage {stage.name!r}, actions[{position}]",
                        hint="Build it with source_action(...), build_action(...), "
                        "test_action(...), approval_action(...) or deploy_action(...).",
                    )
        names = [s.name for s in self.stages]
        for stage in self.stages:
            _check_name(stage.name, "stage name", f"stage {stage.name!r}")
            if names.count(stage.name) > 1:
                raise PipelineError(
                    f"Two stages are called {stage.name!r}.",
                    where="stages",
                    hint="Stage names must be unique in a pipeline.",
                )
            if not stage.actions:
                raise PipelineError(
                    "A stage needs at least one action.", where=f"stage {stage.name!r}"
                )
        self._check_actions()
        return self

    def _check_actions(self) -> None:
        outputs: dict[str, tuple[int, int]] = {}  # artifact -> (stage index, runOrder)
        namespaces: dict[str, tuple[int, int]] = {}
        for index, stage in enumerate(self.stages):
            seen: set[str] = set()
            for action in stage.actions:
                where = f"stage {stage.name!r}, action {action.name!r}"
                _check_action_shape(action, where, first=index == 0)
                if action.name in seen:
                    raise PipelineError(
                        f"Two actions of stage {stage.name!r} are called {action.name!r}.",
                        where=where,
                        hint="Action names must be unique within a stage.",
                    )
                seen.add(action.name)
                for artifact in action.output_artifacts:
                    if artifact in outputs:
                        raise PipelineError(
                            f"Output artifact {artifact!r} is produced by two actions.",
                            where=f"{where}, outputArtifacts",
                            hint="Output artifact names must be unique in a pipeline.",
                        )
                    outputs[artifact] = (index, action.run_order)
                if action.namespace:
                    if action.namespace in namespaces:
                        raise PipelineError(
                            f"Namespace {action.namespace!r} is used by two actions.",
                            where=f"{where}, namespace",
                            hint="Namespaces must be unique in a pipeline.",
                        )
                    namespaces[action.namespace] = (index, action.run_order)
        clash = sorted(set(outputs) & set(namespaces))
        if clash:
            raise PipelineError(
                f"{clash[0]!r} is both an artifact name and a namespace.",
                where="namespace",
                hint="Namespaces cannot be the same as an artifact name.",
            )
        declared = {v.name for v in self.variables}
        for index, stage in enumerate(self.stages):
            for action in stage.actions:
                where = f"stage {stage.name!r}, action {action.name!r}"
                here = (index, action.run_order)
                for artifact in action.input_artifacts:
                    made = outputs.get(artifact)
                    if made is None or made >= here:
                        found = "no action produces it" if made is None else "it is produced later"
                        raise PipelineError(
                            f"Input artifact {artifact!r}: {found}.",
                            where=f"{where}, inputArtifacts",
                            hint="An input artifact must be the output artifact of an action "
                            "that runs before this one: in an earlier stage, or in the same "
                            "stage with a smaller runOrder.",
                        )
                for namespace, variable in references(action.configuration):
                    if namespace == "codepipeline":
                        continue
                    if namespace == "variables":
                        if variable not in declared:
                            raise PipelineError(
                                f"#{{variables.{variable}}} names no pipeline variable.",
                                where=f"{where}, configuration",
                                hint="Declare it in PipelineDefinition(variables=...).",
                            )
                        continue
                    made = namespaces.get(namespace)
                    if made is None or made >= here:
                        found = "no action has it" if made is None else "its action runs later"
                        raise PipelineError(
                            f"#{{{namespace}.{variable}}}: namespace {namespace!r}: {found}.",
                            where=f"{where}, configuration",
                            hint="A variable can only be used by an action that runs after the "
                            "action producing it (a later stage, or a larger runOrder).",
                        )


def _check_name(name: str, what: str, where: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise PipelineError(
            f"{what} {name!r} is not valid.",
            where=where,
            hint="1 to 100 characters: letters, digits and . @ - _",
        )


def _check_action_shape(action: Action, where: str, *, first: bool) -> None:
    _check_name(action.name, "action name", where)
    kind = action.action_type
    if kind.category not in CATEGORIES:
        raise PipelineError(
            f"actionTypeId.category {kind.category!r} is not a CodePipeline category.",
            where=where,
            hint=f"Use one of {', '.join(CATEGORIES)}.",
        )
    if kind.owner not in OWNERS:
        raise PipelineError(
            f"actionTypeId.owner {kind.owner!r} is not valid.",
            where=where,
            hint=f"Use one of {', '.join(OWNERS)}.",
        )
    if kind.version != "1":
        raise PipelineError(
            f"actionTypeId.version is {kind.version!r}; the only valid version is '1'.",
            where=where,
        )
    if not kind.provider:
        raise PipelineError("actionTypeId.provider is empty.", where=where)
    order = action.run_order
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 999:
        raise PipelineError(
            f"runOrder must be a whole number from 1 to 999, not {order!r}.",
            where=where,
            hint="Same runOrder: parallel; a larger runOrder runs after a smaller one.",
        )
    if first and kind.category != "Source":
        raise PipelineError(
            f"The first stage can hold only source actions; this is a {kind.category} action.",
            where=where,
            hint="Put it in a later stage.",
        )
    if not first and kind.category == "Source":
        raise PipelineError(
            "Only the first stage of a pipeline can hold source actions.", where=where
        )
    if kind.category == "Source" and (action.input_artifacts or not action.output_artifacts):
        raise PipelineError(
            "A source action has no input artifacts and at least one output artifact.",
            where=where,
        )
    if kind.category == "Approval" and (action.input_artifacts or action.output_artifacts):
        raise PipelineError("An approval action has no input or output artifacts.", where=where)
    for name in (*action.input_artifacts, *action.output_artifacts):
        if not isinstance(name, str) or not _ARTIFACT.match(name):
            raise PipelineError(
                f"Artifact name {name!r} is not valid.",
                where=where,
                hint="1 to 100 characters: letters, digits, - and _",
            )
    if action.namespace is not None and (
        not _NAMESPACE.match(action.namespace) or action.namespace in RESERVED_NAMESPACES
    ):
        raise PipelineError(
            f"Namespace {action.namespace!r} is not valid.",
            where=f"{where}, namespace",
            hint="Letters, digits, @ - _; 'codepipeline' and 'variables' are reserved.",
        )
    for key, value in action.configuration.items():
        if not isinstance(value, str):
            raise PipelineError(
                f"configuration[{key!r}] must be a string, not {type(value).__name__}.",
                where=where,
                hint="CodePipeline configuration values are strings (JSON text for lists).",
            )


def references(configuration: Mapping[str, str]) -> list[tuple[str, str]]:
    """The ``#{namespace.variable}`` references in a configuration, in order of appearance."""
    return [m.groups() for value in configuration.values() for m in _REFERENCE.finditer(value)]


def resolve(configuration: Mapping[str, str], variables: Mapping[str, Mapping[str, str]]) -> dict:
    """Resolve every ``#{namespace.variable}`` reference (CodePipeline does it as an action starts).

    Args:
        configuration: The action's configuration.
        variables: Namespace -> variable -> value (``codepipeline`` included).

    Raises:
        InputError: A reference names a variable that was not produced.
    """
    out = {}
    for key, value in configuration.items():

        def lookup(match: re.Match[str], key: str = key) -> str:
            namespace, variable = match.groups()
            found = variables.get(namespace, {})
            if variable not in found:
                raise InputError(
                    f"#{{{namespace}.{variable}}} has no value in this execution.",
                    where=f"configuration[{key!r}]",
                    hint=f"Namespace {namespace!r} produced: "
                    f"{', '.join(sorted(found)) or 'nothing'}.",
                )
            return str(found[variable])

        out[key] = _REFERENCE.sub(lookup, value)
    return out


# -- builders --------------------------------------------------------------------------------


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def source_action(
    name: str = "Source",
    *,
    repository: str,
    branch: str = "main",
    output: str = "SourceArtifact",
    namespace: str | None = "SourceVariables",
) -> Action:
    """A CodeCommit source action: the branch's commit as a zip (``OutputArtifactFormat`` CODE_ZIP).

    Its variables (``#{SourceVariables.CommitId}`` …): ``CommitId``, ``CommitMessage``,
    ``AuthorDate``, ``CommitterDate``, ``BranchName``, ``RepositoryName``
    (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeCommit.html).
    """
    return Action(
        name,
        ActionTypeId("Source", "CodeCommit"),
        configuration={
            "RepositoryName": repository,
            "BranchName": branch,
            "PollForSourceChanges": "false",
            "OutputArtifactFormat": "CODE_ZIP",
        },
        output_artifacts=(output,),
        namespace=namespace,
    )


def _environment(env: Mapping[str, str] | None) -> dict[str, str]:
    if not env:
        return {}
    listed = [{"name": k, "value": str(v), "type": "PLAINTEXT"} for k, v in env.items()]
    return {"EnvironmentVariables": json.dumps(listed)}


def build_action(
    name: str = "Build",
    *,
    project: str,
    inputs: str | Sequence[str] = "SourceArtifact",
    outputs: str | Sequence[str] | None = "BuildArtifact",
    namespace: str | None = None,
    env: Mapping[str, str] | None = None,
    buildspec: str = "buildspec.yml",
    run_order: int = 1,
    category: str = "Build",
) -> Action:
    """A CodeBuild action (category Build, or Test with :func:`test_action`).

    Args:
        name: The action's name.
        project: The CodeBuild project (``ProjectName``).
        inputs: Input artifacts; the first is the build's source (``PrimarySource``).
        outputs: Output artifacts (the build's primary artifact), or None.
        namespace: Where the build's exported variables go (``env/exported-variables``).
        env: Environment variables of the build (``EnvironmentVariables``), values may hold
            ``#{ns.var}`` references.
        buildspec: The project's buildspec: a path in the source or YAML text (not declared).
        run_order: The action's ``runOrder``.
        category: ``Build`` or ``Test``.
    """
    configuration = {"ProjectName": project, **_environment(env)}
    return Action(
        name,
        ActionTypeId(category, "CodeBuild"),
        run_order=run_order,
        configuration=configuration,
        input_artifacts=_names(inputs),
        output_artifacts=_names(outputs),
        namespace=namespace,
        buildspec=buildspec,
    )


def test_action(
    name: str = "Test",
    *,
    project: str,
    inputs: str | Sequence[str] = "BuildArtifact",
    buildspec: str,
    env: Mapping[str, str] | None = None,
    namespace: str | None = None,
    run_order: int = 1,
) -> Action:
    """A CodeBuild test action (category Test, no output artifact); see :func:`build_action`."""
    return build_action(
        name,
        project=project,
        inputs=inputs,
        outputs=None,
        namespace=namespace,
        env=env,
        buildspec=buildspec,
        run_order=run_order,
        category="Test",
    )


test_action.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def approval_action(
    name: str = "Approve",
    *,
    custom_data: str | None = None,
    external_link: str | None = None,
    notification_arn: str | None = None,
    run_order: int = 1,
) -> Action:
    """A manual approval (Approval / Manual): the execution waits until someone approves.

    Rejected, or unanswered for seven days, it fails like any action
    (https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals.html).
    """
    configuration = {}
    if custom_data:
        configuration["CustomData"] = custom_data
    if external_link:
        configuration["ExternalEntityLink"] = external_link
    if notification_arn:
        configuration["NotificationArn"] = notification_arn
    return Action(
        name, ActionTypeId("Approval", "Manual"), run_order=run_order, configuration=configuration
    )


def deploy_action(
    name: str = "Deploy",
    *,
    application: str,
    deployment_group: str,
    input: str = "BuildArtifact",
    namespace: str | None = None,
    run_order: int = 1,
) -> Action:
    """A CodeDeploy ECS blue/green deployment (Deploy / CodeDeployToECS).

    The AppSpec (``appspec.yaml``) and task definition templates come from ``input``
    (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-ECSbluegreen.html).
    """
    return Action(
        name,
        ActionTypeId("Deploy", "CodeDeployToECS"),
        run_order=run_order,
        configuration={
            "ApplicationName": application,
            "DeploymentGroupName": deployment_group,
            "AppSpecTemplateArtifact": input,
            "AppSpecTemplatePath": "appspec.yaml",
            "TaskDefinitionTemplateArtifact": input,
            "TaskDefinitionTemplatePath": "taskdef.json",
        },
        input_artifacts=(input,),
        namespace=namespace,
    )
