"""Check a composed buildspec against the 0.2 reference and build the :class:`Buildspec`.

Every rule names the key path (``phases.build.commands[1]``) and the line it was found on.
"""

from __future__ import annotations

import difflib
from typing import Any

from labs.cicd.buildspec.model import (
    ARTIFACT_KEYS,
    BUILDSPEC_PHASES,
    COVERAGE_FORMATS,
    DOC_URL,
    ENV_KEYS,
    LINUX_SHELLS,
    ON_FAILURE_VALUES,
    PHASE_KEYS,
    REPORT_KEYS,
    TEST_FORMATS,
    TOP_KEYS,
    VARIABLE_NAME,
    WINDOWS_SHELLS,
    ArtifactsSpec,
    Buildspec,
    Path_,
    PhaseSpec,
    ReportGroupSpec,
)
from labs.errors import BuildspecError

__all__ = ["Validator", "dotted"]


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a string"


class Validator:
    """Turns the composed values into a :class:`Buildspec`, raising on the first mistake."""

    def __init__(self, source: str, lines: dict[Path_, int], text: str) -> None:
        self.source = source
        self.lines = lines
        self.text = text

    def fail(self, path: Path_, what: str, hint: str | None = None) -> BuildspecError:
        line = self.lines.get(path)
        while line is None and path:
            path = path[:-1]
            line = self.lines.get(path)
        where = f"{self.source}, line {line}" if line else self.source
        return BuildspecError(what, where=where, hint=hint)

    def mapping(self, value: Any, path: Path_, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(
                path,
                f"{dotted(path)} must be a mapping of {what}, found {_kind(value)}.",
                hint=f"See the buildspec syntax: {DOC_URL}#build-spec-ref-syntax",
            )
        return value

    def known(self, value: dict[str, Any], path: Path_, allowed: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                where = f"in {dotted(path)}" if path else "at the top level"
                hint = f"Did you mean {close[0]!r}? " if close else ""
                raise self.fail(
                    (*path, key),
                    f"{dotted((*path, key))} is not a key CodeBuild knows {where}.",
                    hint=f"{hint}Allowed here: {', '.join(allowed)}.",
                )

    def string(self, value: Any, path: Path_, what: str = "a string") -> str:
        if not isinstance(value, str) or value == "":
            raise self.fail(path, f"{dotted(path)} must be {what}, found {_kind(value)}.")
        return value

    def yes_no(self, value: Any, path: Path_) -> bool:
        text = str(value).strip().lower() if isinstance(value, str) else None
        if text in ("yes", "true"):
            return True
        if text in ("no", "false"):
            return False
        raise self.fail(path, f"{dotted(path)} must be yes or no, found {value!r}.")

    def commands(self, value: Any, path: Path_) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(
                path,
                f"{dotted(path)} must be a list of commands, found {_kind(value)}.",
                hint="Write one command per line, each starting with '- ', indented under "
                f"{path[-1]}.",
            )
        out = []
        for i, command in enumerate(value):
            if isinstance(command, dict):
                raise self.fail(
                    (*path, i),
                    f"{dotted((*path, i))} is a mapping, not a command: YAML read the ': ' in it "
                    "as a key and a value.",
                    hint='Put the whole command in quotes, e.g. - "echo Tests: done".',
                )
            if not isinstance(command, str) or not command.strip():
                raise self.fail(
                    (*path, i), f"{dotted((*path, i))} must be a command, found {_kind(command)}."
                )
            out.append(command)
        return tuple(out)

    def names(self, value: Any, path: Path_) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(
                path, f"{dotted(path)} must be a list of variable names, found {_kind(value)}."
            )
        out = []
        for i, name in enumerate(value):
            name = self.string(name, (*path, i), "a variable name")
            if not VARIABLE_NAME.fullmatch(name):
                raise self.fail((*path, i), f"{name!r} is not a valid environment variable name.")
            out.append(name)
        return tuple(out)

    def locations(self, value: Any, path: Path_) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(
                path,
                f"{dotted(path)} must be a list of file locations, found "
                f"{'an empty list' if value == [] else _kind(value)}.",
                hint="For example:  files:\n    - '**/*'",
            )
        return tuple(self.string(v, (*path, i), "a file location") for i, v in enumerate(value))

    # The document ---------------------------------------------------------------------------

    def buildspec(self, root: Any) -> Buildspec:
        if root is None:
            raise BuildspecError("The buildspec is empty.", where=self.source, hint=_MINIMAL)
        if not isinstance(root, dict):
            raise self.fail(
                (), f"A buildspec is a mapping of keys (version, phases, …), found {_kind(root)}."
            )
        self.known(root, (), TOP_KEYS)
        self.version(root)
        if "phases" not in root:
            raise self.fail((), "phases is missing: a buildspec needs its phases.", hint=_MINIMAL)
        env = self.env(root.get("env"), ("env",)) if "env" in root else {}
        phases = self.phases(self.mapping(root["phases"], ("phases",), "phases"))
        artifacts, secondary = (
            self.artifacts(root["artifacts"]) if "artifacts" in root else (None, {})
        )
        reports = self.reports(root["reports"]) if "reports" in root else {}
        run_as = (
            self.string(root["run-as"], ("run-as",), "a Linux user name")
            if ("run-as" in root)
            else None
        )
        ignored = [k for k in ("proxy", "batch", "cache") if k in root]
        if env.get("git-credential-helper") is not None:
            ignored.append("env.git-credential-helper")
        return Buildspec(
            version="0.2",
            phases=phases,
            variables=env.get("variables", {}),
            parameter_store=env.get("parameter-store", {}),
            secrets_manager=env.get("secrets-manager", {}),
            exported_variables=env.get("exported-variables", ()),
            shell=env.get("shell", "/bin/sh"),
            run_as=run_as,
            artifacts=artifacts,
            secondary_artifacts=secondary,
            reports=reports,
            ignored=tuple(ignored),
            source=self.source,
            text=self.text,
        )

    def version(self, root: dict[str, Any]) -> None:
        if "version" not in root:
            raise self.fail(
                (),
                "version is missing: every buildspec states one.",
                hint="Start with version: 0.2",
            )
        raw = root["version"]
        try:
            number = float(raw) if isinstance(raw, str) else None
        except ValueError:
            number = None
        if number == 0.2:
            return
        if number == 0.1:
            hint = (
                "Version 0.1 runs every command in its own shell and uses other key names; "
                "this runner implements 0.2, the version AWS recommends. Write version: 0.2"
            )
        else:
            hint = "CodeBuild knows versions 0.1 and 0.2; use version: 0.2"
        raise self.fail(("version",), f"version {raw!r} is not a supported version.", hint=hint)

    def env(self, value: Any, path: Path_) -> dict[str, Any]:
        env = self.mapping(value, path, "env settings (variables, exported-variables, …)")
        self.known(env, path, ENV_KEYS)
        out: dict[str, Any] = {}
        for key in ("variables", "parameter-store", "secrets-manager"):
            if key in env:
                out[key] = self.variables(env[key], (*path, key), key)
        if "exported-variables" in env:
            names = self.names(env["exported-variables"], (*path, "exported-variables"))
            for i, name in enumerate(names):
                if name.startswith("AWS_"):
                    raise self.fail(
                        (*path, "exported-variables", i),
                        f"{name} cannot be exported: variables that start with AWS_ never are.",
                        hint="Copy the value into a variable of your own name and export that.",
                    )
            out["exported-variables"] = names
        if "shell" in env:
            shell = self.string(env["shell"], (*path, "shell"), "a shell tag")
            if shell in WINDOWS_SHELLS:
                raise self.fail(
                    (*path, "shell"),
                    f"env.shell {shell} is for Windows build images; this build runs on Linux.",
                    hint="On Linux use bash or /bin/sh.",
                )
            if shell not in LINUX_SHELLS:
                raise self.fail(
                    (*path, "shell"),
                    f"env.shell {shell!r} is not a supported shell tag.",
                    hint="On Linux the supported tags are bash and /bin/sh (the default).",
                )
            out["shell"] = shell
        if "git-credential-helper" in env:
            out["git-credential-helper"] = self.yes_no(
                env["git-credential-helper"], (*path, "git-credential-helper")
            )
        return out

    def variables(self, value: Any, path: Path_, key: str) -> dict[str, str]:
        variables = self.mapping(value, path, "NAME: value pairs")
        out = {}
        for name, raw in variables.items():
            where = (*path, name)
            if not VARIABLE_NAME.fullmatch(name):
                raise self.fail(where, f"{name!r} is not a valid environment variable name.")
            if name.startswith("CODEBUILD_"):
                raise self.fail(
                    where,
                    f"{dotted(where)}: names starting with CODEBUILD_ are reserved for CodeBuild.",
                    hint="Choose another name for your variable.",
                )
            if not isinstance(raw, str):
                raise self.fail(
                    where,
                    f"{dotted(where)} must be a single value, found {_kind(raw)}.",
                    hint='Quote the value, e.g. NAME: "value"; an empty value is NAME: "".',
                )
            if key != "variables" and not raw:
                raise self.fail(where, f"{dotted(where)} must name where the value is stored.")
            out[name] = raw
        return out

    def phases(self, phases: dict[str, Any]) -> dict[str, PhaseSpec]:
        for name in phases:
            if name not in BUILDSPEC_PHASES:
                close = difflib.get_close_matches(name, BUILDSPEC_PHASES, n=1, cutoff=0.5)
                if name in PHASE_KEYS:
                    hint = f"{name} belongs inside a phase: indent it under install, pre_build, "
                    hint += "build or post_build."
                else:
                    hint = (f"Did you mean {close[0]!r}? " if close else "") + (
                        "The phases are install, pre_build, build and post_build."
                    )
                raise self.fail(("phases", name), f"phases.{name} is not a phase.", hint=hint)
        return {name: self.phase(name, phases[name]) for name in BUILDSPEC_PHASES if name in phases}

    def phase(self, name: str, value: Any) -> PhaseSpec:
        path: Path_ = ("phases", name)
        if isinstance(value, list):
            raise self.fail(
                path,
                f"phases.{name} is a list; its commands go under a commands key.",
                hint=f"Write:\n  {name}:\n    commands:\n      - your command",
            )
        body = self.mapping(value, path, "phase settings (commands, finally, on-failure, …)")
        self.known(body, path, PHASE_KEYS)
        if "runtime-versions" in body and name != "install":
            raise self.fail(
                (*path, "runtime-versions"),
                f"phases.{name}.runtime-versions: runtime versions belong to the install phase.",
            )
        if name != "install" and "commands" not in body:
            raise self.fail(
                path,
                f"phases.{name} has no commands: they are required when the phase is given.",
                hint=f"Add commands under {name}, or remove the phase.",
            )
        commands = (
            self.commands(body["commands"], (*path, "commands")) if ("commands" in body) else ()
        )
        finally_ = self.commands(body["finally"], (*path, "finally")) if "finally" in body else ()
        on_failure = None
        if "on-failure" in body:
            on_failure = self.string(body["on-failure"], (*path, "on-failure"), "ABORT or CONTINUE")
            if on_failure not in ON_FAILURE_VALUES:
                if on_failure.upper() in ON_FAILURE_VALUES:
                    hint = f"Write it in capitals: on-failure: {on_failure.upper()}"
                elif on_failure.upper().startswith("RETRY"):
                    hint = "The RETRY forms are not implemented by this local runner."
                else:
                    hint = "ABORT ends the build; CONTINUE goes on to the next phase."
                raise self.fail(
                    (*path, "on-failure"),
                    f"phases.{name}.on-failure must be ABORT or CONTINUE, found {on_failure!r}.",
                    hint=hint,
                )
        runtimes: dict[str, str] = {}
        if "runtime-versions" in body:
            runtimes = self.mapping(
                body["runtime-versions"], (*path, "runtime-versions"), "runtime: version pairs"
            )
            if not runtimes:
                raise self.fail(
                    (*path, "runtime-versions"), "runtime-versions must name at least one runtime."
                )
            for runtime, version in runtimes.items():
                self.string(version, (*path, "runtime-versions", runtime), "a version")
        run_as = (
            self.string(body["run-as"], (*path, "run-as"), "a Linux user name")
            if "run-as" in body
            else None
        )
        return PhaseSpec(
            name=name,
            commands=commands,
            finally_=finally_,
            on_failure=on_failure,
            run_as=run_as,
            runtime_versions=dict(runtimes),
            line=self.lines.get(path, 0),
        )

    def artifacts(self, value: Any) -> tuple[ArtifactsSpec, dict[str, ArtifactsSpec]]:
        path: Path_ = ("artifacts",)
        body = self.mapping(value, path, "artifact settings (files, base-directory, …)")
        primary = self.artifact(body, path, None)
        secondary: dict[str, ArtifactsSpec] = {}
        if "secondary-artifacts" in body:
            spath = (*path, "secondary-artifacts")
            for ident, sub in self.mapping(body[spath[-1]], spath, "artifact identifiers").items():
                sub_body = self.mapping(sub, (*spath, ident), "artifact settings")
                if "secondary-artifacts" in sub_body:
                    raise self.fail(
                        (*spath, ident, "secondary-artifacts"),
                        "secondary-artifacts cannot be nested.",
                    )
                secondary[ident] = self.artifact(sub_body, (*spath, ident), ident)
        return primary, secondary

    def artifact(self, body: dict[str, Any], path: Path_, ident: str | None) -> ArtifactsSpec:
        self.known(body, path, ARTIFACT_KEYS)
        if "files" not in body:
            raise self.fail(
                path,
                f"{dotted(path)} has no files: the files list is required.",
                hint="For example:  files:\n    - '**/*'",
            )
        return ArtifactsSpec(
            files=self.locations(body["files"], (*path, "files")),
            name=self.string(body["name"], (*path, "name"), "a name") if "name" in body else None,
            discard_paths=self.yes_no(body["discard-paths"], (*path, "discard-paths"))
            if "discard-paths" in body
            else False,
            base_directory=self.string(body["base-directory"], (*path, "base-directory"))
            if "base-directory" in body
            else None,
            exclude_paths=self.locations(body["exclude-paths"], (*path, "exclude-paths"))
            if "exclude-paths" in body
            else (),
            identifier=ident,
        )

    def reports(self, value: Any) -> dict[str, ReportGroupSpec]:
        groups = self.mapping(value, ("reports",), "report groups")
        out = {}
        for name, body in groups.items():
            path: Path_ = ("reports", name)
            body = self.mapping(body, path, "report settings (files, base-directory, …)")
            self.known(body, path, REPORT_KEYS)
            if "files" not in body:
                raise self.fail(
                    path,
                    f"reports.{name} has no files: the files list is required.",
                    hint="For example:  files:\n    - 'junit.xml'",
                )
            file_format = "JUNITXML"
            if "file-format" in body:
                file_format = self.string(body["file-format"], (*path, "file-format")).upper()
                if file_format not in TEST_FORMATS + COVERAGE_FORMATS:
                    raise self.fail(
                        (*path, "file-format"),
                        f"reports.{name}.file-format {body['file-format']!r} is not a report "
                        "format CodeBuild reads.",
                        hint=f"Test reports: {', '.join(TEST_FORMATS)}; code coverage: "
                        f"{', '.join(COVERAGE_FORMATS)}.",
                    )
            out[name] = ReportGroupSpec(
                name=name,
                files=self.locations(body["files"], (*path, "files")),
                base_directory=self.string(body["base-directory"], (*path, "base-directory"))
                if "base-directory" in body
                else None,
                discard_paths=self.yes_no(body["discard-paths"], (*path, "discard-paths"))
                if "discard-paths" in body
                else False,
                file_format=file_format,
            )
        return out


_MINIMAL = (
    "A minimal buildspec:\nversion: 0.2\nphases:\n  build:\n    commands:\n      - echo Hello"
)
