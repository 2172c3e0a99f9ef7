"""The emulator's own guarantees, which the workflow tests rely on."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from localrun.emulator import Emulator
from localrun.template import Template, TemplateError, find_template, substitute_definition


@pytest.fixture(scope="module")
def aws(dev_assembly: Path):
    name, body = find_template(dev_assembly, "AWS::StepFunctions::StateMachine")
    with Emulator(Template(body=body, stack_name=name)) as emulator:
        yield emulator


def test_conditional_writes_are_atomic_across_threads(aws):
    # given one item with 100 units and 8 threads racing conditional decrements
    table_name = next(
        f.environment["INVENTORY_TABLE_NAME"] for f in aws.functions.values() if "INVENTORY_TABLE_NAME" in f.environment
    )
    table = aws.resource("dynamodb").Table(table_name)
    table.put_item(Item={"sku": "RACE", "warehouse": "w", "available": 100})
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to expose check-then-write races
    successes, refusals = [], []

    def take() -> None:
        client = aws.client("dynamodb")
        for _ in range(40):
            try:
                client.update_item(
                    TableName=table_name,
                    Key={"sku": {"S": "RACE"}, "warehouse": {"S": "w"}},
                    UpdateExpression="SET available = available - :one",
                    ConditionExpression="available >= :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
                successes.append(1)
            except ClientError as exc:
                refusals.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=take) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    # then exactly the stock was sold, never more
    assert len(successes) == 100
    assert set(refusals) == {"ConditionalCheckFailedException"}
    assert table.get_item(Key={"sku": "RACE", "warehouse": "w"})["Item"]["available"] == 0


def test_missing_assembly_says_to_synth(tmp_path):
    with pytest.raises(TemplateError, match="make synth"):
        find_template(tmp_path / "nowhere", "AWS::StepFunctions::StateMachine")


def test_unfilled_placeholder_is_an_error():
    with pytest.raises(TemplateError, match="Missing"):
        substitute_definition('{"Resource": "${Missing}"}', {})


def test_requests_are_recorded_for_the_handler_that_made_them(aws):
    # given the warehouse check's function, and a request made outside any handler
    function = aws.function_for("check_warehouse")
    aws.client("sqs").list_queues()
    # when the function runs
    payload, error = aws.invoke(
        function, json.dumps({"warehouse": "warehouse-1", "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": "1"}]})
    )
    # then only its DynamoDB reads are recorded (in on-demand read units), and the invocation with them
    assert not error, payload
    assert aws.api_calls
    assert {(c.function, c.service) for c in aws.api_calls} == {(function, "dynamodb")}
    assert sum(c.read_units for c in aws.api_calls) > 0
    assert [i.function for i in aws.invocations] == [function]
