"""The emulator's costs that used to grow with a run (issue 13): each stays constant, and what it guards still holds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from localrun.emulator import Emulator
from localrun.template import REGION, Template, find_template


@pytest.fixture(scope="module")
def aws(dev_assembly: Path):
    name, body = find_template(dev_assembly, "AWS::StepFunctions::StateMachine")
    with Emulator(Template(body=body, stack_name=name)) as emulator:
        yield emulator


@pytest.fixture
def table(aws):
    name = "scale-items"
    client = aws.client("dynamodb")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(50):
        client.put_item(TableName=name, Item={"pk": {"S": f"p{n}"}, "sk": {"S": "s"}, "units": {"N": "5"}})
    yield name
    client.delete_table(TableName=name)


def _units(aws, table: str, pk: str) -> int | None:
    item = aws.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "s"}}).get("Item")
    return int(item["units"]["N"]) if item else None


def _take(table: str, pk: str, units: int) -> dict:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": "s"}},
            "UpdateExpression": "SET units = units - :n",
            "ConditionExpression": "units >= :n",
            "ExpressionAttributeValues": {":n": {"N": str(units)}},
        }
    }


def test_a_transaction_does_not_copy_the_tables_it_writes(aws, table, monkeypatch):
    from moto.dynamodb.models.table import Table

    def copied(self, memo):
        raise AssertionError(f"table {self.name} copied whole")

    monkeypatch.setattr(Table, "__deepcopy__", copied, raising=False)
    client = aws.client("dynamodb")
    client.transact_write_items(TransactItems=[_take(table, "p1", 2), _take(table, "p2", 1)])
    with pytest.raises(ClientError, match="TransactionCanceled"):
        client.transact_write_items(TransactItems=[_take(table, "p1", 1), _take(table, "p2", 9)])
    assert (_units(aws, table, "p1"), _units(aws, table, "p2")) == (3, 4)


def test_a_cancelled_transaction_leaves_every_item_it_named_as_it_was(aws, table):
    # given a transaction whose first two writes succeed (an update and a new item) and whose third fails its condition
    client = aws.client("dynamodb")
    new_item = {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}, "sk": {"S": "s"}, "units": {"N": "1"}}}}
    gone = {"Delete": {"TableName": table, "Key": {"pk": {"S": "p3"}, "sk": {"S": "s"}}}}
    with pytest.raises(ClientError, match="TransactionCanceled"):
        client.transact_write_items(TransactItems=[_take(table, "p1", 5), new_item, gone, _take(table, "p2", 6)])
    # then none of them happened: the stock is whole, the new item absent, the deleted one back
    assert [_units(aws, table, pk) for pk in ("p1", "p2", "p3", "new")] == [5, 5, 5, None]


def test_a_transaction_naming_one_item_twice_is_refused_and_undone(aws, table):
    client = aws.client("dynamodb")
    with pytest.raises(ClientError, match="ValidationException"):
        client.transact_write_items(TransactItems=[_take(table, "p4", 1), _take(table, "p4", 1)])
    assert _units(aws, table, "p4") == 5


def test_an_execution_once_found_is_not_searched_for_again(aws, monkeypatch):
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="scale-pass",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/local",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="scale-1")["executionArn"]
    deadline = time.monotonic() + 30
    while aws.execution_status(arn) == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.01)
    from moto.stepfunctions.models import StepFunctionBackend

    def scanned(*args, **kwargs):
        raise AssertionError("the executions were scanned again")

    # when every later lookup would have to scan the executions
    monkeypatch.setattr(StepFunctionBackend, "_get_state_machine_for_execution", scanned)
    # then status, history and DescribeExecution still answer
    assert aws.execution_status(arn) == "SUCCEEDED"
    assert aws.execution_events(arn)[-1]["type"] == "ExecutionSucceeded"
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_sns_signs_one_certificate_for_many_deliveries(aws):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="scale-topic")["TopicArn"]
    url = sqs.create_queue(QueueName="scale-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    keys = sns_backends[DEFAULT_ACCOUNT_ID][REGION]._message_public_keys
    before = set(keys)
    for n in range(3):
        sns.publish(TopicArn=topic, Message=f"m{n}")
    delivered = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    # every delivery is still a signed envelope, each message its own signature, all under one certificate
    assert sorted(d["Message"] for d in delivered) == ["m0", "m1", "m2"]
    assert len({d["Signature"] for d in delivered}) == 3
    assert len({keys[name] for name in set(keys) - before}) == 1
