"""Intake: SQS consumer that starts one execution per order, named after its canonical order id (partial batch
failures)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError
from order_domain.deferred import on_first_call
from order_domain.environment import required_env
from order_domain.errors import MalformedOrderMessage
from order_domain.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

STATE_MACHINE_ARN = required_env("STATE_MACHINE_ARN")
sfn = boto3.client("stepfunctions")


def _batch() -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    return BatchProcessor(event_type=EventType.SQS), process_partial_response


# (processor, process_partial_response): Powertools' batch utility, imported for the first batch.
batch = on_first_call(_batch)


@tracer.capture_method
def start_order(record: SQSRecord) -> None:
    # The canonical id: "o-1" and " o-1 " are one order, one execution. MalformedOrderMessage (the reason names
    # the problem) -> batch item failure -> DLQ after the redrives.
    from order_domain.identity import execution_name
    from order_domain.rules import order_key  # and with it the models: imported for the first batch

    try:
        order_id = order_key(record.body)
    except MalformedOrderMessage as exc:
        logger.info("message cannot be started", extra={"reason": str(exc), "messageId": record.message_id})
        raise
    name = execution_name(order_id)
    from aws_lambda_powertools.metrics import MetricUnit

    try:
        sfn.start_execution(stateMachineArn=STATE_MACHINE_ARN, name=name, input=record.body)
        metrics.add_metric(name="OrdersStarted", unit=MetricUnit.Count, value=1)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        # The order was started before: a duplicate is acknowledged, never started or charged twice.
        logger.info("duplicate order ignored", extra={"orderId": order_id, "execution": name})
        metrics.add_metric(name="DuplicateOrders", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    processor, process_partial_response = batch()
    return process_partial_response(event=event, record_handler=start_order, processor=processor, context=context)
