"""Builds the AWS adapters from the function's environment (read once, at cold start)."""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime
from typing import Any

import boto3

from .adapters.dynamodb import DynamoDBInventory, DynamoDBOrders, DynamoDBPaymentLedger
from .environment import required_env
from .payments import SimulatedPaymentProvider

PAYMENT_PROVIDERS = ("simulated",)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@functools.cache
def dynamodb() -> Any:
    """One DynamoDB resource per process, shared by every table: each further resource would cost the cold
    start ~50 ms (see README, "Performance")."""
    return boto3.resource("dynamodb")


def table(env_name: str) -> Any:
    return dynamodb().Table(required_env(env_name))


def orders() -> DynamoDBOrders:
    return DynamoDBOrders(table("ORDERS_TABLE_NAME"))


def inventory(reserving: bool = True) -> DynamoDBInventory:
    """Stock access; reserving (and releasing) also writes the order, so it needs the orders table too."""
    return DynamoDBInventory(table("INVENTORY_TABLE_NAME"), table("ORDERS_TABLE_NAME") if reserving else None)


def payment_provider() -> SimulatedPaymentProvider:
    provider = required_env("PAYMENT_PROVIDER")
    if provider not in PAYMENT_PROVIDERS:
        raise RuntimeError(f"PAYMENT_PROVIDER must be one of {PAYMENT_PROVIDERS}, got {provider!r}")
    return SimulatedPaymentProvider(DynamoDBPaymentLedger(table("PAYMENTS_TABLE_NAME")), clock=now_iso)


class Idempotency:
    """Powertools idempotency on the function's idempotency table. The table name and the DynamoDB client are
    taken now (cold start); Powertools' idempotency utility is imported, and its config and persistence layer
    created, when the function first needs them (see observability.deferred)."""

    def __init__(self, **config: Any):
        self._table_name = required_env("IDEMPOTENCY_TABLE_NAME")
        # See idempotency_store: a client of boto3's default session.
        self._client = boto3.client("dynamodb")
        self._options = config
        self._config: Any = None
        self._lock = threading.Lock()

    @property
    def config(self) -> Any:
        """The one IdempotencyConfig, shared by the decorator and `register_lambda_context`."""
        with self._lock:
            if self._config is None:
                from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

                self._config = IdempotencyConfig(**self._options)
            return self._config

    def register_lambda_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)

    def function(self, data_keyword_argument: str) -> Any:
        """Like Powertools' `idempotent_function`, applied on the decorated function's first call."""
        from .deferred import deferred

        def make() -> Any:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

            store = DynamoDBPersistenceLayer(table_name=self._table_name, boto3_client=self._client)
            return idempotent_function(
                data_keyword_argument=data_keyword_argument, persistence_store=store, config=self.config
            )

        return deferred(make)


def idempotency_store() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    # A low-level client of boto3's default session: left to itself the layer opens a new session, whose
    # loader parses botocore's endpoint and DynamoDB models again (~200 ms of cold start). Not the
    # resource's client: that one would serialize Powertools' typed values a second time.
    return DynamoDBPersistenceLayer(
        table_name=required_env("IDEMPOTENCY_TABLE_NAME"), boto3_client=boto3.client("dynamodb")
    )
