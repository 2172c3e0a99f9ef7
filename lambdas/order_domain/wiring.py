"""Builds the AWS adapters from the function's environment (read once, at cold start)."""

from __future__ import annotations

from typing import Any

import boto3

from .adapters.dynamodb import DynamoDBInventory, DynamoDBOrders, DynamoDBPaymentLedger
from .environment import PAYMENT_PROVIDERS, dynamodb, now_iso, payment_provider_name, required_env, table
from .idempotency import Idempotency
from .payments import SimulatedPaymentProvider

__all__ = [
    "PAYMENT_PROVIDERS",
    "Idempotency",
    "dynamodb",
    "idempotency_store",
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


def idempotency_store() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    # A low-level client of boto3's default session: left to itself the layer opens a new session, whose
    # loader parses botocore's endpoint and DynamoDB models again (~200 ms of cold start). Not the
    # resource's client: that one would serialize Powertools' typed values a second time.
    return DynamoDBPersistenceLayer(
        table_name=required_env("IDEMPOTENCY_TABLE_NAME"), boto3_client=boto3.client("dynamodb")
    )
