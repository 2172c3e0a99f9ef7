"""The DynamoDB adapters read what was last written. DynamoDB's default read is eventually consistent: right after
a write it may still return the item as it was. moto always answers with the latest item, so these tests read the
stack's tables through a replica that has not caught up (StaleReplica): a step that decides from a read (release
what is reserved, report the recorded status, answer a retried authorization) must not decide from the old item."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from order_domain import services
from order_domain.adapters.dynamodb import DynamoDBInventory, DynamoDBOrders, DynamoDBPaymentLedger
from order_domain.models import Allocation, OrderLine, OrderStatus, Outcome
from order_domain.payments import SimulatedPaymentProvider
from order_domain.ports import AlreadyReserved

from tests.handlers.test_dynamodb_adapters import LATER, NOW, W1, W2, Tables


@pytest.fixture(scope="module")
def tables(aws, functions) -> Tables:
    return Tables(aws, functions)


class StaleReplica:
    """A table whose eventually consistent reads (GetItem, Query) answer from the items as they were when the
    replica was made; strongly consistent reads (ConsistentRead=True) and every write go to the table."""

    def __init__(self, table: Any):
        self._table = table
        self._keys = [k["AttributeName"] for k in table.key_schema]
        self._then: dict[tuple, dict[str, Any]] = {}
        request: dict[str, Any] = {}
        while True:
            page = table.scan(**request)
            self._then.update({self._key(item): item for item in page["Items"]})
            if "LastEvaluatedKey" not in page:
                break
            request = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def _key(self, item: dict[str, Any]) -> tuple:
        return tuple(item[name] for name in self._keys)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def get_item(self, **request: Any) -> dict[str, Any]:
        if request.get("ConsistentRead"):
            return self._table.get_item(**request)
        item = self._then.get(self._key(request["Key"]))
        return {"Item": item} if item is not None else {}

    def query(self, **request: Any) -> dict[str, Any]:
        if request.get("ConsistentRead"):
            return self._table.query(**request)
        key, value = request["KeyConditionExpression"].get_expression()["values"]
        return {"Items": [item for item in self._then.values() if item.get(key.name) == value]}


def test_an_order_is_read_as_last_written(tables):
    # given an order whose replica was made while it was RECEIVED, then reserved and finished
    sku = tables.seed({W1: 2})
    order_id = tables.received((sku, 1))
    replica = StaleReplica(tables.orders)
    DynamoDBInventory(tables.inventory, tables.orders).reserve(
        order_id, [Allocation(sku=sku, warehouse=W1, quantity=1)], NOW
    )
    DynamoDBOrders(tables.orders).finish(Outcome(orderId=order_id, status=OrderStatus.COMPLETED), NOW)
    orders = DynamoDBOrders(replica)
    # then the order is read as it is now
    assert orders.get(order_id)["status"] == OrderStatus.COMPLETED
    # and a late second finish reports the recorded status, not the one the replica still holds
    late = orders.finish(Outcome(orderId=order_id, status=OrderStatus.FAILED, reason="late"), LATER)
    assert (late.status, late.reason) == (OrderStatus.COMPLETED, None)


def test_a_reservation_made_just_before_the_compensation_is_released(tables):
    # given the replica was made before ReserveInventory committed (its step then died)
    sku = tables.seed({W1: 1, W2: 4})
    order_id = tables.received((sku, 4))
    orders_replica = StaleReplica(tables.orders)
    DynamoDBInventory(tables.inventory, tables.orders).reserve(
        order_id, [Allocation(sku=sku, warehouse=W2, quantity=4)], NOW
    )
    # when compensation releases through the replica
    released = DynamoDBInventory(tables.inventory, orders_replica).release(order_id, LATER)
    # then it saw the reservation and put the units back
    assert released == [Allocation(sku=sku, warehouse=W2, quantity=4)]
    assert tables.stock(sku) == {W1: 1, W2: 4}


def test_a_retried_reservation_answers_with_the_reservation_just_made(tables):
    # given a reservation committed after the replica was made
    sku = tables.seed({W1: 5})
    order_id = tables.received((sku, 2))
    orders_replica = StaleReplica(tables.orders)
    plan = [Allocation(sku=sku, warehouse=W1, quantity=2)]
    DynamoDBInventory(tables.inventory, tables.orders).reserve(order_id, plan, NOW)
    # when the step is retried through the replica, then it is told what the order holds, and nothing more is taken
    with pytest.raises(AlreadyReserved) as held:
        DynamoDBInventory(tables.inventory, orders_replica).reserve(order_id, plan, LATER)
    assert held.value.allocations == plan
    assert tables.stock(sku) == {W1: 3}


def test_a_replan_reads_the_stock_as_it_is_now(tables):
    # given the check saw 3 units in warehouse-1, and another order took 2 of them afterwards
    sku = tables.seed({W1: 3, W2: 2})
    order_id = tables.received((sku, 3))
    seen = DynamoDBInventory(tables.inventory, tables.orders).available_everywhere([sku])
    inventory_replica = StaleReplica(tables.inventory)
    tables.inventory.update_item(
        Key={"sku": sku, "warehouse": W1}, UpdateExpression="SET available = :n", ExpressionAttributeValues={":n": 1}
    )
    stock = DynamoDBInventory(inventory_replica, tables.orders)
    # when the reservation is refused and re-planned, then the re-plan uses the stock as it is now
    items = [OrderLine(sku=sku, quantity=3, unitPrice=Decimal(1))]
    reservation = services.reserve_inventory(order_id, items, seen, stock, NOW)
    assert sorted((a.warehouse, a.quantity) for a in reservation.allocations) == [(W1, 1), (W2, 2)]


def test_a_retried_authorization_answers_with_the_authorization_just_made(tables):
    # given an authorization recorded after the ledger's replica was made
    ledger_replica = StaleReplica(tables.payments)
    first = SimulatedPaymentProvider(DynamoDBPaymentLedger(tables.payments), clock=lambda: NOW).authorize(
        "stale-pay-1", Decimal("9.00"), "USD", "tok_visa"
    )
    # when ValidatePayment is retried through the replica
    again = SimulatedPaymentProvider(DynamoDBPaymentLedger(ledger_replica), clock=lambda: LATER).authorize(
        "stale-pay-1", Decimal("9.00"), "USD", "tok_visa"
    )
    # then it answers with the same authorization, without a second attempt at the provider
    assert again == first
    assert tables.payments.get_item(Key={"orderId": "stale-pay-1"})["Item"]["attempts"] == 1


def test_a_stock_item_without_units_holds_none(tables):
    # given a SKU listed in a warehouse without an `available` attribute (added by hand, never stocked)
    sku = f"SKU-bare-{uuid.uuid4().hex[:8]}"
    tables.inventory.put_item(Item={"sku": sku, "warehouse": W1})
    stock = DynamoDBInventory(tables.inventory, tables.orders)
    assert stock.available(W1, [sku]) == {sku: 0}
    assert [(s.warehouse, s.available) for s in stock.available_everywhere([sku])] == [(W1, {sku: 0})]
