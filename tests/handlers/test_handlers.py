"""Each Lambda handler on moto, invoked as Lambda invokes it."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.workflow.conftest import order


def sqs_event(*bodies: str) -> dict:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:intake",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def executions(aws) -> dict[str, str]:
    sfn = aws.client("stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    return {
        e["name"]: e["executionArn"]
        for e in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    }


def test_intake_reports_only_unkeyable_messages_as_batch_failures(aws, functions):
    good = order("in-1", ("SKU-1", 1, "1.00"))
    response, failed = functions.invoke("intake", sqs_event(good, "not json", json.dumps({"orderId": 42})))
    assert not failed
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}
    described = aws.client("stepfunctions").describe_execution(executionArn=executions(aws)["in-1"])
    assert described["input"] == good


def test_intake_acknowledges_a_repeated_order_without_a_second_execution(aws, functions):
    first = order("in-2", ("SKU-1", 1, "1.00"))
    changed = order("in-2", ("SKU-1", 5, "1.00"))
    functions.invoke("intake", sqs_event(first))
    response, failed = functions.invoke("intake", sqs_event(changed))
    assert not failed
    assert response == {"batchItemFailures": []}
    assert list(executions(aws)).count("in-2") == 1


def test_validate_order_names_the_invalid_field(functions):
    raw = json.loads(order("vo-1", ("SKU-1", 1, "1.00")))
    raw["currency"] = "dollars"
    response, failed = functions.invoke("validate_order", raw)
    assert failed
    assert response["errorType"] == "OrderValidationError"
    assert response["errorMessage"].startswith("currency:")


def test_validate_order_records_the_order_as_received(aws, functions):
    response, failed = functions.invoke("validate_order", json.loads(order("vo-2", ("SKU-1", 3, "2.50"))))
    assert not failed
    assert response["order"]["total"] == "7.50"
    table = aws.resource("dynamodb").Table(functions.env("validate_order", "ORDERS_TABLE_NAME"))
    assert table.get_item(Key={"orderId": "vo-2"})["Item"]["status"] == "RECEIVED"


def test_payment_is_authorized_once_per_order(aws, functions):
    request = {"orderId": "pay-1", "amount": "12.00", "currency": "USD", "paymentToken": "tok_visa"}
    first, _ = functions.invoke("validate_payment", request)
    again, _ = functions.invoke("validate_payment", request)
    assert again["authorizationId"] == first["authorizationId"]
    ledger = aws.resource("dynamodb").Table(functions.env("validate_payment", "PAYMENTS_TABLE_NAME"))
    # the second call was answered from the idempotency store: the provider saw one attempt
    assert ledger.get_item(Key={"orderId": "pay-1"})["Item"]["attempts"] == 1


def test_payment_retry_with_a_different_amount_is_refused(functions):
    request = {"orderId": "pay-2", "amount": "12.00", "currency": "USD", "paymentToken": "tok_visa"}
    functions.invoke("validate_payment", request)
    response, failed = functions.invoke("validate_payment", {**request, "amount": "99.00"})
    assert failed
    assert response["errorType"] == "IdempotencyValidationError"


def test_retried_reservation_takes_the_stock_once(aws, functions):
    inventory = aws.resource("dynamodb").Table(functions.env("reserve_inventory", "INVENTORY_TABLE_NAME"))
    inventory.put_item(Item={"sku": "R-1", "warehouse": "warehouse-1", "available": 5})
    validated, _ = functions.invoke("validate_order", json.loads(order("res-1", ("R-1", 2, "1.00"))))
    stock = [{"warehouse": "warehouse-1", "available": {"R-1": 5}}]
    request = {"orderId": "res-1", "items": validated["order"]["items"], "stock": stock}
    first, _ = functions.invoke("reserve_inventory", request)
    again, _ = functions.invoke("reserve_inventory", request)
    assert again == first
    assert inventory.get_item(Key={"sku": "R-1", "warehouse": "warehouse-1"})["Item"]["available"] == 3


@pytest.mark.parametrize(
    ("token", "decision", "status"),
    [("not*base64", "approve", 400), ("dGFzaw", "maybe", 400), ("dW5rbm93bi10b2tlbg", "approve", 410)],
)
def test_approval_api_refuses_bad_or_stale_requests(functions, token, decision, status):
    event = {
        "resource": "/approvals/{token}/{decision}",
        "path": f"/approvals/{token}/{decision}",
        "httpMethod": "POST",
        "headers": {},
        "pathParameters": {"token": token, "decision": decision},
        "requestContext": {"identity": {"userArn": "arn:aws:iam::123456789012:user/a"}, "requestId": str(uuid.uuid4())},
        "body": None,
        "isBase64Encoded": False,
    }
    response, failed = functions.invoke("approval_api", event)
    assert not failed
    assert response["statusCode"] == status
