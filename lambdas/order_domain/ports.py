"""The interfaces the services need. DynamoDB/SNS/Step Functions adapters live in `adapters`;
in-memory fakes for tests live in tests/fakes.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from .models import Allocation, Authorization, Order, OrderStatus, Outcome, PaymentStatus, WarehouseStock


class StockChanged(Exception):
    """A reservation transaction found less stock than planned (a concurrent order took it)."""


class AlreadyReserved(Exception):
    """This order already holds a reservation (a retried step); carries what it holds."""

    def __init__(self, allocations: list[Allocation]):
        super().__init__("order already holds a reservation")
        self.allocations = allocations


class OrderRepository(Protocol):
    def create_received(self, order: Order, now: str) -> None:
        """Records a new order as RECEIVED; a no-op if the order is already recorded."""

    def advance(self, order_id: str, status: OrderStatus, expected: set[OrderStatus], now: str) -> bool:
        """Moves a non-terminal order to `status` if it is in `expected`; False if it is not."""

    def finish(self, outcome: Outcome, now: str) -> Outcome:
        """Records the one terminal status of an order; if it already has one, returns that instead."""

    def get(self, order_id: str) -> dict[str, Any] | None: ...


class Inventory(Protocol):
    def available(self, warehouse: str, skus: list[str]) -> dict[str, int]:
        """Units available per SKU in one warehouse (0 for an unknown SKU)."""

    def available_everywhere(self, skus: list[str]) -> list[WarehouseStock]:
        """A strongly consistent read of every warehouse's stock of these SKUs."""

    def reserve(self, order_id: str, allocations: list[Allocation], now: str) -> None:
        """Atomically takes every allocation out of stock and records it on the order, or nothing.
        Raises StockChanged or AlreadyReserved."""

    def release(self, order_id: str, now: str) -> list[Allocation]:
        """Puts back exactly what the order reserved, once; returns what was released."""


class PaymentLedger(Protocol):
    """Storage of the simulated payment provider: one payment record per order."""

    def get(self, order_id: str) -> dict[str, Any] | None: ...

    def count_attempt(self, order_id: str, amount: Decimal, currency: str, now: str) -> int:
        """Atomically increments and returns the number of authorization attempts for the order."""

    def record(self, order_id: str, status: PaymentStatus, authorization_id: str | None, now: str) -> None:
        """Sets the payment's status unless it has one already that is not AUTHORIZED-able (see adapter)."""

    def transition(self, order_id: str, source: PaymentStatus, target: PaymentStatus, now: str) -> bool:
        """Moves the payment from `source` to `target` atomically; False if it was not in `source`."""


class PaymentProvider(Protocol):
    def authorize(self, order_id: str, amount: Decimal, currency: str, token: str) -> Authorization: ...

    def capture(self, order_id: str) -> Authorization: ...

    def void(self, order_id: str) -> PaymentStatus | None:
        """Cancels whatever the order holds (void an authorization, refund a capture); idempotent."""


class ApprovalRequests(Protocol):
    def send(self, order: Order, approve_url: str, reject_url: str, timeout_seconds: int) -> None: ...


class TaskCallbacks(Protocol):
    def succeed(self, task_token: str, output: dict[str, Any]) -> None: ...

    def fail(self, task_token: str, error: str, cause: str) -> None: ...
