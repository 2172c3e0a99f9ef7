"""ProcessOrder: capture the payment (once, Powertools idempotency) and complete the order."""

from order_domain import services
from order_domain.deferred import event_parser
from order_domain.models import Order, to_state
from order_domain.observability import logger, metrics, tracer
from order_domain.wiring import Idempotency, now_iso, orders, payment_provider
from pydantic import BaseModel, ConfigDict

provider = payment_provider()
order_repository = orders()
idempotency = Idempotency(event_key_jmespath="orderId")


class ProcessRequest(BaseModel):
    model_config = ConfigDict(defer_build=True)

    orderId: str
    order: Order


@idempotency.function(data_keyword_argument="request")
def capture_and_complete(request: dict) -> dict:
    order = Order.model_validate(request["order"])
    return to_state(services.process_order(order, provider, order_repository, now_iso()))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ProcessRequest)
def lambda_handler(event: ProcessRequest, context: object) -> dict:
    idempotency.register_lambda_context(context)
    outcome = capture_and_complete(request={"orderId": event.orderId, "order": to_state(event.order)})
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name="OrdersCompleted", unit=MetricUnit.Count, value=1)
    return outcome
