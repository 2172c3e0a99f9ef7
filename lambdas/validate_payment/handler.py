"""ValidatePayment: authorize the order total, at most once per order (Powertools idempotency)."""

from decimal import Decimal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.parser import BaseModel
from order_domain import services
from order_domain.errors import PaymentDeclined
from order_domain.models import to_state
from order_domain.observability import logger, metrics, tracer
from order_domain.wiring import idempotency_store, payment_provider

provider = payment_provider()
idempotency = IdempotencyConfig(event_key_jmespath="orderId", payload_validation_jmespath="[amount, currency]")


class PaymentRequest(BaseModel):
    orderId: str
    amount: Decimal
    currency: str
    paymentToken: str


@idempotent_function(data_keyword_argument="request", persistence_store=idempotency_store(), config=idempotency)
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
        metrics.add_metric(name="PaymentsDeclined", unit=MetricUnit.Count, value=1)
        raise
