"""Powertools idempotency for the functions that must act once per order, with nothing imported at cold start
but boto3."""

from __future__ import annotations

import threading
from typing import Any

import boto3

from .deferred import deferred
from .environment import required_env


class Idempotency:
    """Powertools idempotency on the function's idempotency table. The table name and the DynamoDB client are
    taken now (cold start); Powertools' idempotency utility is imported, and its config and persistence layer
    created, when the function first needs them (see `deferred`)."""

    def __init__(self, **config: Any):
        self._table_name = required_env("IDEMPOTENCY_TABLE_NAME")
        # A low-level client of boto3's default session: left to itself the persistence layer opens a new session,
        # whose loader parses botocore's endpoint and DynamoDB models again (~200 ms of cold start). Not the
        # resource's client: that one would serialize Powertools' typed values a second time.
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

        def make() -> Any:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

            store = DynamoDBPersistenceLayer(table_name=self._table_name, boto3_client=self._client)
            return idempotent_function(
                data_keyword_argument=data_keyword_argument, persistence_store=store, config=self.config
            )

        return deferred(make)
