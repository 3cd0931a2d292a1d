"""The workshop's bookstore repository: a real git repository under ``.workshop/``.

Lab 02 turns the bookstore (:mod:`labs.bookstore`) into a git repository, and every later lab
commits to it: the pipeline builds its commits, DORA metrics read its history.
:func:`bookstore_repo` creates it (idempotently) and returns a :class:`Repo`, a small wrapper
around the ``git`` command line.

Layout of the repository::

    <workshop>/bookstore/          the repository (labs.emulator.workshop_dir() / "bookstore")
    ├── buildspec.yml              the build specification CodeBuild reads (see below)
    ├── README.md                  what the repository is
    ├── .gitignore                 build output (reports/, dist/) and caches
    └── bookstore/                 the bookstore package, its tests, Dockerfile, appspec.yaml
        └── buildspec.yml          the package's own copy, identical at the first commit

``buildspec.yml`` lives at the repository root because that is where CodeBuild looks for it
when a project names no other file ("Build specification reference for CodeBuild",
https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html); its commands run
from the root too and find the package through ``BOOKSTORE_DIR=bookstore``. The copy inside
``bookstore/`` is the package's reference file; the root one is the one builds use.

Every commit made through :class:`Repo` is **deterministic**: author, committer and both dates
are set explicitly (never read from the machine's git configuration, which is ignored), so the
same content committed with the same message at the same ``when`` gives the same SHA on every
machine. Dates are simulated, like every clock in the workshop.

Example:
    >>> from datetime import UTC, datetime
    >>> repo = bookstore_repo()
    >>> repo.branch("feature/readme")
    >>> repo.checkout("feature/readme")
    >>> sha = repo.commit("Say how to run the tests", {"README.md": "…"},
    ...                   when=datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    >>> repo.checkout("main")
    >>> merge = repo.merge("feature/readme", when=datetime(2026, 1, 6, 11, 0, tzinfo=UTC))
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pandas as pd

from labs import emulator
from labs.bookstore import copy_source, package_path
from labs.errors import InputError, LabsError

__all__ = [
    "BUILDSPEC",
    "DEFAULT_AUTHOR",
    "INITIAL_COMMIT_AT",
    "MAIN",
    "GitError",
    "MergeConflict",
    "Repo",
    "bookstore_repo",
]

MAIN = "main"
"""The repository's default branch."""

BUILDSPEC = "buildspec.yml"
"""Where the buildspec lives, relative to the repository root (CodeBuild's default)."""

DEFAULT_AUTHOR = ("Workshop Bot", "bot@devops-labs.invalid")
"""(name, email) of commits made without an explicit author."""

INITIAL_COMMIT_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""The simulated date of the bookstore repository's first commit (a Monday, 09:00 UTC)."""

INITIAL_MESSAGE = "Add the bookstore: catalog, orders and payments services"

_README = """\
# The bookstore

The sample system of *DevOps on AWS Labs*: the `catalog`, `orders` and `payments` HTTP
services, in the `bookstore/` package, with their unit tests.

- `buildspec.yml` (here, at the root) is what CodeBuild runs: install, test, package.
- `bookstore/Dockerfile` builds the container image; `bookstore/appspec.yaml` tells
  CodeDeploy how to deploy it.

Run the tests from this folder with `python -m pytest bookstore/tests`.
"""

_GITIGNORE = """\
# Build output and caches: never committed.
__pycache__/
*.pyc
.pytest_cache/
reports/
dist/
"""

# Configuration the repository gets, whatever the machine's git configuration says.
_LOCAL_CONFIG = {
    "core.autocrlf": "false",
    "core.fileMode": "true",
    "commit.gpgSign": "false",
    "tag.gpgSign": "false",
    "merge.conflictStyle": "merge",
    "pull.rebase": "false",
}


class GitError(LabsError, RuntimeError):
    """A git command failed; the message carries what git said on stderr."""


class MergeConflict(GitError):
    """A merge stopped on conflicting changes; the merge was aborted and nothing changed.

    Attributes:
        branch: The branch that was being merged.
        files: The paths git reported as conflicting.
    """

    def __init__(self, what: str, *, branch: str, files: list[str], **kwargs: str) -> None:
        self.branch = branch
        self.files = files
        super().__init__(what, **kwargs)


def _utc(when: datetime, where: str) -> datetime:
    """Return ``when`` in UTC; a naive datetime is taken as UTC."""
    if not isinstance(when, datetime):
        raise InputError(
            f"`when` must be a datetime, not {type(when).__name__}.",
            where=where,
            hint="Pass e.g. datetime(2026, 1, 6, 10, 0, tzinfo=UTC) (`from datetime import UTC`).",
        )
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _git_date(when: datetime) -> str:
    """git's internal date format: seconds since the epoch and the offset (always UTC here)."""
    return f"{int(when.timestamp())} +0000"


class Repo:
    """A git working tree, driven through the ``git`` command line.

    Every method runs one or a few git commands in :attr:`path`, with the machine's global and
    system git configuration ignored, and raises :class:`GitError` (with git's own message)
    when git fails. Commits are deterministic: see the module docstring.

    Args:
        path: The folder holding the working tree (the one with ``.git`` in it).

    Raises:
        InputError: ``path`` is not a directory, or not the top of a git working tree.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_dir():
            raise InputError(
                f"{str(self.path)!r} is not a directory.",
                where=str(self.path),
                hint="Pass the folder of a git repository, or call bookstore_repo() to make one.",
            )
        probe = _run(["rev-parse", "--show-toplevel"], self.path)
        top = probe.stdout.strip()
        if probe.returncode != 0 or Path(top).resolve() != self.path:
            said = probe.stderr.strip() or f"its repository's top folder is {top}"
            raise InputError(
                f"{str(self.path)!r} is not the top folder of a git repository ({said}).",
                where=str(self.path),
                hint="Pass the folder that holds `.git`, or call bookstore_repo() to make one.",
            )

    def __repr__(self) -> str:
        return f"Repo({str(self.path)!r})"

    @property
    def _where(self) -> str:
        """How error messages name this repository (its folder name: short and stable)."""
        return f"repository {self.path.name!r}"

    # -- the escape hatch --------------------------------------------------------------------

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run ``git <args>`` in the repository and return its standard output.

        The one way to anything this class does not wrap (``repo.git("rev-list", "main")``).

        Raises:
            GitError: git exited non-zero; the message holds the command and git's stderr.
        """
        done = _run(list(args), self.path, env=env)
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise GitError(
                f"`git {' '.join(args)}` failed: {' / '.join(said[:6]) or 'no message'}",
                where=self._where,
                hint="Read git's message above; `repo.git('status')` shows the state.",
            )
        return done.stdout

    # -- where we are ------------------------------------------------------------------------

    @property
    def head(self) -> str:
        """The full SHA of the commit checked out (``HEAD``)."""
        return self.rev_parse("HEAD")

    @property
    def current_branch(self) -> str:
        """The name of the branch checked out (empty when HEAD is detached)."""
        return self.git("branch", "--show-current").strip()

    @property
    def branches(self) -> list[str]:
        """The local branch names, sorted."""
        out = self.git("for-each-ref", "--format=%(refname:short)", "refs/heads/")
        return sorted(out.split())

    def rev_parse(self, rev: str) -> str:
        """Return the full SHA that ``rev`` (a branch, tag, ``HEAD~1``, a short SHA) names.

        Raises:
            GitError: ``rev`` names no commit.
        """
        done = _run(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], self.path)
        if done.returncode != 0:
            raise GitError(
                f"{rev!r} names no commit in this repository.",
                where=self._where,
                hint=f"Branches here: {', '.join(self.branches) or 'none'}.",
            )
        return done.stdout.strip()

    def is_ancestor(self, older: str, newer: str = "HEAD") -> bool:
        """True when commit ``older`` is in the history of ``newer`` (or is it)."""
        return (
            _run(
                ["merge-base", "--is-ancestor", self.rev_parse(older), self.rev_parse(newer)],
                self.path,
            ).returncode
            == 0
        )

    # -- changing things ---------------------------------------------------------------------

    def commit(
        self,
        message: str,
        files: Mapping[str, str | None] | None = None,
        *,
        when: datetime,
        author: tuple[str, str] | None = None,
        allow_empty: bool = False,
    ) -> str:
        """Write ``files``, stage everything and commit on the current branch; return the SHA.

        Args:
            message: The commit message (its first line is the subject).
            files: ``{path: text}`` to write, paths relative to the repository root with ``/``;
                a value of ``None`` deletes that file. ``None`` commits the working tree as is.
            when: The simulated author and committer date (a naive datetime is UTC).
            author: ``(name, email)``; default :data:`DEFAULT_AUTHOR`. Also the committer.
            allow_empty: Commit even when nothing changed.

        Raises:
            InputError: A path leaves the repository, or the message is empty.
            GitError: Nothing to commit (and ``allow_empty`` is False), or git failed.
        """
        if not message or not message.strip():
            raise InputError("The commit message is empty.", hint="Say what changed and why.")
        when = _utc(when, "commit(when=…)")
        for relative, text in (files or {}).items():
            target = self._inside(relative)
            if text is None:
                if target.exists():
                    target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.git("add", "--all")
        if not allow_empty and not self.git("status", "--porcelain").strip():
            raise GitError(
                "Nothing to commit: the working tree already matches the last commit.",
                where=f"{self._where}, branch {self.current_branch or '(detached)'}",
                hint="Pass files={path: new text}, or allow_empty=True for an empty commit.",
            )
        args = ["commit", "--quiet", "--no-verify", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        self.git(*args, env=_identity(author or DEFAULT_AUTHOR, when))
        return self.head

    def branch(self, name: str, *, start: str = "HEAD") -> None:
        """Create branch ``name`` at ``start`` (default: the commit checked out); no checkout.

        Raises:
            GitError: The branch exists already, or ``name`` is not a valid branch name.
        """
        if name in self.branches:
            raise GitError(
                f"A branch called {name!r} exists already.",
                where=self._where,
                hint=f"Switch to it with repo.checkout({name!r}), or choose another name.",
            )
        self.git("branch", name, self.rev_parse(start))

    def checkout(self, name: str) -> None:
        """Switch the working tree to branch ``name``.

        Raises:
            GitError: No such branch, or uncommitted changes would be overwritten.
        """
        if name not in self.branches:
            raise GitError(
                f"There is no branch called {name!r}.",
                where=self._where,
                hint=f"Branches here: {', '.join(self.branches)}; create one with "
                f"repo.branch({name!r}).",
            )
        self.git("checkout", "--quiet", name)

    def merge(
        self,
        branch: str,
        *,
        when: datetime,
        message: str | None = None,
        author: tuple[str, str] | None = None,
        fast_forward: bool = False,
    ) -> str:
        """Merge ``branch`` into the current branch; return the SHA of the result.

        By default a merge commit is always made (``git merge --no-ff``), so the history shows
        where a branch came in, as a pull request merge does.

        Args:
            branch: The branch to merge.
            when: The simulated date of the merge commit.
            message: The merge commit's message; default ``Merge branch '<branch>'``.
            author: ``(name, email)`` of the merge; default :data:`DEFAULT_AUTHOR`.
            fast_forward: Allow a fast-forward (no merge commit) when possible.

        Raises:
            MergeConflict: Both sides changed the same lines; the merge was aborted, so the
                repository is exactly as before. ``files`` lists the conflicting paths.
            GitError: No such branch, or git failed otherwise.
        """
        when = _utc(when, "merge(when=…)")
        target = self.current_branch or "(detached HEAD)"
        tip = self.rev_parse(branch)
        args = ["merge", "--quiet", "--no-edit", "-m", message or f"Merge branch '{branch}'"]
        args.append("--ff" if fast_forward else "--no-ff")
        done = _run([*args, tip], self.path, env=_identity(author or DEFAULT_AUTHOR, when))
        if done.returncode == 0:
            return self.head
        conflicted = _run(["diff", "--name-only", "--diff-filter=U"], self.path)
        files = sorted(conflicted.stdout.split())
        _run(["merge", "--abort"], self.path)
        if files:
            raise MergeConflict(
                f"Merging {branch!r} into {target!r} conflicts in {', '.join(files)}: both "
                "branches changed the same lines. The merge was aborted; nothing changed.",
                branch=branch,
                files=files,
                where=self._where,
                hint=f"Bring {target!r} into {branch!r} first and resolve the conflict there "
                "(or keep branches short-lived, so there is less to conflict with).",
            )
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise GitError(
            f"Merging {branch!r} into {target!r} failed: {' / '.join(said[:6])}",
            where=self._where,
            hint="Read git's message above; `repo.git('status')` shows the state.",
        )

    # -- reading things ----------------------------------------------------------------------

    def log(self, rev: str = "HEAD", *, first_parent: bool = False) -> pd.DataFrame:
        """Return the history of ``rev``, newest first, as ``git log`` shows it.

        Args:
            rev: A branch, tag or commit; default the commit checked out.
            first_parent: Follow only first parents: on ``main``, the merges and direct
                commits, not the commits inside merged branches.

        Returns:
            Columns ``sha`` (full), ``author`` (name), ``committed_at`` (UTC timestamp, the
            committer date) and ``message`` (the subject line).
        """
        self.rev_parse(rev)
        args = ["log", "--format=%H%x1f%an%x1f%ct%x1f%s%x1e"]
        if first_parent:
            args.append("--first-parent")
        records = [r.strip("\n") for r in self.git(*args, rev, "--").split("\x1e")]
        rows = [r.split("\x1f") for r in records if r]
        frame = pd.DataFrame(rows, columns=["sha", "author", "committed_at", "message"])
        frame["committed_at"] = pd.to_datetime(
            frame["committed_at"].astype("int64"), unit="s", utc=True
        )
        return frame

    def show(self, path: str, rev: str = "HEAD") -> str:
        """Return the text of file ``path`` as it is at ``rev``.

        Raises:
            GitError: ``rev`` names no commit, or the file does not exist there.
        """
        sha = self.rev_parse(rev)
        done = _run(["show", f"{sha}:{PurePosixPath(path)}"], self.path)
        if done.returncode != 0:
            raise GitError(
                f"There is no file {path!r} at {rev!r}.",
                where=self._where,
                hint="List the files with repo.files(rev).",
            )
        return done.stdout

    def files(self, rev: str = "HEAD") -> list[str]:
        """Return the paths of every file in commit ``rev``, sorted."""
        sha = self.rev_parse(rev)
        return sorted(self.git("ls-tree", "-r", "--name-only", sha).splitlines())

    def diff_stat(self, base: str, head: str = "HEAD") -> pd.DataFrame:
        """Return the lines added and deleted per file between ``base`` and ``head``.

        Returns:
            Columns ``path``, ``added``, ``deleted`` (``-1`` for a binary file), one row per
            changed file, sorted by path.
        """
        out = self.git("diff", "--numstat", self.rev_parse(base), self.rev_parse(head))
        rows = []
        for line in out.splitlines():
            added, deleted, path = line.split("\t", 2)
            rows.append(
                (path, -1 if added == "-" else int(added), -1 if deleted == "-" else int(deleted))
            )
        frame = pd.DataFrame(rows, columns=["path", "added", "deleted"])
        return frame.sort_values("path", ignore_index=True)

    # -- helpers -----------------------------------------------------------------------------

    def _inside(self, relative: str) -> Path:
        """Resolve a repository-relative path, refusing one that leaves the repository."""
        target = (self.path / relative).resolve()
        if self.path not in target.parents or target.parts[len(self.path.parts)] == ".git":
            raise InputError(
                f"{relative!r} is not a path inside the repository.",
                where="commit(files=…)",
                hint="Use paths relative to the repository root, like 'bookstore/catalog.py'.",
            )
        return target


def _clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment git runs in: no user or system configuration, no prompts, C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "LANG": "C",
        }
    )
    # git refuses to commit without an identity; commits set theirs explicitly, this covers
    # merges and anything run through Repo.git().
    env.setdefault("GIT_AUTHOR_NAME", DEFAULT_AUTHOR[0])
    env.setdefault("GIT_AUTHOR_EMAIL", DEFAULT_AUTHOR[1])
    env.setdefault("GIT_COMMITTER_NAME", DEFAULT_AUTHOR[0])
    env.setdefault("GIT_COMMITTER_EMAIL", DEFAULT_AUTHOR[1])
    if extra:
        env.update(extra)
    return env


def _identity(author: tuple[str, str], when: datetime) -> dict[str, str]:
    name, email = author
    date = _git_date(when)
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_COMMITTER_DATE": date,
    }


def _run(
    args: list[str], cwd: Path, *, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=_clean_env(env),
            check=False,
        )
    except FileNotFoundError:
        raise InputError(
            "git is not installed (no 'git' command on PATH).",
            where=str(cwd),
            hint="Install git (the environment doctor, `make doctor`, checks for it).",
        ) from None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold a lock next to ``path`` so that two kernels do not build the repository at once."""
    lock = path.parent / f".{path.name}.lock"
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _has_commit(path: Path) -> bool:
    if not (path / ".git").exists():
        return False
    return _run(["rev-parse", "--verify", "--quiet", "HEAD"], path).returncode == 0


def bookstore_repo(*, path: str | os.PathLike[str] | None = None, reset: bool = False) -> Repo:
    """Return the bookstore's git repository, creating it first when it does not exist.

    The repository is made once: ``git init`` on branch ``main``, the bookstore package copied
    into ``bookstore/`` (:func:`labs.bookstore.copy_source`), ``buildspec.yml`` at the root
    (where CodeBuild looks for it), a README and a ``.gitignore``, all in one commit dated
    :data:`INITIAL_COMMIT_AT`. Later calls return it as it is, with whatever later labs
    committed. The first commit's SHA depends only on the bookstore's files.

    Args:
        path: Where the repository lives; default ``<workshop dir>/bookstore``
            (:func:`labs.emulator.workshop_dir`).
        reset: Delete the repository first and make it afresh (lab 02 does, so that running
            it again gives the same history).

    Raises:
        InputError: ``path`` exists and is something other than a git repository (it is left
            alone; pass ``reset=True`` to replace it).
        GitError: git failed while making the repository.
    """
    where = Path(path) if path is not None else emulator.workshop_dir() / "bookstore"
    where = where.resolve()
    where.parent.mkdir(parents=True, exist_ok=True)
    with _locked(where):
        if reset and where.exists():
            shutil.rmtree(where)
        if _has_commit(where):
            return Repo(where)
        if where.exists() and any(where.iterdir()):
            if not (where / ".git").exists():
                raise InputError(
                    f"{str(where)!r} exists and is not a git repository.",
                    where=str(where),
                    hint="Move it away, or call bookstore_repo(reset=True) to replace it.",
                )
            shutil.rmtree(where)  # a repository left half-made (no commit yet): start over
        where.mkdir(parents=True, exist_ok=True)
        init = _run(["init", "--quiet", f"--initial-branch={MAIN}"], where)
        if init.returncode != 0:
            raise GitError(
                f"`git init` failed: {init.stderr.strip()}",
                where=str(where),
                hint="Check that git ≥ 2.28 is installed and the folder is writable.",
            )
        for key, value in _LOCAL_CONFIG.items():
            _run(["config", key, value], where)
        copy_source(where)
        shutil.copyfile(package_path() / BUILDSPEC, where / BUILDSPEC)
        (where / "README.md").write_text(_README, encoding="utf-8")
        (where / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
        repo = Repo(where)
        repo.commit(INITIAL_MESSAGE, when=INITIAL_COMMIT_AT)
        return repo
