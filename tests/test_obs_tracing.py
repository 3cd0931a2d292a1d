"""Tests for labs.observability.tracing: the service graph, filter expressions, the emitter,
trace header propagation across the three bookstore services, and the servers' life cycle."""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.request

import numpy as np
import pandas as pd
import pytest

from labs.bookstore import FaultSwitch
from labs.errors import EmulatorError, InputError
from labs.observability import tracing
from labs.observability import tracing_checks as tc
from labs.observability.clock import EPOCH
from labs.observability.tracing import (
    FilterExpressionError,
    MemoryEmitter,
    SeededIds,
    SimRecorder,
    TraceClock,
    TracedBookstore,
    XRayApiEmitter,
)

T0 = 1_767_603_600.0  # 2026-01-05T09:00:00Z


# -- hand-made segment documents ----------------------------------------------------------------


def _doc(
    trace: str,
    ident: str,
    name: str,
    start: float,
    ms: float,
    status: int | None = None,
    parent: str | None = None,
    subsegments: list | None = None,
    **extra,
) -> str:
    doc = {
        "trace_id": trace,
        "id": ident,
        "name": name,
        "start_time": start,
        "end_time": start + ms / 1000.0,
        **extra,
    }
    if parent:
        doc["parent_id"] = parent
    if status is not None:
        doc["http"] = {
            "request": {"method": "GET", "url": f"http://{name}/x"},
            "response": {"status": status},
        }
        if status >= 500:
            doc["fault"] = True
        elif status >= 400:
            doc["error"] = True
    if subsegments:
        doc["subsegments"] = subsegments
    return json.dumps(doc)


def _call(ident: str, name: str, start: float, ms: float, status: int | None, **extra) -> dict:
    sub = json.loads(_doc("", ident, name, start, ms, status, **extra))
    sub.pop("trace_id")
    sub["namespace"] = "remote"
    return sub


def _store_documents() -> list[str]:
    """Five orders traces: latencies 100..500 ms on orders; one 502 caused by a catalog 500;
    one 409; a call to an uninstrumented 'bank'; one payments subsegment sent on its own."""
    docs = []
    for i in range(5):
        trace = f"1-695b7d90-{i:024x}"
        t = T0 + 10 * i
        orders_ms = 100.0 * (i + 1)
        cat_status = 500 if i == 1 else 200
        root_status = 502 if i == 1 else 409 if i == 2 else 201
        subs = [_call(f"c{i:015x}", "catalog", t + 0.001, 20.0 + i, cat_status)]
        docs.append(
            _doc(
                trace,
                f"d{i:015x}",
                "catalog",
                t + 0.002,
                18.0 + i,
                cat_status,
                parent=f"c{i:015x}",
                annotations={"shelf": i},
            )
        )
        if root_status == 201:
            subs.append(_call(f"p{i:015x}", "payments", t + 0.05, 40.0 + 10 * i, 201))
            docs.append(
                _doc(
                    trace,
                    f"e{i:015x}",
                    "payments",
                    t + 0.051,
                    38.0 + 10 * i,
                    201,
                    parent=f"p{i:015x}",
                    annotations={"tier": "gold" if i else "std"},
                )
            )
        docs.append(
            _doc(
                trace,
                f"a{i:015x}",
                "orders",
                t,
                orders_ms,
                root_status,
                subsegments=subs,
                annotations={"version": "v1"},
                service={"version": "v1"},
            )
        )
    # a call to a downstream that sends no segments, as a subsegment sent on its own
    docs.append(
        json.dumps(
            {
                "type": "subsegment",
                "trace_id": "1-695b7d90-" + f"{3:024x}",
                "parent_id": f"a{3:015x}",
                "id": "b000000000000003",
                "name": "bank",
                "namespace": "remote",
                "start_time": T0 + 30.2,
                "end_time": T0 + 30.25,
                "http": {"response": {"status": 200}},
            }
        )
    )
    return docs


@pytest.fixture
def frame() -> pd.DataFrame:
    return tracing.segments_frame(_store_documents())


# -- documents ----------------------------------------------------------------------------------


def test_segments_frame_flattens_embedded_and_independent_subsegments(frame):
    assert len(frame) == 5 + 5 + 3 + 3 + 5 + 1  # orders, catalog calls+segments, payments, bank
    bank = frame[frame["name"] == "bank"].iloc[0]
    assert bank["kind"] == "subsegment" and bank["service"] == "orders"
    assert bank["segment_id"] == f"a{3:015x}" and bank["duration_ms"] == 50.0
    sub = frame[(frame["id"] == f"c{0:015x}")].iloc[0]
    assert sub["parent_id"] == f"a{0:015x}" and sub["service"] == "orders"
    assert sub["version"] == "v1"  # the owning segment's service.version
    assert set(frame.columns) == set(tracing.SEGMENT_COLUMNS)


def test_segments_frame_counts_a_document_put_twice_once(frame):
    twice = tracing.segments_frame(_store_documents() + _store_documents()[:3])
    pd.testing.assert_frame_equal(twice, frame)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"id": "x", "name": "a", "start_time": 1}', "trace_id"),
        ('{"trace_id": "t", "name": "a", "start_time": 1}', "'id'"),
        ("[1]", "JSON object"),
    ],
)
def test_segments_frame_names_the_bad_document(document, message):
    with pytest.raises(InputError, match=message) as info:
        tracing.segments_frame(
            ['{"trace_id": "t", "id": "1", "name": "a", "start_time": 1}', document]
        )
    assert "segment document 1" in str(info.value)


# -- service graph ------------------------------------------------------------------------------


def test_edges_count_requests_errors_and_faults_per_caller_and_callee(frame):
    edges = tracing.edges_from_segments(frame).set_index(["caller", "callee"])
    assert list(edges.index) == [
        ("client", "orders"),
        ("orders", "bank"),
        ("orders", "catalog"),
        ("orders", "payments"),
    ]
    client = edges.loc[("client", "orders")]
    assert (client["requests"], client["ok"], client["errors"], client["faults"]) == (5, 3, 1, 1)
    assert client["error_rate"] == 0.2 and client["fault_rate"] == 0.2
    catalog = edges.loc[("orders", "catalog")]
    assert (catalog["requests"], catalog["faults"], catalog["fault_rate"]) == (5, 1, 0.2)
    assert edges.loc[("orders", "payments"), "requests"] == 3
    assert edges.loc[("orders", "bank"), "requests"] == 1  # inferred: named after the subsegment


def test_edge_latency_is_the_callers_view_with_linear_percentiles(frame):
    edges = tracing.edges_from_segments(frame).set_index(["caller", "callee"])
    client = [100.0, 200.0, 300.0, 400.0, 500.0]  # the orders segments
    assert edges.loc[("client", "orders"), "p50_ms"] == np.percentile(client, 50) == 300.0
    assert edges.loc[("client", "orders"), "p99_ms"] == pytest.approx(np.percentile(client, 99))
    calls = [20.0, 21.0, 22.0, 23.0, 24.0]  # orders' subsegments, not catalog's own 18..22 ms
    assert edges.loc[("orders", "catalog"), "p99_ms"] == pytest.approx(np.percentile(calls, 99))
    assert edges.loc[("orders", "catalog"), "mean_ms"] == pytest.approx(22.0)
    payments = [40.0, 70.0, 80.0]
    assert edges.loc[("orders", "payments"), "p50_ms"] == 70.0
    assert edges.loc[("orders", "payments"), "p99_ms"] == pytest.approx(np.percentile(payments, 99))


def test_classify_follows_xray_error_fault_throttle():
    status = pd.Series([200, 404, 429, 500, 503, None], dtype="Int64")
    false = pd.Series([False] * 6)
    flags = tracing.classify(status, false, false, false)
    assert flags["ok"].tolist() == [True, False, False, False, False, True]
    assert flags["error"].tolist() == [False, True, True, False, False, False]
    assert flags["throttle"].tolist() == [False, False, True, False, False, False]
    assert flags["fault"].tolist() == [False, False, False, True, True, False]
    flagged = tracing.classify(
        pd.Series([None] * 2, dtype="Int64"),
        pd.Series([True, False]),
        pd.Series([False, True]),
        pd.Series([False, False]),
    )
    assert flagged["error"].tolist() == [True, False] and flagged["fault"].tolist() == [False, True]


def test_service_nodes_use_each_services_own_segments(frame):
    nodes = tracing.service_nodes(frame).set_index("service")
    assert nodes.loc["catalog", "requests"] == 5 and nodes.loc["catalog", "faults"] == 1
    assert nodes.loc["catalog", "p50_ms"] == 20.0  # 18..22 ms
    assert "bank" not in nodes.index  # it sent no segments


def test_empty_frame_gives_empty_edges():
    assert tracing.edges_from_segments(tracing.segments_frame([])).empty


# -- filter expressions -------------------------------------------------------------------------


def _ids(frame, expression):
    return [int(t[-1]) for t in tracing.matching_traces(frame, expression)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("ok", [0, 3, 4]),
        ("!ok", [1, 2]),
        ("ok = false", [1, 2]),
        ("error", [2]),
        ("fault", [1]),
        ("fault != true", [0, 2, 3, 4]),
        ("throttle", []),
        ("partial", []),
        ("responsetime > 0.3", [3, 4]),
        ("responsetime >= 0.3", [2, 3, 4]),
        ("duration >= 0.4", [3, 4]),
        ("duration < 0.2", [0]),
        ("http.status = 409", [2]),
        ("http.status != 201", [1, 2]),
        ('http.url CONTAINS "orders"', [0, 1, 2, 3, 4]),
        ('http.method = "POST"', []),
        ('http.url BEGINSWITH "http://ord"', [0, 1, 2, 3, 4]),
        ('http.url ENDSWITH "/y"', []),
        ('annotation.tier = "gold"', [3, 4]),
        ("annotation.shelf >= 3", [3, 4]),
        ("annotation[shelf] = 0", [0]),
        ('annotation.tier != "gold"', [0]),
        ('annotation.shelf = "3"', []),  # a number is not the string "3"
        ("annotation.missing = 1", []),
        ('service("payments")', [0, 3, 4]),
        ('service("catalog") { fault }', [1]),
        ('service("payments") { responsetime > 0.07 }', [4]),  # its own 38, 68, 78 ms
        ("service() { fault }", [1]),
        ('!service("payments")', [1, 2]),
        ('edge("orders", "catalog") { fault }', [1]),
        ('edge("orders", "payments") { responsetime > 0.075 }', [4]),
        ('edge("orders", "bank")', [3]),
        ("error OR fault", [1, 2]),
        ("ok AND responsetime > 0.2", [3, 4]),
        ("ok responsetime > 0.2", [3, 4]),  # side by side means AND
        ("fault OR error AND responsetime > 0.25", [1, 2]),  # AND binds tighter than OR
        ("(fault OR error) AND responsetime > 0.25", [2]),
        ("!(ok OR fault)", [2]),
        ("OK and Responsetime > 0.2", [3, 4]),  # keywords and AND/OR in any case
    ],
)
def test_filter_expressions_match_and_do_not_match(frame, expression, expected):
    assert _ids(frame, expression) == expected


@pytest.mark.parametrize(
    ("expression", "column", "message"),
    [
        ("", 1, "empty"),
        ('responsetime > "fast"', 16, "is a number"),
        ('service("payments" { fault }', 20, "to close service"),
        ("foo = 1", 1, "unknown keyword 'foo'"),
        ("fault AND", 10, "expected a keyword"),
        ("responsetime >", 15, "expected a value"),
        ("http.url = 5", 12, "double quotes"),
        ("http.status CONTAINS 5", 13, "is a number"),
        ("fault = 1", 9, "true or false"),
        ("fault > true", 7, "= or !="),
        ('service("p") { annotation.x = 1 }', 16, "annotations cannot"),
        ('service("p") { service("q") }', 16, "cannot be used inside"),
        ('edge("a") { fault }', 1, "two quoted names"),
        ('service(id(name: "x"))', 9, "id() function"),
        ("fault == true", 7, "single '='"),
        ('http.url CONTAINS "abc', 19, "closing quote"),
        ("responsetime", 13, "needs an operator"),
        ("( fault", 8, "to close the parenthesis"),
        ("rootcause", 1, "does not support"),
        ("fault ) ok", 7, "unexpected ')'"),
        ('service("p") { }', 16, "braces are empty"),
        ("fault # x", 7, "unexpected character"),
    ],
)
def test_invalid_filter_expressions_name_the_column(expression, column, message):
    with pytest.raises(FilterExpressionError) as info:
        tracing.parse_filter(expression)
    text = str(info.value)
    assert f"column {column}:" in text and message in text
    assert text.splitlines()[2].index("^") - 4 == column - 1  # the caret under the column


def test_filter_segments_keeps_whole_traces(frame):
    kept = tracing.filter_segments(frame, 'service("catalog") { fault }')
    assert set(kept["trace_id"]) == {f"1-695b7d90-{1:024x}"} and len(kept) == 3


def test_trace_summaries_follow_trace_summary(frame):
    summary = tracing.summarize_traces(frame).set_index(frame["trace_id"].drop_duplicates())
    first = summary.iloc[3]
    assert first["entry_point"] == "orders" and first["status"] == 201
    assert first["response_time_s"] == 0.4 and first["duration_s"] == 0.4
    assert summary["has_fault"].tolist() == [False, True, False, False, False]
    assert summary["has_error"].tolist() == [False, False, True, False, False]
    assert summary.iloc[0]["services"] == "catalog, orders, payments"
    assert summary.iloc[0]["start"] == pd.Timestamp(T0, unit="s", tz="UTC")


# -- the SDK on a simulated clock ---------------------------------------------------------------


def test_sim_recorder_takes_times_from_the_clock_and_ids_from_the_seed():
    clock = TraceClock(T0)
    emitter = MemoryEmitter()
    recorder = SimRecorder("svc", clock=clock, ids=SeededIds(7), emitter=emitter)

    @recorder.capture("work")
    def work():
        clock.sleep(0.25)

    segment = recorder.begin_segment("svc")
    clock.sleep(0.1)
    with recorder.in_subsegment("step") as sub:
        sub.put_annotation("k", "v")
        clock.sleep(0.05)
    work()
    recorder.end_segment()
    doc = json.loads(emitter.documents[0])
    assert re.fullmatch(r"1-695b7d90-[0-9a-f]{24}", doc["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", doc["id"]) and doc["id"] == segment.id
    assert doc["start_time"] == T0 and doc["end_time"] == T0 + 0.4
    step, captured = doc["subsegments"]
    assert (step["start_time"], step["end_time"], step["annotations"]) == (
        T0 + 0.1,
        T0 + 0.15,
        {"k": "v"},
    )
    assert captured["name"] == "work" and captured["end_time"] - captured["start_time"] == 0.25
    again = SimRecorder("svc", clock=TraceClock(T0), ids=SeededIds(7), emitter=MemoryEmitter())
    assert again.begin_segment("svc").id == segment.id  # same seed, same ids
    assert not hasattr(recorder.emitter, "_socket")  # no UDP socket for a daemon


def test_sim_recorder_has_the_fields_of_the_sdks_recorder():
    from aws_xray_sdk.core.recorder import AWSXRayRecorder

    ours = SimRecorder("svc", clock=TraceClock(T0), ids=SeededIds())
    assert set(vars(AWSXRayRecorder())) <= set(vars(ours))


def test_trace_clock_is_exact_and_refuses_going_back():
    clock = TraceClock("2026-01-05T09:00:00Z")
    for _ in range(1000):
        clock.sleep(0.000123)
    assert clock.elapsed == 0.123 and clock.now() == T0 + 0.123
    with pytest.raises(InputError):
        clock.sleep(-1)
    assert TraceClock.reserve(None).start == EPOCH.value / 1e9


def test_parse_trace_header():
    got = tracing.parse_trace_header(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    )
    assert got == {
        "root": "1-5759e988-bd862e3fe1be46a994272793",
        "parent": "53995c3f42cd8ad8",
        "sampled": 1,
    }
    assert tracing.parse_trace_header(None) == {"root": None, "parent": None, "sampled": None}


# -- the emitter --------------------------------------------------------------------------------


def test_emitter_puts_segments_into_the_emulator(ctx):
    clock = TraceClock.reserve(ctx, 5)
    emitter = XRayApiEmitter(ctx.client("xray"), batch_size=2)
    recorder = SimRecorder("emitted", clock=clock, ids=SeededIds(99), emitter=emitter)
    traces = []
    for _ in range(3):
        clock.sleep(1.0)
        traces.append(recorder.begin_segment("emitted").trace_id)
        clock.sleep(0.02)
        recorder.end_segment()
    assert emitter.uploaded == 2 and emitter.pending == 1  # one batch of two went at once
    assert emitter.flush() == 1 and emitter.pending == 0
    answer = ctx.client("xray").batch_get_traces(TraceIds=traces)
    assert sorted(t["Id"] for t in answer["Traces"]) == sorted(traces)
    frame = tracing.segments(ctx, clock.timestamp(clock.start), clock.timestamp())
    assert frame["trace_id"].tolist() == traces and frame["duration_ms"].tolist() == [20.0] * 3


def test_emitter_reports_rejected_documents_and_failed_uploads(ctx):
    class Bad:
        def serialize(self):
            return "{not json"

    emitter = XRayApiEmitter(ctx.client("xray"))
    emitter.send_entity(Bad())
    assert emitter.flush() == 0
    assert emitter.unprocessed[0]["ErrorCode"] == "JSONFormatError"

    class Broken:
        def put_trace_segments(self, **_):
            raise ConnectionError("emulator gone")

    failing = XRayApiEmitter(Broken(), batch_size=1)
    failing.send_entity(Bad())  # inside a request: logged and kept, never raised
    assert failing.pending == 1
    with pytest.raises(EmulatorError, match="emulator gone"):
        failing.flush()
    assert failing.pending == 1


# -- the three services, traced -----------------------------------------------------------------


def test_one_order_is_one_trace_across_the_three_services():
    with TracedBookstore(None, seed=4) as store:
        reply = store.order("accelerate", 1, "c-001")
        received = {
            name: store.received_headers(name) for name in ("orders", "catalog", "payments")
        }
    assert reply.status == 201
    frame = store.segments()
    assert frame["trace_id"].nunique() == 1
    trace = frame["trace_id"].iloc[0]
    assert tracing.parse_trace_header(reply.headers["x-amzn-trace-id"])["root"] == trace
    rows = frame.set_index(["kind", "name"])
    for callee in ("catalog", "payments"):
        call = rows.loc[("subsegment", callee)]
        answered = rows.loc[("segment", callee)]
        assert answered["parent_id"] == call["id"]  # the callee continues orders' subsegment
        assert call["parent_id"] == rows.loc[("segment", "orders"), "id"]
        assert call["namespace"] == "remote" and call["traced"]
        header = tracing.parse_trace_header(received[callee][-1])
        assert header == {"root": trace, "parent": call["id"], "sampled": 1}
    assert received["orders"] == [None]  # the client sent no header: orders began the trace
    assert pd.isna(rows.loc[("segment", "orders"), "parent_id"])


def test_an_incoming_header_continues_the_callers_trace():
    root = "1-695b7d90-0123456789abcdef01234567"
    with TracedBookstore(None, seed=4) as store:
        body = json.dumps({"book_id": "accelerate", "quantity": 1, "customer_id": "c-1"}).encode()
        request = urllib.request.Request(
            store.urls["orders"] + "/orders",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Amzn-Trace-Id": f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as reply:
            assert reply.status == 201
        unsampled = request.headers | {"X-amzn-trace-id": f"Root={root};Sampled=0"}
        request2 = urllib.request.Request(
            request.full_url, data=body, method="POST", headers=unsampled
        )
        with opener.open(request2, timeout=10) as reply:
            assert reply.status == 201
        downstream = tracing.parse_trace_header(store.received_headers("catalog")[-1])
    frame = store.segments()
    assert set(frame["trace_id"]) == {root} and len(frame) == 5  # the unsampled one sent nothing
    orders = frame[(frame["kind"] == "segment") & (frame["name"] == "orders")].iloc[0]
    assert orders["parent_id"] == "53995c3f42cd8ad8"
    assert downstream["sampled"] == 0  # "not sampled" travels on to catalog


def test_segments_land_in_the_emulator_and_the_graph_matches_the_documents(ctx):
    with TracedBookstore(ctx, seed=8, versions={"payments": "v2-slow"}) as store:
        sent = store.send_orders(30, seed=8)
    from_emulator = tracing.service_graph(ctx, *store.window)
    from_memory = tracing.edges_from_segments(store.segments())
    pd.testing.assert_frame_equal(from_emulator, from_memory)
    payments = from_emulator.set_index("callee").loc["payments"]
    assert payments["p50_ms"] > 900  # v2-slow adds 900 ms to every payment
    assert from_emulator.set_index("callee").loc["orders", "requests"] == len(sent)
    # the filter runs in labs (the emulator answers 500 to a FilterExpression)
    slow = tracing.trace_summaries(
        ctx, *store.window, 'edge("orders", "payments") { responsetime > 0.9 }'
    )
    assert 0 < len(slow) <= (sent["status"] == 201).sum()
    with pytest.raises(FilterExpressionError):
        tracing.trace_summaries(ctx, *store.window, "responsetime >")


def test_same_seed_same_traces_wherever_the_clock_starts():
    def run(start):
        with TracedBookstore(None, seed=21, clock=TraceClock(start)) as store:
            sent = store.send_orders(25, seed=21)
        return sent, store.segments()

    (sent_a, a), (sent_b, b) = run(T0), run(T0 + 3 * 3600 + 0.123457)
    pd.testing.assert_frame_equal(sent_a.drop(columns="trace_id"), sent_b.drop(columns="trace_id"))
    columns = ["id", "parent_id", "name", "kind", "duration_ms", "status", "annotations"]
    pd.testing.assert_frame_equal(a[columns], b[columns])
    pd.testing.assert_frame_equal(tracing.edges_from_segments(a), tracing.edges_from_segments(b))


def test_fault_switch_is_seeded_and_faults_are_traced():
    with TracedBookstore(None, seed=2, faults={"catalog": FaultSwitch(error_rate=0.3)}) as one:
        first = one.send_orders(40)
    with TracedBookstore(None, seed=2, faults={"catalog": FaultSwitch(error_rate=0.3)}) as two:
        second = two.send_orders(40)
    assert first["status"].tolist() == second["status"].tolist()
    assert (first["status"] == 502).sum() > 3
    frame = one.segments()
    assert (
        len(tracing.matching_traces(frame, 'service("catalog") { fault }'))
        == (first["status"] == 502).sum()
    )
    assert tracing.matching_traces(frame, "fault") == tracing.matching_traces(
        frame, 'edge("orders", "catalog") { fault }'
    )


def test_a_failing_hook_fails_the_request_and_is_recorded():
    def broken(recorder, request):
        recorder.begin_subsegment("left-open")
        raise RuntimeError("boom")

    with TracedBookstore(None, seed=1, hooks={"orders": broken}) as store:
        assert store.order().status == 500
    assert store.middlewares["orders"].hook_errors == ["RuntimeError: boom"]
    frame = store.segments()
    orders = frame[frame["kind"] == "segment"].iloc[0]
    assert orders["fault"] and orders["status"] == 500
    assert not frame["in_progress"].any()  # the open subsegment was closed


# -- servers start and stop ---------------------------------------------------------------------


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def test_servers_bind_loopback_and_stop_leaves_no_port_or_thread():
    before = {t.name for t in threading.enumerate()}
    store = TracedBookstore(None, seed=1).start()
    assert store.start() is store  # starting twice does nothing
    assert all(url.startswith("http://127.0.0.1:") for url in store.urls.values())
    assert all(_port_open(url) for url in store.urls.values())
    assert store in tracing.running()
    store.send_orders(5)
    store.stop()
    store.stop()  # twice is fine
    assert not any(_port_open(url) for url in store.urls.values())
    assert store not in tracing.running()
    leftover = {t.name for t in threading.enumerate()} - before
    assert not [name for name in leftover if "bookstore" in name or "process_request" in name]
    with pytest.raises(InputError, match="not running"):
        store.order()


def test_stop_all_stops_every_running_bookstore():
    stores = [TracedBookstore(None, seed=i).start() for i in range(2)]
    urls = [url for store in stores for url in store.urls.values()]
    assert tracing.stop_all() >= 2
    assert not tracing.running() and not any(_port_open(url) for url in urls)
    assert tracing.stop_all() == 0


def test_traffic_that_does_not_fit_the_reserved_window_is_refused():
    with TracedBookstore(None, minutes=1) as store, pytest.raises(InputError, match="minutes"):
        store.send_orders(500, requests_per_second=2)


def test_unknown_service_names_are_refused():
    with pytest.raises(InputError, match="unknown service"):
        TracedBookstore(None, versions={"shipping": "v2"})


# -- figures ------------------------------------------------------------------------------------


def test_service_map_and_waterfall_draw(frame):
    fig = tracing.draw_service_map(tracing.edges_from_segments(frame), slow_ms=300)
    assert fig.axes[0].get_title() == "Service map"
    trace = f"1-695b7d90-{3:024x}"
    rows = tracing.timeline(frame, trace)
    assert rows["label"].tolist() == [
        "orders (v1)",
        "  ↳ catalog",
        "    catalog",
        "  ↳ payments",
        "    payments",
        "  ↳ bank",
    ]
    assert rows["start_ms"].tolist()[:3] == [0.0, 1.0, 2.0]
    fig = tracing.waterfall(frame, trace)
    assert "orders answered in 400 ms" in fig.axes[0].get_title()
    assert "milliseconds" in fig.axes[0].get_xlabel()
    with pytest.raises(InputError, match="no trace"):
        tracing.timeline(frame, "1-nope")
    import matplotlib.pyplot as plt

    plt.close("all")


# -- the lab's checks ---------------------------------------------------------------------------


def test_reference_p99_added_on_the_hand_made_traces():
    # orders 150, 960, 40 ms; without payments 50, 60, 40 ms; linear p99 of three values
    # is the middle one plus 98% of the way to the largest.
    expected = (150 + 0.98 * 810) - (50 + 0.98 * 10)
    assert tc.reference_p99_added(tc._hand_made(), "payments") == pytest.approx(expected)
    assert tc.customer_tier("c-010") == "gold" and tc.customer_tier("c-011") == "standard"


def test_an_empty_window_gives_empty_tables():
    empty = tracing.segments_frame([])
    assert tracing.matching_traces(empty, 'fault OR service("x") { error }') == []
    assert tracing.summarize_traces(empty).empty and tracing.service_nodes(empty).empty
