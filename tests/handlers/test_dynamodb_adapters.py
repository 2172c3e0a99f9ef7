"""The DynamoDB adapters on the stack's own tables (moto): releasing stock exactly once and the reservation's
stock condition, each pinned by a deterministic test rather than by timing or an in-memory fake."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from order_domain import services
from order_domain.adapters.dynamodb import DynamoDBInventory, DynamoDBOrders, DynamoDBPaymentLedger
from order_domain.models import Allocation, OrderLine, OrderStatus, PaymentStatus
from order_domain.payments import SimulatedPaymentProvider
from order_domain.ports import AlreadyReserved, StockChanged
from order_domain.rules import parse_order

NOW = "2026-01-01T00:00:00.000+00:00"
LATER = "2026-01-01T00:05:00.000+00:00"
W1, W2 = "warehouse-1", "warehouse-2"


class Tables:
    """The orders, inventory and payments tables of the synthesized stack, and adapters over them."""

    def __init__(self, aws: Any, functions: Any):
        dynamodb = aws.resource("dynamodb")
        self.orders = dynamodb.Table(functions.env("reserve_inventory", "ORDERS_TABLE_NAME"))
        self.inventory = dynamodb.Table(functions.env("reserve_inventory", "INVENTORY_TABLE_NAME"))
        self.payments = dynamodb.Table(functions.env("validate_payment", "PAYMENTS_TABLE_NAME"))

    def stock_adapter(self, orders_table: Any = None) -> DynamoDBInventory:
        return DynamoDBInventory(self.inventory, orders_table or self.orders)

    def provider(self, now: str = NOW) -> SimulatedPaymentProvider:
        return SimulatedPaymentProvider(DynamoDBPaymentLedger(self.payments), clock=lambda: now)

    def seed(self, stock: dict[str, int]) -> str:
        """A fresh SKU holding `stock` per warehouse; returns its name."""
        sku = f"SKU-{uuid.uuid4().hex[:8]}"
        for warehouse, units in stock.items():
            self.inventory.put_item(Item={"sku": sku, "warehouse": warehouse, "available": units})
        return sku

    def stock(self, sku: str) -> dict[str, int]:
        items = self.inventory.query(KeyConditionExpression="sku = :s", ExpressionAttributeValues={":s": sku})
        return {i["warehouse"]: int(i["available"]) for i in items["Items"]}

    def received(self, *lines: tuple[str, int]) -> str:
        """A new order recorded as RECEIVED (as ValidateOrder leaves it); returns its id."""
        order_id = f"ddb-{uuid.uuid4().hex[:8]}"
        raw = {
            "orderId": order_id,
            "customerId": "c-1",
            "currency": "USD",
            "items": [{"sku": sku, "quantity": quantity, "unitPrice": "1.00"} for sku, quantity in lines],
            "payment": {"token": "tok_visa"},
        }
        DynamoDBOrders(self.orders).create_received(parse_order(raw, Decimal("10000"), 60), NOW)
        return order_id

    def order(self, order_id: str) -> dict[str, Any]:
        return self.orders.get_item(Key={"orderId": order_id}, ConsistentRead=True)["Item"]


@pytest.fixture(scope="module")
def tables(aws, functions) -> Tables:
    return Tables(aws, functions)


class Interleaved:
    """A table whose next get_item runs `between` right after reading: another request slipped in between a
    read and the write planned from it, deterministically."""

    def __init__(self, table: Any, between: Any):
        self._table, self._between = table, between

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def get_item(self, **kwargs: Any) -> Any:
        item = self._table.get_item(**kwargs)
        between, self._between = self._between, None
        if between:
            between()
        return item


class DiesAfterWrite:
    """A DynamoDB client whose next transaction commits and then fails the caller, like a Lambda that timed
    out after its write: the write is in the table, the step reports an error."""

    def __init__(self, client: Any):
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._client.transact_write_items(**kwargs)
        raise TimeoutError("Task timed out after its write")


class CountsTransactions:
    """A DynamoDB client that counts the transactions it is asked to write."""

    def __init__(self, client: Any):
        self._client = client
        self.transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        return self._client.transact_write_items(**kwargs)


def reserve(tables: Tables, order_id: str, allocations: list[Allocation]) -> None:
    tables.stock_adapter().reserve(order_id, allocations, NOW)


# ---- releasing exactly once ----------------------------------------------------------------------------


def test_release_puts_back_exactly_what_was_reserved_and_a_second_release_nothing(tables):
    # given an order holding a reservation split across both warehouses
    sku = tables.seed({W1: 4, W2: 3})
    order_id = tables.received((sku, 6))
    split = [Allocation(sku=sku, warehouse=W1, quantity=4), Allocation(sku=sku, warehouse=W2, quantity=2)]
    reserve(tables, order_id, split)
    assert tables.stock(sku) == {W1: 0, W2: 1}
    # when it is released, then released again (a retried compensation)
    first = tables.stock_adapter().release(order_id, NOW)
    retry = tables.stock_adapter()
    retry._client = writes = CountsTransactions(retry._client)
    second = retry.release(order_id, LATER)
    # then the first puts back each warehouse's units, the second nothing (it reads the stamp and does not even
    # try a write), and the release is stamped once
    assert first == split
    assert second == []
    assert writes.transactions == 0
    assert tables.stock(sku) == {W1: 4, W2: 3}
    assert tables.order(order_id)["reservationReleasedAt"] == NOW


def test_a_release_racing_another_release_of_the_same_order_puts_nothing_back(tables):
    # given a reserved order, and a second release that runs between this release's read and its write
    sku = tables.seed({W1: 5})
    order_id = tables.received((sku, 2))
    reserve(tables, order_id, [Allocation(sku=sku, warehouse=W1, quantity=2)])
    other = tables.stock_adapter()
    racing = tables.stock_adapter(Interleaved(tables.orders, lambda: other.release(order_id, NOW)))
    # when this release writes what it planned from its (now stale) read
    released = racing.release(order_id, LATER)
    # then its transaction is refused by the release guard: the units went back once
    assert released == []
    assert tables.stock(sku) == {W1: 5}
    assert tables.order(order_id)["reservationReleasedAt"] == NOW


def test_a_split_release_racing_another_release_puts_nothing_back(tables):
    # given an order holding units in both warehouses, and a second release between this one's read and write
    sku = tables.seed({W1: 4, W2: 3})
    order_id = tables.received((sku, 6))
    reserve(
        tables, order_id, [Allocation(sku=sku, warehouse=W1, quantity=4), Allocation(sku=sku, warehouse=W2, quantity=2)]
    )
    other = tables.stock_adapter()
    racing = tables.stock_adapter(Interleaved(tables.orders, lambda: other.release(order_id, NOW)))
    # when this release writes its three-item transaction (two warehouses, then the order's release guard)
    released = racing.release(order_id, LATER)
    # then the guard, the transaction's last item, refuses it: the units went back once
    assert released == []
    assert tables.stock(sku) == {W1: 4, W2: 3}


def test_a_release_that_died_after_its_write_is_not_repeated_by_the_retry(tables):
    # given a reserved order whose release committed and then failed its step
    sku = tables.seed({W1: 3, W2: 3})
    order_id = tables.received((sku, 3))
    reserve(tables, order_id, [Allocation(sku=sku, warehouse=W2, quantity=3)])
    dying = DynamoDBInventory(tables.inventory, tables.orders)
    dying._client = DiesAfterWrite(dying._client)
    with pytest.raises(TimeoutError):
        dying.release(order_id, NOW)
    # when the step is retried
    retried = tables.stock_adapter().release(order_id, LATER)
    # then nothing more is put back
    assert retried == []
    assert tables.stock(sku) == {W1: 3, W2: 3}


def test_an_order_that_reserved_nothing_releases_nothing(tables):
    sku = tables.seed({W1: 2})
    order_id = tables.received((sku, 1))
    assert tables.stock_adapter().release(order_id, NOW) == []
    assert tables.stock(sku) == {W1: 2}
    assert "reservationReleasedAt" not in tables.order(order_id)


def test_compensation_run_twice_releases_and_voids_once_and_records_one_status(tables):
    # given an order authorized and reserved, failed later (approval timed out)
    sku = tables.seed({W1: 4, W2: 3})
    order_id = tables.received((sku, 6))
    items = [OrderLine(sku=sku, quantity=6, unitPrice=Decimal(1))]
    stock = tables.stock_adapter()
    services.reserve_inventory(order_id, items, stock.available_everywhere([sku]), stock, NOW)
    provider = tables.provider()
    provider.authorize(order_id, Decimal("6.00"), "USD", "tok_visa")
    state = {"orderId": order_id, "order": {"customerId": "c-1"}, "error": {"Error": "States.Timeout", "Cause": ""}}
    orders = DynamoDBOrders(tables.orders)
    # when CompensateOrder runs, and runs again (Step Functions retried it)
    first = services.compensate_order(state, provider, stock, orders, NOW)
    again = services.compensate_order(state, tables.provider(LATER), tables.stock_adapter(), orders, LATER)
    # then the stock is back once, the authorization voided once (by the first run: the retry wrote nothing to the
    # payment), one terminal status recorded
    assert first.status == again.status == OrderStatus.APPROVAL_TIMEOUT
    assert tables.stock(sku) == {W1: 4, W2: 3}
    payment = tables.payments.get_item(Key={"orderId": order_id})["Item"]
    assert (payment["status"], payment["updatedAt"]) == (PaymentStatus.VOIDED, NOW)
    stored = tables.order(order_id)
    assert stored["status"] == OrderStatus.APPROVAL_TIMEOUT
    assert [h["status"] for h in stored["history"]].count(OrderStatus.APPROVAL_TIMEOUT) == 1
    assert stored["reservationReleasedAt"] == NOW


def test_compensation_after_a_step_died_mid_way_finishes_the_undo_once(tables):
    # given a reserved, authorized order whose first compensation released the stock and then died
    sku = tables.seed({W1: 5})
    order_id = tables.received((sku, 2))
    reserve(tables, order_id, [Allocation(sku=sku, warehouse=W1, quantity=2)])
    tables.provider().authorize(order_id, Decimal("2.00"), "USD", "tok_visa")
    state = {"orderId": order_id, "order": {"customerId": "c-1"}, "error": {"Error": "OutOfStock", "Cause": "x"}}
    dying = tables.stock_adapter()
    dying._client = DiesAfterWrite(dying._client)
    with pytest.raises(TimeoutError):
        services.compensate_order(state, tables.provider(), dying, DynamoDBOrders(tables.orders), NOW)
    assert tables.stock(sku) == {W1: 5}
    # when the retry runs it to the end
    outcome = services.compensate_order(
        state, tables.provider(), tables.stock_adapter(), DynamoDBOrders(tables.orders), LATER
    )
    # then the stock was put back once, the authorization voided, the order finished
    assert outcome.status == OrderStatus.OUT_OF_STOCK
    assert tables.stock(sku) == {W1: 5}
    assert tables.payments.get_item(Key={"orderId": order_id})["Item"]["status"] == PaymentStatus.VOIDED
    assert tables.order(order_id)["status"] == OrderStatus.OUT_OF_STOCK


def test_compensation_releases_a_reservation_whose_step_died_after_its_write(tables):
    # given ReserveInventory's transaction committed but its step failed: the state never got the reservation
    sku = tables.seed({W1: 1, W2: 4})
    order_id = tables.received((sku, 4))
    dying = tables.stock_adapter()
    dying._client = DiesAfterWrite(dying._client)
    with pytest.raises(TimeoutError):
        dying.reserve(order_id, [Allocation(sku=sku, warehouse=W2, quantity=4)], NOW)
    assert tables.stock(sku) == {W1: 1, W2: 0}
    state = {"orderId": order_id, "error": {"Error": "States.TaskFailed", "Cause": "timed out"}}
    # when the Catch compensates from the tables
    outcome = services.compensate_order(
        state, tables.provider(), tables.stock_adapter(), DynamoDBOrders(tables.orders), NOW
    )
    # then the units the dead step took are back
    assert outcome.status == OrderStatus.FAILED
    assert tables.stock(sku) == {W1: 1, W2: 4}


# ---- the reservation's stock condition -----------------------------------------------------------------


def test_a_reservation_of_exactly_the_available_stock_takes_it_all(tables):
    sku = tables.seed({W1: 3})
    order_id = tables.received((sku, 3))
    reserve(tables, order_id, [Allocation(sku=sku, warehouse=W1, quantity=3)])
    assert tables.stock(sku) == {W1: 0}
    assert tables.order(order_id)["status"] == OrderStatus.RESERVED


def test_a_reservation_planned_on_stock_that_is_gone_takes_nothing(tables):
    # given a plan for 3 units where only 2 are left (another order took one after the check)
    sku = tables.seed({W1: 2})
    order_id = tables.received((sku, 3))
    # when it is reserved, then the stock condition refuses it and nothing is taken or recorded
    with pytest.raises(StockChanged):
        reserve(tables, order_id, [Allocation(sku=sku, warehouse=W1, quantity=3)])
    assert tables.stock(sku) == {W1: 2}
    stored = tables.order(order_id)
    assert stored["status"] == OrderStatus.RECEIVED
    assert "reservation" not in stored


def test_a_reservation_is_all_or_nothing_across_lines_and_warehouses(tables):
    # given two lines, the second planned on one unit more than its warehouse holds
    first, second = tables.seed({W1: 5}), tables.seed({W2: 4})
    order_id = tables.received((first, 2), (second, 5))
    plan = [Allocation(sku=first, warehouse=W1, quantity=2), Allocation(sku=second, warehouse=W2, quantity=5)]
    # when it is reserved, then neither line is taken
    with pytest.raises(StockChanged):
        reserve(tables, order_id, plan)
    assert (tables.stock(first), tables.stock(second)) == ({W1: 5}, {W2: 4})


def test_reserving_again_returns_the_held_reservation_and_takes_nothing_more(tables):
    sku = tables.seed({W1: 5})
    order_id = tables.received((sku, 2))
    plan = [Allocation(sku=sku, warehouse=W1, quantity=2)]
    reserve(tables, order_id, plan)
    with pytest.raises(AlreadyReserved) as held:
        reserve(tables, order_id, plan)
    assert held.value.allocations == plan
    assert tables.stock(sku) == {W1: 3}


def test_the_reservation_replans_when_the_stock_changed_after_the_check(tables):
    # given the parallel check saw 3 + 2 units, and another order takes 2 of warehouse-1's before the reservation
    sku = tables.seed({W1: 3, W2: 2})
    order_id = tables.received((sku, 3))
    stock = tables.stock_adapter()
    seen = stock.available_everywhere([sku])
    tables.inventory.update_item(
        Key={"sku": sku, "warehouse": W1},
        UpdateExpression="SET available = :one",
        ExpressionAttributeValues={":one": 1},
    )
    # when the order is reserved from that stale view
    items = [OrderLine(sku=sku, quantity=3, unitPrice=Decimal(1))]
    reservation = services.reserve_inventory(order_id, items, seen, stock, NOW)
    # then the planned single-warehouse reservation was refused and the re-plan split it over what is left
    assert sorted((a.warehouse, a.quantity) for a in reservation.allocations) == [(W1, 1), (W2, 2)]
    assert tables.stock(sku) == {W1: 0, W2: 0}
