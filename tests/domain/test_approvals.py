"""Approvals without AWS: the task token in the approval links, the approver's decision, and what resumes the
waiting task."""

import random
import re

import pytest
from order_domain import services
from order_domain.errors import InvalidApprovalRequest
from order_domain.models import OrderStatus
from order_domain.rules import decode_task_token, encode_task_token, parse_decision, parse_order

from tests.fakes import FakeOrders, RecordingCallbacks

NOW = "2026-01-01T00:00:00.000+00:00"
URL_SAFE = re.compile(r"[A-Za-z0-9_-]*")


def random_tokens(count: int, seed: int = 10) -> list[str]:
    """Tokens of every length from 1 to 64 (every base64 remainder; Step Functions never issues an empty one), of
    its characters and beyond."""
    rng = random.Random(seed)
    alphabet = "AWZawz09+/=-_.~ é名😀"  # "W" last in a 3-byte group encodes as "X"
    return ["".join(rng.choice(alphabet) for _ in range(n % 64 + 1)) for n in range(count)]


def test_every_task_token_survives_the_approval_link():
    for token in random_tokens(400):
        # when a token is put in an approval URL and read back from it
        encoded = encode_task_token(token)
        # then the URL segment holds only unreserved characters, no padding, and gives the token back exactly
        assert URL_SAFE.fullmatch(encoded), token
        assert decode_task_token(encoded) == token


@pytest.mark.parametrize("segment", ["", "ab+c", "ab/c", "YWI=", "a b", "tok%2B"])
def test_a_segment_that_is_not_base64url_is_refused_as_such(segment):
    # "ab+c" and "YWI=" would decode as standard base64; the links never carry '+', '/' or '='
    with pytest.raises(InvalidApprovalRequest, match=r"^token is not a base64url string$"):
        decode_task_token(segment)


@pytest.mark.parametrize("segment", ["A", "AAAAA", "_w", "gICA"])
def test_a_base64url_segment_that_is_not_a_token_is_refused_as_such(segment):
    # a length no base64 text has, or bytes that are not UTF-8 text
    with pytest.raises(InvalidApprovalRequest, match=r"^token is not a valid approval token$"):
        decode_task_token(segment)


@pytest.mark.parametrize(("decision", "approved"), [("approve", True), ("reject", False)])
def test_the_two_decisions(decision, approved):
    assert parse_decision(decision) is approved


@pytest.mark.parametrize("decision", ["Approve", "APPROVE", "approved", "yes", ""])
def test_any_other_decision_is_refused_naming_the_two(decision):
    with pytest.raises(InvalidApprovalRequest, match=r"^decision must be one of approve, reject$"):
        parse_decision(decision)


@pytest.mark.parametrize("comment", ["looks fine", None])
def test_an_approval_resumes_the_task_with_the_decision_the_approver_and_the_comment(comment):
    callbacks = RecordingCallbacks()
    token = encode_task_token("task/token+1==")
    answer = services.answer_approval(token, "approve", approver="alice", comment=comment, callbacks=callbacks)
    assert answer == "APPROVED"
    assert callbacks.calls == [
        ("success", "task/token+1==", {"decision": "APPROVED", "approver": "alice", "comment": comment})
    ]


@pytest.mark.parametrize(("comment", "reason"), [("too big", "rejected by bob: too big"), (None, "rejected by bob")])
def test_a_rejection_fails_the_task_as_approval_rejected_saying_who_and_why(comment, reason):
    callbacks = RecordingCallbacks()
    answer = services.answer_approval(
        encode_task_token("t-1"), "reject", approver="bob", comment=comment, callbacks=callbacks
    )
    assert answer == "REJECTED"
    assert callbacks.calls == [("failure", "t-1", ("ApprovalRejected", reason))]


def test_a_refused_decision_resumes_nothing():
    callbacks = RecordingCallbacks()
    with pytest.raises(InvalidApprovalRequest):
        services.answer_approval(encode_task_token("t-1"), "maybe", approver="bob", comment=None, callbacks=callbacks)
    assert callbacks.calls == []


class Approvers:
    """Records every approval request as the approvers would receive it."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, order, approve_url: str, reject_url: str, timeout_seconds: int) -> None:
        self.sent.append(
            {"orderId": order.orderId, "approve": approve_url, "reject": reject_url, "within": timeout_seconds}
        )


@pytest.mark.parametrize("api_url", ["https://api.example/prod", "https://api.example/prod/"])
def test_approvers_get_links_under_the_api_url_and_the_time_they_have(api_url):
    # given a reserved order whose approval times out after 900 seconds
    orders, approvers = FakeOrders(), Approvers()
    raw = {
        "orderId": "o-1",
        "customerId": "c-1",
        "currency": "USD",
        "items": [{"sku": "A", "quantity": 1, "unitPrice": "1.00"}],
        "payment": {"token": "tok_visa"},
    }
    order = parse_order(raw, approval_threshold=1, approval_timeout_seconds=900)
    orders.create_received(order, NOW)
    orders.items["o-1"]["status"] = OrderStatus.RESERVED
    # when approval is requested
    services.request_approval(order, "t", api_url=api_url, orders=orders, approvals=approvers, now=NOW)
    # then the links join the API URL with one slash, and the approvers know they have 900 seconds
    token = encode_task_token("t")
    assert approvers.sent == [
        {
            "orderId": "o-1",
            "approve": f"https://api.example/prod/approvals/{token}/approve",
            "reject": f"https://api.example/prod/approvals/{token}/reject",
            "within": 900,
        }
    ]
    assert orders.items["o-1"]["status"] == OrderStatus.AWAITING_APPROVAL
