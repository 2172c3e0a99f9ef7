"""The emulator's own guarantees, which the workflow tests rely on."""

from __future__ import annotations

import json
import sys
import threading
import time
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


# ---- AWS's payload rules, applied locally ------------------------------------------------------------------

MIB = 1_048_576


@pytest.fixture(scope="module")
def queue(aws) -> str:
    """A queue with SQS's default MaximumMessageSize (1 MiB)."""
    return aws.client("sqs").create_queue(QueueName="payload-limits")["QueueUrl"]


def refusal(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_sqs_accepts_a_message_of_exactly_the_queue_limit(aws, queue):
    # given a body of exactly 1 MiB of UTF-8
    body = "x" * MIB
    # when it is sent, then SQS takes it
    assert aws.client("sqs").send_message(QueueUrl=queue, MessageBody=body)["MessageId"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("x" * (MIB + 1), id="one byte over"),
        # fewer characters than the limit, more bytes: moto alone counts characters and accepts it
        pytest.param("é" * (MIB // 2 + 1), id="two-byte characters"),
    ],
)
def test_sqs_refuses_a_message_over_the_queue_limit_in_utf8_bytes(aws, queue, body):
    code, message = refusal(lambda: aws.client("sqs").send_message(QueueUrl=queue, MessageBody=body))
    assert code == "InvalidParameterValue"
    assert f"shorter than {MIB} bytes" in message


def test_sqs_refuses_characters_outside_its_allowed_set(aws, queue):
    # given a JSON body holding U+FFFE (valid JSON, not a character SQS accepts)
    code, message = refusal(
        lambda: aws.client("sqs").send_message(QueueUrl=queue, MessageBody='{"orderId": "a\ufffe"}')
    )
    assert code == "InvalidMessageContents"
    assert "#xFFFE" in message


@pytest.fixture(scope="module")
def pass_machine(aws):
    """A one-state machine whose output is whatever its input is, for the Step Functions limits."""

    def create(name: str, definition: dict) -> str:
        return aws.client("stepfunctions").create_state_machine(
            name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/local"
        )["stateMachineArn"]

    return create("payload-limits", {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}), create


def finished(aws, execution_arn: str) -> str:
    deadline = time.monotonic() + 30
    while (status := aws.execution_status(execution_arn)) == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.01)
    return status


def json_of_size(size: int) -> str:
    """A JSON string literal of exactly `size` UTF-8 bytes."""
    return json.dumps("x" * (size - 2))


def test_step_functions_accepts_an_execution_input_of_exactly_256_kib(aws, pass_machine):
    arn, _ = pass_machine
    started = aws.client("stepfunctions").start_execution(stateMachineArn=arn, input=json_of_size(262_144))
    assert finished(aws, started["executionArn"]) == "SUCCEEDED"


def test_step_functions_refuses_an_execution_input_over_256_kib(aws, pass_machine):
    arn, _ = pass_machine
    code, message = refusal(
        lambda: aws.client("stepfunctions").start_execution(stateMachineArn=arn, input=json_of_size(262_145))
    )
    assert code == "ValidationException"
    assert "262144" in message


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("x" * 81, "ValidationException"),
        ("o-1 ", "InvalidName"),
        ("a/b", "InvalidName"),
        ("a\u0085b", "InvalidName"),
        ("a\ufffeb", "InvalidName"),
        ("a{b}", "InvalidName"),
    ],
)
def test_step_functions_refuses_execution_names_aws_refuses(aws, pass_machine, name, code):
    arn, _ = pass_machine
    assert refusal(lambda: aws.client("stepfunctions").start_execution(stateMachineArn=arn, name=name))[0] == code


def test_a_state_may_output_exactly_256_kib_and_no_more(aws, pass_machine):
    # given a Pass state whose result is a string of exactly the limit, and one a byte over
    _, create = pass_machine

    def run(size: int) -> tuple[str, list[str]]:
        arn = create(
            f"output-{size}",
            {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": "x" * (size - 2), "End": True}}},
        )
        execution = aws.client("stepfunctions").start_execution(stateMachineArn=arn)["executionArn"]
        status = finished(aws, execution)
        errors = [
            e.get("executionFailedEventDetails", {}).get("error")
            for e in aws.execution_events(execution)
            if e["type"] == "ExecutionFailed"
        ]
        return status, errors

    # then the first succeeds and the second fails the execution with States.DataLimitExceeded
    assert run(262_144) == ("SUCCEEDED", [])
    assert run(262_145) == ("FAILED", ["States.DataLimitExceeded"])


def test_a_queue_keeps_the_maximum_message_size_its_template_sets(aws):
    # given a queue resource limited to 2 KiB, created as the emulator creates the template's queues
    aws.template.resources["LimitedQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"MaximumMessageSize": 2048}}
    aws.template._ensure("LimitedQueue")
    url = aws.template.resolve({"Ref": "LimitedQueue"})
    sqs = aws.client("sqs")
    # when a message one byte over is sent, then SQS refuses it; at the limit it is taken
    code, message = refusal(lambda: sqs.send_message(QueueUrl=url, MessageBody="x" * 2049))
    assert code == "InvalidParameterValue"
    assert message.endswith("shorter than 2048 bytes.")
    assert sqs.send_message(QueueUrl=url, MessageBody="x" * 2048)["MessageId"]
