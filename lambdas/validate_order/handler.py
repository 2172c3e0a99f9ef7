"""ValidateOrder: parse, price and record the order; decide whether it needs human approval."""

from decimal import Decimal

from order_domain import services
from order_domain.observability import logger, metrics, tracer
from order_domain.wiring import now_iso, orders, required_env

APPROVAL_THRESHOLD = Decimal(required_env("APPROVAL_THRESHOLD"))
APPROVAL_TIMEOUT_SECONDS = int(required_env("APPROVAL_TIMEOUT_SECONDS"))
order_repository = orders()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return services.validate_order(
        event,
        approval_threshold=APPROVAL_THRESHOLD,
        approval_timeout_seconds=APPROVAL_TIMEOUT_SECONDS,
        orders=order_repository,
        now=now_iso(),
    )
