"""ProcessOrder: capture the payment (once, Powertools idempotency) and complete the order."""

from __future__ import annotations

from typing import Any

from order_domain.deferred import on_first_call
from order_domain.environment import now_iso, payment_provider_name, table
from order_domain.idempotency import Idempotency
from order_domain.observability import logger, metrics, tracer

payment_provider_name()  # an unknown provider is refused at cold start
payments_table = table("PAYMENTS_TABLE_NAME")
orders_table = table("ORDERS_TABLE_NAME")
idempotency = Idempotency(event_key_jmespath="orderId")


@on_first_call
def collaborators() -> tuple[Any, Any]:
    """(payment provider, order repository), built for the first event (the models are imported then)."""
    from order_domain.adapters.dynamodb import DynamoDBOrders
    from order_domain.wiring import simulated_provider

    return simulated_provider(payments_table), DynamoDBOrders(orders_table)


@idempotency.function(data_keyword_argument="request")
def capture_and_complete(request: dict) -> dict:
    from order_domain import services
    from order_domain.models import Order, to_state

    provider, order_repository = collaborators()
    order = Order.model_validate(request["order"])
    return to_state(services.process_order(order, provider, order_repository, now_iso()))


@on_first_call
def handler() -> Any:
    """The handler proper, built for the first event: the models and the parser are imported then."""
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
    from order_domain.models import Order, to_state

    class ProcessRequest(BaseModel):
        orderId: str
        order: Order

    @event_parser(model=ProcessRequest)
    def process(event: ProcessRequest, context: object) -> dict:
        idempotency.register_lambda_context(context)
        outcome = capture_and_complete(request={"orderId": event.orderId, "order": to_state(event.order)})
        metrics.add_metric(name="OrdersCompleted", unit=MetricUnit.Count, value=1)
        return outcome

    return process


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return handler()(event, context)
