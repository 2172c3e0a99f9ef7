"""Operations topic, alarms (scheduler heartbeat, task failures, Glue job failures, trigger DLQ) and a dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import DataAlarmThresholds
from stacks.encryption import allow_alarms_to_publish, allow_rule_to_publish

MWAA_NAMESPACE = "AmazonMWAA"
GLUE_FAILED_STATES = ["FAILED", "TIMEOUT", "ERROR", "STOPPED"]


class PipelineMonitoring(Construct):
    """Everything that pages operations about the pipeline, and one dashboard to watch a run."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_name_prefix: str,
        rule_name_prefix: str,
        dashboard_name: str,
        thresholds: DataAlarmThresholds,
        environment_name: str,
        glue_job_names: Sequence[str],
        trigger_function: lambda_.IFunction,
        event_dead_letter_queue: sqs.IQueue,
        operations_emails: Sequence[str],
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(thresholds.period_minutes)
        self.topic = sns.Topic(
            self, "OperationsAlerts", display_name="Financial ETL alerts", master_key=encryption_key, enforce_ssl=True
        )
        for email in operations_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        # SnsAction only names the topic: the topic's own policy must admit the alarms.
        allow_alarms_to_publish(self.topic, alarm_name_prefix)
        action = actions.SnsAction(self.topic)

        def mwaa_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=MWAA_NAMESPACE,
                metric_name=name,
                dimensions_map={"Environment": environment_name, "Function": "Scheduler"},
                statistic=statistic,
                period=period,
            )

        self.metrics: Mapping[str, cloudwatch.IMetric] = {
            "scheduler_heartbeat": mwaa_metric("SchedulerHeartbeat", "Sum"),
            "task_failures": mwaa_metric("TaskInstanceFailures", "Sum"),
            "trigger_errors": trigger_function.metric_errors(period=period, statistic="Sum"),
            "event_dlq": event_dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=period, statistic="Maximum"
            ),
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(
            alarm_id: str,
            name: str,
            metric: cloudwatch.IMetric,
            threshold: float,
            what: str,
            *,
            comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        ) -> None:
            created = cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_name=f"{alarm_name_prefix}{name}",
                alarm_description=what,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=comparison,
                treat_missing_data=missing,
            )
            created.add_alarm_action(action)
            self.alarms[alarm_id] = created

        alarm(
            "SchedulerHeartbeat",
            "scheduler-heartbeat",
            self.metrics["scheduler_heartbeat"],
            1,
            "The Airflow scheduler stopped heartbeating: no DAG runs are scheduled.",
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            # No heartbeat data at all is the worst case, not a quiet period.
            missing=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm(
            "TaskFailures",
            "task-failures",
            self.metrics["task_failures"],
            thresholds.task_failures,
            "Airflow task instances failed.",
        )
        alarm(
            "TriggerErrors",
            "trigger-errors",
            self.metrics["trigger_errors"],
            1,
            "The trigger function failed to create a DAG run (it retries, then dead-letters the event).",
        )
        alarm(
            "EventDeadLetters",
            "events-dlq-not-empty",
            self.metrics["event_dlq"],
            1,
            "An event was not delivered: a landed manifest did not start its DAG run, or a Glue failure "
            "notification was lost. It waits in the events dead-letter queue.",
        )

        # Glue publishes job state changes to EventBridge; a failed run of one of our jobs pages operations.
        self.glue_failures = events.Rule(
            self,
            "GlueJobFailed",
            rule_name=f"{rule_name_prefix}glue-job-failed",
            description="A Glue job of the financial ETL failed, timed out or was stopped",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": list(glue_job_names), "state": GLUE_FAILED_STATES},
            ),
            # targets.SnsTopic grants events.amazonaws.com the topic and the topic's key with no condition
            # (topic.grantPublish on the bare service principal). Handed the topic by its ARN alone, it grants
            # neither: the topic admits this rule only (below), the key this platform's rules only
            # (stacks/encryption.py). Resource policies, not a target role: with a RoleArn, EventBridge may fail to
            # deliver to KMS-encrypted SNS topics (docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html).
            targets=[
                targets.SnsTopic(
                    sns.Topic.from_topic_arn(self, "OperationsAlertsTarget", self.topic.topic_arn),
                    dead_letter_queue=event_dead_letter_queue,
                )
            ],
        )
        allow_rule_to_publish(self.topic, self.glue_failures)
        self.glue_failure_metric = cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="MatchedEvents",
            dimensions_map={"RuleName": self.glue_failures.rule_name},
            statistic="Sum",
            period=period,
        )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Scheduler heartbeat", left=[self.metrics["scheduler_heartbeat"]], width=8),
            cloudwatch.GraphWidget(title="Task failures", left=[self.metrics["task_failures"]], width=8),
            cloudwatch.GraphWidget(title="Glue job failures", left=[self.glue_failure_metric], width=8),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Glue jobs: completed tasks",
                left=[
                    cloudwatch.Metric(
                        namespace="Glue",
                        metric_name="glue.driver.aggregate.numCompletedTasks",
                        dimensions_map={"JobName": name, "JobRunId": "ALL", "Type": "count"},
                        statistic="Sum",
                        period=period,
                    )
                    for name in glue_job_names
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Trigger errors and undelivered events",
                left=[self.metrics["trigger_errors"], self.metrics["event_dlq"]],
                width=12,
            ),
        )
