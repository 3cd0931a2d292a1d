"""The change-set preview: Add/Modify/Remove and Replacement True/Conditional/False, offline."""

from __future__ import annotations

import copy

from labs.iac import changesets, samples, templates
from labs.iac.changesets import CHANGE_COLUMNS, preview, replacement_of


def _base() -> dict:
    return templates.load(samples.BOOKSTORE_DATA)


def _row(frame, logical_id):
    rows = frame[frame["logical_id"] == logical_id]
    assert len(rows) == 1, frame
    return rows.iloc[0]


def test_no_change_no_rows() -> None:
    frame = preview(_base(), _base())
    assert list(frame.columns) == CHANGE_COLUMNS and frame.empty


def test_a_create_only_property_replaces_and_others_do_not() -> None:
    new = _base()
    new["Resources"]["BooksTable"]["Properties"]["TableName"] = "labs-other"
    new["Resources"]["AlertsTopic"]["Properties"]["DisplayName"] = "Renamed"
    frame = preview(_base(), new)
    table, topic = _row(frame, "BooksTable"), _row(frame, "AlertsTopic")
    assert (table["action"], table["replacement"]) == ("Modify", "True")
    assert table["properties"] == "TableName (replaced)"
    assert (topic["action"], topic["replacement"], topic["scope"]) == (
        "Modify",
        "False",
        "Properties",
    )
    detail = table["details"][0]
    assert detail["Target"] == {
        "Attribute": "Properties",
        "Name": "TableName",
        "RequiresRecreation": "Always",
    }
    assert detail["Evaluation"] == "Static" and detail["ChangeSource"] == "DirectModification"


def test_dependents_of_a_replaced_resource_get_dynamic_details() -> None:
    new = _base()
    new["Resources"]["OrdersQueue"]["Properties"]["QueueName"] = "labs-orders-v2"
    frame = preview(_base(), new)
    assert _row(frame, "OrdersQueue")["replacement"] == "True"
    parameter = _row(frame, "OrdersQueueUrlParameter")  # Value: !Ref OrdersQueue
    assert parameter["replacement"] == "False"
    assert parameter["details"][0]["Evaluation"] == "Dynamic"
    assert parameter["details"][0]["ChangeSource"] == "ResourceReference"
    assert parameter["details"][0]["CausingEntity"] == "OrdersQueue"
    role = _row(frame, "ServiceRole")  # Resource: !GetAtt OrdersQueue.Arn
    assert role["details"][0]["ChangeSource"] == "ResourceAttribute"
    assert role["details"][0]["CausingEntity"] == "OrdersQueue.Arn"


def test_a_create_only_property_fed_by_a_replaced_resource_is_conditional() -> None:
    old = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "a"}},
            "Param": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": {"Fn::Sub": "/x/${Topic.TopicName}"},
                    "Type": "String",
                    "Value": "v",
                },
            },
        }
    }
    new = copy.deepcopy(old)
    new["Resources"]["Topic"]["Properties"]["TopicName"] = "b"
    frame = preview(old, new)
    assert _row(frame, "Topic")["replacement"] == "True"
    assert _row(frame, "Param")["replacement"] == "Conditional"


def test_add_and_remove() -> None:
    new = _base()
    del new["Resources"]["AlertsTopic"]
    new["Resources"]["QueueDepthAlarm"]["Properties"]["AlarmActions"] = []
    new["Resources"]["Extra"] = {"Type": "AWS::SNS::Topic"}
    frame = preview(_base(), new)
    assert _row(frame, "Extra")["action"] == "Add"
    assert _row(frame, "Extra")["replacement"] == ""
    assert _row(frame, "AlertsTopic")["action"] == "Remove"
    assert frame.iloc[-1]["action"] == "Remove"  # removals are listed last


def test_parameter_changes_and_conditions() -> None:
    frame = preview(_base(), _base(), old_parameters={"Env": "dev"}, new_parameters={"Env": "prod"})
    assert _row(frame, "AuditLogGroup")["action"] == "Add"  # condition IsProd now holds
    table = _row(frame, "BooksTable")
    assert table["replacement"] == "True"  # its name contains ${Env}
    assert table["details"][0]["ChangeSource"] == "ParameterReference"
    assert table["details"][0]["CausingEntity"] == "Env"


def test_tags_are_their_own_scope() -> None:
    new = _base()
    new["Resources"]["ArtifactsBucket"]["Properties"]["Tags"].append({"Key": "k", "Value": "v"})
    row = _row(preview(_base(), new), "ArtifactsBucket")
    assert (row["scope"], row["replacement"]) == ("Tags", "False")


def test_replacement_of_takes_the_change_with_most_impact() -> None:
    def detail(recreation: str, evaluation: str) -> dict:
        return {"Target": {"RequiresRecreation": recreation}, "Evaluation": evaluation}

    assert replacement_of([detail("Never", "Static")]) == "False"
    assert replacement_of([detail("Never", "Static"), detail("Always", "Dynamic")]) == "Conditional"
    assert replacement_of([detail("Conditionally", "Static")]) == "Conditional"
    assert replacement_of([detail("Always", "Dynamic"), detail("Always", "Static")]) == "True"


def test_from_aws_gives_the_same_frame() -> None:
    changes = [
        {
            "Type": "Resource",
            "ResourceChange": {
                "Action": "Modify",
                "LogicalResourceId": "BooksTable",
                "PhysicalResourceId": "t",
                "ResourceType": "AWS::DynamoDB::Table",
                "Replacement": "True",
                "Scope": ["Properties"],
                "Details": [
                    {
                        "Target": {
                            "Attribute": "Properties",
                            "Name": "TableName",
                            "RequiresRecreation": "Always",
                        },
                        "Evaluation": "Static",
                        "ChangeSource": "DirectModification",
                    }
                ],
            },
        }
    ]
    frame = changesets.from_aws(changes)
    assert list(frame.columns) == CHANGE_COLUMNS
    assert frame.iloc[0][["action", "replacement", "properties"]].tolist() == [
        "Modify",
        "True",
        "TableName (replaced)",
    ]
    table = changesets.details_table(frame)
    assert table.iloc[0][["property", "requires_recreation", "evaluation"]].tolist() == [
        "TableName",
        "Always",
        "Static",
    ]
