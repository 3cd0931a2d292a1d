"""labs.containers.dockerfile and .context: parsing, hadolint, our rules, .dockerignore."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labs.bookstore import package_path
from labs.containers import checks, dockerfile
from labs.containers.context import DockerIgnore, context_files
from labs.errors import CheckFailed, InputError, LabsError

BOOKSTORE_DOCKERFILE = (package_path() / "Dockerfile").read_text()
BOOKSTORE_DOCKERIGNORE = (package_path() / ".dockerignore").read_text()
IGNORE = ".git\n.env\n**/__pycache__\n"

GOOD = """FROM python:3.11.7-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 \\
    && rm -rf /var/lib/apt/lists/*
COPY . /src

FROM python:3.11.7-slim
WORKDIR /app
COPY --from=build /src /app
USER 10001
HEALTHCHECK CMD ["python", "-c", "print(1)"]
CMD ["python", "-m", "bookstore"]
"""


def rules_of(frame: pd.DataFrame) -> list[str]:
    return frame["rule"].tolist()


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def test_parse_splits_stages_and_substitutes_build_arguments() -> None:
    parsed = dockerfile.parse(BOOKSTORE_DOCKERFILE)
    assert [s.name for s in parsed.stages] == ["test", "runtime"]
    assert [s.image for s in parsed.stages] == ["python:3.11.7-slim"] * 2
    assert parsed.args == {"PYTHON_IMAGE": "python:3.11.7-slim"}
    assert parsed.final.name == "runtime"
    copy = next(i for i in parsed.final.instructions if i.keyword == "COPY")
    assert copy.flags == {"from": "test", "chown": "10001:10001"}
    assert copy.body == "/dist/bookstore /app/bookstore"


def test_parse_joins_continuations_drops_inner_comments_and_follows_escape() -> None:
    text = 'FROM a:1.0\nRUN echo one \\\n# a comment inside\n    && echo two\nCMD ["x"]\n'
    parsed = dockerfile.parse(text)
    run = parsed.final.instructions[0]
    assert (run.keyword, run.line, run.body) == ("RUN", 2, "echo one && echo two")
    assert parsed.final.instructions[1].line == 5
    backtick = "# escape=`\nFROM a:1.0\nRUN echo one `\n    two\n"
    assert dockerfile.parse(backtick).final.instructions[0].body == "echo one two"


def test_parse_keeps_heredocs_with_their_instruction() -> None:
    text = "FROM a:1.0\nRUN <<EOF\nFROM not-an-instruction\nEOF\nUSER 1\n"
    parsed = dockerfile.parse(text)
    assert len(parsed.stages) == 1
    assert [i.keyword for i in parsed.final.instructions] == ["RUN", "USER"]


def test_parse_follows_stages_built_on_stages() -> None:
    parsed = dockerfile.parse('FROM python:3.11 AS base\nUSER 1\nFROM base AS app\nCMD ["x"]\n')
    assert parsed.final.parent == 0
    assert [s.name for s in parsed.lineage()] == ["app", "base"]
    assert not parsed.final.external and parsed.stages[0].external


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("FROM a:1.0\nRUNN echo\n", 2, "'RUNN' is not a Dockerfile instruction"),
        ("# only a comment\n", None, "no instructions"),
        ("", None, "no instructions"),
        ("ARG X=1\nRUN echo\n", 1, "no FROM"),
    ],
)
def test_parse_refuses_malformed_text_naming_the_line(
    text: str, line: int | None, words: str
) -> None:
    with pytest.raises(InputError) as raised:
        dockerfile.parse(text)
    assert words in str(raised.value)
    if line is not None:
        assert raised.value.where == f"Dockerfile, line {line}"


def test_parse_refuses_what_is_not_text() -> None:
    with pytest.raises(InputError, match="A Dockerfile is text"):
        dockerfile.parse(b"FROM a")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# lint: the table, hadolint passed through
# --------------------------------------------------------------------------------------------


def test_the_bookstore_dockerfile_lints_clean() -> None:
    findings = dockerfile.lint(BOOKSTORE_DOCKERFILE, dockerignore=BOOKSTORE_DOCKERIGNORE)
    assert list(findings.columns) == dockerfile.COLUMNS
    assert findings.empty


def test_lint_table_has_a_fix_per_row_and_is_sorted_by_line_file_wide_last() -> None:
    text = "FROM python:latest\nADD . /app\nRUN cp $SRC /dst\nCMD python app.py\n"
    findings = dockerfile.lint(text)
    assert str(findings["line"].dtype) == "Int64"
    lines = findings["line"].tolist()
    assert lines[-1] is pd.NA  # LABS003, about the whole context
    numbered = [x for x in lines if x is not pd.NA]
    assert numbered == sorted(numbered)
    assert (findings["fix"].str.len() > 0).all()
    assert set(findings["source"]) == {"hadolint", "labs"}
    assert set(findings["severity"]) <= set(dockerfile.SEVERITIES)


def test_hadolint_findings_pass_through_with_their_ids_lines_and_levels() -> None:
    text = "FROM python:latest\nADD . /app\nRUN cp $SRC /dst\nRUN ls | grep x\nWORKDIR app\n"
    findings = dockerfile.lint(text, dockerignore=IGNORE).set_index("rule")
    hadolint = findings[findings["source"] == "hadolint"]
    assert {"DL3007", "DL3020", "SC2086", "DL4006", "SC2010", "DL3000"} <= set(hadolint.index)
    assert hadolint.loc["DL3020", "line"] == 2
    assert hadolint.loc["DL3020", "severity"] == "error"  # hadolint's level, untouched
    assert hadolint.loc["SC2086", "severity"] == "info"
    assert "ADD" in hadolint.loc["DL3020", "message"]
    assert hadolint.loc["SC2086", "fix"] == "See https://www.shellcheck.net/wiki/SC2086"


def test_secrets_in_env_and_arg_are_hadolints_dl3064() -> None:
    text = GOOD.replace(
        "WORKDIR /app", "ENV PAYMENTS_API_KEY=sk-live\nARG DB_PASSWORD\nWORKDIR /app"
    )
    findings = dockerfile.lint(text, dockerignore=IGNORE)
    assert findings.loc[findings["rule"] == "DL3064", "line"].tolist() == [7, 8]
    assert not findings["rule"].str.startswith("LABS").any()


def test_healthcheck_missing_is_dl3057_for_the_final_stage_only() -> None:
    without = GOOD.replace('HEALTHCHECK CMD ["python", "-c", "print(1)"]\n', "")
    findings = dockerfile.lint(without, dockerignore=IGNORE)
    assert findings.loc[findings["rule"] == "DL3057", "line"].tolist() == [6]  # final FROM
    assert "DL3057" not in rules_of(dockerfile.lint(GOOD, dockerignore=IGNORE))
    disabled = without.replace("USER 10001", "USER 10001\nHEALTHCHECK NONE")
    assert "DL3057" not in rules_of(dockerfile.lint(disabled, dockerignore=IGNORE))


def test_inline_pragmas_count_unless_ignored() -> None:
    text = GOOD.replace("gcc=4:12.2.0-3", "gcc").replace(
        "RUN apt-get", "# hadolint ignore=DL3008\nRUN apt-get"
    )
    assert "DL3008" not in rules_of(dockerfile.lint(text, dockerignore=IGNORE))
    assert "DL3008" in rules_of(dockerfile.lint(text, dockerignore=IGNORE, ignore_pragmas=True))


def test_lint_ignores_hadolint_configuration_of_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".hadolint.yaml").write_text("ignored:\n  - DL3007\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HADOLINT_IGNORE", "DL3007")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert "DL3007" in rules_of(dockerfile.lint("FROM python:latest\n"))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("FROM python:3.11.7-slim\nCOPY --from\n", 2),
        ("FROM python:3.11.7-slim\nUSER 1\nEXPOSE\n", 3),
    ],
)
def test_a_dockerfile_hadolint_cannot_parse_is_an_input_error_naming_the_line(
    text: str, line: int
) -> None:
    with pytest.raises(InputError) as raised:
        dockerfile.lint(text)
    assert raised.value.where == f"Dockerfile, line {line}"
    assert "cannot parse" in raised.value.what


def test_lint_refuses_what_is_not_text() -> None:
    with pytest.raises(InputError):
        dockerfile.lint(None)  # type: ignore[arg-type]


def test_a_missing_hadolint_binary_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dockerfile.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(dockerfile.sysconfig, "get_path", lambda _: str(tmp_path))
    monkeypatch.setattr(dockerfile.shutil, "which", lambda _: None)
    with pytest.raises(LabsError, match="hadolint is not installed"):
        dockerfile.lint("FROM a:1.0\n")


def test_rules_lists_ours_and_the_hadolint_rule_turned_on() -> None:
    table = dockerfile.rules()
    assert table["rule"].tolist()[:6] == [f"LABS00{i}" for i in range(1, 7)]
    assert "DL3057" in table["rule"].tolist()


# --------------------------------------------------------------------------------------------
# lint: our rules, each firing and not firing
# --------------------------------------------------------------------------------------------


def test_labs001_fires_when_the_final_stage_has_no_user() -> None:
    no_user = GOOD.replace("USER 10001\n", "")
    findings = dockerfile.lint(no_user, dockerignore=IGNORE)
    assert findings.loc[findings["rule"] == "LABS001", "line"].tolist() == [6]
    assert "LABS001" not in rules_of(dockerfile.lint(GOOD, dockerignore=IGNORE))


def test_labs001_fires_when_only_a_build_stage_sets_user() -> None:
    text = GOOD.replace("USER 10001\n", "").replace("COPY . /src\n", "COPY . /src\nUSER 1000\n")
    assert "LABS001" in rules_of(dockerfile.lint(text, dockerignore=IGNORE))


def test_labs001_is_quiet_when_the_user_is_inherited_from_the_stage_built_on() -> None:
    text = 'FROM python:3.11.7-slim AS base\nUSER 10001\nFROM base\nHEALTHCHECK NONE\nCMD ["x"]\n'
    assert "LABS001" not in rules_of(dockerfile.lint(text))
    nonroot = 'FROM gcr.io/distroless/python3-debian12:nonroot\nCMD ["x"]\n'
    assert "LABS001" not in rules_of(dockerfile.lint(nonroot))


def test_labs002_fires_for_build_tools_in_a_single_stage() -> None:
    text = (
        "FROM python:3.11.7-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends gcc=1 libpq-dev=2 "
        "&& rm -rf /var/lib/apt/lists/*\n"
        'RUN pip install --no-cache-dir "pytest==9.2.0" "flask==3.0.0"\n'
        'USER 1\nHEALTHCHECK NONE\nCMD ["x"]\n'
    )
    findings = dockerfile.lint(text).set_index("line")
    labs = findings[findings["rule"] == "LABS002"]
    assert labs.index.tolist() == [2, 3]
    assert "single stage" in labs.loc[2, "message"]
    assert "gcc, libpq-dev" in labs.loc[2, "message"]
    assert labs.loc[3, "message"].endswith("pytest.")


def test_labs002_fires_in_a_final_stage_and_a_stage_it_builds_on() -> None:
    text = (
        "FROM python:3.11.7-alpine AS base\nRUN apk add --no-cache build-base=0.5\n"
        'FROM base\nUSER 1\nHEALTHCHECK NONE\nCMD ["x"]\n'
    )
    findings = dockerfile.lint(text)
    assert findings.loc[findings["rule"] == "LABS002", "line"].tolist() == [2]


def test_labs002_is_quiet_when_build_tools_stay_in_a_build_stage() -> None:
    assert "LABS002" not in rules_of(dockerfile.lint(GOOD, dockerignore=IGNORE))
    runtime_only = GOOD.replace("USER 10001", "RUN pip install --no-cache-dir flask==3.0.0\nUSER 1")
    assert "LABS002" not in rules_of(dockerfile.lint(runtime_only, dockerignore=IGNORE))


def test_labs003_fires_without_dockerignore_only_when_the_context_is_copied() -> None:
    findings = dockerfile.lint(GOOD)
    row = findings[findings["rule"] == "LABS003"].iloc[0]
    assert row["line"] is pd.NA
    assert "LABS003" not in rules_of(dockerfile.lint(GOOD, dockerignore=IGNORE))
    no_context = 'FROM python:3.11.7-slim\nUSER 1\nHEALTHCHECK NONE\nCMD ["x"]\n'
    assert "LABS003" not in rules_of(dockerfile.lint(no_context))


def test_labs004_fires_when_dockerignore_lets_git_or_env_in() -> None:
    findings = dockerfile.lint(GOOD, dockerignore="**/__pycache__\n.git\n")
    assert findings.loc[findings["rule"] == "LABS004", "message"].tolist() == [
        ".dockerignore does not exclude .env."
    ]
    assert "LABS004" in rules_of(dockerfile.lint(GOOD, dockerignore=""))
    assert "LABS004" not in rules_of(dockerfile.lint(GOOD, dockerignore=IGNORE))


def test_labs005_fires_for_a_full_size_final_base_only() -> None:
    full = GOOD.replace("FROM python:3.11.7-slim\n", "FROM python:3.11.7\n")
    findings = dockerfile.lint(full, dockerignore=IGNORE)
    assert findings.loc[findings["rule"] == "LABS005", "line"].tolist() == [6]
    build_full = GOOD.replace("FROM python:3.11.7-slim AS build", "FROM python:3.11.7 AS build")
    assert "LABS005" not in rules_of(dockerfile.lint(build_full, dockerignore=IGNORE))
    inherited = 'FROM node:20.11 AS base\nFROM base\nUSER 1\nHEALTHCHECK NONE\nCMD ["x"]\n'
    message = dockerfile.lint(inherited).query("rule == 'LABS005'")["message"].iloc[0]
    assert "node:20.11 (through stage 1)" in message


@pytest.mark.parametrize(
    ("image", "fires"),
    [
        ("python:3", True),
        ("python:3-slim", True),
        ("debian:bookworm-slim", True),
        ("python:3.11-slim", False),
        ("python:3.11.7-slim", False),
        ("python:3-slim@sha256:" + "a" * 64, False),
        ("python:latest", False),  # hadolint's DL3007
        ("python", False),  # hadolint's DL3006
    ],
)
def test_labs006_fires_for_floating_tags(image: str, fires: bool) -> None:
    text = f'FROM {image}\nUSER 1\nHEALTHCHECK NONE\nCMD ["x"]\n'
    assert ("LABS006" in rules_of(dockerfile.lint(text))) is fires


def test_base_rules_skip_unresolved_build_arguments_and_scratch() -> None:
    text = 'ARG BASE\nFROM ${BASE}\nUSER 1\nHEALTHCHECK NONE\nCMD ["x"]\n'
    assert not {"LABS005", "LABS006"} & set(rules_of(dockerfile.lint(text)))
    scratch = 'FROM scratch\nUSER 1\nHEALTHCHECK NONE\nCMD ["x"]\n'
    assert not {"LABS005", "LABS006"} & set(rules_of(dockerfile.lint(scratch)))


# --------------------------------------------------------------------------------------------
# .dockerignore and the build context
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        (".git/HEAD", True),  # a directory pattern excludes its content
        ("sub/.git/HEAD", False),  # patterns match from the context's root
        ("key.pem", True),
        ("deploy/key.pem", False),  # *.pem is not **/*.pem
        ("deploy/id.key", True),
        ("public.pem", False),  # the exception comes later and wins
        ("a/b/__pycache__/c.pyc", True),
        ("reports/junit.xml", True),  # the leading / is dropped
        ("x/y.log", True),
        ("x/z/y.log", False),  # * never crosses a /
        ("notes-1.txt", True),
        ("notes-12.txt", False),  # ? is one character
        ("catalog.py", False),
    ],
)
def test_dockerignore_follows_dockers_matching_rules(path: str, excluded: bool) -> None:
    ignore = DockerIgnore(
        "# comment\n\n.git\n*.pem\n**/*.key\n!public.pem\n**/__pycache__\n/reports\n"
        "*/*.log\n  notes-?.txt  \n"
    )
    assert ignore.excluded(path) is excluded


def test_dockerignore_last_match_wins_and_reports_the_deciding_line() -> None:
    ignore = DockerIgnore("docs\n!docs/README.md\ndocs/README.md\n")
    excluded, pattern = ignore.decide("docs/README.md")
    assert excluded and pattern is not None and pattern.line == 3


def test_dockerignore_refuses_unreadable_lines_naming_them() -> None:
    with pytest.raises(InputError) as raised:
        DockerIgnore("ok\n[abc\n")
    assert raised.value.where == ".dockerignore, line 2"
    with pytest.raises(InputError, match="needs a pattern"):
        DockerIgnore("!\n")


def test_context_files_lists_a_folder_and_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / ".env").write_text("KEY=1\n")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "x.bin").write_bytes(b"1234")
    listing = context_files(tmp_path, ".env\ncache\n")
    assert listing.to_dict("records") == [
        {"path": ".env", "bytes": 6, "sent": False, "pattern": ".env"},
        {"path": "app.py", "bytes": 9, "sent": True, "pattern": ""},
        {"path": "cache/x.bin", "bytes": 4, "sent": False, "pattern": "cache"},
    ]
    assert context_files({"a.py": "x", "b/c": b"yz"})["sent"].all()
    with pytest.raises(InputError, match="is not a folder"):
        context_files(tmp_path / "missing")


def test_the_bookstore_context_keeps_caches_and_build_files_out() -> None:
    listing = context_files(package_path(), BOOKSTORE_DOCKERIGNORE).set_index("path")
    assert not listing.loc["Dockerfile", "sent"]
    assert listing.loc["catalog.py", "sent"] and listing.loc["tests/test_orders.py", "sent"]
    assert not any(p.endswith(".pyc") for p in listing.index[listing["sent"]])


# --------------------------------------------------------------------------------------------
# Checks of the lab's exercises
# --------------------------------------------------------------------------------------------


def test_dockerfile_fixed_passes_a_clean_dockerfile(capsys: pytest.CaptureFixture[str]) -> None:
    checks.dockerfile_fixed(BOOKSTORE_DOCKERFILE, dockerignore=BOOKSTORE_DOCKERIGNORE)
    assert capsys.readouterr().out.startswith("✔ the Dockerfile lints clean: 2 stage(s)")


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "no answer yet"),
        (42, "a Dockerfile is text"),
        ("FROM a:1.0\nRUNN x\n", "cannot be parsed"),
        ("FROM python:latest\nCMD python -m bookstore\n", r"finding\(s\) of severity"),
        (BOOKSTORE_DOCKERFILE.replace("bookstore", "shop"), "no longer starts the bookstore"),
    ],
)
def test_dockerfile_fixed_fails_with_what_is_wrong(answer: object, words: str) -> None:
    with pytest.raises(CheckFailed, match=words):
        checks.dockerfile_fixed(answer, dockerignore=BOOKSTORE_DOCKERIGNORE)


def test_dockerfile_fixed_disregards_pragmas_that_hide_findings() -> None:
    hidden = "# hadolint ignore=DL3007,DL3025\n" + "FROM python:latest\nCMD python -m bookstore\n"
    with pytest.raises(CheckFailed, match="DL3007"):
        checks.dockerfile_fixed(hidden, dockerignore=BOOKSTORE_DOCKERIGNORE)


def test_dockerignore_protects_passes_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    good = ".git\n.env\n**/*.pem\n**/*.key\n**/__pycache__\n.pytest_cache\nreports\n"
    checks.dockerignore_protects(good)
    assert capsys.readouterr().out.startswith("✔ .dockerignore keeps 9 files out")
    with pytest.raises(CheckFailed, match=r"deploy/signing-key\.pem"):
        checks.dockerignore_protects(good.replace("**/*.pem", "*.pem"))
    with pytest.raises(CheckFailed, match="sources the build needs are excluded"):
        checks.dockerignore_protects(good + "tests\n")
    with pytest.raises(CheckFailed, match="no answer yet"):
        checks.dockerignore_protects(None)
    with pytest.raises(CheckFailed, match="cannot read"):
        checks.dockerignore_protects("[abc\n")
