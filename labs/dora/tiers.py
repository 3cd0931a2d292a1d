"""The 2024 DORA performance levels (Elite, High, Medium, Low) and how a value is classified.

The 2024 *Accelerate State of DevOps* report is the last with four performance levels (the 2025
report moved to seven team profiles). Its table, as our ``FACTS.md`` records it
(DORA's metrics guide, https://dora.dev/guides/dora-metrics/, and the 2024 report on dora.dev):

* Change lead time — Elite < 1 day; High 1 day – 1 week; Medium 1 week – 1 month;
  Low 1 – 6 months.
* Deployment frequency — Elite on demand (several a day); High daily – weekly;
  Medium weekly – monthly; Low monthly – every 6 months.
* Change fail rate — Elite 5%; High 20%; Medium 10%; Low 40%.
* Failed deployment recovery time — Elite < 1 hour; High < 1 day; Medium < 1 day;
  Low 1 week – 1 month.

How each row becomes a classifier (the report gives ranges, not rules, so these are our choices):

* **Ranges** (lead time, deployment frequency, recovery time): every band *includes its lower
  end and excludes its upper end*, the way four-keys' bucket queries compare with ``<``
  (https://github.com/dora-team/fourkeys/blob/main/METRICS.md). A month is 730 hours
  (365 × 24 / 12), as in four-keys. Values beyond the slowest band are still **Low**.
  Deployment frequency is compared as the period between deployments (days per deployment):
  < 1 day Elite, [1, 7) days High, [7, 730/24) days Medium, longer Low — so exactly one
  deployment a day is High and exactly one a week is Medium.
* **Change fail rate**: the 2024 column is not monotonic (Elite 5%, High 20%, Medium 10%,
  Low 40%) because the report states each cluster's typical value, not a range. We do what that
  implies: classify to the tier whose stated value is **nearest**. The midpoints are 7.5%, 15%
  and 30%; a value exactly on a midpoint goes to the tier with the lower stated rate. So
  [0, 7.5%] Elite, (7.5%, 15%] Medium, (15%, 30%] High, above 30% Low.
* **Recovery time**: High and Medium share "< 1 day" and nothing covers 1 day – 1 week. We give
  the shared band to the better tier: < 1 hour Elite, [1 hour, 1 day) High, and anything of a
  day or more Low (it fails the "< 1 day" of both High and Medium). Medium is never assigned.
* **Deployment rework rate** was added in 2024 without performance bands in our sources, so its
  tier is ``None`` and shown as ``"n/a (no 2024 bands)"``. We do not invent numbers.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = [
    "DAY_HOURS",
    "MONTH_HOURS",
    "NO_BANDS",
    "SIX_MONTHS_HOURS",
    "TIERS",
    "WEEK_HOURS",
    "change_fail_rate_tier",
    "deployment_frequency_tier",
    "lead_time_tier",
    "recovery_time_tier",
    "rework_rate_tier",
    "tier_table",
]

TIERS: tuple[str, ...] = ("Elite", "High", "Medium", "Low")
"""The four 2024 performance levels, best first."""

DAY_HOURS: float = 24.0
"""Hours in a day."""
WEEK_HOURS: float = 168.0
"""Hours in a week."""
MONTH_HOURS: float = 730.0
"""Hours in a month, as four-keys counts it (365 × 24 / 12)."""
SIX_MONTHS_HOURS: float = 6 * MONTH_HOURS
"""Hours in six months (4,380)."""

NO_BANDS: str = "n/a (no 2024 bands)"
"""What the tier column shows for deployment rework rate."""

# The stated 2024 change-fail-rate value of each tier, in percent.
_FAIL_RATE_STATED_PCT: dict[str, float] = {"Elite": 5.0, "High": 20.0, "Medium": 10.0, "Low": 40.0}


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def lead_time_tier(hours: float | None) -> str | None:
    """Classify a median change lead time (hours) into its 2024 tier.

    Bands (lower end included): < 24 h Elite, [24 h, 168 h) High, [168 h, 730 h) Medium,
    730 h or more Low (the report's Low is 1 – 6 months; slower is still Low).

    Args:
        hours: Median lead time in hours, or ``None``/NaN when there is none.

    Returns:
        ``"Elite"``, ``"High"``, ``"Medium"``, ``"Low"`` or ``None`` for a missing value.
    """
    if _missing(hours):
        return None
    assert hours is not None
    if hours < DAY_HOURS:
        return "Elite"
    if hours < WEEK_HOURS:
        return "High"
    if hours < MONTH_HOURS:
        return "Medium"
    return "Low"


def deployment_frequency_tier(per_day: float | None) -> str | None:
    """Classify a deployment rate (deployments per day) into its 2024 tier.

    The rate is turned into a period (days between deployments) and the period compared with
    the report's ranges, lower end included: < 1 day Elite ("on demand, several a day"),
    [1, 7) days High ("daily – weekly"), [7, 30.42) days Medium ("weekly – monthly"), longer Low.

    Args:
        per_day: Deployments per day, or ``None``/NaN when there were no deployments.

    Returns:
        The tier name, or ``None`` when the rate is missing or zero.
    """
    if _missing(per_day) or per_day is None or per_day <= 0:
        return None
    period_days = round(1.0 / per_day, 9)  # rounding keeps 1/7 computed as 13/91 a week
    if period_days < 1.0:
        return "Elite"
    if period_days < WEEK_HOURS / DAY_HOURS:
        return "High"
    if period_days < MONTH_HOURS / DAY_HOURS:
        return "Medium"
    return "Low"


def change_fail_rate_tier(rate: float | None) -> str | None:
    """Classify a change fail rate (a share, 0–1) to the 2024 tier whose stated value is nearest.

    The 2024 report states 5% (Elite), 20% (High), 10% (Medium) and 40% (Low). Nearest value,
    ties to the lower stated rate: [0, 7.5%] Elite, (7.5%, 15%] Medium, (15%, 30%] High,
    above 30% Low.

    Args:
        rate: Failed deployments ÷ deployments, or ``None``/NaN when there were none.

    Returns:
        The tier name, or ``None`` for a missing value.
    """
    if _missing(rate):
        return None
    assert rate is not None
    pct = round(rate * 100.0, 9)  # 0.075 * 100 is 7.499999999999999 in binary floating point
    by_stated = sorted(_FAIL_RATE_STATED_PCT.items(), key=lambda item: item[1])
    # min() keeps the first of equal distances: the tier with the lower stated rate.
    return min(by_stated, key=lambda item: abs(pct - item[1]))[0]


def recovery_time_tier(hours: float | None) -> str | None:
    """Classify a median failed-deployment recovery time (hours) into its 2024 tier.

    < 1 h Elite, [1 h, 24 h) High (the report's High and Medium both say "< 1 day"; the better
    tier wins), 24 h or more Low (the report leaves 1 day – 1 week to no tier; it fails the
    "< 1 day" of High and Medium, so it is Low).

    Args:
        hours: Median recovery time in hours, or ``None``/NaN when there is none.

    Returns:
        ``"Elite"``, ``"High"``, ``"Low"`` or ``None`` (never ``"Medium"``).
    """
    if _missing(hours):
        return None
    assert hours is not None
    if hours < 1.0:
        return "Elite"
    if hours < DAY_HOURS:
        return "High"
    return "Low"


def rework_rate_tier(rate: float | None) -> None:
    """Return ``None``: the 2024 report gives deployment rework rate no performance bands.

    Args:
        rate: Ignored; present so every metric has a classifier of the same shape.
    """
    return None


def tier_table() -> pd.DataFrame:
    """The 2024 performance-level table as a DataFrame, worded as the report words it.

    Returns:
        One row per metric (index ``metric``), one column per tier, best first.
    """
    rows = {
        "Change lead time": ["< 1 day", "1 day – 1 week", "1 week – 1 month", "1 – 6 months"],
        "Deployment frequency": [
            "on demand (several a day)",
            "daily – weekly",
            "weekly – monthly",
            "monthly – every 6 months",
        ],
        "Change fail rate": ["5%", "20%", "10%", "40%"],
        "Failed deployment recovery time": ["< 1 hour", "< 1 day", "< 1 day", "1 week – 1 month"],
        "Deployment rework rate": [NO_BANDS] * 4,
    }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(TIERS))
    frame.index.name = "metric"
    return frame
