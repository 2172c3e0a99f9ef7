"""WaitForApproval: send the approvers links carrying the (URL-safe) task token; the task then waits."""

from __future__ import annotations

from typing import Any

import boto3
from order_domain.adapters.messaging import SnsApprovalRequests
from order_domain.deferred import on_first_call
from order_domain.environment import now_iso, required_env, table
from order_domain.observability import logger, metrics, tracer

API_URL = required_env("APPROVAL_API_URL")
approvals = SnsApprovalRequests(boto3.client("sns"), required_env("APPROVAL_TOPIC_ARN"))
orders_table = table("ORDERS_TABLE_NAME")


@on_first_call
def handler() -> Any:
    """The handler proper, built for the first event: the models, the domain and the parser are imported then."""
    from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
    from order_domain import services
    from order_domain.adapters.dynamodb import DynamoDBOrders
    from order_domain.models import Order

    order_repository = DynamoDBOrders(orders_table)

    class ApprovalTask(BaseModel):
        taskToken: str
        order: Order

    @event_parser(model=ApprovalTask)
    def request(event: ApprovalTask, context: object) -> dict:
        services.request_approval(
            event.order,
            event.taskToken,
            api_url=API_URL,
            orders=order_repository,
            approvals=approvals,
            now=now_iso(),
        )
        return {"requested": True}

    return request


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return handler()(event, context)
