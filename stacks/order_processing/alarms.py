"""Alarms that page operations: failed or timed-out executions, a non-empty DLQ, Lambda errors."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.config import AlarmThresholds
from stacks.encryption import allow_alarms_to_publish

# Every message in the DLQ is an order nobody processed: one is enough to page.
_DLQ_NOT_EMPTY = 1


class OrderAlarms(Construct):
    """One alarm per failure signal, each notifying the operations topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_name_prefix: str,
        thresholds: AlarmThresholds,
        state_machine: sfn.IStateMachine,
        dead_letter_queue: sqs.IQueue,
        functions: Mapping[str, lambda_.IFunction],
        notify: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(thresholds.period_minutes)
        action = actions.SnsAction(notify)
        # SnsAction only names the topic: the topic's own policy must admit the alarms.
        allow_alarms_to_publish(notify, alarm_name_prefix)

        def alarm(alarm_id: str, name: str, metric: cloudwatch.IMetric, threshold: int, what: str) -> None:
            created = cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_name=f"{alarm_name_prefix}{name}",
                alarm_description=what,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(action)
            self.alarms[alarm_id] = created

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        alarm(
            "FailedExecutions",
            "failed-executions",
            state_machine.metric_failed(period=period, statistic="Sum"),
            thresholds.failed_executions,
            "Order executions failed (a technical failure, or compensation could not finish).",
        )
        alarm(
            "TimedOutExecutions",
            "timed-out-executions",
            state_machine.metric_timed_out(period=period, statistic="Sum"),
            thresholds.timed_out_executions,
            "Order executions timed out.",
        )
        alarm(
            "DeadLetterQueueNotEmpty",
            "intake-dlq-not-empty",
            dead_letter_queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum"),
            _DLQ_NOT_EMPTY,
            "Orders could not be started and wait in the intake dead-letter queue.",
        )
        for name, fn in functions.items():
            alarm(
                "".join(part.capitalize() for part in name.split("_")) + "Errors",
                f"{name.replace('_', '-')}-errors",
                fn.metric_errors(period=period, statistic="Sum"),
                thresholds.lambda_errors,
                f"The {name} function is failing.",
            )
