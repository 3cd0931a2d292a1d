"""The bad-input catalog: every input a learner writes, malformed, must fail with a clear error.

Each :class:`Case` feeds one wrong input — a buildspec, a template, a Dockerfile, a policy, a
filter expression, an exercise answer of the wrong type… — to the ``labs`` function a notebook
calls, and expects a :class:`labs.errors.LabsError` whose message names *what* was wrong and
*where* (a line, a field path, a column, a position). A bare ``KeyError``/``TypeError``/yaml or
jsonschema error from deep inside a library fails the case. Cases that take the emulator
snapshot a listing before and after, and fail when the bad input changed it.

The last test prints the catalog's summary (``bad inputs: N tried, N clear (100%) — …``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from labs.errors import LabsError

# --------------------------------------------------------------------------------------------
# The catalog
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        category: What kind of input (``buildspec``, ``dockerfile``…), for the summary.
        description: The mistake, as a learner would make it.
        call: Makes the call; takes the workshop context when ``state`` is set, else nothing.
        expected_fragments: Text the error message must hold (what and where), case-insensitive.
        state: For calls that take the emulator: a function ``ctx -> listing`` compared before
            and after the call.
    """

    category: str
    description: str
    call: Callable[..., Any]
    expected_fragments: tuple[str, ...]
    state: Callable[[Any], Any] | None = None

    @property
    def id(self) -> str:
        """The pytest id: ``category: description``."""
        return f"{self.category}: {self.description}"


CASES: list[Case] = []


def case(
    category: str,
    description: str,
    call: Callable[..., Any],
    *fragments: str,
    state: Callable[[Any], Any] | None = None,
) -> None:
    """Add a case to the catalog."""
    CASES.append(Case(category, description, call, tuple(fragments), state))


# -- buildspecs (labs.cicd.buildspec.parse) ---------------------------------------------------


def _buildspec(text: str) -> Callable[[], Any]:
    def call() -> Any:
        from labs.cicd.buildspec.spec import parse

        return parse(text)

    return call


_B = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"
case(
    "buildspec",
    "not YAML at all (tab indentation)",
    _buildspec("version: 0.2\nphases:\n\tbuild: x\n"),
    "line 3",
)
case(
    "buildspec",
    "missing version",
    _buildspec("phases:\n  build:\n    commands:\n      - echo hi\n"),
    "version",
)
case("buildspec", "version 0.3", _buildspec(_B.replace("0.2", "0.3")), "version", "line 1")
case(
    "buildspec",
    "unknown top-level key",
    _buildspec(_B + "phasess:\n  install: {}\n"),
    "phasess",
    "line 6",
)
case(
    "buildspec",
    "unknown phase name",
    _buildspec(_B + "  deploy:\n    commands:\n      - x\n"),
    "deploy",
    "line 6",
)
case(
    "buildspec",
    "commands is a string, not a list",
    _buildspec("version: 0.2\nphases:\n  build:\n    commands: echo hi\n"),
    "commands",
    "line 4",
)
case(
    "buildspec",
    "a command is a mapping (unquoted colon-space)",
    _buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n"),
    "line 5",
)
case(
    "buildspec",
    "on-failure with an unknown value",
    _buildspec("version: 0.2\nphases:\n  build:\n    on-failure: STOP\n    commands:\n      - x\n"),
    "on-failure",
    "STOP",
)
case(
    "buildspec",
    "env variables is a list",
    _buildspec("version: 0.2\nenv:\n  variables:\n    - A=1\n" + _B[13:]),
    "variables",
    "line 3",
)
case(
    "buildspec",
    "artifacts without files",
    _buildspec(_B + "artifacts:\n  base-directory: dist\n"),
    "files",
    "artifacts",
)
case("buildspec", "the whole document is a list", _buildspec("- version: 0.2\n"), "line 1")
case("buildspec", "empty text", _buildspec(""), "empty")
case(
    "buildspec",
    "a path that does not exist",
    _buildspec("nowhere/buildspec.yml"),
    "nowhere/buildspec.yml",
)
case("buildspec", "None instead of text", _buildspec(None), "NoneType")  # type: ignore[arg-type]
case(
    "buildspec",
    "reports group without files",
    _buildspec(_B + "reports:\n  unit:\n    file-format: JUNITXML\n"),
    "files",
    "reports",
)
case(
    "buildspec",
    "duplicate key",
    _buildspec("version: 0.2\nversion: 0.2\n" + _B[13:]),
    "version",
    "line 2",
)


# -- pipeline definitions (PipelineDefinition.validate) ---------------------------------------


def _pipeline(**changes: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.cicd.pipeline import model as m

        stages = changes.pop("stages", None)
        if stages is None:
            stages = [
                m.Stage("Source", [m.source_action(repository="bookstore")]),
                m.Stage("Build", [m.build_action(project="bookstore-build")]),
            ]
        return m.PipelineDefinition(
            changes.pop("name", "bookstore"), stages(m) if callable(stages) else stages, **changes
        ).validate()

    return call


case(
    "pipeline",
    "one stage only",
    _pipeline(stages=lambda m: [m.Stage("Source", [m.source_action(repository="r")])]),
    "stages",
    "at least two stages",
)
case(
    "pipeline",
    "execution mode misspelt",
    _pipeline(execution_mode="QUEUE"),
    "executionMode",
    "'QUEUE'",
)
case("pipeline", "pipeline type V3", _pipeline(pipeline_type="V3"), "pipelineType", "'V3'")
case(
    "pipeline",
    "PARALLEL on a V1 pipeline",
    _pipeline(execution_mode="PARALLEL", pipeline_type="V1"),
    "executionMode",
    "PARALLEL",
    "V2",
)
case(
    "pipeline",
    "two stages with the same name",
    _pipeline(
        stages=lambda m: [
            m.Stage("Source", [m.source_action(repository="r")]),
            m.Stage("Source", [m.build_action(project="p")]),
        ]
    ),
    "stages",
    "two stages are called 'Source'",
)
case(
    "pipeline",
    "a stage with no actions",
    _pipeline(
        stages=lambda m: [
            m.Stage("Source", [m.source_action(repository="r")]),
            m.Stage("Build", []),
        ]
    ),
    "stage 'Build'",
    "at least one action",
)
case(
    "pipeline",
    "build reads an artifact nobody produces",
    _pipeline(
        stages=lambda m: [
            m.Stage("Source", [m.source_action(repository="r")]),
            m.Stage("Build", [m.build_action(project="p", inputs="SrcArtifact")]),
        ]
    ),
    "stage 'Build', action 'Build', inputArtifacts",
    "'SrcArtifact'",
)
case(
    "pipeline",
    "stage name with a space",
    _pipeline(
        stages=lambda m: [
            m.Stage("Source", [m.source_action(repository="r")]),
            m.Stage("Build it", [m.build_action(project="p")]),
        ]
    ),
    "stage 'Build it'",
    "not valid",
)
case(
    "pipeline",
    "first stage is not a source",
    _pipeline(
        stages=lambda m: [
            m.Stage("Build", [m.build_action(project="p")]),
            m.Stage("Source", [m.source_action(repository="r")]),
        ]
    ),
    "stage 'Build'",
    "first stage",
    "source actions",
)
case(
    "pipeline",
    "stages is None",
    _pipeline(stages=lambda m: None),
    "stages",
    "must be a list",
    "NoneType",
)
case(
    "pipeline",
    "an action that is a dict, not an Action",
    _pipeline(
        stages=lambda m: [
            m.Stage("Source", [m.source_action(repository="r")]),
            m.Stage("Build", [{"name": "Build"}]),
        ]
    ),
    "stage 'Build', actions[0]",
    "must be an Action",
    "dict",
)
case(
    "pipeline",
    "variable reference to an unknown namespace",
    _pipeline(
        stages=lambda m: [
            m.Stage("Source", [m.source_action(repository="r")]),
            m.Stage("Build", [m.build_action(project="p", env={"C": "#{SrcVars.CommitId}"})]),
        ]
    ),
    "action 'Build', configuration",
    "'SrcVars'",
)


# -- CloudFormation templates (labs.iac.load / lint) ------------------------------------------


def _load(text: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.iac import load

        return load(text)

    return call


def _lint(text: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.iac import lint

        return lint(text)

    return call


_T = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"
case(
    "cloudformation",
    "YAML with a tab",
    _load("Resources:\n\tBucket: x\n"),
    "line 2",
    "not valid YAML",
)
case(
    "cloudformation",
    "unknown short form !Reff",
    _load(_T + "Outputs:\n  Name:\n    Value: !Reff Bucket\n"),
    "line 6",
    "!Reff",
    "Did you mean !Ref",
)
case(
    "cloudformation",
    "no Resources section",
    _load("Outputs:\n  X:\n    Value: 1\n"),
    "template",
    "'Resources'",
)
case(
    "cloudformation",
    "Resources is a list",
    _load("Resources:\n  - Bucket\n"),
    "template",
    "'Resources'",
)
case(
    "cloudformation",
    "a resource without Type",
    _load("Resources:\n  Bucket:\n    Properties: {}\n"),
    "Resources.Bucket",
    "'Type'",
)
case(
    "cloudformation",
    "duplicate logical id",
    _load(_T + "  Bucket:\n    Type: AWS::SNS::Topic\n"),
    "line 4",
    "'Bucket' appears twice",
    "line 2",
)
case(
    "cloudformation",
    "broken JSON",
    _load('{"Resources": {"B": {"Type": "AWS::S3::Bucket"}'),
    "line 1, column 48",
    "not valid JSON",
)
case("cloudformation", "the template is a number", _load(42), "template", "not int")
case("cloudformation", "lint: the template is a list", _lint(["Resources"]), "template", "not list")
case("cloudformation", "lint: the template is None", _lint(None), "template", "not NoneType")


# -- CDK props (labs.iac.monitored.MonitoredService) ------------------------------------------


def _monitored(**props: Any) -> Callable[[], Any]:
    def call() -> Any:
        import aws_cdk as cdk

        from labs.iac.monitored import MonitoredService

        stack = cdk.Stack(cdk.App(), "S")
        return MonitoredService(stack, "Orders", **props)

    return call


case(
    "cdk",
    "service_name in capitals",
    _monitored(service_name="Orders"),
    "MonitoredService 'Orders'",
    "service_name 'Orders'",
    "lower-case",
)
case(
    "cdk",
    "service_name None",
    _monitored(service_name=None),
    "MonitoredService 'Orders'",
    "service_name None",
)
case(
    "cdk",
    "backlog_threshold zero",
    _monitored(service_name="orders", backlog_threshold=0),
    "MonitoredService 'Orders', backlog_threshold",
    "got 0",
)
case(
    "cdk",
    "max_receive_count a string",
    _monitored(service_name="orders", max_receive_count="5"),
    "MonitoredService 'Orders', max_receive_count",
    "got '5'",
)


# -- Dockerfiles (labs.containers.dockerfile.lint) --------------------------------------------


def _dockerfile(text: Any, **kw: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.containers.dockerfile import lint

        return lint(text, **kw)

    return call


case(
    "dockerfile",
    "misspelt instruction",
    _dockerfile("FROM python:3.12-slim\nRUNN pip install x\n"),
    "Dockerfile, line 2",
    "'RUNN'",
    "not a Dockerfile instruction",
)
case(
    "dockerfile",
    "no FROM",
    _dockerfile('RUN echo hi\nCMD ["python"]\n'),
    "Dockerfile, line 1",
    "no FROM",
)
case("dockerfile", "empty file", _dockerfile(""), "Dockerfile", "no instructions")
case(
    "dockerfile", "only comments", _dockerfile("# nothing here\n"), "Dockerfile", "no instructions"
)
case(
    "dockerfile",
    "bytes instead of text",
    _dockerfile(b"FROM python\n"),
    "Dockerfile is text",
    "bytes",
)
case("dockerfile", "a list of lines", _dockerfile(["FROM python"]), "Dockerfile is text", "list")
case(
    "dockerfile",
    "a shell command as an instruction",
    _dockerfile("FROM python:3.12-slim\npip install flask\n"),
    "Dockerfile, line 2",
    "'pip'",
)
case(
    "dockerfile",
    "continued line swallows the next instruction's keyword",
    _dockerfile("FROM python:3.12-slim\nRUN pip install \\\n\nCOPYY . /app\n"),
    "Dockerfile, line 4",
    "'COPYY'",
)
case(
    "dockerfile",
    "dockerignore is a list",
    _dockerfile("FROM python:3.12-slim\n", dockerignore=[".git"]),
    "dockerignore",
    "not list",
)


# -- ECS task definitions (labs.containers.ecs.validate_task_definition) ----------------------


def _task(edit: Callable[[dict[str, Any]], Any]) -> Callable[[], Any]:
    def call() -> Any:
        from labs.containers import ecs

        definition = ecs.bookstore_task_definition()
        edit(definition)
        return ecs.validate_task_definition(definition)

    return call


def _container(d: dict[str, Any]) -> dict[str, Any]:
    return d["containerDefinitions"][0]


case(
    "task-definition",
    "memory not allowed for the CPU",
    _task(lambda d: d.update(memory="3072")),
    "memory",
    "3072",
    "cpu 256",
    "512, 1024, 2048",
)
case(
    "task-definition",
    "cpu not a Fargate size",
    _task(lambda d: d.update(cpu="300")),
    "cpu",
    "300",
    "not a Fargate task size",
)
case("task-definition", "cpu 'a lot'", _task(lambda d: d.update(cpu="a lot")), "cpu", "'a lot'")
case(
    "task-definition",
    "networkMode bridge on Fargate",
    _task(lambda d: d.update(networkMode="bridge")),
    "networkMode",
    "awsvpc",
    "'bridge'",
)
case("task-definition", "no family", _task(lambda d: d.pop("family")), "family", "required")
case(
    "task-definition",
    "containerDefinitions empty",
    _task(lambda d: d.update(containerDefinitions=[])),
    "containerDefinitions",
    "at least one container",
)
case(
    "task-definition",
    "container without image",
    _task(lambda d: _container(d).pop("image")),
    "containerDefinitions[0].image",
    "required",
)
case(
    "task-definition",
    "containerPort is a string",
    _task(lambda d: _container(d)["portMappings"][0].update(containerPort="8080")),
    "containerDefinitions[0].portMappings[0].containerPort",
    "'8080'",
)
case(
    "task-definition",
    "environment as a dict",
    _task(lambda d: _container(d).update(environment={"A": "1"})),
    "containerDefinitions[0].environment",
    "list",
    "dict",
)
case(
    "task-definition",
    "no essential container",
    _task(lambda d: _container(d).update(essential=False)),
    "containerDefinitions[*].essential",
    "essential container",
)
case(
    "task-definition",
    "definition is a JSON string",
    lambda: __import__("labs.containers.ecs", fromlist=["x"]).validate_task_definition("{}"),
    "task definition",
    "mapping",
    "str",
)
case(
    "task-definition",
    "two containers with the same name",
    _task(lambda d: d["containerDefinitions"].append(dict(_container(d)))),
    "containerDefinitions[1].name",
    "'bookstore'",
)


# -- ECR lifecycle policies (validate_policy / lifecycle_preview) -----------------------------


def _rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 14,
        },
        "action": {"type": "expire"},
    }
    rule.update(changes)
    return rule


def _policy(policy: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.containers.ecr import validate_policy

        return validate_policy(policy)

    return call


case(
    "lifecycle-policy",
    "no rules key",
    _policy({"rule": []}),
    "lifecycle policy",
    "'rule'",
    '"rules"',
)
case(
    "lifecycle-policy",
    "countNumber zero",
    _policy(
        {
            "rules": [
                _rule(
                    selection={
                        "tagStatus": "untagged",
                        "countType": "imageCountMoreThan",
                        "countNumber": 0,
                    }
                )
            ]
        }
    ),
    "rule 1 (rulePriority 1), selection.countNumber",
    "got 0",
)
case(
    "lifecycle-policy",
    "sinceImagePushed without countUnit",
    _policy(
        {
            "rules": [
                _rule(
                    selection={
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countNumber": 3,
                    }
                )
            ]
        }
    ),
    "rule 1 (rulePriority 1), selection.countUnit",
    "sinceImagePushed",
)
case(
    "lifecycle-policy",
    "tagged without a prefix list",
    _policy(
        {
            "rules": [
                _rule(
                    selection={
                        "tagStatus": "tagged",
                        "countType": "imageCountMoreThan",
                        "countNumber": 3,
                    }
                )
            ]
        }
    ),
    "rule 1 (rulePriority 1), selection.tagStatus",
    "tagPrefixList",
)
case(
    "lifecycle-policy",
    "two rules with the same priority",
    _policy({"rules": [_rule(), _rule()]}),
    "rule 2 (rulePriority 1), rulePriority",
    "used by rule 1",
)
case(
    "lifecycle-policy",
    "action type delete",
    _policy({"rules": [_rule(action={"type": "delete"})]}),
    "rule 1 (rulePriority 1), action.type",
    "'delete'",
)
case(
    "lifecycle-policy",
    "not JSON",
    _policy("{rules: []"),
    "lifecycle policy, line 1, column 2",
    "not valid JSON",
)
case(
    "lifecycle-policy",
    "countNumber a string",
    _policy(
        {
            "rules": [
                _rule(
                    selection={
                        "tagStatus": "untagged",
                        "countType": "imageCountMoreThan",
                        "countNumber": "5",
                    }
                )
            ]
        }
    ),
    "selection.countNumber",
    "got '5'",
)
case(
    "lifecycle-policy",
    "rule is a string",
    _policy({"rules": ["expire old"]}),
    "lifecycle policy, rule 1",
    "JSON object",
    "str",
)


def _preview_images(images: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.containers.ecr import lifecycle_preview

        return lifecycle_preview({"rules": [_rule()]}, images, now="2026-01-01T00:00:00Z")

    return call


case(
    "lifecycle-policy",
    "preview: images missing pushed_at",
    _preview_images(pd.DataFrame({"digest": ["sha256:1"], "tags": [["v1"]]})),
    "images",
    "['pushed_at']",
)
case("lifecycle-policy", "preview: images is None", _preview_images(None), "images", "NoneType")


# -- Kubernetes manifests (labs.containers.eks.validate_manifest) -----------------------------


def _manifest(edit: Callable[[dict[str, Any]], Any], index: int = 1) -> Callable[[], Any]:
    def call() -> Any:
        from labs.containers import eks

        docs = eks.manifests(eks.bookstore_apps())
        edit(docs[index])
        return eks.validate_manifest(docs[index], docs)

    return call


def _pod(d: dict[str, Any]) -> dict[str, Any]:
    return d["spec"]["template"]["spec"]


case(
    "kubernetes",
    "containerPort a string",
    _manifest(lambda d: _pod(d)["containers"][0]["ports"][0].update(containerPort="http8080")),
    "Deployment/catalog",
    "spec.template.spec.containers.0.ports.0.containerPort",
    "'http8080'",
    "integer",
)
case(
    "kubernetes",
    "misspelt field replica",
    _manifest(lambda d: d["spec"].update(replica=d["spec"].pop("replicas"))),
    "Deployment/catalog",
    "spec",
    "'replica' was unexpected",
)
case(
    "kubernetes", "no kind", _manifest(lambda d: d.pop("kind")), "?/catalog", "apiVersion and kind"
)
case(
    "kubernetes",
    "apiVersion apps/v1beta1",
    _manifest(lambda d: d.update(apiVersion="apps/v1beta1")),
    "Deployment/catalog",
    "apps/v1beta1",
)
case(
    "kubernetes",
    "selector does not match the pod labels",
    _manifest(lambda d: d["spec"]["selector"].update(matchLabels={"app": "other"})),
    "Deployment/catalog",
    "spec.template.metadata.labels",
    "selector",
)
case(
    "kubernetes",
    "ports is a mapping, not a list",
    _manifest(lambda d: _pod(d)["containers"][0].update(ports={"containerPort": 8080})),
    "Deployment/catalog",
    "spec.template.spec.containers.0.ports",
    "'array'",
)
case(
    "kubernetes",
    "Service targets a port name nobody declares",
    _manifest(lambda d: d["spec"]["ports"][0].update(targetPort="grpc"), index=2),
    "Service/catalog",
    "spec.ports",
    "'grpc'",
)
case(
    "kubernetes",
    "HPA targets a Deployment that does not exist",
    _manifest(lambda d: d["spec"]["scaleTargetRef"].update(name="ghost"), index=3),
    "HorizontalPodAutoscaler/catalog",
    "spec.scaleTargetRef",
    "Deployment/ghost",
)
case(
    "kubernetes",
    "manifest is a YAML string",
    lambda: __import__("labs.containers.eks", fromlist=["x"]).validate_manifest("kind: Deployment"),
    "a str, not a manifest",
    "apiVersion and kind",
)


# -- alarm definitions (labs.observability.alarms) --------------------------------------------


def _alarm(**changes: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.observability.alarms import Alarm

        fields: dict[str, Any] = {
            "alarm_name": "orders-5xx",
            "metric_name": "5xx",
            "namespace": "Bookstore",
            "period": 60,
            "evaluation_periods": 3,
            "threshold": 5.0,
            "comparison_operator": "GreaterThanThreshold",
            "statistic": "Sum",
        }
        fields.update(changes)
        return Alarm(**fields)

    return call


def _evaluate(values: Any = (1, 2, 3), **changes: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.observability.alarms import evaluate

        kw: dict[str, Any] = {
            "threshold": 2,
            "comparison_operator": "GreaterThanThreshold",
            "evaluation_periods": 3,
        }
        kw.update(changes)
        return evaluate(values, **kw)

    return call


case("alarm", "period 45 seconds", _alarm(period=45), "Period", "45 s")
case("alarm", "operator '>'", _alarm(comparison_operator=">"), "ComparisonOperator", "'>'")
case(
    "alarm",
    "statistic and extended_statistic both",
    _alarm(extended_statistic="p99"),
    "Statistic / ExtendedStatistic",
    "exactly one",
)
case(
    "alarm",
    "datapoints_to_alarm above evaluation_periods",
    _alarm(datapoints_to_alarm=5),
    "DatapointsToAlarm",
    "(5)",
    "(3)",
)
case("alarm", "threshold a string", _alarm(threshold="five"), "Threshold", "'five'")
case("alarm", "statistic Mean", _alarm(statistic="Mean"), "Statistic", "'Mean'")
case(
    "alarm",
    "treat_missing_data 'ignored'",
    _alarm(treat_missing_data="ignored"),
    "TreatMissingData",
    "'ignored'",
)
case(
    "alarm",
    "evaluate: values contain a word",
    _evaluate([1, "high", 3]),
    "values[1]",
    "'high'",
    "not a number",
)
case(
    "alarm",
    "evaluate: evaluation_periods 0",
    _evaluate(evaluation_periods=0),
    "evaluation_periods",
    "got 0",
)
case("alarm", "evaluate: values is None", _evaluate(None), "values", "NoneType")


# -- CloudWatch Logs filter patterns (labs.observability.logs.matches) ------------------------


def _pattern(pattern: Any, message: str = '{"status": 500}') -> Callable[[], Any]:
    def call() -> Any:
        from labs.observability.logs import matches

        return matches(pattern, message)

    return call


case(
    "filter-pattern",
    "unclosed JSON selector",
    _pattern("{ $.status = 500 "),
    "filter pattern, offset 16",
    "'}'",
)
case(
    "filter-pattern",
    "JSON selector without $",
    _pattern("{ status = 500 }"),
    "filter pattern, offset 2",
    "selector starting with $",
)
case(
    "filter-pattern",
    "unterminated quote",
    _pattern('"ERROR'),
    "filter pattern, offset 0",
    "never closed",
)
case("filter-pattern", "pattern is None", _pattern(None), "pattern", "NoneType")


# -- X-Ray filter expressions (labs.observability.tracing.parse_filter) -----------------------


def _xray(text: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.observability.tracing.filters import parse_filter

        return parse_filter(text)

    return call


case("xray-filter", "unknown keyword", _xray("responsetim > 2"), "column 1", "'responsetim'")
case("xray-filter", "unbalanced parenthesis", _xray("(fault AND error"), "column", "')'")
case(
    "xray-filter",
    "operator without a value",
    _xray("responsetime >"),
    "column 15",
    "expected a value",
)
case(
    "xray-filter",
    "service() without quotes",
    _xray("service(orders) { fault }"),
    "column 9",
    "quoted",
    "'orders'",
)
case(
    "xray-filter",
    "unterminated string",
    _xray('http.url CONTAINS "/orders'),
    "column",
    "closing quote",
)
case("xray-filter", "filter is None", _xray(None), "filter expression", "NoneType")


# -- flag documents and rules (labs.practices) ------------------------------------------------


def _flags(document: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.practices.flags import validate_document

        return validate_document(document)

    return call


def _flag_doc(**flag: Any) -> dict[str, Any]:
    return {
        "version": "1",
        "flags": {"new_checkout": {"name": "New checkout", **flag}},
        "values": {"new_checkout": {"enabled": True}},
    }


case("flags", "version 2", _flags({**_flag_doc(), "version": "2"}), "version", '"1"', "'2'")
case(
    "flags",
    "a value for an undeclared flag",
    _flags({**_flag_doc(), "values": {"old_checkout": {"enabled": True}}}),
    "values.old_checkout",
    "'old_checkout'",
)
case(
    "flags",
    "enabled is the string 'true'",
    _flags({**_flag_doc(), "values": {"new_checkout": {"enabled": "true"}}}),
    "values.new_checkout.enabled",
    "'true'",
)
case(
    "flags",
    "flag key with a space",
    _flags({"version": "1", "flags": {"new checkout": {"name": "N"}}, "values": {}}),
    "flags.new checkout",
    "not a valid flag key",
)
case("flags", "not JSON text", _flags("{version: 1"), "line 1, column 2", "not valid JSON")
case(
    "flags",
    "attribute violates its constraint",
    _flags(
        {
            "version": "1",
            "flags": {
                "f": {
                    "name": "F",
                    "attributes": {"pct": {"constraints": {"type": "number", "maximum": 100}}},
                }
            },
            "values": {"f": {"enabled": True, "pct": 150}},
        }
    ),
    "values.f.pct",
    "150",
    "maximum 100",
)
case("flags", "document is a list", _flags([]), "(document)", "JSON object", "array")


def _rule_text(text: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.practices.rules import parse_rule

        return parse_rule(text)

    return call


case(
    "flag-rule",
    "unbalanced parenthesis",
    _rule_text('(eq $plan "premium"'),
    "rule, character 19",
    "never closed",
)
case(
    "flag-rule",
    "unknown operator",
    _rule_text('(equals $plan "premium")'),
    "rule, character 1",
    "'equals'",
)
case(
    "flag-rule",
    "unterminated string",
    _rule_text('(eq $plan "premium)'),
    "rule, character 10",
    "never closed",
)
case(
    "flag-rule",
    "context key without $",
    _rule_text('(eq plan "premium")'),
    "rule, character 4",
    "'plan'",
)
case(
    "flag-rule",
    "too few operands",
    _rule_text("(eq $plan)"),
    "rule, character 0",
    "eq takes two operands",
    "given 1",
)
case("flag-rule", "rule is a number", _rule_text(42), "rule", "string", "int")


# -- DORA frames (labs.dora.metrics) ----------------------------------------------------------


def _dora(edit: Callable[[dict[str, pd.DataFrame]], Any]) -> Callable[[], Any]:
    def call() -> Any:
        from labs import dora

        changes, deployments, incidents = dora.simulate_history(days=20, seed=1)
        frames = {
            "changes": changes.copy(),
            "deployments": deployments.copy(),
            "incidents": incidents.copy(),
        }
        edit(frames)
        return dora.metrics(frames["changes"], frames["deployments"], frames["incidents"])

    return call


case(
    "dora",
    "changes without committed_at",
    _dora(lambda f: f.__setitem__("changes", f["changes"].drop(columns="committed_at"))),
    "changes, column 'committed_at'",
)
case(
    "dora",
    "naive deployed_at",
    _dora(
        lambda f: f["deployments"].__setitem__(
            "deployed_at", f["deployments"]["deployed_at"].dt.tz_localize(None)
        )
    ),
    "deployments, column 'deployed_at'",
    "naive",
)
case(
    "dora",
    "committed_at as text that is not a date",
    _dora(lambda f: f["changes"].__setitem__("committed_at", "yesterday")),
    "changes, column 'committed_at', row 0",
    "'yesterday'",
)
case(
    "dora",
    "deployments is a list of dicts",
    _dora(lambda f: f.__setitem__("deployments", f["deployments"].to_dict("records"))),
    "deployments",
    "DataFrame",
    "list",
)
case(
    "dora",
    "rolled_back as strings",
    _dora(lambda f: f["deployments"].__setitem__("rolled_back", "no")),
    "deployments, column 'rolled_back', row 0",
    "'no'",
)
case(
    "dora",
    "deployment ships an unknown change",
    _dora(lambda f: f["deployments"].__setitem__("change_ids", [["nope"]] * len(f["deployments"]))),
    "deployments, column 'change_ids', row 0",
    "'nope'",
)
case(
    "dora",
    "incident resolved before it was created",
    _dora(
        lambda f: f["incidents"].__setitem__(
            "resolved_at", f["incidents"]["created_at"] - pd.Timedelta(hours=1)
        )
    ),
    "incidents, column 'resolved_at', row 0",
    "resolved before it was created",
)


# -- deployment configs (labs.deploy.configs) -------------------------------------------------


def _config(name: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.deploy import configs

        return configs.get(name)

    return call


def _custom(*args: Any, **kw: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.deploy.configs import DeploymentConfig

        return DeploymentConfig.custom(*args, **kw)

    return call


case(
    "deploy-config",
    "misspelt predefined name",
    _config("CodeDeployDefault.ECSCanary10Percent5Minute"),
    "name",
    "'CodeDeployDefault.ECSCanary10Percent5Minute'",
    "Did you mean CodeDeployDefault.ECSCanary10Percent5Minutes",
)
case("deploy-config", "name is None", _config(None), "name", "None is not a predefined")
case(
    "deploy-config",
    "canary percentage 150",
    _custom(
        "mine",
        "ECS",
        traffic_routing={
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": 150, "canaryInterval": 5},
        },
    ),
    "trafficRoutingConfig.timeBasedCanary.canaryPercentage",
    "got 150",
)
case(
    "deploy-config",
    "linear without its block",
    _custom("mine", "ECS", traffic_routing={"type": "TimeBasedLinear"}),
    "trafficRoutingConfig.timeBasedLinear",
    "missing",
)
case(
    "deploy-config", "unknown compute platform", _custom("mine", "EC2"), "computePlatform", "'EC2'"
)
case(
    "deploy-config",
    "Server with traffic routing",
    _custom("mine", "Server", traffic_routing={"type": "AllAtOnce"}),
    "trafficRoutingConfig",
    "Server",
)
case(
    "deploy-config",
    "minimum healthy hosts percent 120",
    _custom("mine", "Server", minimum_healthy_hosts={"type": "FLEET_PERCENT", "value": 120}),
    "minimumHealthyHosts.value",
    "got 120",
)
case(
    "deploy-config",
    "interval is a string",
    _custom(
        "mine",
        "Lambda",
        traffic_routing={
            "type": "TimeBasedLinear",
            "timeBasedLinear": {"linearPercentage": 10, "linearInterval": "1m"},
        },
    ),
    "trafficRoutingConfig.timeBasedLinear.linearInterval",
    "'1m'",
)


# -- git repository misuse (labs.cicd.git) ----------------------------------------------------


def _git(action: Callable[[Any], Any]) -> Callable[[], Any]:
    def call() -> Any:
        import subprocess
        import tempfile

        from labs.cicd.git import Repo

        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "HOME": tmp}
            for args in (
                ["init", "-q", "-b", "main"],
                [
                    "-c",
                    "user.name=T",
                    "-c",
                    "user.email=t@example.com",
                    "commit",
                    "-q",
                    "--allow-empty",
                    "-m",
                    "first",
                ],
            ):
                subprocess.run(["git", *args], cwd=tmp, check=True, env=env)
            return action(Repo(tmp))

    return call


case(
    "git",
    "a folder that is not a repository",
    lambda: __import__("labs.cicd.git", fromlist=["x"]).Repo("/tmp"),
    "/tmp",
    "not the top folder of a git repository",
)
case(
    "git",
    "a path that does not exist",
    lambda: __import__("labs.cicd.git", fromlist=["x"]).Repo("/nowhere/repo"),
    "/nowhere/repo",
    "not a directory",
)
case(
    "git",
    "checkout of a branch that does not exist",
    _git(lambda r: r.checkout("no-such-branch")),
    "repository 'tmp",
    "no branch called 'no-such-branch'",
)
case(
    "git",
    "show a file that is not in the commit",
    _git(lambda r: r.show("missing.txt")),
    "repository 'tmp",
    "'missing.txt'",
    "'HEAD'",
)
case(
    "git",
    "merge of an unknown branch",
    _git(lambda r: r.merge("ghost", when=pd.Timestamp("2026-01-05T10:00:00Z").to_pydatetime())),
    "repository 'tmp",
    "'ghost' names no commit",
)
case(
    "git",
    "rev_parse of garbage",
    _git(lambda r: r.rev_parse("not-a-rev")),
    "repository 'tmp",
    "'not-a-rev' names no commit",
)


# -- the aws-target guard (labs.env.check_aws_opt_in) -----------------------------------------


class _Sts:
    def __init__(self, account: str = "123456789012", fail: bool = False) -> None:
        self.account, self.fail = account, fail

    def get_caller_identity(self) -> dict[str, str]:
        if self.fail:
            raise RuntimeError("no credentials")
        return {"Account": self.account}


def _guard(
    environ: dict[str, str], region: str | None = "eu-west-1", sts: Any = None
) -> Callable[[], Any]:
    def call() -> Any:
        from labs.env import check_aws_opt_in

        return check_aws_opt_in(environ, region, sts or _Sts())

    return call


_AWS = {"LABS_TARGET": "aws", "LABS_AWS_ACCOUNT": "123456789012"}
case(
    "aws-guard",
    "LABS_TARGET missing",
    _guard({"LABS_AWS_ACCOUNT": "123456789012"}),
    "LABS_TARGET=aws",
)
case(
    "aws-guard",
    "account id with dashes",
    _guard({**_AWS, "LABS_AWS_ACCOUNT": "1234-5678-9012"}),
    "LABS_AWS_ACCOUNT",
    "'1234-5678-9012'",
    "12-digit",
)
case("aws-guard", "account not set", _guard({"LABS_TARGET": "aws"}), "LABS_AWS_ACCOUNT is not set")
case(
    "aws-guard",
    "region not allowed",
    _guard(_AWS, region="ap-south-2"),
    "LABS_REGION / AWS_REGION",
    "'ap-south-2'",
)
case(
    "aws-guard",
    "credentials for another account",
    _guard(_AWS, sts=_Sts("999999999999")),
    "999999999999",
    "LABS_AWS_ACCOUNT is 123456789012",
)
case("aws-guard", "STS unreachable", _guard(_AWS, sts=_Sts(fail=True)), "STS", "RuntimeError")


# -- exercise answers of the wrong type or shape (check functions) ----------------------------


def _dora_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from labs import dora

    return dora.simulate_history(days=20, seed=1)


def _lead_time(answer: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.dora import checks

        changes, deployments, _ = _dora_frames()
        return checks.lead_time_of_change(
            answer, changes["change_id"].iloc[0], changes, deployments
        )

    return call


def _team_tiers(answer: Any) -> Callable[[], Any]:
    def call() -> Any:
        from labs.dora import checks

        team = {
            "deployment_frequency": 3.0,
            "lead_time_hours": 30.0,
            "change_fail_rate": 0.1,
            "recovery_time_hours": 2.0,
        }
        return checks.team_tiers(answer, team)

    return call


case("answers", "dora lead time: None", _lead_time(None), "lead time of change c00001", "no answer")
case(
    "answers",
    "dora lead time: a string",
    _lead_time("3 hours"),
    "lead time of change c00001",
    "'3 hours' (str)",
)
case(
    "answers",
    "dora lead time: a list",
    _lead_time([3.0]),
    "lead time of change c00001",
    "[3.0] (list)",
)
case(
    "answers",
    "dora team tiers: dict missing keys",
    _team_tiers({"deployment_frequency": "Elite"}),
    "team's tiers",
    "missing ['Change lead time'",
    "unexpected ['deployment_frequency']",
)
case("answers", "dora team tiers: None", _team_tiers(None), "team's tiers", "no answer")
case(
    "answers",
    "premium rule: None",
    lambda: __import__("labs.practices.checks", fromlist=["x"]).premium_rule(None),
    "rule for premium users",
    "no answer",
)
case(
    "answers",
    "premium rule: a dict",
    lambda: __import__("labs.practices.checks", fromlist=["x"]).premium_rule({"plan": "premium"}),
    "rule for premium users",
    "a rule as a string",
    "dict",
)
case(
    "answers",
    "experiment size: a string",
    lambda: __import__("labs.practices.checks", fromlist=["x"]).experiment_size(
        "lots", baseline=0.1, minimum_detectable_effect=0.02
    ),
    "users per group",
    "a number",
    "'lots'",
)
case(
    "answers",
    "ship decision: None",
    lambda: __import__("labs.practices.checks", fromlist=["x"]).ship_decision(
        None, {"control": 0.1}
    ),
    "decision",
    "no answer",
)
case(
    "answers",
    "lifecycle policy check: a string that is not JSON",
    lambda: __import__("labs.containers.checks", fromlist=["x"]).lifecycle_policy(
        "expire old", None, now="2026-01-01"
    ),
    "lifecycle policy, line 1, column 1",
    "not valid JSON",
)
case(
    "answers",
    "dockerfile fixed: None",
    lambda: __import__("labs.containers.checks", fromlist=["x"]).dockerfile_fixed(
        None, dockerignore=None
    ),
    "Dockerfile",
    "no answer",
)
case(
    "answers",
    "task definition fixed: a list",
    lambda: __import__(
        "labs.containers.orchestration_checks", fromlist=["x"]
    ).task_definition_fixed([]),
    "task definition is a dict",
    "list",
)
case(
    "answers",
    "iac lint fixed: None",
    lambda: __import__("labs.iac.checks", fromlist=["x"]).lint_fixed(None, _T),
    "fixed payments template",
    "no answer",
)
case(
    "answers",
    "iac condition added: a number",
    lambda: __import__("labs.iac.checks", fromlist=["x"]).condition_added(3),
    "LongRetention",
    "not int",
)
case(
    "answers",
    "has_columns: frame missing a column",
    lambda: __import__("labs.checks", fromlist=["x"]).has_columns(
        pd.DataFrame({"a": [1]}), ["a", "deployed_at"], "your deployments"
    ),
    "your deployments",
    "missing ['deployed_at']",
)
case(
    "answers",
    "has_columns: a dict instead of a frame",
    lambda: __import__("labs.checks", fromlist=["x"]).has_columns(
        {"a": [1]}, ["a"], "your deployments"
    ),
    "your deployments",
    "columns ['a']",
    "dict",
)
case(
    "answers",
    "close: a string where a number is expected",
    lambda: __import__("labs.checks", fromlist=["x"]).close("twelve", 12.0, "the lead time"),
    "the lead time",
    "a number near 12",
    "'twelve' (str)",
)
case(
    "answers",
    "fixed build: None",
    lambda: __import__("labs.cicd.build_checks", fromlist=["x"]).fixed_build(None),
    "fixed_result",
    "no answer",
)
case(
    "answers",
    "approval before production: a string",
    lambda: __import__("labs.cicd.pipeline_checks", fromlist=["x"]).approval_before_production(
        "yes"
    ),
    "not a pipeline definition",
    "str",
)
case(
    "answers",
    "fault culprit: a number",
    lambda: __import__("labs.observability.tracing_checks", fromlist=["x"]).fault_culprit(3, None),
    "bookstore's services",
    "found:    3",
)


# -- cases that take the emulator: the listing must not change --------------------------------


def _stacks(ctx: Any) -> list[str]:
    cfn = ctx.client("cloudformation")
    return sorted(
        s["StackName"]
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    )


def _buckets(ctx: Any) -> list[str]:
    return sorted(b["Name"] for b in ctx.client("s3").list_buckets()["Buckets"])


def _task_definitions(ctx: Any) -> list[str]:
    return sorted(ctx.client("ecs").list_task_definitions()["taskDefinitionArns"])


def _repositories(ctx: Any) -> list[str]:
    return sorted(
        r["repositoryName"] for r in ctx.client("ecr").describe_repositories()["repositories"]
    )


def _pipelines_and_buckets(ctx: Any) -> tuple[list[str], list[str]]:
    names = sorted(p["name"] for p in ctx.client("codepipeline").list_pipelines()["pipelines"])
    return names, _buckets(ctx)


def _projects_and_buckets(ctx: Any) -> tuple[list[str], list[str]]:
    return sorted(ctx.client("codebuild").list_projects()["projects"]), _buckets(ctx)


def _deploy_template(text: str) -> Callable[[Any], Any]:
    def call(ctx: Any) -> Any:
        from labs import iac

        return iac.deploy(ctx, "labs-badinput-stack", text, lab="99", quiet=True)

    return call


def _register(edit: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
    def call(ctx: Any) -> Any:
        from labs.containers import ecs

        definition = ecs.bookstore_task_definition(family="labs-badinput")
        edit(definition)
        return ecs.register_task_definition(ctx, definition, lab="99")

    return call


def _run_build(text: str) -> Callable[[Any], Any]:
    def call(ctx: Any) -> Any:
        import tempfile

        from labs.cicd import buildspec

        with tempfile.TemporaryDirectory() as tmp:
            return buildspec.run(text, tmp, ctx=ctx, project="labs-badinput-build", lab="99")

    return call


def _create_pipeline(ctx: Any) -> Any:
    from labs.cicd.pipeline import live
    from labs.cicd.pipeline import model as m

    definition = m.PipelineDefinition(
        "labs-badinput-pipe", [m.Stage("Source", [m.source_action(repository="r")])]
    )
    return live.create(ctx, definition, lab="99")


case(
    "emulator",
    "deploy a template that is not YAML",
    _deploy_template("Resources:\n\tB: x\n"),
    "template, line 2",
    "not valid YAML",
    state=_stacks,
)
case(
    "emulator",
    "deploy a template with an unknown resource type",
    _deploy_template("Resources:\n  B:\n    Type: AWS::S3::Bukket\n"),
    "labs-badinput-stack",
    "line 3",
    "'AWS::S3::Bukket'",
    "nothing was deployed",
    state=_stacks,
)
case(
    "emulator",
    "register a task definition with a bad memory",
    _register(lambda d: d.update(memory="3000")),
    "memory",
    "3000",
    state=_task_definitions,
)
case(
    "emulator",
    "register a task definition without containers",
    _register(lambda d: d.pop("containerDefinitions")),
    "containerDefinitions",
    "at least one container",
    state=_task_definitions,
)
case(
    "emulator",
    "run a buildspec with an unknown phase",
    _run_build(_B + "  deploy:\n    commands:\n      - x\n"),
    "buildspec, line 6",
    "phases.deploy",
    state=_projects_and_buckets,
)
case(
    "emulator",
    "create a one-stage pipeline",
    _create_pipeline,
    "stages",
    "'labs-badinput-pipe' has 1",
    state=_pipelines_and_buckets,
)
case(
    "emulator",
    "bucket_tagged on a bucket that does not exist",
    lambda ctx: __import__("labs.checks", fromlist=["x"]).bucket_tagged(
        ctx, "labs-badinput-no-such-bucket", {"lab": "99"}
    ),
    "no bucket called 'labs-badinput-no-such-bucket'",
    state=_buckets,
)
case(
    "emulator",
    "lifecycle preview applied to a repository that does not exist",
    lambda ctx: __import__("labs.containers.ecr", fromlist=["x"]).apply_lifecycle(
        ctx,
        "labs-badinput-none",
        pd.DataFrame({"digest": ["sha256:" + "0" * 64], "expired": [True]}),
    ),
    "preview",
    "'action'",
    state=_repositories,
)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------

_RESULTS: dict[str, tuple[str, bool]] = {}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("item", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_reported_clearly(item: Case, request: pytest.FixtureRequest) -> None:
    """The input fails with a LabsError naming what and where, and changes nothing."""
    ctx = request.getfixturevalue("ctx") if item.state else None
    before = item.state(ctx) if item.state else None
    _RESULTS[item.id] = (item.category, False)
    try:
        result = item.call(ctx) if item.state else item.call()
    except LabsError as exc:
        message = str(exc)
    except Exception as exc:
        pytest.fail(f"not a labs error: {_describe(exc)}")
    else:
        pytest.fail(f"accepted without an error; returned {result!r:.200}")
    missing = [f for f in item.expected_fragments if f.lower() not in message.lower()]
    assert not missing, f"the message lacks {missing}:\n{message}"
    if item.state:
        assert item.state(ctx) == before, "the bad input changed the emulator's state"
    _RESULTS[item.id] = (item.category, True)


def test_catalog_summary() -> None:
    """Print how many bad inputs were tried, by category, and how many failed clearly.

    Runs after the parametrized test (file order); counts the cases this process ran, so a
    ``-k`` selection or ``pytest -n`` worker reports its share.
    """
    assert len(CASES) >= 80, f"the catalog holds {len(CASES)} cases; it should hold 80 or more"
    assert len({c.id for c in CASES}) == len(CASES), "two cases share a category and description"
    by_category = Counter(category for category, _ in _RESULTS.values())
    clear = sum(ok for _, ok in _RESULTS.values())
    rate = f"{clear / len(_RESULTS):.0%}" if _RESULTS else "n/a"
    parts = ", ".join(f"{name} {n}" for name, n in sorted(by_category.items()))
    print(f"\nbad inputs: {len(_RESULTS)} tried, {clear} clear ({rate}) — {parts}")
    for name in sorted(k for k, (_, ok) in _RESULTS.items() if not ok):
        print(f"  not clear: {name}")
