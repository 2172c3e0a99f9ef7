"""In-memory implementations of the domain ports, with the same semantics as the DynamoDB adapters."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from order_domain.models import Allocation, Order, OrderStatus, Outcome, PaymentStatus, WarehouseStock
from order_domain.ports import AlreadyReserved, StockChanged


class FakeOrders:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def create_received(self, order: Order, now: str) -> None:
        self.items.setdefault(
            order.orderId,
            {"orderId": order.orderId, "status": OrderStatus.RECEIVED, "history": [OrderStatus.RECEIVED]},
        )

    def advance(self, order_id: str, status: OrderStatus, expected: set[OrderStatus], now: str) -> bool:
        item = self.items.get(order_id)
        if not item or item["status"] not in expected:
            return False
        item["status"] = status
        item["history"].append(status)
        return True

    def finish(self, outcome: Outcome, now: str) -> Outcome:
        item = self.items.setdefault(outcome.orderId, {"orderId": outcome.orderId, "history": []})
        if item.get("status") and OrderStatus(item["status"]).is_terminal:
            return outcome.model_copy(update={"status": item["status"], "reason": item.get("reason")})
        item.update(status=outcome.status, reason=outcome.reason)
        item["history"].append(outcome.status)
        return outcome

    def get(self, order_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.items.get(order_id))


class FakeInventory:
    """Stock per (sku, warehouse); `steal` simulates a concurrent order taking stock before a reservation."""

    def __init__(self, orders: FakeOrders, stock: dict[str, dict[str, int]]):
        self.orders = orders
        self.stock = {(sku, w): n for sku, by_w in stock.items() for w, n in by_w.items()}
        self.steal: dict[tuple[str, str], int] = {}
        self.reserve_calls = 0

    def available(self, warehouse: str, skus: list[str]) -> dict[str, int]:
        return {sku: self.stock.get((sku, warehouse), 0) for sku in skus}

    def available_everywhere(self, skus: list[str]) -> list[WarehouseStock]:
        by_warehouse: dict[str, dict[str, int]] = {}
        for (sku, warehouse), n in self.stock.items():
            if sku in skus:
                by_warehouse.setdefault(warehouse, {})[sku] = n
        return [WarehouseStock(warehouse=w, available=s) for w, s in sorted(by_warehouse.items())]

    def reserve(self, order_id: str, allocations: list[Allocation], now: str) -> None:
        self.reserve_calls += 1
        for key, n in self.steal.items():
            self.stock[key] -= n
        self.steal = {}
        order = self.orders.items[order_id]
        if order.get("reservation") is not None:
            raise AlreadyReserved(order["reservation"])
        if any(self.stock.get((a.sku, a.warehouse), 0) < a.quantity for a in allocations):
            raise StockChanged("condition failed")
        for a in allocations:
            self.stock[(a.sku, a.warehouse)] -= a.quantity
        order["reservation"] = list(allocations)
        order["status"] = OrderStatus.RESERVED

    def release(self, order_id: str, now: str) -> list[Allocation]:
        order = self.orders.items.get(order_id) or {}
        if not order.get("reservation") or order.get("released"):
            return []
        for a in order["reservation"]:
            self.stock[(a.sku, a.warehouse)] += a.quantity
        order["released"] = True
        return order["reservation"]


class FakeLedger:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, order_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.items.get(order_id))

    def count_attempt(self, order_id: str, amount: Decimal, currency: str, now: str) -> int:
        item = self.items.setdefault(order_id, {"orderId": order_id, "amount": amount, "currency": currency})
        item["attempts"] = item.get("attempts", 0) + 1
        return item["attempts"]

    def record(self, order_id: str, status: PaymentStatus, authorization_id: str | None, now: str) -> None:
        item = self.items[order_id]
        if "authorizationId" in item:
            return
        item["status"] = status
        if authorization_id:
            item["authorizationId"] = authorization_id

    def transition(self, order_id: str, source: PaymentStatus, target: PaymentStatus, now: str) -> bool:
        item = self.items.get(order_id)
        if not item or item.get("status") != source:
            return False
        item["status"] = target
        return True


class RecordingApprovals:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, order: Order, approve_url: str, reject_url: str, timeout_seconds: int) -> None:
        self.sent.append({"orderId": order.orderId, "approveUrl": approve_url, "rejectUrl": reject_url})


class RecordingCallbacks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        self.calls.append(("success", task_token, output))

    def fail(self, task_token: str, error: str, cause: str) -> None:
        self.calls.append(("failure", task_token, (error, cause)))
