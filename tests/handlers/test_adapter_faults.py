"""The DynamoDB adapters when DynamoDB fails a request the way it really does (what `localrun orders --faults` found):
a transaction cancelled by a conflicting transaction is not a release, and a repeated terminal status comes back as
the order's status, not as text."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from botocore.exceptions import ClientError
from order_domain.adapters.dynamodb import DynamoDBOrders
from order_domain.models import Allocation, OrderStatus, Outcome, to_state

from tests.handlers.test_dynamodb_adapters import LATER, NOW, W1, W2, Tables


@pytest.fixture(scope="module")
def tables(aws, functions) -> Tables:
    return Tables(aws, functions)


def cancelled(*codes: str) -> ClientError:
    """TransactWriteItems' answer when items of the transaction met other transactions."""
    reasons = [{"Code": code} for code in codes]
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": f"Transaction cancelled [{', '.join(codes)}]"},
            "CancellationReasons": reasons,
        },
        "TransactWriteItems",
    )


class FailingOnce:
    """The DynamoDB client whose next TransactWriteItems fails with `error` (the request is not applied)."""

    def __init__(self, client: Any, error: ClientError):
        self._client, self._error, self.calls = client, error, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise self._error
        return self._client.transact_write_items(**request)


def reserved_order(tables: Tables, units: int = 3) -> tuple[str, str, Any]:
    sku = tables.seed({W1: 5, W2: 0})
    order_id = tables.received((sku, units))
    stock = tables.stock_adapter()
    stock.reserve(order_id, [Allocation(sku=sku, warehouse=W1, quantity=units)], NOW)
    return sku, order_id, stock


@pytest.mark.parametrize(
    "codes",
    [("None", "TransactionConflict"), ("TransactionConflict", "None")],
    ids=["the order item conflicted", "a stock item conflicted"],
)
def test_a_release_cancelled_by_a_conflicting_transaction_fails_and_the_retry_puts_the_stock_back_once(tables, codes):
    # given an order holding 3 units, whose release transaction is cancelled for a conflict, not for its guard
    sku, order_id, stock = reserved_order(tables)
    stock._client = FailingOnce(stock._client, cancelled(*codes))

    # when compensation releases it: the release fails (the step is retried), nothing was put back
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        stock.release(order_id, LATER)
    assert tables.stock(sku) == {W1: 2, W2: 0}
    assert "reservationReleasedAt" not in tables.order(order_id)

    # then the retried release puts the 3 units back, and a further one nothing
    assert stock.release(order_id, LATER) == [Allocation(sku=sku, warehouse=W1, quantity=3)]
    assert stock.release(order_id, LATER) == []
    assert tables.stock(sku) == {W1: 5, W2: 0}


def test_finishing_an_order_twice_reports_its_recorded_status_as_a_status(tables):
    # given an order already finished FAILED (a retried compensation's first attempt did it, then died)
    order_id = tables.received((tables.seed({W1: 1}), 1))
    orders = DynamoDBOrders(tables.orders)
    orders.finish(Outcome(orderId=order_id, status=OrderStatus.FAILED, reason="first"), NOW)

    # when the retry finishes it again with another status
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydantic warns when a status is text where an OrderStatus belongs
        again = orders.finish(Outcome(orderId=order_id, status=OrderStatus.OUT_OF_STOCK, reason="second"), LATER)
        state = to_state(again)

    # then the recorded status is reported, as an OrderStatus, and nothing changed
    assert again.status is OrderStatus.FAILED
    assert state["status"] == "FAILED"
    assert state["reason"] == "first"
    assert tables.order(order_id)["status"] == "FAILED"
