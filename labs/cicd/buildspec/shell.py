"""Run buildspec commands the way buildspec version 0.2 does: one shell instance for the build.

The reference says: "In version 0.1, CodeBuild runs each build command in a separate instance
of the default shell in the build environment. In version 0.2, CodeBuild runs all build commands
in the same instance of the default shell in the build environment."
(https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#build-spec-ref-versions)

So a ``cd`` or a variable set by one command is still there for the next command, in the next
phase too. :class:`ShellSession` gives that behaviour while still telling each command's exit
status apart (a failing command must not end the build's shell): every command runs in a fresh
``/bin/sh`` (or ``bash``) process that starts in the session's directory with the session's
variables, runs the command with ``set -a`` (so plain ``NAME=value`` assignments carry over
too), and on exit writes its working directory and variables back to the session. Shell
functions and aliases do not carry over from one command to the next.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CommandResult", "CommandStopped", "ShellSession"]

# Variables the shell sets for itself; never carried from one command to the next.
_SHELL_OWN = frozenset({"_", "PWD", "OLDPWD", "SHLVL"})
_PREFIX = "__LABS_"


class CommandStopped(Exception):
    """The command was interrupted (``KeyboardInterrupt``) or ran past the build's timeout."""

    def __init__(self, reason: str, output: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.output = output


@dataclass(frozen=True)
class CommandResult:
    """What one command did: its exit status and its combined stdout and stderr."""

    command: str
    exit_code: int
    output: str


@functools.cache
def _env_dump_command(python: str) -> str:
    """A command that prints the environment as NUL-separated NAME=value entries."""
    try:
        ok = subprocess.run(["env", "-0"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    if ok:
        return "env -0"
    code = (
        "import os,sys;"
        "sys.stdout.buffer.write(b'\\0'.join(k+b'='+v for k,v in os.environb.items()))"
    )
    return f'"{python}" -I -S -c "{code}"'


class ShellSession:
    """The build's shell: its working directory and variables, carried from command to command.

    Args:
        shell: ``"/bin/sh"`` or ``"bash"`` (``env/shell`` in the buildspec).
        cwd: The starting directory (``CODEBUILD_SRC_DIR``).
        env: The starting environment.
        scratch: A private folder for the session's script and state files.
    """

    def __init__(self, shell: str, cwd: Path, env: Mapping[str, str], scratch: Path) -> None:
        found = shutil.which(shell) if shell != "/bin/sh" else "/bin/sh"
        if not found or not Path(found).exists():
            raise FileNotFoundError(f"the shell {shell!r} is not installed on this machine")
        self.shell = found
        self.cwd = Path(cwd)
        self.env = dict(env)
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._script = self.scratch / "script.sh"
        self._env_file = self.scratch / "env.bin"
        self._dir_file = self.scratch / "dir.txt"
        self._dump = _env_dump_command(sys.executable)

    def run(self, command: str, *, deadline: float | None = None) -> CommandResult:
        """Run one command in the session; its directory and variables become the session's.

        Args:
            command: The command text, as written in the buildspec (may span several lines).
            deadline: A ``time.monotonic()`` value after which the command is killed.

        Raises:
            CommandStopped: Interrupted, or past the deadline; the session is left unchanged.
        """
        self._script.write_text(
            f'trap \'{_PREFIX}RC=$?; set +a; pwd > "${_PREFIX}DIR"; '
            f'{self._dump} > "${_PREFIX}ENV"; exit ${_PREFIX}RC\' EXIT\n'
            "set -a\n"
            f"{command}\n",
            encoding="utf-8",
        )
        for stale in (self._env_file, self._dir_file):
            stale.unlink(missing_ok=True)
        env = dict(self.env)
        env[f"{_PREFIX}DIR"] = str(self._dir_file)
        env[f"{_PREFIX}ENV"] = str(self._env_file)
        process = subprocess.Popen(
            [self.shell, str(self._script)],
            cwd=self.cwd if self.cwd.is_dir() else self.scratch,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            raw, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raw = _kill(process)
            raise CommandStopped("timed out", _decode(raw)) from None
        except KeyboardInterrupt:
            raw = _kill(process)
            raise CommandStopped("interrupted", _decode(raw)) from None
        self._absorb()
        return CommandResult(command, process.returncode, _decode(raw))

    def evaluate(self, words: str) -> str:
        """Return ``words`` expanded by the shell (variables, ``$(…)``) without changing state."""
        saved_cwd, saved_env = self.cwd, dict(self.env)
        escaped = words.replace("\\", "\\\\").replace('"', '\\"')
        result = self.run(f'printf "%s" "{escaped}"')
        self.cwd, self.env = saved_cwd, saved_env
        return result.output if result.exit_code == 0 else words

    def _absorb(self) -> None:
        if self._dir_file.exists():
            directory = self._dir_file.read_text(encoding="utf-8", errors="surrogateescape")
            if directory.strip():
                self.cwd = Path(directory.rstrip("\n"))
        if self._env_file.exists():
            env = {}
            for entry in self._env_file.read_bytes().split(b"\0"):
                name, sep, value = entry.partition(b"=")
                if not sep:
                    continue
                key = name.decode("utf-8", "surrogateescape")
                if key in _SHELL_OWN or key.startswith(_PREFIX):
                    continue
                env[key] = value.decode("utf-8", "surrogateescape")
            self.env = env


def _kill(process: subprocess.Popen[bytes]) -> bytes:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        raw, _ = process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        raw = b""
    return raw or b""


def _decode(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", errors="replace")
