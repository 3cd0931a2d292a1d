"""CloudWatch Logs: the filter pattern language, log events on the simulated clock, metric filters.

Pattern examples are taken verbatim from the CloudWatch Logs user guide, "Filter pattern syntax for
metric filters, subscription filters, filter log events, and Live Tail"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html), and its
earlier edition "Filter and Pattern Syntax" (awsdocs/amazon-cloudwatch-logs-user-guide,
doc_source/FilterAndPatternSyntax.md): same log events, same patterns, same expected matches.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labs.errors import CheckFailed, InputError
from labs.observability import checks, emf, logs
from labs.observability.clock import SimClock
from labs.observability.logs import MetricFilter, compile_pattern, matches

# --------------------------------------------------------------------------------------------
# Terms (unstructured events)
# --------------------------------------------------------------------------------------------

GUIDE_LINES = ["ERROR WARN message", "ERROR message", "WARN message"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("ERROR", [True, True, False]),  # "ERROR matches examples 1 and 2"
        ("?ERROR ?WARN", [True, True, True]),  # "matches examples 1, 2, and 3"
        ("ERROR WARN", [True, False, False]),  # "only matches example 1"
        ("ERROR -WARN", [False, True, False]),  # "matches example 2"
    ],
)
def test_or_pattern_matching_examples_of_the_guide(pattern: str, expected: list[bool]) -> None:
    assert [matches(pattern, line) for line in GUIDE_LINES] == expected


def test_a_term_matches_anywhere_even_inside_a_word() -> None:
    # Guide: "ERROR" matches "[ERROR] A fatal exception has occurred" and
    # "Exiting with ERRORCODE: -1".
    assert matches("ERROR", "[ERROR] A fatal exception has occurred")
    assert matches("ERROR", "Exiting with ERRORCODE: -1")
    # ... and "ERROR" - "Exiting" excludes the second.
    assert not matches('"ERROR" - "Exiting"', "Exiting with ERRORCODE: -1")
    assert matches('"ERROR" - "Exiting"', "[ERROR] A fatal exception has occurred")


def test_terms_are_case_sensitive() -> None:
    assert not matches("ERROR", "error: disk full")
    assert matches("error", "error: disk full")


def test_all_terms_and_exact_phrases() -> None:
    # Guide: "ERROR Exception" matches both of these; "Failed to process the request" all terms.
    assert matches("ERROR Exception", "[ERROR] Caught IllegalArgumentException")
    assert matches("ERROR Exception", "[ERROR] Unhandled Exception")
    assert matches("Failed to process the request", "[WARN] Failed to process the request")
    assert not matches('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL SERVER FAILURE")
    assert matches('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL SERVER ERROR")


def test_the_empty_pattern_matches_everything() -> None:
    assert matches("", "anything at all") and matches("   ", "x")
    assert compile_pattern("").kind == "all"


def test_regular_expressions_are_found_anywhere() -> None:
    # Guide: %AUTHORIZED% returns "[ERROR 401] UNAUTHORIZED REQUEST" and
    # "[SUCCESS 200] AUTHORIZED REQUEST".
    assert matches("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST")
    assert matches("%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST")
    assert matches("%colou?r%", "the color") and matches("%colou?r%", "the colour")
    assert not matches("%^[hc]at%", "that hat")
    assert matches("%[hc]at$%", "that hat")


# --------------------------------------------------------------------------------------------
# JSON patterns
# --------------------------------------------------------------------------------------------

GUIDE_EVENT = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
)


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventType = "UpdateTrail" }',
        "{ $.sourceIPAddress != 123.123.* }",
        '{ $.arrayKey[0] = "value" }',
        "{ $.objectList[1].id = 2 }",
        "{ $.SomeObject IS NULL }",
        "{ $.SomeOtherObject NOT EXISTS }",
        "{ $.ThisFlag IS TRUE }",
    ],
)
def test_the_guides_json_filters_all_match_its_event(pattern: str) -> None:
    assert matches(pattern, GUIDE_EVENT)


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventType = "CreateTrail" }',
        "{ $.sourceIPAddress != 111.111.* }",
        '{ $.arrayKey[1] = "value" }',
        "{ $.objectList[2].id = 2 }",
        "{ $.eventType IS NULL }",
        "{ $.SomeObject NOT EXISTS }",
        "{ $.ThisFlag IS FALSE }",
        "{ $.objectList = 1 }",  # an array is not a value node: neither = ...
        "{ $.objectList != 1 }",  # ... nor != applies
    ],
)
def test_json_filters_that_do_not_match(pattern: str) -> None:
    assert not matches(pattern, GUIDE_EVENT)


COMPOUND = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [
            {"id": 2, "email": "John.Doe@example.com"},
            {"id": 3, "email": "Jane.Doe@example.com"},
        ],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        (
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch '
            "&& $.actions[2] = nomatch }",
            True,
        ),
        (
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) '
            "&& $.actions[2] = nomatch }",
            False,
        ),
    ],
)
def test_compound_conditions_follow_the_guides_precedence(pattern: str, expected: bool) -> None:
    assert matches(pattern, COMPOUND) is expected


def test_or_in_json_patterns() -> None:
    # Guide: {$.foo = bar} matches 1, {$.foo = baz } matches 2, {$.foo = bar || $.foo = baz } both.
    events = ['{"foo": "bar"}', '{"foo": "baz"}']
    assert [matches("{$.foo = bar}", e) for e in events] == [True, False]
    assert [matches("{$.foo = baz }", e) for e in events] == [False, True]
    assert [matches("{$.foo = bar || $.foo = baz }", e) for e in events] == [True, True]


@pytest.mark.parametrize(
    ("pattern", "latency", "expected"),
    [
        ("{ $.latency >= 500 }", 500, True),
        ("{ $.latency >= 500 }", 499.9, False),
        ("{ $.latency > +1000 }", 1000.5, True),
        ("{ $.latency < 10e3 }", 9999, True),
        ("{ $.latency < 10e-3 }", 0.001, True),
        ("{ $.latency <= 55.5 }", 55.5, True),
        ("{ $.latency = 400 }", 400.0, True),
        ("{ $.latency != 500 }", 400, True),
        ("{ $.latency > 250 }", "300", False),  # a string is not a number
    ],
)
def test_numeric_comparisons(pattern: str, latency: object, expected: bool) -> None:
    assert matches(pattern, json.dumps({"latency": latency})) is expected


def test_wildcards_at_either_end_and_a_literal_star_in_the_middle() -> None:
    # Guide: *Event matches PutEvent and GetEvent; Event* matches EventId and EventName;
    # Ev*ent only matches the actual string Ev*ent.
    assert matches("{ $.name = *Event }", '{"name": "PutEvent"}')
    assert matches("{ $.name = Event* }", '{"name": "EventName"}')
    assert not matches("{ $.name = Ev*ent }", '{"name": "Event"}')
    assert matches("{ $.name = Ev*ent }", '{"name": "Ev*ent"}')
    assert matches("{ $.latency = * }", '{"latency": 50}')  # the guide's metric filter pattern
    assert not matches("{ $.latency = * }", '{"other": 50}')


def test_exists_null_and_booleans_are_different_questions() -> None:
    assert matches("{ $.a EXISTS }", '{"a": null}')
    assert not matches("{ $.a NOT EXISTS }", '{"a": null}')
    assert not matches("{ $.a IS NULL }", '{"b": 1}')
    assert not matches("{ $.a = true }", '{"a": true}')  # booleans: IS TRUE, not =
    assert matches("{ $.a IS FALSE }", '{"a": false}')


def test_a_json_pattern_never_matches_text_that_is_not_json() -> None:
    assert not matches("{ $.status = * }", "status=500 not json")


# --------------------------------------------------------------------------------------------
# Space-delimited patterns
# --------------------------------------------------------------------------------------------

APACHE = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355',
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ip, user, username, timestamp, request, status_code, bytes]", [True, True, True]),
        ("[..., status_code, bytes]", [True, True, True]),
        ("[ip, user, ..., status_code, bytes]", [True, True, True]),
        ("[ip, user, ...]", [True, True, True]),
        ("[ip, user, username, timestamp, request, status_code, bytes > 1000]", [True, True, True]),
        (
            "[ip, user, username, timestamp, request, status_code, bytes > 5000]",
            [False, True, False],
        ),
        ("[ip, user, username, timestamp, request, status_code = 200, bytes]", [True, False, True]),
        ("[ip, user, username, timestamp, request, status_code = 5*, bytes]", [False, True, False]),
        ("[ip, user, username, timestamp, request = *gif*, status_code = 4*, bytes]", [False] * 3),
        (
            "[ip, user, username, timestamp, request, "
            "status_code = 403 || status_code = 500, bytes]",
            [False, True, False],
        ),
        ("[ip, user, username, timestamp, request, status_code]", [False, False, False]),
    ],
)
def test_space_delimited_examples(pattern: str, expected: list[bool]) -> None:
    assert [matches(pattern, line) for line in APACHE] == expected


def test_space_delimited_or_examples_of_the_guide() -> None:
    # "[w1=ERROR, w2] matches pattern 2 ... [w1=ERROR || w1=WARN, w2] matches patterns 2 and 3".
    assert [matches("[w1=ERROR, w2]", line) for line in GUIDE_LINES] == [False, True, False]
    assert [matches("[w1=ERROR || w1=WARN, w2]", line) for line in GUIDE_LINES] == [
        False,
        True,
        True,
    ]
    # The guide then says [w1!=ERROR&&w1!=WARN, w2] "matches lines containing both ERROR and
    # WARN (pattern 1)": that line has three fields and the pattern two, and its first field is
    # ERROR, so the stated semantics give no match. We follow the semantics.
    assert [matches("[w1!=ERROR&&w1!=WARN, w2]", line) for line in GUIDE_LINES] == [False] * 3


def test_extracted_fields_of_the_guides_example() -> None:
    # Guide: [..., request=*.html*, status_code=4*,] on a 404 line extracts $status_code, $request
    # and every field by position ($1..$7); the trailing comma is one more, unnamed, field.
    line = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
    extracted = compile_pattern("[..., request=*.html*, status_code=4*,]").extract(line)
    assert extracted == {
        "$request": "GET /index.html HTTP/1.0",
        "$status_code": "404",
        "$1": "127.0.0.1",
        "$2": "-",
        "$3": "frank",
        "$4": "10/Oct/2000:13:25:15 -0700",
        "$5": "GET /index.html HTTP/1.0",
        "$6": "404",
        "$7": "1534",
    }


def test_split_fields_keeps_brackets_and_quotes_together() -> None:
    assert logs.split_fields('a [b c] "d e" f') == ["a", "b c", "d e", "f"]


# --------------------------------------------------------------------------------------------
# Invalid patterns: an InputError naming the offset, with a caret
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "offset", "words"),
    [
        ("{ $.status = }", 13, "Expected a value"),
        ("{ $.status > abc }", 13, "compares numbers"),
        ("{ status = 5 }", 2, "selector starting with $"),
        ("{ $.a = 1", 9, "must end with '}'"),
        ("{ ($.a = 1 }", 11, "Expected ')'"),
        ("{ $.a IS MAYBE }", 9, "NULL, TRUE or FALSE"),
        ("{ $.a = 1 $.b = 2 }", 10, "joined with && or ||"),
        ("{ $.a[x] = 1 }", 5, "array index"),
        ("[ip, user", 9, "must end with ']'"),
        ("[a, b = 1 && c > 2]", 13, "not a field of this pattern"),
        ("[a, a]", 1, "used twice"),
        ("ERROR:", 5, "inside double quotes"),
        ("?ERROR WARN", 7, "?terms"),
        ('"unclosed', 0, "never closed"),
        ("%gr(a|e)y%", 3, "Parentheses"),
        ("%a!%", 2, "not allowed"),
        ("%abc", 0, "never closed"),
        ("{ $.a = %x% && $.b = %y% && $.c = %z% }", 34, "at most 2"),
    ],
)
def test_invalid_patterns_name_the_offset(pattern: str, offset: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        compile_pattern(pattern)
    error = caught.value
    assert error.where == f"filter pattern, offset {offset}"
    assert words in str(error)
    assert "^" in str(error).splitlines()[2]  # the caret line under the pattern


def test_match_many_agrees_with_matches() -> None:
    run = emf.run_bookstore(
        "2026-01-05T09:00Z", 8, releases={"payments": ((0, "v1"), (2, "v2-bad"))}
    )
    messages = run.logs["message"].tolist()
    for pattern in ('{ $.service = "payments" && $.status >= 500 }', "payments", "[a, b, ...]"):
        compiled = compile_pattern(pattern)
        assert compiled.match_many(messages).tolist() == [compiled.matches(m) for m in messages]
    assert isinstance(compile_pattern("x").match_many(iter(messages)), np.ndarray)


# --------------------------------------------------------------------------------------------
# Metric filters (pure)
# --------------------------------------------------------------------------------------------


def _events(*rows: tuple[str, dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [(pd.Timestamp(t, tz="UTC"), json.dumps(doc)) for t, doc in rows],
        columns=["timestamp", "message"],
    )


def test_counting_matches_per_minute_with_and_without_a_default_value() -> None:
    # The guide's example: two records a minute, metric value 1, default 0: 2 in the first minute
    # (both match), 0 in the second (none matches); no default: no datapoint in the second.
    events = _events(
        ("2026-01-05 09:00:10", {"status": 500}),
        ("2026-01-05 09:00:40", {"status": 503}),
        ("2026-01-05 09:01:10", {"status": 200}),
        ("2026-01-05 09:01:40", {"status": 201}),
    )
    with_default = MetricFilter("e", "{ $.status >= 500 }", "Errors", "App", default_value=0)
    points = logs.metric_filter_datapoints(events, with_default)
    assert points["sum"].tolist() == [2.0, 0.0]
    assert points["sample_count"].tolist() == [2, 2]
    gappy = MetricFilter("e", "{ $.status >= 500 }", "Errors", "App")
    assert logs.metric_filter_datapoints(events, gappy)["sum"].tolist() == [2.0]


def test_metric_value_from_a_field_and_dimensions_from_fields() -> None:
    events = _events(
        ("2026-01-05 09:00:10", {"service": "a", "latency": 10}),
        ("2026-01-05 09:00:20", {"service": "a", "latency": 30}),
        ("2026-01-05 09:00:30", {"service": "b", "latency": 5}),
        ("2026-01-05 09:00:40", {"service": "b", "latency": "slow"}),  # not a number: nothing
    )
    metric_filter = MetricFilter(
        "lat",
        "{ $.latency = * }",
        "Latency",
        "App",
        metric_value="$.latency",
        dimensions={"Service": "$.service"},
        unit="Milliseconds",
    )
    points = logs.metric_filter_datapoints(events, metric_filter)
    assert points[["dimensions", "sample_count", "sum", "maximum"]].values.tolist() == [
        ["Service=a", 2, 40.0, 30.0],
        ["Service=b", 1, 5.0, 5.0],
    ]


def test_space_delimited_metric_values() -> None:
    events = pd.DataFrame(
        {"timestamp": pd.to_datetime(["2026-01-05 09:00:00"] * 3, utc=True), "message": APACHE}
    )
    metric_filter = MetricFilter(
        "bytes",
        "[ip, user, username, timestamp, request, status_code, bytes]",
        "Bytes",
        "Web",
        metric_value="$bytes",
    )
    assert logs.metric_filter_datapoints(events, metric_filter)["sum"].tolist() == [
        1534.0 + 5324 + 4355
    ]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"metric_value": "$.latency", "filter_pattern": "ERROR"}, "not a JSON pattern"),
        ({"metric_value": "$bytes", "filter_pattern": "{ $.a = 1 }"}, "not a space-delimited"),
        ({"metric_value": "$nope", "filter_pattern": "[a, b]"}, "names no field"),
        ({"metric_value": "lots"}, "neither a number nor a field"),
        ({"dimensions": {"A": "$.a", "B": "$.b", "C": "$.c", "D": "$.d"}}, "at most 3"),
        ({"dimensions": {"A": "$.a"}, "default_value": 0}, "cannot have a defaultValue"),
        ({"unit": "Furlongs"}, "Unknown unit"),
        ({"filter_name": "a:b"}, "filterName"),
        ({"filter_pattern": "{ $.a = }"}, "Expected a value"),
    ],
)
def test_metric_filter_validation(kwargs: dict, words: str) -> None:
    base = {
        "filter_name": "f",
        "filter_pattern": "{ $.a = * }",
        "metric_name": "M",
        "metric_namespace": "N",
    }
    with pytest.raises(InputError, match=words):
        MetricFilter(**{**base, **kwargs})


# --------------------------------------------------------------------------------------------
# On the emulator
# --------------------------------------------------------------------------------------------


@pytest.fixture
def group(ctx):
    name = "/labs/test/obs-logs"
    logs.ensure_log_group(ctx, name, tags=ctx.tags(lab="test-10"))
    yield name
    client = ctx.client("logs")
    for entry in client.describe_metric_filters(logGroupName=name).get("metricFilters", []):
        client.delete_metric_filter(logGroupName=name, filterName=entry["filterName"])
    client.delete_log_group(logGroupName=name)


def test_events_are_stored_shifted_and_read_back_at_their_simulated_time(ctx, group) -> None:
    start = SimClock.reserve(ctx, 10).start
    events = [
        (start + pd.Timedelta(seconds=s), json.dumps({"n": s, "status": 500 if s % 3 else 200}))
        for s in range(0, 120, 10)
    ]
    assert logs.put_events(ctx, group, "s1", events) == 12
    shift = logs.time_shift(ctx, group)
    assert shift % pd.Timedelta(days=1) == pd.Timedelta(0)
    stored = ctx.client("logs").get_log_events(logGroupName=group, logStreamName="s1")["events"]
    first = pd.Timestamp(stored[0]["timestamp"], unit="ms", tz="UTC")
    assert first == start + shift
    assert first > pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=14)
    back = logs.read_events(ctx, group, start=start, end=start + pd.Timedelta(minutes=2))
    assert back["timestamp"].tolist() == [t for t, _ in events]
    assert back["stream"].unique().tolist() == ["s1"]


def test_filter_log_events_corrects_the_emulator(ctx, group) -> None:
    start = SimClock.reserve(ctx, 10).start
    rows = [(200, "ok"), (500, "ERROR"), (503, "ERROR x")]
    events = [
        (start + pd.Timedelta(seconds=i), json.dumps({"status": status, "msg": word}))
        for i, (status, word) in enumerate(rows)
    ]
    logs.put_events(ctx, group, "s2", events)
    end = start + pd.Timedelta(minutes=1)
    raw = ctx.client("logs").filter_log_events(
        logGroupName=group, filterPattern="{ $.status >= 500 }"
    )
    assert len(raw["events"]) >= 3  # the emulator's JSON patterns match everything
    found = logs.filter_log_events(ctx, group, "{ $.status >= 500 }", start=start, end=end)
    assert [json.loads(m)["status"] for m in found["message"]] == [500, 503]
    assert found.attrs["emulator_returned"] == 3 and found.attrs["matched"] == 2
    excluded = logs.filter_log_events(ctx, group, 'ERROR -"x"', start=start, end=end)
    assert len(excluded) == 1  # the emulator alone returns nothing for an excluded term
    assert excluded.attrs["sent_pattern"] == ""


def test_put_events_rejects_events_without_a_message(ctx, group) -> None:
    with pytest.raises(InputError, match="no message"):
        logs.put_events(ctx, group, "s3", [(pd.Timestamp("2026-01-05", tz="UTC"), "")])


def test_metric_filters_are_stored_replaced_and_applied(ctx, group) -> None:
    from labs.observability import published

    start = SimClock.reserve(ctx, 10).start
    events = [
        (
            start + pd.Timedelta(seconds=20 * i),
            json.dumps({"status": 500 if i % 2 else 200, "latency": 10.0 * i}),
        )
        for i in range(6)
    ]
    logs.put_events(ctx, group, "s4", events)
    first = MetricFilter("errors", "{ $.status >= 500 }", "TestErrors", "LabsTest10")
    logs.put_metric_filter(ctx, group, first)
    second = MetricFilter(
        "errors", "{ $.status >= 500 }", "TestErrors", "LabsTest10", default_value=0
    )
    stored = logs.put_metric_filter(ctx, group, second)  # replaces, as PutMetricFilter does
    assert stored["metricTransformations"][0]["defaultValue"] == 0
    listed = ctx.client("logs").describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in listed] == ["errors"]
    points = logs.apply_metric_filters(ctx, group, start=start, end=start + pd.Timedelta(minutes=2))
    assert points["sum"].tolist() == [1.0, 2.0] and points["sample_count"].tolist() == [3, 3]
    value = published.ledger(ctx).statistic("LabsTest10", "TestErrors", [], start, 60, "Sum")
    assert value == 1.0
    with pytest.raises(InputError, match="no metric filter called 'nope'"):
        logs.apply_metric_filters(ctx, group, start=start, end=start, names=["nope"])


# --------------------------------------------------------------------------------------------
# The exercise check, both ways
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.service = "payments" && $.status >= 500 && $.status <= 599 }',
        '{ $.service = "payments" && $.status = 5* }',
    ],
)
def test_the_pattern_check_passes_right_answers(pattern: str, capsys) -> None:
    checks.payments_5xx_pattern(pattern)
    assert capsys.readouterr().out.startswith("✔")


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (None, "no answer"),
        ("payments 500", "misses"),
        ('{ $.service = "payments" && $.status >= 500 }', "also matches"),
        ("{ $.service = payments* && $.status = 5* }", "also matches"),
        ("{ $.status = }", "not valid"),
    ],
)
def test_the_pattern_check_fails_wrong_answers(pattern, words: str) -> None:
    with pytest.raises(CheckFailed, match=words):
        checks.payments_5xx_pattern(pattern)
