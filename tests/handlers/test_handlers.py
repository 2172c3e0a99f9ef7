"""Each Lambda handler on moto, invoked as Lambda invokes it."""

from __future__ import annotations

import hashlib
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


def test_intake_starts_one_execution_for_ids_that_differ_only_in_surrounding_whitespace(aws, functions):
    # given one order sent as "ws-1", then as " ws-1 " for another quantity
    first = order("ws-1", ("SKU-1", 1, "1.00"))
    again = order(" ws-1 ", ("SKU-1", 2, "1.00"))
    # when the intake takes both
    response, failed = functions.invoke("intake", sqs_event(first, again))
    # then both are acknowledged and one execution, named after the canonical id, carries the first
    assert not failed
    assert response == {"batchItemFailures": []}
    started = [name for name in executions(aws) if "ws-1" in name]
    assert started == ["ws-1"]


def test_intake_names_executions_step_functions_accepts_for_any_canonical_id(aws, functions):
    # given ids no execution name may hold as they are (the emulator refuses names as StartExecution does)
    ids = ["in/3", "in 3", "ïn-3", "名前-3", "x" * 80]
    response, failed = functions.invoke("intake", sqs_event(*(order(i, ("SKU-1", 1, "1.00")) for i in ids)))
    # then every one is started
    assert not failed
    assert response == {"batchItemFailures": []}
    started = executions(aws)
    inputs = {
        json.loads(aws.client("stepfunctions").describe_execution(executionArn=arn)["input"])["orderId"]
        for arn in started.values()
    }
    assert set(ids) <= inputs


def test_validate_order_records_the_canonical_order_id(aws, functions):
    response, failed = functions.invoke("validate_order", json.loads(order("  vo-3 ", ("SKU-1", 1, "2.50"))))
    assert not failed
    assert response["orderId"] == "vo-3"
    table = aws.resource("dynamodb").Table(functions.env("validate_order", "ORDERS_TABLE_NAME"))
    assert table.get_item(Key={"orderId": "vo-3"})["Item"]["status"] == "RECEIVED"
    assert "Item" not in table.get_item(Key={"orderId": "  vo-3 "})


def test_compensating_a_raw_message_keys_the_order_and_its_idempotency_record_canonically(aws, functions):
    # given the raw message of a failed validation, its id with surrounding whitespace
    raw = {
        **json.loads(order(" co-1 ", ("SKU-1", 0, "1.00"))),
        "error": {"Error": "OrderValidationError", "Cause": "{}"},
    }
    # when CompensateOrder runs for it, then again for the same order keyed canonically
    first, failed = functions.invoke("compensate_order", raw)
    again, _ = functions.invoke("compensate_order", {**raw, "orderId": "co-1"})
    # then the order is recorded once, under its canonical id, and the second call is answered from the
    # same idempotency record
    assert not failed
    assert first == again
    assert first["orderId"] == "co-1"
    orders = aws.resource("dynamodb").Table(functions.env("compensate_order", "ORDERS_TABLE_NAME"))
    assert orders.get_item(Key={"orderId": "co-1"})["Item"]["status"] == "REJECTED"
    idempotency = aws.resource("dynamodb").Table(functions.env("compensate_order", "IDEMPOTENCY_TABLE_NAME"))
    keys = [i["id"] for i in idempotency.scan()["Items"] if ".compensate_order." in i["id"]]
    assert sum(key.endswith(idempotency_hash("co-1")) for key in keys) == 1
    assert not any(key.endswith(idempotency_hash(" co-1 ")) for key in keys)


def idempotency_hash(order_id: str) -> str:
    """The hash Powertools keys an idempotency record by, for event_key_jmespath="orderId"."""
    return "#" + hashlib.md5(json.dumps(order_id).encode()).hexdigest()  # noqa: S324 - Powertools' own choice
