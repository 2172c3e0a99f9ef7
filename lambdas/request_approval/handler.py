"""WaitForApproval: send the approvers links carrying the (URL-safe) task token; the task then waits."""

import boto3
from order_domain import services
from order_domain.adapters.messaging import SnsApprovalRequests
from order_domain.deferred import event_parser
from order_domain.models import Order
from order_domain.observability import logger, metrics, tracer
from order_domain.wiring import now_iso, orders, required_env
from pydantic import BaseModel, ConfigDict

API_URL = required_env("APPROVAL_API_URL")
approvals = SnsApprovalRequests(boto3.client("sns"), required_env("APPROVAL_TOPIC_ARN"))
order_repository = orders()


class ApprovalTask(BaseModel):
    model_config = ConfigDict(defer_build=True)

    taskToken: str
    order: Order


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ApprovalTask)
def lambda_handler(event: ApprovalTask, context: object) -> dict:
    services.request_approval(
        event.order,
        event.taskToken,
        api_url=API_URL,
        orders=order_repository,
        approvals=approvals,
        now=now_iso(),
    )
    return {"requested": True}
