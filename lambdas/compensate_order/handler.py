"""CompensateOrder: release the order's reservation, void its payment (once), record its terminal status."""

from __future__ import annotations

from typing import Any

from order_domain.deferred import on_first_call
from order_domain.environment import now_iso, payment_provider_name, table
from order_domain.idempotency import Idempotency
from order_domain.observability import logger, metrics, tracer

payment_provider_name()  # an unknown provider is refused at cold start
payments_table = table("PAYMENTS_TABLE_NAME")
inventory_table = table("INVENTORY_TABLE_NAME")
orders_table = table("ORDERS_TABLE_NAME")
idempotency = Idempotency(event_key_jmespath="orderId")


@on_first_call
def collaborators() -> tuple[Any, Any, Any]:
    """(payment provider, inventory, order repository), built for the first event (the models come then)."""
    from order_domain.adapters.dynamodb import DynamoDBInventory, DynamoDBOrders
    from order_domain.wiring import simulated_provider

    return (
        simulated_provider(payments_table),
        DynamoDBInventory(inventory_table, orders_table),
        DynamoDBOrders(orders_table),
    )


@idempotency.function(data_keyword_argument="state")
def compensate(state: dict) -> dict:
    from order_domain import services
    from order_domain.models import to_state

    provider, stock, order_repository = collaborators()
    return to_state(services.compensate_order(state, provider, stock, order_repository, now_iso()))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    from aws_lambda_powertools.metrics import MetricUnit
    from order_domain.rules import order_id_of

    idempotency.register_lambda_context(context)
    # The idempotency key is the canonical order id, as in every other step (a failed ValidateOrder hands over
    # the raw message, whose orderId may still carry surrounding whitespace).
    outcome = compensate(state={**event, "orderId": order_id_of(event.get("orderId"))})
    metrics.add_metric(name=f"Orders{outcome['status'].title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return outcome
