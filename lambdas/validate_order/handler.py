"""ValidateOrder: parse, price and record the order; decide whether it needs human approval."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from order_domain.deferred import on_first_call
from order_domain.environment import now_iso, required_env, table
from order_domain.observability import logger, metrics, tracer

APPROVAL_THRESHOLD = Decimal(required_env("APPROVAL_THRESHOLD"))
APPROVAL_TIMEOUT_SECONDS = int(required_env("APPROVAL_TIMEOUT_SECONDS"))
orders_table = table("ORDERS_TABLE_NAME")


@on_first_call
def handler() -> Any:
    """The handler proper, built for the first event: the models and the domain are imported then."""
    from order_domain import services
    from order_domain.adapters.dynamodb import DynamoDBOrders

    order_repository = DynamoDBOrders(orders_table)

    def validate(event: dict) -> dict:
        return services.validate_order(
            event,
            approval_threshold=APPROVAL_THRESHOLD,
            approval_timeout_seconds=APPROVAL_TIMEOUT_SECONDS,
            orders=order_repository,
            now=now_iso(),
        )

    return validate


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return handler()(event)
