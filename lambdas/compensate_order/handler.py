"""CompensateOrder: release the order's reservation, void its payment (once), record its terminal status."""

from order_domain import services
from order_domain.models import to_state
from order_domain.observability import logger, metrics, tracer
from order_domain.rules import order_id_of
from order_domain.wiring import Idempotency, inventory, now_iso, orders, payment_provider

provider = payment_provider()
stock = inventory()
order_repository = orders()
idempotency = Idempotency(event_key_jmespath="orderId")


@idempotency.function(data_keyword_argument="state")
def compensate(state: dict) -> dict:
    return to_state(services.compensate_order(state, provider, stock, order_repository, now_iso()))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    idempotency.register_lambda_context(context)
    # The idempotency key is the canonical order id, as in every other step (a failed ValidateOrder hands over
    # the raw message, whose orderId may still carry surrounding whitespace).
    outcome = compensate(state={**event, "orderId": order_id_of(event.get("orderId"))})
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name=f"Orders{outcome['status'].title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return outcome
