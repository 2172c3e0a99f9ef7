"""Builds the AWS adapters from the function's environment (read once, at cold start)."""

from __future__ import annotations

from typing import Any

from .adapters.dynamodb import DynamoDBInventory, DynamoDBOrders, DynamoDBPaymentLedger
from .environment import PAYMENT_PROVIDERS, dynamodb, now_iso, payment_provider_name, required_env, table
from .idempotency import Idempotency
from .payments import SimulatedPaymentProvider

__all__ = [
    "PAYMENT_PROVIDERS",
    "Idempotency",
    "dynamodb",
    "inventory",
    "now_iso",
    "orders",
    "payment_provider",
    "required_env",
    "simulated_provider",
    "table",
]


def orders() -> DynamoDBOrders:
    return DynamoDBOrders(table("ORDERS_TABLE_NAME"))


def inventory(reserving: bool = True) -> DynamoDBInventory:
    """Stock access; reserving (and releasing) also writes the order, so it needs the orders table too."""
    return DynamoDBInventory(table("INVENTORY_TABLE_NAME"), table("ORDERS_TABLE_NAME") if reserving else None)


def payment_provider() -> SimulatedPaymentProvider:
    payment_provider_name()
    return simulated_provider(table("PAYMENTS_TABLE_NAME"))


def simulated_provider(payments_table: Any) -> SimulatedPaymentProvider:
    """The simulated provider, its ledger in `payments_table`."""
    return SimulatedPaymentProvider(DynamoDBPaymentLedger(payments_table), clock=now_iso)
