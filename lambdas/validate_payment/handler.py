"""ValidatePayment: authorize the order total, at most once per order (Powertools idempotency)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from order_domain.deferred import on_first_call
from order_domain.environment import payment_provider_name, table
from order_domain.errors import PaymentDeclined
from order_domain.idempotency import Idempotency
from order_domain.observability import logger, metrics, tracer

payment_provider_name()  # an unknown provider is refused at cold start
payments_table = table("PAYMENTS_TABLE_NAME")
idempotency = Idempotency(event_key_jmespath="orderId", payload_validation_jmespath="[amount, currency]")


@on_first_call
def provider() -> Any:
    from order_domain.wiring import simulated_provider

    return simulated_provider(payments_table)


@on_first_call
def payment_request() -> Any:
    """The request's model, built for the first event (pydantic is imported then)."""
    from pydantic import BaseModel

    class PaymentRequest(BaseModel):
        orderId: str
        amount: Decimal
        currency: str
        paymentToken: str

    return PaymentRequest


@idempotency.function(data_keyword_argument="request")
def authorize(request: dict) -> dict:
    from order_domain import services
    from order_domain.models import to_state

    payment = payment_request().model_validate(request)
    authorization = services.authorize_payment(
        payment.orderId, payment.amount, payment.currency, payment.paymentToken, provider()
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
