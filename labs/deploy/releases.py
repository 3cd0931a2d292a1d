"""Releases of the bookstore a deployment can ship: a version label and how its tasks start.

A release's *behaviour once serving* comes from the bookstore's fault switch
(``labs.bookstore.VERSIONS``: error rate, added latency). What the fault switch cannot say is
whether the release *starts* at all: :attr:`Release.task_failure_rate` is the share of tasks
(ECS) or instances (EC2) whose start or health check fails. ``v2-crash`` is the release whose
container exits at start (a missing setting), the failure an ECS circuit breaker or a CodeDeploy
``DEPLOYMENT_FAILURE`` catches; ``v2-bad`` starts and passes its health checks but fails a
quarter of the business requests, the failure only an alarm catches. A release can also carry its
own :attr:`Release.error_rate` in place of its label's (``Release("v2-bad", error_rate=0.02)``),
as the interactive deployment simulator does (:mod:`labs.deploy.widgets`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import MappingProxyType

from labs.bookstore.faults import FaultSwitch, fault_for_version
from labs.errors import InputError

__all__ = ["RELEASES", "Release", "get"]


@dataclass(frozen=True)
class Release:
    """A release of the bookstore.

    Attributes:
        version: The version label (``labs.bookstore.VERSIONS`` decides how it serves).
        task_failure_rate: Share of its tasks or instances that fail to start or fail their
            health check (0 to 1).
        description: One line for people.
        error_rate: Share of requests that fail once it serves (0 to 1), in place of the
            bookstore fault switch's for ``version``; ``None`` (default) keeps the fault switch's.
    """

    version: str
    task_failure_rate: float = 0.0
    description: str = ""
    error_rate: float | None = None

    def __post_init__(self) -> None:
        """Check the label and the rate."""
        if not isinstance(self.version, str) or not self.version:
            raise InputError(f"A release needs a version label, got {self.version!r}.")
        rate = self.task_failure_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise InputError(
                f"task_failure_rate is a fraction from 0 to 1, got {rate!r}.",
                where="task_failure_rate",
            )
        errors = self.error_rate
        if errors is not None and (
            isinstance(errors, bool)
            or not isinstance(errors, int | float)
            or math.isnan(errors)
            or not 0 <= errors <= 1
        ):
            raise InputError(
                f"error_rate is a fraction from 0 to 1, got {errors!r}.",
                where="error_rate",
                hint="e.g. 0.02 for 2% of requests failing; None keeps the version's own.",
            )

    @property
    def fault(self) -> FaultSwitch:
        """How the release behaves once it serves requests (its own error rate, if it has one)."""
        fault = fault_for_version(self.version)
        if self.error_rate is None:
            return fault
        return replace(fault, error_rate=float(self.error_rate))


RELEASES = MappingProxyType(
    {
        r.version: r
        for r in (
            Release("v1", description="the release in production: healthy"),
            Release("v2", description="the next release: healthy"),
            Release("v2-bad", description="starts fine, fails 25% of requests, +400 ms"),
            Release("v2-slow", description="starts fine, no errors, +900 ms per request"),
            Release("v2-crash", 1.0, "its container exits at start: no task ever gets healthy"),
        )
    }
)
"""The releases the labs use, by version label (read-only)."""


def get(release: str | Release) -> Release:
    """Return a :class:`Release`: from :data:`RELEASES`, any other label (healthy), or as is."""
    if isinstance(release, Release):
        return release
    if not isinstance(release, str) or not release:
        raise InputError(
            f"A release is a version label such as 'v2-bad', got {release!r}.",
            where="release",
            hint=f"Known labels: {', '.join(RELEASES)}.",
        )
    return RELEASES.get(release, Release(release))
