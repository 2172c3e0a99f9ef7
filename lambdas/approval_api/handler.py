"""Approval API (POST /approvals/{token}/{decision}): answers a waiting WaitForApproval task."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError
from order_domain.adapters.messaging import StepFunctionsCallbacks
from order_domain.deferred import on_first_call
from order_domain.errors import InvalidApprovalRequest
from order_domain.observability import logger, metrics, tracer

callbacks = StepFunctionsCallbacks(boto3.client("stepfunctions"))
_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


@tracer.capture_method
def answer(token: str, decision: str) -> dict:
    event = app().current_event
    body = event.json_body if event.body else {}
    comment = body.get("comment") if isinstance(body, dict) else None
    identity = event.request_context.identity
    approver = identity.user_arn or identity.caller or "unknown"
    from order_domain import services  # and with it the models: imported for the first request

    result = services.answer_approval(
        token,
        decision,
        approver=approver,
        comment=comment if isinstance(comment, str) else None,
        callbacks=callbacks,
    )
    return {"decision": result}


def bad_request(exc: InvalidApprovalRequest) -> Any:
    from aws_lambda_powertools.event_handler import Response, content_types

    return Response(status_code=400, content_type=content_types.APPLICATION_JSON, body={"message": str(exc)})


def step_functions_error(exc: ClientError) -> Any:
    from aws_lambda_powertools.event_handler import Response, content_types

    code = exc.response["Error"]["Code"]
    if code not in _GONE:
        raise exc
    return Response(
        status_code=410,
        content_type=content_types.APPLICATION_JSON,
        body={"message": "this approval request has expired or was already answered", "code": code},
    )


def _resolver() -> Any:
    """The REST resolver and its routes, built for the first request (Powertools' event handler is imported then)."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    resolver = APIGatewayRestResolver()
    resolver.post("/approvals/<token>/<decision>")(answer)
    resolver.exception_handler(InvalidApprovalRequest)(bad_request)
    resolver.exception_handler(ClientError)(step_functions_error)
    return resolver


app = on_first_call(_resolver)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    return app().resolve(event, context)
