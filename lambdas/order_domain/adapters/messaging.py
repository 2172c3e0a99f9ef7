"""SNS and Step Functions adapters: approval requests to approvers, task-token callbacks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the Step Functions callbacks need no models (nor pydantic) at import
    from ..models import Order


class SnsApprovalRequests:
    def __init__(self, sns_client: Any, topic_arn: str):
        self._sns = sns_client
        self._topic_arn = topic_arn

    def send(self, order: Order, approve_url: str, reject_url: str, timeout_seconds: int) -> None:
        message = {
            "orderId": order.orderId,
            "customerId": order.customerId,
            "total": str(order.total),
            "currency": order.currency,
            "items": [line.model_dump(mode="json") for line in order.items],
            "approveUrl": approve_url,
            "rejectUrl": reject_url,
            "expiresInSeconds": timeout_seconds,
            "howTo": 'POST to approveUrl or rejectUrl with SigV4 (IAM) credentials; optional body {"comment": "..."}',
        }
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=f"Approval needed: order {order.orderId} ({order.currency} {order.total})"[:100],
            Message=json.dumps(message),
            MessageAttributes={"orderId": {"DataType": "String", "StringValue": order.orderId}},
        )


class StepFunctionsCallbacks:
    def __init__(self, sfn_client: Any):
        self._sfn = sfn_client

    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        self._sfn.send_task_success(taskToken=task_token, output=json.dumps(output))

    def fail(self, task_token: str, error: str, cause: str) -> None:
        self._sfn.send_task_failure(taskToken=task_token, error=error, cause=cause)
