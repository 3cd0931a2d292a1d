"""The simulated clock every local engine runs on: minutes pass in microseconds, never wall time.

Engines (the traffic simulator, the alarm runner, the deployment engine) read the time from a
:class:`SimClock` and advance it themselves, so a 15-minute canary takes milliseconds and its
output is the same on every run. The clock starts at :data:`EPOCH`, **2026-01-05T09:00:00Z** (a
Monday morning), and only moves forward.

Why a shared position: CloudWatch has no API to delete datapoints, so two runs that published
into the same minutes would add up (a second run's ``Sum`` would be doubled).
:meth:`SimClock.reserve` therefore hands each run a window of simulated time of its own on the
local emulator: it reads the next free minute from the SSM parameter :data:`CLOCK_PARAMETER` in
the emulator (absent on a fresh emulator, which means :data:`EPOCH`), and moves it past the
window. The parameter is
workshop state, like the emulator itself, and deliberately carries no workshop tag: if
``labs.cleanup`` removed it, the next run would publish on top of old datapoints. Resetting the
emulator removes both together. Results never depend on the absolute time, only on the minutes
since a run started, so a re-run later on the clock gives the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from labs.errors import InputError

if TYPE_CHECKING:
    from labs.bookstore import LatencyBaseline

__all__ = ["CLOCK_PARAMETER", "EPOCH", "ServiceClock", "SimClock", "SimTime"]

EPOCH = pd.Timestamp("2026-01-05T09:00:00Z")
"""Where simulated time starts on a fresh emulator: Monday 2026-01-05, 09:00 UTC."""

CLOCK_PARAMETER = "/labs/simulated-clock"
"""SSM parameter (in the local emulator) holding the next free minute of simulated time."""

_GAP = pd.Timedelta(minutes=30)  # between two reserved windows, so their alarms never overlap


def _timestamp(value: Any, where: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{value!r} is not a point in time.",
            where=where,
            hint="Pass an ISO string such as '2026-01-05T09:00:00Z' or a pandas Timestamp.",
        ) from None
    if stamp is pd.NaT:
        raise InputError("The time is missing (NaT).", where=where)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass
class SimClock:
    """A clock that engines advance by hand; it starts at ``start`` and only moves forward.

    Attributes:
        start: Where this clock started (UTC).
        now: The current simulated time (UTC).
    """

    start: pd.Timestamp = EPOCH
    now: pd.Timestamp = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        """Normalise both times to UTC; ``now`` defaults to ``start``."""
        self.start = _timestamp(self.start, "start")
        self.now = self.start if self.now is None else _timestamp(self.now, "now")
        if self.now < self.start:
            raise InputError("now is before start: a simulated clock never runs backwards.")

    def advance(self, seconds: float = 60.0) -> pd.Timestamp:
        """Move the clock forward by ``seconds`` (default one minute) and return the new time."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise InputError(
                f"A clock advances by zero or more seconds, got {seconds!r}.",
                where="seconds",
                hint="e.g. clock.advance(60) moves one minute on.",
            )
        self.now = self.now + pd.Timedelta(seconds=seconds)
        return self.now

    @property
    def elapsed_minutes(self) -> float:
        """Minutes since the clock started."""
        return (self.now - self.start).total_seconds() / 60.0

    def minute(self, offset: float) -> pd.Timestamp:
        """Return the time ``offset`` minutes after the start (negative is before)."""
        return self.start + pd.Timedelta(minutes=offset)

    @classmethod
    def reserve(cls, ctx: Any | None, minutes: float) -> SimClock:
        """Return a clock for a run of up to ``minutes`` simulated minutes, in time no run used.

        On the local emulator the window is taken from :data:`CLOCK_PARAMETER` (see the module
        docstring) and the parameter moves past it, rounded up to a whole hour plus a gap. With
        no context (a dry run that publishes nothing) the clock simply starts at :data:`EPOCH`.
        On the aws target the clock starts at the current minute of real time: there, metrics
        have real timestamps and CloudWatch evaluates the alarms itself.

        Args:
            ctx: The workshop context, or ``None``.
            minutes: The longest the run may last, in minutes.
        """
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
            raise InputError(f"minutes must be positive, got {minutes!r}.", where="minutes")
        if ctx is None:
            return cls(EPOCH)
        if not ctx.is_local:
            return cls(pd.Timestamp.now(tz="UTC").floor("min"))
        ssm = ctx.client("ssm")
        try:
            start = _timestamp(ssm.get_parameter(Name=CLOCK_PARAMETER)["Parameter"]["Value"], "x")
        except ssm.exceptions.ParameterNotFound:
            start = EPOCH
        end = start + pd.Timedelta(minutes=minutes) + _GAP
        hours = math.ceil((end - EPOCH) / pd.Timedelta(hours=1))
        following = EPOCH + pd.Timedelta(hours=hours)
        ssm.put_parameter(
            Name=CLOCK_PARAMETER,
            Value=following.strftime("%Y-%m-%dT%H:%M:%SZ"),
            Type="String",
            Overwrite=True,
            Description="DevOps on AWS Labs: next free minute of simulated time (workshop state).",
        )
        return cls(start)


@dataclass
class SimTime:
    """Seconds since a bookstore run started, advanced by the services' clocks and sleeps.

    Pass ``sleep`` as the bookstore's sleep function so that injected latency moves this time
    instead of the wall clock.
    """

    now: float = 0.0

    def sleep(self, seconds: float) -> None:
        """Advance simulated time by ``seconds``."""
        self.now += seconds


@dataclass
class ServiceClock:
    """A bookstore service's latency clock: each request's end is its start plus a drawn time.

    ``ServiceApp`` reads its clock exactly twice per request (start, end); the own time is drawn
    log-normally from ``baseline``. Nested calls to other services advance the shared time in
    between, so a caller's latency includes its callees'.
    """

    time: SimTime
    rng: np.random.Generator
    baseline: LatencyBaseline
    _started: bool = False

    def __call__(self) -> float:
        """Return the current simulated time, drawing the request's own time on its end."""
        if self._started:
            mu, sigma = self.baseline.lognormal_params()
            self.time.now += float(np.exp(mu + sigma * self.rng.standard_normal())) / 1000.0
        self._started = not self._started
        return self.time.now
