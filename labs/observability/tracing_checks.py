"""*Check your work* for the tracing lab: each check passes with ✔ or raises ``CheckFailed``.

The checks judge an answer by what it does: a hook by the subsegments it records in real
traces (and by whether a filter expression then finds them), an answer about a faulty release
by the traces of that release, and a function by comparing it with a reference on hand-made
segments and on the lab's own traces.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labs.bookstore import SERVICES, FaultSwitch
from labs.checks import answered, check, exercise, passed, solved
from labs.errors import CheckFailed
from labs.observability import tracing

__all__ = [
    "LOYALTY_SUBSEGMENT",
    "TIER_ANNOTATION",
    "Mystery",
    "customer_tier",
    "fault_culprit",
    "loyalty_subsegment",
    "mystery_release",
    "p99_added",
    "reference_p99_added",
]

LOYALTY_SUBSEGMENT = "loyalty-lookup"
"""The name of the subsegment exercise 1 asks for."""
TIER_ANNOTATION = "customer_tier"
"""The annotation key exercise 1 asks for."""
_LOYALTY_SECONDS = 0.004


def customer_tier(customer_id: str) -> str:
    """Return a customer's loyalty tier: ``"gold"`` for ``c-001`` to ``c-010``, else standard."""
    number = int(customer_id.removeprefix("c-"))
    return "gold" if number <= 10 else "standard"


@exercise("11", 1)
def loyalty_subsegment(ctx: Any | None, hook: Callable[..., None], *, seed: int = 5) -> None:
    """Check a hook that records a ``loyalty-lookup`` subsegment annotated with the tier.

    A traced bookstore runs with ``hook`` on orders and takes 12 orders; their segments are
    read back (from X-Ray when ``ctx`` is given). Every orders segment must hold exactly one
    subsegment named ``loyalty-lookup``, in the ``local`` namespace, 4 ms long, annotated with
    ``customer_tier`` = :func:`customer_tier` of the order's customer; and the filter
    expression ``annotation.customer_tier = "gold"`` must find exactly the gold customers'
    traces.
    """
    store = tracing.TracedBookstore(ctx, seed=seed, minutes=10, hooks={"orders": hook})
    with store:
        sent = store.send_orders(12, seed=seed, requests_per_second=4.0, customers=20)
    errors = store.middlewares["orders"].hook_errors
    if errors:
        raise CheckFailed(
            f"your hook raised an error on {len(errors)} of 12 orders",
            found=errors[0],
            hint="Run it on one request: loyalty_lookup(recorder, request) where request.body "
            "is {'book_id': …, 'quantity': 1, 'customer_id': 'c-007'}.",
        )
    if ctx is not None and ctx.is_local:
        frame, where = tracing.segments(ctx, *store.window), "in X-Ray (the emulator)"
    else:  # a dry run; or real X-Ray, which takes a while to process segments: what was sent
        frame, where = store.segments(), "in the segments sent" if ctx else "in memory"
    orders = frame[(frame["kind"] == "segment") & (frame["name"] == "orders")]
    check(
        len(orders) == 12,
        f"the 12 orders' segments {where}",
        expected=12,
        found=len(orders),
        hint="The hook must not stop the request: end every subsegment you begin.",
    )
    subs = frame[(frame["kind"] == "subsegment") & (frame["name"] == LOYALTY_SUBSEGMENT)]
    local = frame[(frame["kind"] == "subsegment") & (frame["namespace"] != "remote")]
    per_segment = subs.groupby("parent_id").size().reindex(orders["id"], fill_value=0)
    check(
        bool((per_segment == 1).all()),
        f"one subsegment named {LOYALTY_SUBSEGMENT!r} directly in each orders segment",
        expected="1 per order",
        found=f"{sorted(set(per_segment.tolist()))} per order; local subsegments found: "
        f"{sorted(set(local['name'])) or 'none'}",
        hint=f"with recorder.in_subsegment({LOYALTY_SUBSEGMENT!r}) as subsegment: … — the "
        "subsegment's name is its first argument.",
    )
    check(
        bool((subs["namespace"].fillna("local") == "local").all()),
        "the subsegment is local work (namespace 'local', the SDK's default)",
        expected="local",
        found=sorted(set(subs["namespace"].fillna("local"))),
        hint="Use recorder.in_subsegment(name) without a namespace: 'remote' is for calls.",
    )
    durations = sorted(set(subs["duration_ms"].round(3)))
    check(
        durations == [_LOYALTY_SECONDS * 1000],
        "the lookup takes 4 ms on the simulated clock",
        expected="4.0 ms",
        found=f"{durations} ms",
        hint="Inside the subsegment, call recorder.clock.sleep(0.004).",
    )
    customers = dict(zip(sent["trace_id"], sent["customer_id"], strict=True))
    wrong = []
    for trace, notes in zip(subs["trace_id"], subs["annotations"], strict=True):
        want = customer_tier(customers[trace])
        got = notes.get(TIER_ANNOTATION) if isinstance(notes, dict) else None
        if got != want:
            wrong.append(f"{customers[trace]}: {got!r} (expected {want!r})")
    check(
        not wrong,
        f"the annotation {TIER_ANNOTATION!r} of each lookup",
        expected="'gold' for c-001 … c-010, 'standard' for the others",
        found="; ".join(wrong[:3]),
        hint=f"subsegment.put_annotation({TIER_ANNOTATION!r}, tier) — on the subsegment, with "
        "the customer id from request.body['customer_id'].",
    )
    gold = sorted(t for t, c in customers.items() if customer_tier(c) == "gold")
    found = sorted(tracing.matching_traces(frame, f'annotation.{TIER_ANNOTATION} = "gold"'))
    check(
        found == gold,
        'the filter annotation.customer_tier = "gold" finds the gold customers\' traces',
        expected=f"{len(gold)} traces",
        found=f"{len(found)} traces",
    )
    passed(
        f"{len(subs)} loyalty lookups recorded {where}; the filter finds the {len(gold)} "
        "gold customers' orders"
    )


@dataclass(frozen=True)
class Mystery:
    """A release with a faulty service somewhere, traced; which one is for you to find.

    Attributes:
        start: Start of the window its traces are in.
        end: End of the window.
        sent: The orders sent (status per order).
    """

    start: pd.Timestamp
    end: pd.Timestamp
    sent: pd.DataFrame = field(repr=False)
    _culprit: str = field(repr=False, default="")

    @property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(start, end)``, to pass on as ``*mystery.window``."""
        return self.start, self.end


def mystery_release(ctx: Any | None, *, seed: int = 13, orders: int = 150) -> Mystery:
    """Ship a release in which one service fails some of its requests, and trace 150 orders.

    Every version label is ``v2`` — the labels give nothing away. Returns where the traces are.
    """
    culprit = "catalog"
    faults = {culprit: FaultSwitch(error_rate=0.15, seed=seed)}
    versions = dict.fromkeys(SERVICES, "v2")
    with tracing.TracedBookstore(ctx, seed=seed, versions=versions, faults=faults) as store:
        sent = store.send_orders(orders, seed=seed)
    start, end = store.window
    if ctx is None:  # a dry run: keep the documents with the mystery
        sent.attrs["documents"] = store.documents
    return Mystery(start, end, sent, culprit)


@exercise("11", 2)
def fault_culprit(answer: str | None, mystery: Mystery) -> None:
    """Check the name of the service whose faults the mystery release's failures come from."""
    name = answered(answer, "the service that causes the faults")
    if name not in SERVICES:
        raise CheckFailed(
            "the answer is not one of the bookstore's services",
            expected=f"one of {list(SERVICES)}",
            found=repr(name),
        )
    failed = int((mystery.sent["status"] >= 500).sum())
    if name == "orders":
        raise CheckFailed(
            "orders answered the 5xx, but did it cause them?",
            expected="the service where the faults start",
            found="orders",
            hint="Open a faulty trace: orders faults *after* one of its calls came back with "
            "a 5xx — it passes the fault on as a 502. Which service's segment faults with no "
            "faulty call under it?",
        )
    check(
        name == mystery._culprit,
        "the service that causes the faults",
        expected="the service whose segments fault first",
        found=f"{name} (it has no faults in this window)",
        hint='Count the traces matching service("catalog") { fault } and '
        'service("payments") { fault }.',
    )
    passed(
        f"{name}: {failed} of {len(mystery.sent)} orders failed with 502 because a call to "
        f"{name} answered 500 first"
    )


def reference_p99_added(frame: pd.DataFrame, dependency: str, service: str = "orders") -> float:
    """Return how many ms calls to ``dependency`` add to the p99 of ``service``'s response time.

    p99 of the service's segment durations minus p99 of the same durations with the time of its
    ``remote`` subsegments named ``dependency`` taken out (linear-interpolated percentiles).
    """
    roots = frame[(frame["kind"] == "segment") & (frame["name"] == service)]
    response = roots.set_index("trace_id")["duration_ms"]
    calls = frame[
        (frame["kind"] == "subsegment")
        & (frame["namespace"] == "remote")
        & (frame["name"] == dependency)
        & (frame["service"] == service)
    ]
    spent = calls.groupby("trace_id")["duration_ms"].sum().reindex(response.index, fill_value=0)
    return float(response.quantile(0.99) - (response - spent).quantile(0.99))


def _hand_made() -> pd.DataFrame:
    """Three traces whose answer is worked out by hand (see the test of this check)."""
    docs = []
    for i, (own, pay) in enumerate([(0.050, 0.100), (0.060, 0.900), (0.040, 0.0)]):
        trace = f"1-00000000-{i:024x}"
        start = 100.0 + i
        subsegments = []
        if pay:
            subsegments.append(
                {
                    "id": f"{i:015x}b",
                    "name": "payments",
                    "namespace": "remote",
                    "start_time": start + own,
                    "end_time": start + own + pay,
                }
            )
        docs.append(
            json.dumps(
                {
                    "id": f"{i:015x}a",
                    "name": "orders",
                    "trace_id": trace,
                    "start_time": start,
                    "end_time": start + own + pay,
                    "subsegments": subsegments,
                }
            )
        )
    return tracing.segments_frame(docs)


@exercise("11", 3)
def p99_added(func: Callable[..., Any], frame: pd.DataFrame) -> None:
    """Check ``func(frame, dependency)``: the ms a dependency adds to orders' p99.

    Compared with :func:`reference_p99_added` on three hand-made traces and on ``frame`` (the
    lab's slow release) for both dependencies, within 0.5% (or 0.01 ms).
    """
    cases = [("three hand-made traces", _hand_made(), "payments")]
    cases += [("the slow release's traces", frame, name) for name in ("payments", "catalog")]
    results = []
    for label, data, dependency in cases:
        got = solved(func, data.copy(), dependency, what="p99_added_by()")
        got = answered(got, "p99_added_by()")
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise CheckFailed(
                "p99_added_by() returns a number of milliseconds",
                found=f"{got!r} ({type(got).__name__})",
            ) from None
        want = reference_p99_added(data, dependency)
        check(
            math.isclose(value, want, rel_tol=0.005, abs_tol=0.01),
            f"the p99 {dependency} adds to orders, on {label}",
            expected=f"{want:,.2f} ms",
            found=f"{value:,.2f} ms",
            hint="Per trace: orders' duration minus the time of its calls to the dependency "
            "(0 when there is none); then p99 of the durations minus p99 of what is left. "
            "Use Series.quantile(0.99).",
        )
        results.append((label, dependency, want))
    slow = {dep: ms for label, dep, ms in results if label.startswith("the slow")}
    passed(
        f"on the slow release, payments adds {slow['payments']:,.0f} ms to orders' p99, "
        f"catalog {slow['catalog']:,.0f} ms"
    )
