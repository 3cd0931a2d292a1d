"""The template loader (YAML short forms → long JSON forms) and the intrinsic-function evaluator."""

from __future__ import annotations

import json

import pytest

from labs.iac import intrinsics, samples, templates
from labs.iac.errors import TemplateError
from labs.iac.intrinsics import NO_VALUE, UNRESOLVED, Scope


def _load(body: str) -> dict:
    return templates.load("Resources:\n  R:\n    Type: AWS::SQS::Queue\n" + body)


def test_short_forms_become_long_forms() -> None:
    tpl = templates.load(
        """
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-q"
      DelaySeconds: !If [IsProd, 5, !Ref "AWS::NoValue"]
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DLQ.Arn
        maxReceiveCount: !Select [0, !Split [",", "3,4"]]
      Tags:
        - Key: joined
          Value: !Join ["-", [a, !FindInMap [M, k, v]]]
        - Key: encoded
          Value: !Base64 text
  DLQ:
    Type: AWS::SQS::Queue
Outputs:
  Imported:
    Value:
      Fn::ImportValue: !Sub "${Env}-x"
"""
    )
    assert tpl["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, not a date
    assert tpl["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Env"}, "prod"]}
    assert tpl["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    props = tpl["Resources"]["Q"]["Properties"]
    assert props["QueueName"] == {"Fn::Sub": "${AWS::StackName}-q"}
    assert props["DelaySeconds"] == {"Fn::If": ["IsProd", 5, {"Ref": "AWS::NoValue"}]}
    assert props["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DLQ", "Arn"]}
    assert props["RedrivePolicy"]["maxReceiveCount"] == {
        "Fn::Select": [0, {"Fn::Split": [",", "3,4"]}]
    }
    assert props["Tags"][0]["Value"] == {
        "Fn::Join": ["-", ["a", {"Fn::FindInMap": ["M", "k", "v"]}]]
    }
    assert props["Tags"][1]["Value"] == {"Fn::Base64": "text"}
    assert tpl["Outputs"]["Imported"]["Value"] == {"Fn::ImportValue": {"Fn::Sub": "${Env}-x"}}


def test_get_att_splits_at_the_first_dot_and_accepts_a_list() -> None:
    props = _load(
        "    Properties:\n      A: !GetAtt Db.Endpoint.Address\n      B: !GetAtt [Q, Arn]\n"
    )["Resources"]["R"]["Properties"]
    assert props["A"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert props["B"] == {"Fn::GetAtt": ["Q", "Arn"]}


def test_every_short_form_has_a_long_form() -> None:
    for tag, long in templates.SHORT_FORMS.items():
        if tag in ("!Ref", "!Condition", "!GetAtt"):
            continue
        props = _load(f"    Properties:\n      X: {tag} [a, b]\n")["Resources"]["R"]["Properties"]
        assert props["X"] == {long: ["a", "b"]}, tag


def test_json_templates_load_too() -> None:
    tpl = templates.load(json.dumps({"Resources": {"R": {"Type": "AWS::SNS::Topic"}}}))
    assert templates.resources(tpl) == {"R": "AWS::SNS::Topic"}


def test_a_dict_is_copied() -> None:
    original = {"Resources": {"R": {"Type": "AWS::SNS::Topic", "Properties": {"A": 1}}}}
    copy = templates.load(original)
    copy["Resources"]["R"]["Properties"]["A"] = 2
    assert original["Resources"]["R"]["Properties"]["A"] == 1


def test_bad_yaml_names_the_line() -> None:
    with pytest.raises(TemplateError) as raised:
        templates.load("Resources:\n  R:\n    Type: AWS::SQS::Queue\n    Properties: [\n")
    assert "line 5" in str(raised.value) or "line 4" in str(raised.value)
    assert "not valid YAML" in str(raised.value)


def test_tabs_are_explained() -> None:
    with pytest.raises(TemplateError, match="never tabs"):
        templates.load("Resources:\n  R:\n\tType: AWS::SQS::Queue\n")


def test_a_duplicate_key_is_an_error_naming_both_lines() -> None:
    text = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n  Q:\n    Type: AWS::SNS::Topic\n"
    with pytest.raises(TemplateError) as raised:
        templates.load(text, name="dup.yaml")
    message = str(raised.value)
    assert "dup.yaml, line 4" in message and "first on line 2" in message


def test_an_unknown_tag_suggests_the_right_one() -> None:
    with pytest.raises(TemplateError) as raised:
        _load("    Properties:\n      X: !Reff Y\n")
    assert "line 5" in str(raised.value) and "!Ref" in str(raised.value.hint)


def test_get_att_without_an_attribute_is_an_error() -> None:
    with pytest.raises(TemplateError, match=r"Resource\.Attribute"):
        _load("    Properties:\n      X: !GetAtt Queue\n")


def test_shape_errors() -> None:
    with pytest.raises(TemplateError, match="Unknown top-level section 'Resource'"):
        templates.load("Resource:\n  R:\n    Type: AWS::SQS::Queue\n")
    with pytest.raises(TemplateError, match="'Resources' section"):
        templates.load("Description: nothing\n")
    with pytest.raises(TemplateError, match="has no 'Type'"):
        templates.load("Resources:\n  R:\n    Properties: {}\n")
    with pytest.raises(TemplateError, match="not valid JSON"):
        templates.load('{"Resources": ')


def test_numbered_shows_line_numbers() -> None:
    text = templates.numbered(samples.PAYMENTS_WITH_MISTAKES, start=8, end=9)
    assert text.splitlines() == [
        "8 |       QueueName: labs-bookstore-payments",
        "9 |       VisibilityTimout: 60",
    ]


def test_samples_load() -> None:
    data = templates.load(samples.BOOKSTORE_DATA)
    assert len(data["Resources"]) == 10
    assert templates.load(samples.BOOKSTORE_APP)["Parameters"]["DataStack"]["Type"] == "String"


# ---------------------------------------------------------------------------------------------
# Intrinsic functions and conditions
# ---------------------------------------------------------------------------------------------


def _scope(**kwargs) -> Scope:
    return Scope(
        parameters={"Env": "dev", "Subnets": ["a", "b"]},
        mappings={"M": {"dev": {"Days": 7}}},
        stack_name="s",
        ref=lambda lid: f"phys-{lid}",
        get_att=lambda lid, attr: f"{lid}.{attr}",
        **kwargs,
    )


def test_resolve_functions() -> None:
    scope = _scope()
    assert intrinsics.resolve(
        {"Fn::Sub": "${Env}-${AWS::Region}-${Q}-${Q.Arn}-${!Lit}"}, scope
    ) == ("dev-us-east-1-phys-Q-Q.Arn-${Lit}")
    assert intrinsics.resolve({"Fn::Sub": ["${X}/${Env}", {"X": {"Ref": "Q"}}]}, scope) == (
        "phys-Q/dev"
    )
    assert intrinsics.resolve({"Fn::Join": [",", {"Ref": "Subnets"}]}, scope) == "a,b"
    assert intrinsics.resolve({"Fn::Select": [1, {"Ref": "Subnets"}]}, scope) == "b"
    assert intrinsics.resolve({"Fn::FindInMap": ["M", {"Ref": "Env"}, "Days"]}, scope) == 7
    assert (
        intrinsics.resolve({"Fn::FindInMap": ["M", "prod", "Days", {"DefaultValue": 30}]}, scope)
        == 30
    )
    assert intrinsics.resolve({"Fn::GetAZs": ""}, scope) == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]
    assert intrinsics.resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, scope) is UNRESOLVED
    assert intrinsics.resolve({"Fn::ImportValue": "x"}, scope) is UNRESOLVED


def test_no_value_removes_a_property_and_if_picks_a_branch() -> None:
    scope = _scope(conditions={"IsProd": False})
    value = {
        "A": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
        "B": [{"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}, "y"],
        "C": {"Fn::If": ["IsProd", 1, 2]},
    }
    assert intrinsics.resolve(value, scope) == {"B": ["y"], "C": 2}
    assert intrinsics.resolve({"Ref": "AWS::NoValue"}, scope) is NO_VALUE


def test_conditions_and_active_resources() -> None:
    tpl = templates.load(samples.BOOKSTORE_DATA)
    for env, expected in (("dev", False), ("prod", True)):
        scope = Scope(parameters=intrinsics.parameter_values(tpl, {"Env": env}))
        conditions = intrinsics.condition_values(tpl, scope)
        assert conditions == {"IsProd": expected}
        assert ("AuditLogGroup" in intrinsics.active_resources(tpl, conditions)) is expected


def test_nested_conditions() -> None:
    tpl = {
        "Parameters": {"A": {"Type": "String"}, "B": {"Type": "String"}},
        "Conditions": {
            "IsA": {"Fn::Equals": [{"Ref": "A"}, "yes"]},
            "Both": {"Fn::And": [{"Condition": "IsA"}, {"Fn::Equals": [{"Ref": "B"}, "yes"]}]},
            "Either": {"Fn::Or": [{"Condition": "IsA"}, {"Fn::Equals": [{"Ref": "B"}, "yes"]}]},
        },
        "Resources": {"R": {"Type": "AWS::SNS::Topic"}},
    }
    scope = Scope(parameters=intrinsics.parameter_values(tpl, {"A": "no", "B": "yes"}))
    assert intrinsics.condition_values(tpl, scope) == {"IsA": False, "Both": False, "Either": True}


def test_parameter_errors_are_for_people() -> None:
    tpl = templates.load(samples.BOOKSTORE_DATA)
    with pytest.raises(TemplateError, match="not one of its AllowedValues"):
        intrinsics.parameter_values(tpl, {"Env": "staging"})
    with pytest.raises(TemplateError, match="not declared"):
        intrinsics.parameter_values(tpl, {"Stage": "dev"})
    with pytest.raises(TemplateError, match="no value and no Default"):
        intrinsics.parameter_values(templates.load(samples.BOOKSTORE_APP), {})


def test_references_finds_resources_not_parameters() -> None:
    ids = frozenset({"Q", "T"})
    value = {
        "A": {"Ref": "Q"},
        "B": {"Fn::GetAtt": ["T", "TopicName"]},
        "C": {"Fn::Sub": "${Env}-${Q.Arn}-${!T}"},
        "D": {"Ref": "Env"},
    }
    assert intrinsics.references(value, ids) == {("Q", "Ref"), ("T", "TopicName"), ("Q", "Arn")}
