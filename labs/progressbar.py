"""Progress bars for the few cells learners wait on, with outputs nbval can compare.

:func:`progress` wraps an iterable (or counts manual :meth:`Progress.update` calls) with tqdm.
What a learner sees depends on where the code runs:

* **In a Jupyter kernel** the cell first shows one line of text, the *summary* —
  ``"Running the day's commits: 12 executions"`` — then replaces it in place with a live bar
  (an HTML ``<progress>`` element and tqdm's counts, elapsed time and rate, redrawn at most five
  times a second), and when the loop ends puts the summary line back. The replacing is done
  with ``update_display_data`` messages on one display id, as ``IPython.display.DisplayHandle``
  sends them.
* **In a terminal** (a script, ``make bench``) tqdm draws its usual bar on stderr, only when
  stderr is a terminal, and erases it at the end (``leave=False``).
* With ``LABS_PROGRESS_BARS=off`` there is no bar: a kernel shows the summary line alone and a
  terminal shows nothing.

Why the summary line: the outputs a solution notebook stores are compared by nbval, which reads
``text/plain`` and streams but not display updates. nbclient, which stores the outputs, applies
every update, so it keeps the *last* one; nbval sees only the *first* display. Both are the
summary line, which depends on nothing but ``desc`` and ``total`` — so the stored output is the
same on every run, with bars on or off, fast machine or slow. Nothing is written to stderr in a
kernel (a bar's carriage returns and timings there would be compared), and no widget is made
(nbclient would save every widget's state, with random model ids, into the notebook's
metadata on each execution).

Engines take ``progress: bool = False`` and call :func:`progress` with ``enabled=progress``, so
their tests and benchmarks stay silent; the notebooks turn it on where a cell takes seconds.

What it relies on:

* Jupyter messaging, "Update Display Data": an ``update_display_data`` message replaces every
  output that carries the same ``transient.display_id``, and ``transient`` is never persisted
  (https://jupyter-client.readthedocs.io/en/stable/messaging.html#update-display-data);
  IPython's ``display(..., display_id=True)`` returns the ``DisplayHandle`` that sends them
  ("Updatable Displays", IPython's examples; ``IPython.display.ProgressBar`` draws its
  ``<progress>`` bar the same way).
* tqdm's parameters (https://tqdm.github.io/docs/tqdm/): ``mininterval`` (least seconds between
  redraws), ``leave=False`` (erase the bar at the end), ``disable=None`` (no bar when the output
  is not a TTY), ``gui=True`` (tqdm writes nothing itself; :meth:`_HtmlBar.display` draws).
* nbval 0.11 compares ``display_data`` and ``execute_result`` data (except widget views and
  images) and streams after folding carriage returns; it ignores ``update_display_data``.
  nbclient applies ``update_display_data`` to the outputs it stores
  (``NotebookClient._update_display_id``).

Example:
    >>> from labs.progressbar import progress
    >>> [x * x for x in progress(range(4), desc="Squares", enabled=False)]
    [0, 1, 4, 9]
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Generic, TypeVar

from tqdm.std import tqdm as _StdTqdm

from labs.errors import InputError

__all__ = ["ENV_VAR", "MIN_INTERVAL_S", "Progress", "bars_enabled", "in_kernel", "progress"]

T = TypeVar("T")

ENV_VAR = "LABS_PROGRESS_BARS"
"""The switch: ``off`` (or ``0``, ``false``, ``no``) turns bars off; ``on`` or unset keeps them."""

MIN_INTERVAL_S = 0.2
"""The least time between two redraws of a bar (tqdm's ``mininterval``), in seconds."""

_OFF = {"off", "0", "false", "no"}
_ON = {"", "on", "1", "true", "yes", "auto"}


def bars_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether live bars are on: ``LABS_PROGRESS_BARS`` is unset, ``on`` or ``off``.

    Raises:
        InputError: The variable holds something else (a typo should not pass unnoticed).
    """
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise InputError(
        f"{ENV_VAR} is {value!r}, which is neither on nor off.",
        where=f"environment variable {ENV_VAR}",
        hint=f"Set {ENV_VAR}=off to turn progress bars off, or unset it to keep them.",
    )


def in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (not a terminal, a script or IPython's shell)."""
    if "IPython" not in sys.modules:  # a kernel has always imported it; never import it here
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


# tqdm's layouts, with the rate always as "<items> <unit>/s" (never "s/<unit>").
_COUNTS = "{n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}]"
_COUNT = "{n_fmt} [{elapsed}, {rate_noinv_fmt}]"


def _plural(count: int, unit: str) -> str:
    return unit if count == 1 else f"{unit}s"


class _HtmlBar(_StdTqdm):  # type: ignore[misc]  # tqdm ships no type hints
    """tqdm drawing into a Jupyter display handle as HTML (and text for text-only frontends)."""

    monitor_interval = 0  # no monitor thread: redraws happen in the loop's own thread only

    def __init__(self, *args: Any, handle: Any, **kwargs: Any) -> None:
        self._handle = handle
        super().__init__(*args, gui=True, **kwargs)  # gui: tqdm writes nothing to a file

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Redraw the bar in place (tqdm calls this from ``refresh``)."""
        meter = self.format_dict
        text = self.format_meter(**meter)
        known = bool(self.total)
        counts = self.format_meter(**{**meter, "bar_format": _COUNTS if known else _COUNT})
        value = f' value="{self.n}" max="{self.total}"' if known else ""
        markup = (
            '<div style="display:flex;align-items:center;gap:0.75em;font-family:monospace">'
            f"<span>{html.escape(self.desc or '')}</span>"
            f'<progress{value} style="width:40%"></progress>'
            f"<span>{html.escape(counts)}</span></div>"
        )
        self._handle.update({"text/html": markup, "text/plain": text}, raw=True)
        return True


class _TerminalBar(_StdTqdm):  # type: ignore[misc]
    """tqdm's own text bar on stderr, without its monitor thread."""

    monitor_interval = 0


class Progress(Generic[T]):
    """A progress bar over an iterable or a count; made by :func:`progress`.

    Iterate over it (each item counts one), or call :meth:`update` and then :meth:`close` —
    or use it as a context manager, which closes it.

    Attributes:
        desc: What is being done, shown left of the bar and in the summary.
        total: How many items are expected (None if unknown).
        unit: What one item is, singular.
        n: How many items have been counted so far.
        mode: ``"kernel"`` (live bar in a notebook), ``"kernel-text"`` (summary line only,
            bars off), ``"terminal"`` (tqdm on stderr) or ``"silent"`` (nothing at all).
    """

    def __init__(
        self,
        iterable: Iterable[T] | None,
        *,
        total: int | None,
        desc: str,
        unit: str,
        enabled: bool,
    ) -> None:
        if not isinstance(desc, str) or not desc.strip():
            raise InputError(
                f"A progress bar needs a description, got {desc!r}.",
                where="desc",
                hint='Say what is being done, e.g. desc="Running the day\'s commits".',
            )
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        if total is not None and (isinstance(total, bool) or int(total) != total or total < 0):
            raise InputError(
                f"total must be a whole number of items, got {total!r}.", where="total"
            )
        self._iterable = iterable
        self.desc, self.unit = desc.strip(), unit
        self.total = None if total is None else int(total)
        self.n = 0
        self._handle: Any = None
        self._bar: Any = None
        self._closed = False
        self._failed = False
        options: dict[str, Any] = {
            "total": self.total,
            "desc": self.desc,
            "unit": f" {unit}",
            "bar_format": "{l_bar}{bar}| " + _COUNTS if self.total else "{desc}: " + _COUNT,
            "leave": False,
            "mininterval": MIN_INTERVAL_S,
            "dynamic_ncols": False,
        }
        if not enabled:
            self.mode = "silent"
        elif in_kernel():
            from IPython.display import display

            self._handle = display({"text/plain": self.summary}, raw=True, display_id=True)
            if bars_enabled():
                self.mode = "kernel"
                self._bar = _HtmlBar(handle=self._handle, **options)
                self._bar.refresh()  # the empty bar at once: the learner sees the work started
            else:
                self.mode = "kernel-text"
        elif bars_enabled():
            self.mode = "terminal"
            self._bar = _TerminalBar(file=sys.stderr, disable=None, **options)
        else:
            self.mode = "silent"

    @property
    def summary(self) -> str:
        """The line a notebook keeps: ``"<desc>: <total> <units>"`` (only ``desc`` if unknown)."""
        if self.total is None:
            return self.desc
        return f"{self.desc}: {self.total:,} {_plural(self.total, self.unit)}"

    def __repr__(self) -> str:
        """The summary, and how far it got."""
        return f"<Progress {self.summary!r}: {self.n} done, {self.mode}>"

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done (the bar redraws at most every ``MIN_INTERVAL_S``)."""
        self.n += n
        if self._bar is not None:
            self._bar.update(n)

    def __iter__(self) -> Iterator[T]:
        """Yield every item of the iterable, in order, counting each one."""
        if self._iterable is None:
            raise InputError(
                "This progress bar counts updates; it has no items to iterate over.",
                hint="Pass an iterable to progress(...), or call .update(n) instead.",
            )
        try:
            if self._bar is None:
                for item in self._iterable:
                    self.n += 1
                    yield item
            else:
                for item in self._iterable:
                    yield item
                    self.update()
        except (Exception, KeyboardInterrupt):
            self._failed = True
            raise
        finally:
            self.close()

    def close(self) -> None:
        """Take the bar away: the summary line stays (in a kernel); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        if self._handle is not None and self.mode == "kernel":
            text = self.summary
            if self._failed:
                text += f" (stopped after {self.n:,})"
            self._handle.update({"text/plain": text}, raw=True)

    def __enter__(self) -> Progress[T]:
        """Use as ``with progress(total=..., desc=...) as bar: bar.update()``."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the bar; an exception marks it as stopped."""
        if kind is not None and not issubclass(kind, GeneratorExit):
            self._failed = True
        self.close()


def progress(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str,
    unit: str = "item",
    enabled: bool = True,
) -> Progress[T]:
    """A progress bar over ``iterable`` (or ``total`` manual updates) that keeps outputs stable.

    See the module docstring for what each environment shows. The stored notebook output is one
    line, :attr:`Progress.summary`, the same on every run.

    Args:
        iterable: The items; each one yielded counts one. None: count with ``update(n)``.
        total: How many items; default ``len(iterable)`` when it has one.
        desc: What is being done, e.g. ``"Running the day's commits"``.
        unit: What one item is, singular (``"execution"``); the summary adds an ``s``.
        enabled: False makes it a plain pass-through that shows nothing (what engines pass
            when their ``progress`` argument is False).

    Raises:
        InputError: No description, a total that is not a whole number, or a
            ``LABS_PROGRESS_BARS`` that is neither on nor off.

    Example:
        >>> with progress(total=3, desc="Builds", unit="build", enabled=False) as bar:
        ...     for _ in range(3):
        ...         bar.update()
        >>> bar.n, bar.summary
        (3, 'Builds: 3 builds')
    """
    return Progress(iterable, total=total, desc=desc, unit=unit, enabled=enabled)
