"""Parse and validate a CodeBuild buildspec (version 0.2) into plain dataclasses.

Mirrors the "Build specification reference for CodeBuild"
(https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html). Every mistake is a
:class:`labs.errors.BuildspecError` naming the file, the line (from PyYAML's node marks) and the
key, e.g. ``buildspec.yml, line 14: phases.build.commands[1] is a mapping, not a command``.

Values are read as the text written in the file, not as YAML 1.1 would convert them: a command
``- true`` stays the shell's ``true``, a variable ``DEBUG: yes`` is the string ``yes`` and
``version: 0.2`` is compared as a number. The runner is stricter than AWS in one way: an unknown
key is an error (with a "did you mean" hint), because a misspelt key is the commonest mistake
and AWS would silently ignore some of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labs.cicd.buildspec.model import YAML_NULL, Buildspec, Path_
from labs.cicd.buildspec.validate import Validator, dotted
from labs.errors import BuildspecError

__all__ = ["parse"]


def parse(text_or_path: str | Path) -> Buildspec:
    """Parse a buildspec from YAML text or a file and validate it against the 0.2 reference.

    Args:
        text_or_path: The YAML text, or the path of a buildspec file (a :class:`~pathlib.Path`,
            or a one-line string naming an existing file or ending in ``.yml``/``.yaml``).

    Returns:
        The :class:`Buildspec`.

    Raises:
        BuildspecError: The file is missing, is not YAML, or breaks the reference; the message
            names the line and the key.
    """
    text, source = _read(text_or_path)
    root, lines = _compose(text, source)
    return Validator(source, lines, text).buildspec(root)


def _read(text_or_path: str | Path) -> tuple[str, str]:
    if isinstance(text_or_path, Path) or (
        isinstance(text_or_path, str)
        and "\n" not in text_or_path
        and (text_or_path.endswith((".yml", ".yaml")) or Path(text_or_path).is_file())
    ):
        path = Path(text_or_path)
        if not path.is_file():
            raise BuildspecError(
                f"There is no buildspec file at {str(path)!r}.",
                hint="Check the path; CodeBuild looks for buildspec.yml at the root of the "
                "source unless the project names another file.",
            )
        return path.read_text(encoding="utf-8"), path.name
    if not isinstance(text_or_path, str):
        raise BuildspecError(
            f"A buildspec is YAML text or a file path, not {type(text_or_path).__name__}.",
        )
    return text_or_path, "buildspec"


def _compose(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """Compose the YAML into plain values, remembering the line of every key and item."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        text_lines = text.splitlines()
        near = ""
        if mark is not None and mark.line < len(text_lines):
            near = f" The line reads: {text_lines[mark.line].rstrip()!r}."
        raise BuildspecError(
            f"This is not valid YAML: {problem}.{near}",
            where=f"{source}{line}",
            hint="A command with ': ' or a leading '-', '*', '&', '!', '{' or '[' must be quoted, "
            'e.g. - "echo Tests: done". Indent with spaces, never tabs.',
        ) from None
    except yaml.YAMLError as exc:
        raise BuildspecError(f"This is not valid YAML: {exc}.", where=source) from None
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    return _plain(node, (), lines, source), lines


def _plain(node: yaml.Node, path: Path_, lines: dict[Path_, int], source: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag == YAML_NULL else node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(child, (*path, i), lines, source) for i, child in enumerate(node.value)]
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise BuildspecError(
                f"{dotted(path) or 'the top level'} has a key that is not a name.",
                where=f"{source}, line {line}",
            )
        key = key_node.value
        if key in result:
            raise BuildspecError(
                f"{dotted((*path, key))} appears twice (first on line {lines[(*path, key)]}); "
                "YAML would silently keep only the last one.",
                where=f"{source}, line {line}",
                hint="Merge the two blocks into one.",
            )
        lines[(*path, key)] = line
        result[key] = _plain(value_node, (*path, key), lines, source)
    return result
