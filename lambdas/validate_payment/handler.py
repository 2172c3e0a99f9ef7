"""ValidatePayment: authorize the order total, at most once per order (Powertools idempotency)."""

from decimal import Decimal

from order_domain import services
from order_domain.errors import PaymentDeclined
from order_domain.models import to_state
from order_domain.observability import logger, metrics, tracer
from order_domain.wiring import Idempotency, payment_provider
from pydantic import BaseModel, ConfigDict

provider = payment_provider()
idempotency = Idempotency(event_key_jmespath="orderId", payload_validation_jmespath="[amount, currency]")


class PaymentRequest(BaseModel):
    model_config = ConfigDict(defer_build=True)

    orderId: str
    amount: Decimal
    currency: str
    paymentToken: str


@idempotency.function(data_keyword_argument="request")
def authorize(request: dict) -> dict:
    payment = PaymentRequest.model_validate(request)
    authorization = services.authorize_payment(
        payment.orderId, payment.amount, payment.currency, payment.paymentToken, provider
    )
    return to_state(authorization)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    idempotency.register_lambda_context(context)
    try:
        return authorize(request=event)
    except PaymentDeclined:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name="PaymentsDeclined", unit=MetricUnit.Count, value=1)
        raise
