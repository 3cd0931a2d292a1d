"""Tests for feature flags: document validation, the rule language, split, AppConfig resources."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from labs.errors import InputError
from labs.practices import flags
from labs.practices.flags import FlagDocumentError, evaluate, validate_document
from labs.practices.rules import (
    OPERATORS,
    RuleError,
    bucket,
    buckets,
    in_split,
    parse_rule,
    rule_mask,
    rule_matches,
)


def _doc() -> dict:
    """A valid document: a basic flag with constrained attributes and a multi-variant flag."""
    return {
        "version": "1",
        "flags": {
            "recommendations": {
                "name": "Recommendations",
                "description": "Books you might like",
                "attributes": {
                    "limit": {"constraints": {"type": "number", "minimum": 1, "maximum": 20}},
                    "style": {"constraints": {"type": "string", "enum": ["grid", "list"]}},
                    "shelves": {
                        "constraints": {
                            "type": "array",
                            "elements": {"type": "string", "pattern": "^[a-z]+$"},
                        }
                    },
                    "beta": {"constraints": {"type": "boolean"}},
                },
            },
            "checkout": {
                "name": "Checkout",
                "attributes": {
                    "design": {"constraints": {"type": "string", "required": True}},
                },
            },
        },
        "values": {
            "recommendations": {
                "enabled": True,
                "limit": 5,
                "style": "grid",
                "shelves": ["new", "crime"],
                "beta": False,
            },
            "checkout": {
                "_variants": [
                    {
                        "name": "premium",
                        "enabled": True,
                        "rule": '(eq $plan "premium")',
                        "attributeValues": {"design": "one-page"},
                    },
                    {
                        "name": "experiment",
                        "enabled": True,
                        "rule": "(split pct::50 by::$userId)",
                        "attributeValues": {"design": "one-page"},
                    },
                    {"name": "control", "enabled": False, "attributeValues": {"design": "classic"}},
                ]
            },
        },
    }


# --------------------------------------------------------------------------------------------
# Document validation
# --------------------------------------------------------------------------------------------


def test_a_valid_document_passes_and_json_text_is_accepted():
    doc = _doc()
    assert validate_document(doc) == doc
    assert validate_document(json.dumps(doc)) == doc
    assert validate_document(json.dumps(doc).encode()) == doc


def _broken(change) -> dict:
    doc = copy.deepcopy(_doc())
    change(doc)
    return doc


BROKEN = [
    ("no version", lambda d: d.pop("version"), "version", "needs"),
    ("version as a number", lambda d: d.update(version=1), "version", 'the string "1"'),
    ("unknown top-level key", lambda d: d.update(extra=1), "extra", "no property"),
    (
        "flag key with a capital",
        lambda d: d["flags"].update(Bad={}),
        "flags.Bad",
        "not a valid flag key",
    ),
    (
        "unknown flag property",
        lambda d: d["flags"]["checkout"].update(owner="me"),
        "flags.checkout.owner",
        "no property",
    ),
    (
        "name with a newline",
        lambda d: d["flags"]["checkout"].update(name="a\nb"),
        "flags.checkout.name",
        "one line",
    ),
    (
        "reserved attribute name",
        lambda d: d["flags"]["checkout"]["attributes"].update(
            enabled={"constraints": {"type": "boolean"}}
        ),
        "flags.checkout.attributes.enabled",
        "reserved",
    ),
    (
        "non-integer maximum",
        lambda d: d["flags"]["recommendations"]["attributes"]["limit"]["constraints"].update(
            maximum=20.5
        ),
        "flags.recommendations.attributes.limit.constraints.maximum",
        "integer",
    ),
    (
        "maximum below minimum",
        lambda d: d["flags"]["recommendations"]["attributes"]["limit"]["constraints"].update(
            maximum=0
        ),
        "flags.recommendations.attributes.limit.constraints.maximum",
        "below minimum",
    ),
    (
        "unknown constraint type",
        lambda d: d["flags"]["checkout"]["attributes"]["design"]["constraints"].update(type="text"),
        "flags.checkout.attributes.design.constraints.type",
        "not a constraint type",
    ),
    (
        "a constraint key of another type",
        lambda d: d["flags"]["checkout"]["attributes"]["design"]["constraints"].update(minimum=1),
        "flags.checkout.attributes.design.constraints.minimum",
        "no property",
    ),
    (
        "pattern and enum together",
        lambda d: d["flags"]["recommendations"]["attributes"]["style"]["constraints"].update(
            pattern="^g"
        ),
        "flags.recommendations.attributes.style.constraints.enum",
        "not both",
    ),
    (
        "array elements of type boolean",
        lambda d: d["flags"]["recommendations"]["attributes"]["shelves"]["constraints"].update(
            elements={"type": "boolean"}
        ),
        "flags.recommendations.attributes.shelves.constraints.elements.type",
        "array elements",
    ),
    (
        "value above the maximum",
        lambda d: d["values"]["recommendations"].update(limit=50),
        "values.recommendations.limit",
        "above the maximum 20",
    ),
    (
        "value of the wrong type",
        lambda d: d["values"]["recommendations"].update(limit="5"),
        "values.recommendations.limit",
        "is a number",
    ),
    (
        "boolean is not a number",
        lambda d: d["values"]["recommendations"].update(limit=True),
        "values.recommendations.limit",
        "is a number",
    ),
    (
        "value outside the enum",
        lambda d: d["values"]["recommendations"].update(style="carousel"),
        "values.recommendations.style",
        "not one of",
    ),
    (
        "array element failing the pattern",
        lambda d: d["values"]["recommendations"].update(shelves=["new", "Sci-Fi"]),
        "values.recommendations.shelves[1]",
        "does not match",
    ),
    (
        "mixed array",
        lambda d: d["values"]["recommendations"].update(shelves=["new", 3]),
        "values.recommendations.shelves",
        "strings only or numbers only",
    ),
    (
        "undefined attribute",
        lambda d: d["values"]["recommendations"].update(colour="red"),
        "values.recommendations.colour",
        "not an attribute",
    ),
    (
        "value for an undefined flag",
        lambda d: d["values"].update(search={"enabled": True}),
        "values.search",
        "no flag 'search' is defined",
    ),
    (
        "enabled not a boolean",
        lambda d: d["values"]["recommendations"].update(enabled="yes"),
        "values.recommendations.enabled",
        "true or false",
    ),
    (
        "attributeValues on a basic flag",
        lambda d: d["values"]["recommendations"].update(attributeValues={"limit": 3}),
        "values.recommendations.attributeValues",
        "next to enabled",
    ),
    (
        "required attribute missing in a variant",
        lambda d: d["values"]["checkout"]["_variants"][1].pop("attributeValues"),
        "values.checkout._variants[1].attributeValues.design",
        "required",
    ),
    (
        "default variant with a rule",
        lambda d: d["values"]["checkout"]["_variants"][2].update(rule="(eq $a 1)"),
        "values.checkout._variants[2].rule",
        "default variant",
    ),
    (
        "middle variant without a rule",
        lambda d: d["values"]["checkout"]["_variants"][1].pop("rule"),
        "values.checkout._variants[1].rule",
        "no rule",
    ),
    (
        "duplicate variant names",
        lambda d: d["values"]["checkout"]["_variants"][1].update(name="premium"),
        "values.checkout._variants[1].name",
        "already used",
    ),
    (
        "variant without enabled",
        lambda d: d["values"]["checkout"]["_variants"][0].pop("enabled"),
        "values.checkout._variants[0].enabled",
        "needs",
    ),
    (
        "empty variants",
        lambda d: d["values"]["checkout"].update(_variants=[]),
        "values.checkout._variants",
        "at least",
    ),
    (
        "33 variants",
        lambda d: d["values"]["checkout"].update(
            _variants=[{"name": f"v{i}", "enabled": True, "rule": "(eq $a 1)"} for i in range(32)]
            + [{"name": "default", "enabled": False}]
        ),
        "values.checkout._variants",
        "at most 32",
    ),
    (
        "26 attributes",
        lambda d: d["flags"]["checkout"].update(
            attributes={f"a{i}": {"constraints": {"type": "boolean"}} for i in range(26)}
        ),
        "flags.checkout.attributes",
        "at most 25",
    ),
]


@pytest.mark.parametrize(
    ("change", "path", "phrase"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_each_problem_is_reported_at_its_json_path(change, path, phrase):
    with pytest.raises(FlagDocumentError) as caught:
        validate_document(_broken(change))
    assert caught.value.where == path
    assert phrase in caught.value.what


def test_the_maximum_example_path_from_the_issue():
    doc = {
        "version": "1",
        "flags": {
            "checkout": {
                "attributes": {"limit": {"constraints": {"type": "number", "maximum": "ten"}}}
            }
        },
    }
    with pytest.raises(FlagDocumentError) as caught:
        validate_document(doc)
    assert caught.value.where == "flags.checkout.attributes.limit.constraints.maximum"
    assert str(caught.value).startswith("flags.checkout.attributes.limit.constraints.maximum: ")


def test_a_malformed_variant_rule_names_the_path_and_the_character():
    doc = _broken(lambda d: d["values"]["checkout"]["_variants"][0].update(rule='(eq $plan "x"'))
    with pytest.raises(RuleError) as caught:
        validate_document(doc)
    assert caught.value.where == "values.checkout._variants[0].rule, character 13"
    assert "^" in caught.value.what


def test_text_that_is_not_json_names_line_and_column():
    with pytest.raises(FlagDocumentError) as caught:
        validate_document('{"version": "1",\n "flags": {,}}')
    assert caught.value.where == "line 2, column 12"


def test_required_attribute_missing_on_a_basic_flag():
    doc = _broken(lambda d: d["values"].update(checkout={"enabled": True}))
    with pytest.raises(FlagDocumentError, match="required"):
        validate_document(doc)


# --------------------------------------------------------------------------------------------
# Evaluation, as the AppConfig Agent returns flags
# --------------------------------------------------------------------------------------------


def test_a_basic_flag_returns_its_attributes_only_when_enabled():
    doc = _doc()
    assert evaluate(doc, "recommendations") == {
        "enabled": True,
        "limit": 5,
        "style": "grid",
        "shelves": ["new", "crime"],
        "beta": False,
    }
    doc["values"]["recommendations"]["enabled"] = False
    assert evaluate(doc, "recommendations") == {"enabled": False}


def test_a_defined_flag_without_values_is_disabled():
    doc = _doc()
    del doc["values"]["recommendations"]
    assert evaluate(doc, "recommendations") == {"enabled": False}


def test_unknown_flag_is_an_error_listing_the_flags():
    with pytest.raises(FlagDocumentError, match="no flag 'search'") as caught:
        evaluate(_doc(), "search")
    assert "recommendations, checkout" in str(caught.value)


def test_the_user_guide_multi_variant_example():
    """The ui_refresh example of "Creating a multi-variant feature flag" and its retrievals."""
    doc = {
        "flags": {
            "ui_refresh": {
                "attributes": {"dark_mode_support": {"constraints": {"type": "boolean"}}},
                "description": "A release flag used to release a new UI",
                "name": "UI Refresh",
            }
        },
        "values": {
            "ui_refresh": {
                "_variants": [
                    {
                        "attributeValues": {"dark_mode_support": True},
                        "enabled": True,
                        "name": "QA",
                        "rule": '(ends_with $email "qa-testers.mycompany.com")',
                    },
                    {
                        "attributeValues": {"dark_mode_support": True},
                        "enabled": True,
                        "name": "Beta Testers",
                        "rule": '(exists key::"opted_in_to_beta")',
                    },
                    {
                        "attributeValues": {"dark_mode_support": False},
                        "enabled": True,
                        "name": "Sample Population",
                        "rule": "(split pct::10 by::$email)",
                    },
                    {
                        "attributeValues": {"dark_mode_support": False},
                        "enabled": False,
                        "name": "Default Variant",
                    },
                ]
            }
        },
        "version": "1",
    }
    qa = evaluate(doc, "ui_refresh", {"email": "jane_doe@qa-testers.mycompany.com"})
    assert qa == {"_variant": "QA", "dark_mode_support": True, "enabled": True}
    beta = evaluate(doc, "ui_refresh", {"email": "a@example.org", "opted_in_to_beta": "false"})
    assert beta["_variant"] == "Beta Testers"  # exists: any value counts
    assert evaluate(doc, "ui_refresh") == {"_variant": "Default Variant", "enabled": False}
    sample = [evaluate(doc, "ui_refresh", {"email": f"{i}@example.org"}) for i in range(4000)]
    share = np.mean([s["_variant"] == "Sample Population" for s in sample])
    assert abs(share - 0.10) < 0.02
    assert flags.evaluate_all(doc, {})["ui_refresh"]["_variant"] == "Default Variant"


# --------------------------------------------------------------------------------------------
# The rule language, operator by operator
# --------------------------------------------------------------------------------------------

CASES = [
    # (rule, context, expected)
    ('(eq $state "Virginia")', {"state": "Virginia"}, True),
    ('(eq $state "Virginia")', {"state": "virginia"}, False),
    ("(gt $age 65)", {"age": 70}, True),
    ("(gt $age 65)", {"age": "70"}, True),  # header text is read as the literal's type
    ("(gt $age 65)", {"age": 65}, False),
    ("(gte $age 65)", {"age": "65"}, True),
    ("(lt $age 65)", {"age": 64.5}, True),
    ("(lte $age 65)", {"age": 66}, False),
    ("(gt $age 65)", {"age": "old"}, False),  # not a number: false
    ("(eq $ratio 1.234e-5)", {"ratio": "0.00001234"}, True),
    ("(eq $beta true)", {"beta": "true"}, True),
    ("(eq $beta true)", {"beta": False}, False),
    ("(gt $signup 2024-01)", {"signup": "2024-03-04T05:06:07-08:00"}, True),
    ("(lt $signup 2012-03-04T05:06:07-08:00)", {"signup": "2012-03-04T13:06:06Z"}, True),
    ("(eq $signup 2012-03-04T05:06:07-08:00)", {"signup": "2012-03-04T13:06:07Z"}, True),
    ('(begins_with $state "A")', {"state": "Alaska"}, True),
    ('(begins_with $state "A")', {"state": "Texas"}, False),
    ('(ends_with $email "amazon.com")', {"email": "jeff@amazon.com"}, True),
    ('(ends_with $email "amazon.com")', {"email": "amazon.com.evil"}, False),
    ('(contains $promoCode "WIN")', {"promoCode": "BIGWIN24"}, True),
    ('(contains $promoCode "WIN")', {"promoCode": "win"}, False),
    ('(in $userId ["123", "456"])', {"userId": "456"}, True),
    ('(in $userId ["123", "456"])', {"userId": "789"}, False),
    ("(in $level [1, 2, 3])", {"level": "2"}, True),
    ('(matches in::$greeting pattern::"h.*y")', {"greeting": "happy"}, True),
    ('(matches in::$greeting pattern::"h.*y")', {"greeting": "oh hey there"}, True),  # search
    ('(matches in::$greeting pattern::"^h.*y$")', {"greeting": "oh hey there"}, False),
    ('(exists key::"country")', {"country": "FR"}, True),
    ('(exists key::"country")', {"city": "Paris"}, False),
    ('(not (eq $state "Virginia"))', {"state": "Ohio"}, True),
    ('(and (eq $state "Virginia") (gt $age 65))', {"state": "Virginia", "age": 70}, True),
    ('(and (eq $state "Virginia") (gt $age 65))', {"state": "Virginia", "age": 60}, False),
    ('(or (eq $state "Virginia") (gt $age 65))', {"state": "Ohio", "age": 70}, True),
    ('(or (eq $state "Virginia") (gt $age 65))', {"state": "Ohio", "age": 60}, False),
    ("(and (eq $a 1) (eq $b 2) (eq $c 3))", {"a": 1, "b": 2, "c": 3}, True),  # n-ary
    ("(or (eq $a 1) (eq $b 2) (eq $c 3))", {"a": 0, "b": 0, "c": 3}, True),
    ('(eq $state "Virginia")', {}, False),  # missing key: false ...
    ('(not (eq $state "Virginia"))', {}, True),  # ... so not(...) is true
    ("(eq $a $b)", {"a": "x", "b": "x"}, True),  # two context values
    ("(eq $a $b)", {"a": "x"}, False),
    ('(eq $name "say \\"hi\\"")', {"name": 'say "hi"'}, True),  # escaped quotes
]


@pytest.mark.parametrize(("rule", "context", "expected"), CASES)
def test_operators(rule, context, expected):
    assert rule_matches(rule, context) is expected


def test_every_documented_operator_is_covered():
    used = {op for rule, _, _ in CASES for op in OPERATORS if f"({op} " in rule}
    assert used == set(OPERATORS) - {"split"}  # split has tests of its own below


def test_nesting_and_precedence_are_explicit():
    rule = '(or (and (eq $plan "premium") (not (eq $country "US"))) (in $userId ["u1"]))'
    assert rule_matches(rule, {"plan": "premium", "country": "FR"})
    assert not rule_matches(rule, {"plan": "premium", "country": "US"})
    assert rule_matches(rule, {"plan": "standard", "country": "US", "userId": "u1"})
    assert not rule_matches(rule, {"plan": "standard", "country": "FR", "userId": "u2"})
    multi_line = '(and\n    (eq $state "Virginia")\n    (gt $age 65)\n)'
    assert rule_matches(multi_line, {"state": "Virginia", "age": "66"})


ERRORS = [
    # (rule, position, phrase)
    ("", 0, "empty"),
    ('eq $plan "premium"', 0, "in parentheses"),
    ('(eq $plan "premium"', 19, "never closed"),
    ('(eqq $plan "premium")', 1, "Did you mean 'eq'"),
    ('(eq $plan "premium)', 10, "never closed"),
    ("(eq $ 1)", 4, "name of a context key"),
    ('(eq $plan "a") (eq $b 1)', 15, "after the end"),
    ('(eq $plan "a" "b")', 14, "two operands"),
    ("(and (eq $a 1))", 0, "two or more"),
    ("(not (eq $a 1) (eq $b 2))", 15, "one expression"),
    ('(and "yes" (eq $a 1))', 5, "true/false"),
    ("(in $userId 123)", 12, "list of constants"),
    ('(in $userId ["1" $x])', 17, "constants only"),
    ("(split pct::120 by::$id)", 12, "between 0 and 100"),
    ('(split pct::10 by::"id")', 15, "context value"),
    ("(split pct::10)", 0, "needs by::"),
    ("(split by::$id pct::10 colour::1)", 23, "no colour::"),
    ("(split $id 10)", 7, "named arguments only"),
    ('(matches in::$g pattern::"(")', 25, "not a valid regular expression"),
    ("(exists key::country)", 13, "not an operand"),
    ("(gt $d 2024-13)", 7, "not a real date"),
    ("(gt $d 12abc)", 7, "neither a number"),
    ("(eq $a 1", 8, "never closed"),
    ("(eq $a [1])", 7, "not a list"),
    ("(eq $a eq)", 7, "own expression"),
    ("(begins_with $s 5)", 16, "works on text"),
    ("(gt $a 1) ?", 10, "Unexpected character"),
    ("(split pct::10 pct::20 by::$id)", 15, "given twice"),
]


@pytest.mark.parametrize(("rule", "position", "phrase"), ERRORS)
def test_errors_name_the_character_and_draw_a_caret(rule, position, phrase):
    with pytest.raises(RuleError) as caught:
        parse_rule(rule)
    error = caught.value
    assert error.position == position, error
    assert phrase in str(error)
    assert error.where == f"rule, character {position}"
    rule_line, caret_line = str(error).splitlines()[1:3]
    assert caret_line.index("^") - 4 == position - (rule.rfind("\n", 0, position) + 1)
    assert rule_line.strip() in rule


def test_the_caret_sits_on_the_right_line_of_a_multi_line_rule():
    with pytest.raises(RuleError) as caught:
        parse_rule("(and\n  (eq $a 1)\n  (eqq $b 2))")
    lines = str(caught.value).splitlines()
    assert lines[1] == "      (eqq $b 2))"
    assert lines[2] == "       ^"


def test_rule_errors_are_input_errors_and_bad_types_are_refused():
    assert issubclass(RuleError, InputError)
    with pytest.raises(InputError, match="string"):
        parse_rule(42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="16384"):
        parse_rule("(eq $a " + '"' + "x" * 16400 + '")')
    with pytest.raises(InputError, match="mapping"):
        rule_matches("(eq $a 1)", ["a"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# split: stability, proportions, growth, shared hash space
# --------------------------------------------------------------------------------------------

IDS = [f"user-{i:06d}" for i in range(100_000)]


def test_split_distribution_is_within_tolerance_over_100k_ids():
    for pct in (1, 10, 20, 50, 75.5):
        share = in_split(IDS, pct, flag="checkout").mean()
        assert abs(share - pct / 100) < 0.005, (pct, share)
    assert in_split(IDS, 0).sum() == 0
    assert in_split(IDS, 100).all()


def test_raising_pct_only_adds_users():
    previous = in_split(IDS, 0, flag="checkout")
    for pct in (5, 10, 15, 40, 40.5, 80, 100):
        now = in_split(IDS, pct, flag="checkout")
        assert not (previous & ~now).any(), f"someone left the split going to {pct}%"
        previous = now


def test_same_id_same_answer_and_scalar_equals_vector():
    rule = "(split pct::30 by::$userId)"
    vector = in_split(IDS[:5000], 30, flag="f")
    scalar = [rule_matches(rule, {"userId": i}, flag="f") for i in IDS[:5000]]
    again = [rule_matches(rule, {"userId": i}, flag="f") for i in IDS[:5000]]
    assert list(vector) == scalar == again
    assert bucket("user-000001", flag="f") == bucket("user-000001", flag="f")
    values = buckets(IDS[:1000], flag="f")
    assert ((values >= 0) & (values < 100)).all()
    assert np.array_equal(values < 30, vector[:1000])


def test_seed_makes_a_split_the_same_in_every_flag_and_no_seed_is_local():
    seeded = [in_split(IDS, 20, seed="s", flag=f) for f in ("a", "b")]
    assert np.array_equal(*seeded)
    local = [in_split(IDS, 20, flag=f) for f in ("a", "b")]
    overlap = (local[0] & local[1]).mean()
    assert abs(overlap - 0.04) < 0.005  # independent: 20% of 20%


def test_missing_by_value_is_never_in_the_split():
    assert not rule_matches("(split pct::100 by::$userId)", {})
    assert list(in_split(["a", None, float("nan")], 100)) == [True, False, False]
    with pytest.raises(InputError, match="pct"):
        in_split(IDS[:3], 101)


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        # The four examples of "Understanding the split operator" in the AppConfig user guide.
        ([("A", "(split by::$uniqueId pct::20)"), ("C", None)], {"A": 0.20, "C": 0.80}),
        (
            [
                ("A", "(split by::$uniqueId pct::20)"),
                ("B", "(split by::$uniqueId pct::20)"),
                ("C", None),
            ],
            {"A": 0.20, "B": 0.0, "C": 0.80},
        ),
        (
            [
                ("A", "(split by::$uniqueId pct::20)"),
                ("B", "(split by::$uniqueId pct::25)"),
                ("C", None),
            ],
            {"A": 0.20, "B": 0.05, "C": 0.75},
        ),
        (
            [
                ("A", '(split by::$uniqueId pct::20 seed::"seed_one")'),
                ("B", '(split by::$uniqueId pct::25 seed::"seed_two")'),
                ("C", None),
            ],
            {"A": 0.20, "B": 0.20, "C": 0.60},
        ),
    ],
    ids=["20/80", "same pct: B gets nothing", "20/5/75", "different seeds: 20/20/60"],
)
def test_ordered_variants_share_the_hash_space_as_the_guide_says(variants, expected):
    frame = pd.DataFrame({"uniqueId": IDS})
    names = flags.assign_variants(variants, frame, flag="ui_refresh")
    shares = pd.Series(names).value_counts(normalize=True)
    for name, share in expected.items():
        assert abs(shares.get(name, 0.0) - share) < 0.006, (name, shares.to_dict())


def test_select_variant_picks_the_first_match_and_checks_the_list():
    variants = [("premium", '(eq $plan "premium")'), ("half", "(split pct::50 by::$id)"),
                ("control", None)]  # fmt: skip
    assert flags.select_variant(variants, {"plan": "premium", "id": "x"}) == "premium"
    assert flags.select_variant(variants, {}) == "control"
    with pytest.raises(InputError, match="default"):
        flags.select_variant([("a", "(eq $a 1)")], {})
    with pytest.raises(InputError, match="only the last"):
        flags.select_variant([("a", None), ("b", None)], {})
    with pytest.raises(RuleError) as caught:
        flags.select_variant([("a", "(eq $a"), ("b", None)], {})
    assert caught.value.where.startswith("variants[0] (a), character")


# --------------------------------------------------------------------------------------------
# Vectorised evaluation equals row-by-row evaluation
# --------------------------------------------------------------------------------------------

VECTOR_RULES = [
    '(eq $plan "premium")',
    "(gt $age 40)",
    '(and (eq $plan "premium") (not (in $country ["US", "GB"])))',
    '(or (begins_with $email "u0001") (ends_with $email "7@example.com"))',
    '(contains $email "99")',
    '(matches in::$email pattern::"^u0+1")',
    '(exists key::"coupon")',
    '(split pct::30 by::$userId seed::"exp")',
    "(and (split pct::50 by::$userId) (lte $age 30))",
    "(eq $vip true)",
    "(eq $coupon $plan)",
    "(gte $joined 2024-06)",
]


@pytest.mark.parametrize("rule", VECTOR_RULES)
def test_rule_mask_equals_rule_matches_row_by_row(rule):
    rng = np.random.default_rng(5)
    n = 1500
    frame = pd.DataFrame(
        {
            "userId": [f"u{i:05d}" for i in range(n)],
            "email": [f"u{i:05d}@example.com" for i in range(n)],
            "plan": rng.choice(["premium", "standard"], n),
            "country": rng.choice(["US", "GB", "FR"], n),
            "age": rng.integers(15, 80, n).astype(float),
            "coupon": rng.choice(["premium", None], n),
            "vip": rng.choice(["true", "false", "maybe"], n),
            "joined": rng.choice(["2024-01-15", "2024-07-01T10:00:00Z", "soon"], n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    mask = rule_mask(rule, frame, flag="f")
    records = frame.to_dict("records")
    expected = [
        rule_matches(rule, {k: v for k, v in r.items() if v is not None and v == v}, flag="f")
        for r in records
    ]
    assert list(mask) == expected


# --------------------------------------------------------------------------------------------
# AppConfig resources in the emulator
# --------------------------------------------------------------------------------------------


@pytest.fixture
def flag_app(ctx):
    from labs import cleanup
    from labs.practices import appconfig

    app = appconfig.ensure_application(ctx, ctx.name("test-flags"), lab="test12")
    yield app
    cleanup.cleanup(ctx, services="appconfig", lab="test12")


def test_application_and_profile_are_created_once_and_versions_round_trip(ctx, flag_app):
    from labs.practices import appconfig

    again = appconfig.ensure_application(ctx, ctx.name("test-flags"), lab="test12")
    assert again == {**flag_app, "created": False}
    profile = appconfig.ensure_flag_profile(ctx, flag_app["Id"], "flags", lab="test12")
    assert profile["created"] and profile["Type"] == "AWS.AppConfig.FeatureFlags"
    same = appconfig.ensure_flag_profile(ctx, flag_app["Id"], "flags", lab="test12")
    assert same["Id"] == profile["Id"] and not same["created"]
    first = appconfig.put_flags(ctx, flag_app["Id"], profile["Id"], _doc())
    assert appconfig.get_flags(ctx, flag_app["Id"], profile["Id"], first) == _doc()
    with pytest.raises(FlagDocumentError):
        appconfig.put_flags(ctx, flag_app["Id"], profile["Id"], {"version": 1})
    second = appconfig.put_flags(ctx, flag_app["Id"], profile["Id"], _doc(), description="2")
    assert second == first + 1  # the invalid document was never uploaded


def test_the_emulator_probe_reports_what_moto_does(ctx, flag_app):
    from labs.practices import appconfig

    table = appconfig.emulator_support(ctx, flag_app["Id"]).set_index("api")["emulator"]
    assert table["GetApplication"] == "works"
    assert table["CreateHostedConfigurationVersion"] == "works"  # even for text that is not JSON
    for api in ("ListApplications", "CreateEnvironment", "StartDeployment",
                "appconfigdata StartConfigurationSession"):  # fmt: skip
        assert table[api].startswith("not implemented"), (api, table[api])
    profiles = ctx.client("appconfig").list_configuration_profiles(ApplicationId=flag_app["Id"])
    assert [p["Name"] for p in profiles["Items"]] == []  # the probe cleans up after itself


def test_a_profile_name_with_another_type_is_refused(ctx, flag_app):
    from labs.practices import appconfig

    ctx.client("appconfig").create_configuration_profile(
        ApplicationId=flag_app["Id"], Name="freeform", LocationUri="hosted",
        Type="AWS.Freeform",
    )  # fmt: skip
    with pytest.raises(InputError, match=r"AWS\.Freeform"):
        appconfig.ensure_flag_profile(ctx, flag_app["Id"], "freeform", lab="test12")


def test_variants_of_reads_a_flags_ordered_variants():
    assert flags.variants_of(_doc(), "checkout") == [
        ("premium", '(eq $plan "premium")'),
        ("experiment", "(split pct::50 by::$userId)"),
        ("control", None),
    ]
    with pytest.raises(FlagDocumentError, match="no variants"):
        flags.variants_of(_doc(), "recommendations")


# --------------------------------------------------------------------------------------------
# Exercise 1's check, graded both ways
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (None, "no answer yet"),
        (42, "a rule as a string"),
        ('(eq $plan "premium"', "does not parse"),
        ('(eq $plan "standard")', "for the context"),
        ('(contains $plan "premium")', "premium-trial"),
        ('(not (eq $plan "standard"))', "for the context {'userId': 'u000003'}"),
    ],
)
def test_premium_rule_check_fails_on_wrong_answers(answer, phrase):
    from labs.errors import CheckFailed
    from labs.practices import checks

    with pytest.raises(CheckFailed) as caught:
        checks.premium_rule(answer)
    assert phrase in str(caught.value)


def test_premium_rule_check_passes_on_right_answers(capsys):
    from labs.practices import abtest, checks

    users = abtest.bookstore_users(2000)
    for rule in ('(eq $plan "premium")', '(in $plan ["premium"])',
                 '(matches in::$plan pattern::"^premium$")'):  # fmt: skip
        checks.premium_rule(rule, users)
    assert capsys.readouterr().out.count("✔") == 3
