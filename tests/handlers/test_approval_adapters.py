"""Approvals on the stack's own resources (moto): the order marked as waiting in the orders table, the message
approvers receive from the approval topic, and the callbacks that resume the waiting task."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.stub import Stubber
from order_domain import services
from order_domain.adapters.dynamodb import DynamoDBOrders
from order_domain.adapters.messaging import SnsApprovalRequests, StepFunctionsCallbacks
from order_domain.models import OrderStatus
from order_domain.rules import encode_task_token, parse_order

from tests.handlers.test_dynamodb_adapters import LATER, NOW, Tables

API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"


@pytest.fixture(scope="module")
def tables(aws, functions) -> Tables:
    return Tables(aws, functions)


@pytest.fixture(scope="module")
def approvers(aws, functions) -> Any:
    """A queue subscribed to the stack's approval topic: what an approver's mailbox would receive."""
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="approver-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic_arn = functions.env("request_approval", "APPROVAL_TOPIC_ARN")
    aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    return received


def reserved(tables: Tables, order_id: str, *, total: str = "12500.00") -> Any:
    """An order recorded as RESERVED (as ReserveInventory leaves it), priced at `total`."""
    raw = {
        "orderId": order_id,
        "customerId": "c-9",
        "currency": "USD",
        "items": [{"sku": "GOLD", "quantity": 1, "unitPrice": total}],
        "payment": {"token": "tok_visa"},
    }
    order = parse_order(raw, Decimal("10000"), 900)
    orders = DynamoDBOrders(tables.orders)
    orders.create_received(order, NOW)
    assert orders.advance(order_id, OrderStatus.RESERVED, {OrderStatus.RECEIVED}, NOW)
    return order


# ---- the order waits -----------------------------------------------------------------------------------


def test_an_order_moves_on_only_from_a_status_it_is_expected_in(tables):
    # given an order just received
    order = reserved(tables, "adv-1")
    orders = DynamoDBOrders(tables.orders)
    # when it is moved from a status it is not in, then nothing changes
    assert not orders.advance("adv-1", OrderStatus.AWAITING_APPROVAL, {OrderStatus.RECEIVED}, LATER)
    assert tables.order("adv-1")["status"] == OrderStatus.RESERVED
    # when it is moved from one of the statuses it may be in, then it moves, and its history says when
    assert orders.advance("adv-1", OrderStatus.AWAITING_APPROVAL, {OrderStatus.RECEIVED, OrderStatus.RESERVED}, LATER)
    stored = tables.order("adv-1")
    assert stored["status"] == OrderStatus.AWAITING_APPROVAL
    assert stored["updatedAt"] == LATER
    assert stored["history"] == [
        {"status": "RECEIVED", "at": NOW},
        {"status": "RESERVED", "at": NOW},
        {"status": "AWAITING_APPROVAL", "at": LATER},
    ]
    assert stored["total"] == order.total


def test_an_order_that_was_never_recorded_is_not_moved_nor_created(tables):
    orders = DynamoDBOrders(tables.orders)
    assert not orders.advance("adv-404", OrderStatus.AWAITING_APPROVAL, {OrderStatus.RESERVED}, NOW)
    assert orders.get("adv-404") is None


def test_a_refusal_other_than_the_status_condition_fails_the_step(aws):
    missing = DynamoDBOrders(aws.resource("dynamodb").Table("no-such-table"))
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        missing.advance("adv-1", OrderStatus.AWAITING_APPROVAL, {OrderStatus.RESERVED}, NOW)


# ---- approvers are asked -------------------------------------------------------------------------------


def test_approvers_receive_the_order_the_links_and_how_to_answer(aws, functions, tables, approvers):
    # given a reserved high-value order
    order = reserved(tables, "apr-1")
    topic_arn = functions.env("request_approval", "APPROVAL_TOPIC_ARN")
    # when WaitForApproval requests a decision
    services.request_approval(
        order,
        "task/token+1==",
        api_url=API_URL,
        orders=DynamoDBOrders(tables.orders),
        approvals=SnsApprovalRequests(aws.client("sns"), topic_arn),
        now=LATER,
    )
    # then the order waits for approval from now on
    stored = tables.order("apr-1")
    assert (stored["status"], stored["history"][-1]) == (
        "AWAITING_APPROVAL",
        {"status": "AWAITING_APPROVAL", "at": LATER},
    )
    # and approvers get one message: the order, links that answer the task, the time they have, how to answer
    (envelope,) = approvers()
    token = encode_task_token("task/token+1==")
    assert envelope["Subject"] == "Approval needed: order apr-1 (USD 12500.00)"
    assert envelope["MessageAttributes"] == {"orderId": {"Type": "String", "Value": "apr-1"}}
    assert json.loads(envelope["Message"]) == {
        "orderId": "apr-1",
        "customerId": "c-9",
        "total": "12500.00",
        "currency": "USD",
        "items": [{"sku": "GOLD", "quantity": 1, "unitPrice": "12500.00"}],
        "approveUrl": f"{API_URL}approvals/{token}/approve",
        "rejectUrl": f"{API_URL}approvals/{token}/reject",
        "expiresInSeconds": 900,
        "howTo": 'POST to approveUrl or rejectUrl with SigV4 (IAM) credentials; optional body {"comment": "..."}',
    }


def test_the_subject_is_cut_to_the_100_characters_email_allows(aws, functions, tables, approvers):
    # given an order whose id is as long as an id may be (80 characters)
    order = reserved(tables, "x" * 80)
    approvals = SnsApprovalRequests(aws.client("sns"), functions.env("request_approval", "APPROVAL_TOPIC_ARN"))
    approvals.send(order, "https://a/approve", "https://a/reject", 900)
    (envelope,) = approvers()
    assert envelope["Subject"] == f"Approval needed: order {'x' * 80} (USD 12500.00)"[:100]
    assert len(envelope["Subject"]) == 100


# ---- the decision resumes the task ---------------------------------------------------------------------


def stubbed_step_functions(aws) -> tuple[Any, Stubber]:
    client = aws.client("stepfunctions")
    return client, Stubber(client)


def test_an_approval_resumes_the_task_with_the_decision_as_its_output(aws):
    client, stub = stubbed_step_functions(aws)
    output = {"decision": "APPROVED", "approver": "arn:aws:iam::123456789012:user/alice", "comment": None}
    stub.add_response("send_task_success", {}, {"taskToken": "task/token+1==", "output": json.dumps(output)})
    with stub:
        StepFunctionsCallbacks(client).succeed("task/token+1==", output)
    stub.assert_no_pending_responses()


def test_a_rejection_fails_the_task_with_the_error_and_its_cause(aws):
    client, stub = stubbed_step_functions(aws)
    expected = {"taskToken": "task/token+1==", "error": "ApprovalRejected", "cause": "rejected by bob: too big"}
    stub.add_response("send_task_failure", {}, expected)
    with stub:
        StepFunctionsCallbacks(client).fail("task/token+1==", "ApprovalRejected", "rejected by bob: too big")
    stub.assert_no_pending_responses()
