"""OrderProcessing-<env>: intake queue -> state machine of Lambda tasks -> notifications, with human approval.

Read it as the wiring diagram: which construct exists, and who may do what to whom.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import control_tower
from stacks.config import EnvironmentConfig
from stacks.order_processing.alarms import OrderAlarms
from stacks.order_processing.approval_api import ApprovalApi
from stacks.order_processing.encryption import OrderEncryption
from stacks.order_processing.functions import OrderFunctions
from stacks.order_processing.messaging import IntakeQueue, OrderTopics
from stacks.order_processing.tables import OrderTables
from stacks.order_processing.workflow import OrderWorkflow
from stacks.order_processing_nag import acknowledge_findings

DEFINITION_FILE = Path(__file__).resolve().parent.parent / "statemachines" / "order_processing.asl.json"


class OrderProcessingStack(Stack):
    """The order-processing workload of one environment."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Order processing with Step Functions and human approval ({config.name})",
            **kwargs,
        )
        orders = config.orders
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)

        encryption = OrderEncryption(
            self,
            "Encryption",
            environment_name=config.name,
            log_group_name_patterns=config.log_group_name_patterns,
            alarm_name_prefix=config.alarm_name_prefix,
            removal_policy=config.removal_policy,
        )
        key = encryption.key
        tables = OrderTables(
            self,
            "Tables",
            encryption_key=key,
            removal_policy=config.removal_policy,
            deletion_protection=config.deletion_protection,
        )
        topics = OrderTopics(
            self,
            "Topics",
            encryption_key=key,
            approver_emails=orders.approver_emails,
            operations_emails=config.operations_emails,
        )
        intake = IntakeQueue(
            self,
            "Intake",
            encryption_key=key,
            visibility_timeout=Duration.seconds(orders.intake_visibility_timeout_seconds),
            max_receive_count=orders.max_receive_count,
            max_message_bytes=orders.intake_max_message_bytes,
            dlq_retention=Duration.days(orders.dlq_retention_days),
            removal_policy=config.removal_policy,
        )
        fns = OrderFunctions(self, "Functions", config=config, encryption_key=key)

        # Each task function reaches exactly the tables it works on (names arrive as environment variables).
        _connect(fns.validate_order, read_write={"ORDERS_TABLE_NAME": tables.orders})
        fns.validate_order.add_environment("APPROVAL_THRESHOLD", str(orders.approval_threshold))
        fns.validate_order.add_environment("APPROVAL_TIMEOUT_SECONDS", str(orders.approval_timeout_seconds))
        _connect(
            fns.validate_payment,
            read_write={"PAYMENTS_TABLE_NAME": tables.payments, "IDEMPOTENCY_TABLE_NAME": tables.idempotency},
        )
        _connect(fns.check_warehouse, read={"INVENTORY_TABLE_NAME": tables.inventory})
        _connect(
            fns.reserve_inventory,
            read_write={"INVENTORY_TABLE_NAME": tables.inventory, "ORDERS_TABLE_NAME": tables.orders},
        )
        _connect(fns.request_approval, read_write={"ORDERS_TABLE_NAME": tables.orders})
        _connect(
            fns.process_order,
            read_write={
                "ORDERS_TABLE_NAME": tables.orders,
                "PAYMENTS_TABLE_NAME": tables.payments,
                "IDEMPOTENCY_TABLE_NAME": tables.idempotency,
            },
        )
        _connect(
            fns.compensate_order,
            read_write={
                "ORDERS_TABLE_NAME": tables.orders,
                "INVENTORY_TABLE_NAME": tables.inventory,
                "PAYMENTS_TABLE_NAME": tables.payments,
                "IDEMPOTENCY_TABLE_NAME": tables.idempotency,
            },
        )
        for fn in (fns.validate_payment, fns.process_order, fns.compensate_order):
            fn.add_environment("PAYMENT_PROVIDER", orders.payment_provider)

        # The workflow: the ASL file's placeholders, and what each stands for.
        workflow = OrderWorkflow(
            self,
            "Workflow",
            definition_file=DEFINITION_FILE,
            state_machine_name=config.state_machine_name,
            functions={
                "ValidateOrderFunctionArn": fns.validate_order,
                "ValidatePaymentFunctionArn": fns.validate_payment,
                "CheckWarehouseFunctionArn": fns.check_warehouse,
                "ReserveInventoryFunctionArn": fns.reserve_inventory,
                "RequestApprovalFunctionArn": fns.request_approval,
                "ProcessOrderFunctionArn": fns.process_order,
                "CompensateOrderFunctionArn": fns.compensate_order,
            },
            topics={
                "CustomerTopicArn": topics.customer_notifications,
                "OperationsTopicArn": topics.operations_alerts,
            },
            log_group_name=config.state_machine_log_group_name,
            log_retention=config.log_retention,
            encryption_key=key,
            removal_policy=config.removal_policy,
        )
        state_machine = workflow.state_machine

        # Intake: queue -> intake function -> one execution per order.
        fns.intake.add_event_source(
            event_sources.SqsEventSource(
                intake.queue,
                batch_size=orders.intake_batch_size,
                report_batch_item_failures=True,
                max_concurrency=orders.intake_max_concurrency,
            )
        )
        fns.intake.add_environment("STATE_MACHINE_ARN", state_machine.state_machine_arn)
        state_machine.grant_start_execution(fns.intake)

        # Human approval: request_approval -> approvers (topic) -> approval API -> task token answered.
        approval_api = ApprovalApi(
            self,
            "ApprovalApi",
            handler=fns.approval_api,
            api_name=config.approval_api_name,
            stage_name=orders.approval_api_stage_name,
            rate_limit=orders.approval_api_rate_limit,
            burst_limit=orders.approval_api_burst_limit,
            access_log_group_name=config.log_group_name("approval-api", "access"),
            log_retention=config.log_retention,
            encryption_key=key,
            removal_policy=config.removal_policy,
        )
        fns.request_approval.add_environment("APPROVAL_TOPIC_ARN", topics.approval_requests.topic_arn)
        fns.request_approval.add_environment("APPROVAL_API_URL", approval_api.url)
        topics.approval_requests.grant_publish(fns.request_approval)
        # By name, not by reference: the state machine already depends on the API (through request_approval's
        # APPROVAL_API_URL), so referencing it from approval_api's policy would close a dependency cycle.
        sfn.StateMachine.from_state_machine_name(self, "WorkflowByName", config.state_machine_name).grant_task_response(
            fns.approval_api
        )

        OrderAlarms(
            self,
            "Alarms",
            alarm_name_prefix=config.alarm_name_prefix,
            thresholds=orders.alarms,
            state_machine=state_machine,
            dead_letter_queue=intake.dead_letter_queue,
            functions={name: f.function for name, f in fns.by_name.items()},
            notify=topics.operations_alerts,
        )

        acknowledge_findings(self, functions=fns, workflow=workflow, approval_api=approval_api, intake=intake)
        # Control Tower's proactive controls (stacks/control_tower.py): what this stack does not meet, and why.
        control_tower.acknowledge_order_processing(
            self,
            functions=[f.function for f in fns.by_name.values()],
            dead_letter_queues=[intake.dead_letter_queue],
            api=approval_api.api,
            log_retention_days=config.log_retention_days,
        )

        for output_id, value, description in (
            ("IntakeQueueUrl", intake.queue.queue_url, "Send orders here"),
            ("IntakeDeadLetterQueueUrl", intake.dead_letter_queue.queue_url, "Orders that could not start"),
            ("StateMachineArn", state_machine.state_machine_arn, "Order-processing state machine"),
            ("ApprovalApiUrl", approval_api.url, "POST approvals/{token}/{approve|reject} (SigV4)"),
            ("OrdersTableName", tables.orders.table_name, "Orders"),
            ("InventoryTableName", tables.inventory.table_name, "Stock per SKU and warehouse"),
            ("PaymentsTableName", tables.payments.table_name, "Simulated payment provider ledger"),
            ("IdempotencyTableName", tables.idempotency.table_name, "Powertools idempotency records"),
            ("CustomerTopicArn", topics.customer_notifications.topic_arn, "Order outcome notifications"),
            ("ApprovalTopicArn", topics.approval_requests.topic_arn, "Approval requests"),
            ("OperationsTopicArn", topics.operations_alerts.topic_arn, "Operations alerts"),
        ):
            CfnOutput(self, output_id, value=value, description=description)


def _connect(
    fn: lambda_.Function,
    *,
    read_write: Mapping[str, dynamodb.ITable] | None = None,
    read: Mapping[str, dynamodb.ITable] | None = None,
) -> None:
    """Give `fn` each table's name in the named environment variable, and the matching data access."""
    for variable, table in (read_write or {}).items():
        fn.add_environment(variable, table.table_name)
        table.grant_read_write_data(fn)
    for variable, table in (read or {}).items():
        fn.add_environment(variable, table.table_name)
        table.grant_read_data(fn)
