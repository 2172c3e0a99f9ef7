"""Approval API (POST /approvals/{token}/{decision}): answers a waiting WaitForApproval task."""

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from order_domain import services
from order_domain.adapters.messaging import StepFunctionsCallbacks
from order_domain.errors import InvalidApprovalRequest
from order_domain.observability import logger, metrics, tracer

app = APIGatewayRestResolver()
callbacks = StepFunctionsCallbacks(boto3.client("stepfunctions"))
_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


@app.post("/approvals/<token>/<decision>")
@tracer.capture_method
def answer(token: str, decision: str) -> dict:
    body = app.current_event.json_body if app.current_event.body else {}
    comment = body.get("comment") if isinstance(body, dict) else None
    identity = app.current_event.request_context.identity
    approver = identity.user_arn or identity.caller or "unknown"
    result = services.answer_approval(
        token,
        decision,
        approver=approver,
        comment=comment if isinstance(comment, str) else None,
        callbacks=callbacks,
    )
    return {"decision": result}


@app.exception_handler(InvalidApprovalRequest)
def bad_request(exc: InvalidApprovalRequest) -> Response:
    return Response(status_code=400, content_type=content_types.APPLICATION_JSON, body={"message": str(exc)})


@app.exception_handler(ClientError)
def step_functions_error(exc: ClientError) -> Response:
    code = exc.response["Error"]["Code"]
    if code not in _GONE:
        raise exc
    return Response(
        status_code=410,
        content_type=content_types.APPLICATION_JSON,
        body={"message": "this approval request has expired or was already answered", "code": code},
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
