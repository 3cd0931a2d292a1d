"""Build outputs: artifact zips and test reports, as CodeBuild prepares them in UPLOAD_ARTIFACTS.

* Artifacts follow ``artifacts/files``, ``base-directory``, ``discard-paths`` and ``name`` of the
  buildspec reference (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html):
  ``**/*`` is every file recursively, ``dir/*`` every file directly in ``dir``,
  ``dir/**/*`` every file under ``dir``; a base directory may be a glob (``my-build*``) and the
  matching directories themselves are not part of the artifact, only their contents. When no
  file matches, CodeBuild fails the phase with "no matching artifact paths found".
* Reports follow "Test reports" (https://docs.aws.amazon.com/codebuild/latest/userguide/test-reporting.html)
  and "Test report statuses" (https://docs.aws.amazon.com/codebuild/latest/userguide/test-report.html):
  a test case is SUCCEEDED, FAILED, ERROR, SKIPPED or UNKNOWN; a report is SUCCEEDED when all
  its cases were successful, FAILED when some were not, INCOMPLETE when it could not be made;
  a report keeps at most 500 test cases, FAILED ones first.
"""

from __future__ import annotations

import fnmatch
import os
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from labs.cicd.buildspec.model import ArtifactsSpec, ReportGroupSpec

__all__ = [
    "REPORT_COLUMNS",
    "ArtifactError",
    "Report",
    "find_files",
    "package_artifact",
    "parse_junit",
    "read_report",
]

MAX_TEST_CASES = 500
REPORT_COLUMNS = ["report_group", "test_suite", "prefix", "name", "status", "duration_s", "message"]
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_GLOB_CHARS = set("*?[")


class ArtifactError(Exception):
    """The artifact could not be prepared (CodeBuild's CLIENT_ERROR in UPLOAD_ARTIFACTS)."""


@dataclass
class Report:
    """One report group's report from one build.

    Attributes:
        group: The report group's name (``<project>-<name>`` for a name given in the buildspec).
        status: ``SUCCEEDED``, ``FAILED`` or ``INCOMPLETE``.
        cases: The test cases, columns :data:`REPORT_COLUMNS`.
        files: The raw result files read, relative to the source directory.
        note: Why the report is INCOMPLETE, if it is.
    """

    group: str
    status: str
    cases: pd.DataFrame
    files: list[str] = field(default_factory=list)
    note: str = ""


def _match(pattern: list[str], parts: list[str]) -> bool:
    if not pattern:
        return not parts
    head = pattern[0]
    if head == "**":
        return any(_match(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _match(pattern[1:], parts[1:])


def _split(pattern: str) -> list[str]:
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return [p for p in pattern.split("/") if p and p != "."]


def _base_dirs(root: Path, base: str | None) -> list[Path]:
    if not base:
        return [root]
    parts = _split(base)
    if not _GLOB_CHARS & set(base):
        target = root.joinpath(*parts)
        return [target] if target.is_dir() else []
    found = []
    for directory, subdirs, _ in os.walk(root):
        subdirs.sort()
        rel = Path(directory).relative_to(root).parts
        if rel and _match(parts, list(rel)):
            found.append(Path(directory))
    return found


def find_files(
    root: Path, files: Iterable[str], base: str | None = None, exclude: Iterable[str] = ()
) -> list[tuple[Path, str]]:
    """Return ``(path, relative name)`` for every file matching ``files`` under the base directory.

    Args:
        root: The source directory (``CODEBUILD_SRC_DIR``).
        files: Locations relative to the base directory (globs allowed).
        base: The ``base-directory`` (a path or a glob of top-level directories), or None.
        exclude: Locations to leave out (``exclude-paths``).
    """
    patterns = [_split(p) for p in files]
    excluded = [_split(p) for p in exclude]
    found: dict[str, tuple[Path, str]] = {}
    for base_dir in _base_dirs(root, base):
        for directory, subdirs, names in os.walk(base_dir):
            subdirs.sort()
            for name in sorted(names):
                path = Path(directory) / name
                rel = path.relative_to(base_dir).as_posix()
                parts = rel.split("/")
                if any(_match(p, parts) for p in patterns) and not any(
                    _match(p, parts) for p in excluded
                ):
                    found.setdefault(f"{base_dir}/{rel}", (path, rel))
    return sorted(found.values(), key=lambda item: item[1])


def package_artifact(root: Path, spec: ArtifactsSpec, target: Path) -> list[str]:
    """Zip the files ``spec`` selects into ``target``; return the names inside the zip.

    The zip is reproducible: entries are sorted and carry a fixed date.

    Raises:
        ArtifactError: No file matched (CodeBuild: "no matching artifact paths found").
    """
    matches = find_files(root, spec.files, spec.base_directory, spec.exclude_paths)
    if not matches:
        hint = ""
        for pattern in spec.files:
            for base_dir in _base_dirs(root, spec.base_directory) or [root]:
                if (base_dir / pattern.strip("/")).is_dir():
                    hint = f" ({pattern!r} is a directory: write '{pattern.strip('/')}/**/*')"
        where = f" in base-directory {spec.base_directory!r}" if spec.base_directory else ""
        if spec.base_directory and not _base_dirs(root, spec.base_directory):
            where = f": base-directory {spec.base_directory!r} does not exist"
        raise ArtifactError(f"no matching artifact paths found{where}{hint}")
    entries: dict[str, Path] = {}
    for path, rel in matches:
        entries[Path(rel).name if spec.discard_paths else rel] = path
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = (entries[name].stat().st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes())
    return sorted(entries)


def _case_status(case: ET.Element) -> tuple[str, str]:
    for child in case:
        tag = child.tag.lower()
        if tag in ("failure", "error", "skipped"):
            message = child.get("message") or (child.text or "").strip().splitlines()[:1]
            text = message if isinstance(message, str) else (message[0] if message else "")
            status = {"failure": "FAILED", "error": "ERROR", "skipped": "SKIPPED"}[tag]
            return status, text
    status = (case.get("status") or "").lower()
    if status in ("", "passed", "run", "success", "succeeded"):
        return "SUCCEEDED", ""
    return "UNKNOWN", ""


def parse_junit(path: Path, group: str) -> list[dict[str, object]]:
    """Read the test cases of one JUnit XML file (``<testsuites>`` or ``<testsuite>`` root).

    Raises:
        ET.ParseError: The file is not XML.
    """
    root = ET.parse(path).getroot()
    rows: list[dict[str, object]] = []

    def walk(element: ET.Element, suite: str) -> None:
        for child in element:
            if child.tag == "testsuite":
                walk(child, child.get("name", suite))
            elif child.tag == "testcase":
                status, message = _case_status(child)
                try:
                    duration = float(child.get("time", "0") or 0)
                except ValueError:
                    duration = 0.0
                rows.append(
                    {
                        "report_group": group,
                        "test_suite": suite,
                        "prefix": child.get("classname", ""),
                        "name": child.get("name", ""),
                        "status": status,
                        "duration_s": duration,
                        "message": message,
                    }
                )

    walk(_wrap(root), root.get("name", "") if root.tag == "testsuites" else "")
    return rows


def _wrap(root: ET.Element) -> ET.Element:
    if root.tag == "testsuites":
        return root
    holder = ET.Element("testsuites")
    holder.append(root)
    return holder


def read_report(root: Path, spec: ReportGroupSpec, group: str) -> Report:
    """Find and parse the raw result files of one report group.

    Only ``JUNITXML`` is parsed locally; other formats give an INCOMPLETE report saying so.
    """
    empty = pd.DataFrame(columns=REPORT_COLUMNS)
    matches = find_files(root, spec.files, spec.base_directory)
    files = [path.relative_to(root).as_posix() for path, _ in matches]
    if not matches:
        return Report(group, "INCOMPLETE", empty, files, "no matching report paths found")
    if spec.file_format != "JUNITXML":
        note = f"{spec.file_format} files are not parsed by the local runner (JUNITXML is)"
        return Report(group, "INCOMPLETE", empty, files, note)
    rows: list[dict[str, object]] = []
    for path, _ in matches:
        try:
            rows.extend(parse_junit(path, group))
        except (ET.ParseError, OSError) as exc:
            note = f"{path.relative_to(root).as_posix()} is not a JUnit XML file ({exc})"
            return Report(group, "INCOMPLETE", empty, files, note)
    cases = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    note = ""
    if len(cases) > MAX_TEST_CASES:
        failed_first = cases["status"].ne("FAILED").argsort(kind="stable")
        cases = cases.iloc[failed_first[:MAX_TEST_CASES]]
        note = f"{len(rows)} test cases: kept {MAX_TEST_CASES}, FAILED ones first"
    cases = cases.reset_index(drop=True)
    bad = cases["status"].isin(["FAILED", "ERROR"]).any()
    return Report(group, "FAILED" if bad else "SUCCEEDED", cases, files, note)
