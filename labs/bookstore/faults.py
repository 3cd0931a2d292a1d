"""Fault switch, named example versions and baseline latencies of the bookstore services.

A *version* is a release label such as ``"v1"`` or ``"v2-bad"``. Each version carries a
:class:`FaultSwitch`: the fraction of requests that fail with HTTP 500 and the latency added to
every request. Labs use a bad version to make a bad release happen on purpose, and the traffic
simulator and the deployment engine read the same values to model that release over simulated
time. Everything here is plain data: no sockets, no clocks, no AWS.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

__all__ = [
    "ENV_ADDED_LATENCY_MS",
    "ENV_ERROR_RATE",
    "ENV_SEED",
    "ENV_VERSION",
    "LATENCY_BASELINES",
    "SERVICES",
    "VERSIONS",
    "ConfigError",
    "FaultSwitch",
    "LatencyBaseline",
    "fault_for_version",
    "version_from_env",
]

SERVICES: tuple[str, ...] = ("catalog", "orders", "payments")
"""The names of the three bookstore services, in the order they are started."""

ENV_VERSION = "BOOKSTORE_VERSION"
"""Environment variable naming the running version (default ``"v1"``)."""
ENV_ERROR_RATE = "BOOKSTORE_ERROR_RATE"
"""Environment variable overriding the error rate, a fraction between 0 and 1."""
ENV_ADDED_LATENCY_MS = "BOOKSTORE_ADDED_LATENCY_MS"
"""Environment variable overriding the latency added to every request, in milliseconds."""
ENV_SEED = "BOOKSTORE_SEED"
"""Environment variable seeding which requests fail (an integer; unset means unseeded)."""

_Z_99 = 2.3263478740408408  # standard normal quantile at 0.99


class ConfigError(ValueError):
    """A fault switch or version setting has a value the bookstore cannot use.

    The message names the setting (argument or environment variable), the value found and what
    is expected, so it can be shown to a learner as it is.
    """


@dataclass(frozen=True)
class FaultSwitch:
    """How a version misbehaves: a fraction of failed requests and latency added to each one.

    ``FaultSwitch()`` is a healthy release. Requests to ``/health`` are never faulted, as with a
    real bad release whose health checks still pass while its business requests fail: that is
    why deployments need alarms and not only health checks.

    Args:
        error_rate: Fraction of requests, from 0.0 to 1.0, answered with HTTP 500.
        added_latency_ms: Milliseconds added to every request (0 or more).
        seed: Seed of the random choice of failing requests; ``None`` for an unseeded choice.

    Raises:
        ConfigError: If ``error_rate`` is outside [0, 1] or ``added_latency_ms`` is negative.
    """

    error_rate: float = 0.0
    added_latency_ms: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        """Check the values, so a typo fails here and not deep inside a simulation."""
        rate = self.error_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or math.isnan(rate):
            raise ConfigError(f"error_rate must be a number between 0 and 1, got {rate!r}")
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(
                f"error_rate must be between 0 and 1 (a fraction, 0.25 = 25%), got {rate!r}"
            )
        latency = self.added_latency_ms
        if isinstance(latency, bool) or not isinstance(latency, int | float):
            raise ConfigError(f"added_latency_ms must be a number of milliseconds, got {latency!r}")
        if not math.isfinite(latency) or latency < 0:
            raise ConfigError(f"added_latency_ms must be 0 or more milliseconds, got {latency!r}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ConfigError(f"seed must be an integer or None, got {self.seed!r}")

    @property
    def is_healthy(self) -> bool:
        """True when this switch injects neither errors nor latency."""
        return self.error_rate == 0.0 and self.added_latency_ms == 0.0

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, version: str | None = None
    ) -> FaultSwitch:
        """Build the switch a server process uses, from environment variables.

        Starts from the registered switch of the version (``version``, else
        ``BOOKSTORE_VERSION``, else ``"v1"``; see :data:`VERSIONS`) and overrides each field
        whose variable is set: ``BOOKSTORE_ERROR_RATE``, ``BOOKSTORE_ADDED_LATENCY_MS``,
        ``BOOKSTORE_SEED``. Empty variables count as unset.

        Args:
            environ: The environment to read; ``os.environ`` when omitted.
            version: The version label; read from ``BOOKSTORE_VERSION`` when omitted.

        Returns:
            The fault switch for this process.

        Raises:
            ConfigError: If a variable is not a number or is out of range.
        """
        env = os.environ if environ is None else environ
        base = fault_for_version(version if version is not None else version_from_env(env))
        changes: dict[str, float | int] = {}
        rate = _env_number(env, ENV_ERROR_RATE, float)
        if rate is not None:
            changes["error_rate"] = rate
        latency = _env_number(env, ENV_ADDED_LATENCY_MS, float)
        if latency is not None:
            changes["added_latency_ms"] = latency
        seed = _env_number(env, ENV_SEED, int)
        if seed is not None:
            changes["seed"] = seed
        try:
            return replace(base, **changes)
        except ConfigError as exc:
            raise ConfigError(
                f"{exc} (from the environment variables {ENV_ERROR_RATE}, "
                f"{ENV_ADDED_LATENCY_MS}, {ENV_SEED})"
            ) from None


def _env_number(env: Mapping[str, str], name: str, kind: type[float] | type[int]) -> float | None:
    """Read one numeric environment variable, or ``None`` when it is unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise ConfigError(
            f"{name}={raw!r} is not {expected}; unset it or set e.g. {name}=0"
        ) from None


def version_from_env(environ: Mapping[str, str] | None = None) -> str:
    """Return the version label from ``BOOKSTORE_VERSION``, or ``"v1"`` when it is unset.

    Args:
        environ: The environment to read; ``os.environ`` when omitted.

    Returns:
        The version label, stripped of surrounding spaces.
    """
    env = os.environ if environ is None else environ
    return env.get(ENV_VERSION, "").strip() or "v1"


VERSIONS: Mapping[str, FaultSwitch] = MappingProxyType(
    {
        "v1": FaultSwitch(),
        "v2": FaultSwitch(),
        "v2-bad": FaultSwitch(error_rate=0.25, added_latency_ms=400.0),
        "v2-slow": FaultSwitch(added_latency_ms=900.0),
    }
)
"""Named example versions and their fault switches (read-only).

- ``"v1"``: the current release, healthy.
- ``"v2"``: the next release, healthy: the deployment that should go all the way.
- ``"v2-bad"``: a broken release: 25% of requests fail with HTTP 500 and every request is
  400 ms slower. Alarms on error rate should roll it back.
- ``"v2-slow"``: a slow release: no errors, but 900 ms more per request. Only a latency alarm
  (for example on p99) catches it.

Any other label is a healthy version (see :func:`fault_for_version`).
"""


def fault_for_version(version: str) -> FaultSwitch:
    """Return the registered fault switch of a version, or a healthy one for any other label.

    Args:
        version: A version label such as ``"v1"`` or ``"v2-bad"``.

    Returns:
        ``VERSIONS[version]`` when registered, else ``FaultSwitch()``.
    """
    return VERSIONS.get(version, FaultSwitch())


@dataclass(frozen=True)
class LatencyBaseline:
    """Baseline latency of a healthy service, as a median and a 99th percentile.

    Args:
        median_ms: Median (p50) request latency in milliseconds.
        p99_ms: 99th-percentile request latency in milliseconds (greater than the median).
    """

    median_ms: float
    p99_ms: float

    def __post_init__(self) -> None:
        """Check that the percentiles make a valid right-skewed distribution."""
        if not 0 < self.median_ms < self.p99_ms:
            raise ConfigError(
                f"need 0 < median_ms < p99_ms, got median_ms={self.median_ms}, p99_ms={self.p99_ms}"
            )

    def lognormal_params(self) -> tuple[float, float]:
        """Return ``(mu, sigma)`` of the log-normal distribution with this median and p99.

        Request latencies are right-skewed; a log-normal with ``mu = ln(median)`` and
        ``sigma = ln(p99 / median) / z_0.99`` has exactly this median and p99, so a simulator
        can draw ``numpy.random.Generator.lognormal(mu, sigma, size)``.

        Returns:
            The mean and standard deviation of ``ln(latency_ms)``.
        """
        return math.log(self.median_ms), math.log(self.p99_ms / self.median_ms) / _Z_99


LATENCY_BASELINES: Mapping[str, LatencyBaseline] = MappingProxyType(
    {
        "catalog": LatencyBaseline(median_ms=12.0, p99_ms=60.0),
        "payments": LatencyBaseline(median_ms=35.0, p99_ms=180.0),
        "orders": LatencyBaseline(median_ms=70.0, p99_ms=320.0),
    }
)
"""Baseline latency per healthy service, for the traffic simulator (read-only).

``orders`` includes its calls to ``catalog`` and ``payments``. A version's
``FaultSwitch.added_latency_ms`` is added on top of these.
"""
