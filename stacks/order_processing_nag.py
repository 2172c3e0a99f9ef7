"""cdk-nag acknowledgments of the order-processing stack: each names its rule (and finding) and why.

Every acknowledgment is scoped to the construct it concerns; none is stack-wide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_lambda as lambda_

from stacks.compliance import acknowledge

if TYPE_CHECKING:
    from stacks.order_processing.approval_api import ApprovalApi
    from stacks.order_processing.functions import OrderFunctions
    from stacks.order_processing.messaging import IntakeQueue
    from stacks.order_processing.workflow import OrderWorkflow

# Functions that write a CMK-encrypted table.
_TABLE_WRITERS = (
    "validate_order",
    "validate_payment",
    "reserve_inventory",
    "request_approval",
    "process_order",
    "compensate_order",
)

XRAY = (
    "AWS X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions: "
    "tracing requires Resource '*' (added by tracing=ACTIVE / tracingEnabled)."
)
KMS_DATA_KEYS = (
    "Writing items to a table (or messages to a topic) encrypted with the environment's CMK needs "
    "kms:GenerateDataKey* on that one key; the statement's Resource is the key's ARN, not '*'."
)
KMS_REENCRYPT = (
    "DynamoDB's read-write grant on a CMK-encrypted table includes kms:ReEncrypt* on that one key "
    "(the statement's Resource is the key's ARN), which DynamoDB uses when the table key rotates."
)
LAMBDA_INSIDE_VPC = (
    "The functions reach only AWS regional APIs (DynamoDB, SNS, Step Functions) over TLS with SigV4 and "
    "hold no network-reachable resource; there is no VPC resource to protect, and a VPC would add NAT or "
    "interface endpoints to a reference deployment without reducing its attack surface."
)
LAMBDA_DLQ = (
    "No function is invoked asynchronously: Step Functions and API Gateway invoke synchronously and the "
    "intake queue through an event source mapping, so Lambda's async DLQ never receives anything. "
    "Failures are handled by the state machine's Retry/Catch and by the intake queue's redrive policy."
)
INLINE_POLICY = (
    "CDK grants attach an AWS::IAM::Policy created for and attached to exactly one role (each function, "
    "and the state machine, has its own); it is never shared, which is what the control guards against. "
    "Its statements are scoped to resource ARNs."
)


def acknowledge_findings(
    stack: Stack,
    *,
    functions: OrderFunctions,
    workflow: OrderWorkflow,
    approval_api: ApprovalApi,
    intake: IntakeQueue,
) -> None:
    """Acknowledge, with reasons, the findings this stack keeps by design."""
    for name, service_function in functions.by_name.items():
        acknowledge(service_function, "AwsSolutions-IAM5", XRAY, findings=["Resource::*"])
        acknowledge(service_function, "PCI.DSS.321-IAMNoInlinePolicy", INLINE_POLICY)
        acknowledge(service_function, "PCI.DSS.321-LambdaInsideVPC", LAMBDA_INSIDE_VPC)
        acknowledge(service_function, "Serverless-LambdaDLQ", LAMBDA_DLQ)
        if name in _TABLE_WRITERS:
            acknowledge(service_function, "AwsSolutions-IAM5", KMS_DATA_KEYS, findings=["Action::kms:GenerateDataKey*"])
            acknowledge(service_function, "AwsSolutions-IAM5", KMS_REENCRYPT, findings=["Action::kms:ReEncrypt*"])

    acknowledge(
        functions.by_name["intake"],
        "Serverless-LambdaEventSourceMappingDestination",
        "On-failure destinations exist for stream and Kafka event sources, not SQS: a message that fails "
        "maxReceiveCount times moves to the intake dead-letter queue through the queue's redrive policy.",
    )

    # The state machine's role.
    state_machine = workflow.state_machine
    acknowledge(
        state_machine,
        "AwsSolutions-IAM5",
        XRAY + " Likewise the CloudWatch Logs delivery APIs (logs:CreateLogDelivery, ...) that Step "
        "Functions logging requires accept only Resource '*'.",
        findings=["Resource::*"],
    )
    acknowledge(state_machine, "AwsSolutions-IAM5", KMS_DATA_KEYS, findings=["Action::kms:GenerateDataKey*"])
    acknowledge(state_machine, "PCI.DSS.321-IAMNoInlinePolicy", INLINE_POLICY)
    acknowledge(
        state_machine,
        "AwsSolutions-IAM5",
        "grant_invoke allows the function's qualified ARNs (versions and aliases, '<arn>:*') besides the "
        "function itself; only the functions the ASL file references are granted.",
        findings=[f"Resource::<{_logical_id(fn)}.Arn>:*" for fn in workflow.functions],
    )

    acknowledge(
        intake.dead_letter_queue,
        "Serverless-SQSRedrivePolicy",
        "This is the terminal dead-letter queue of the intake queue; its messages wait for a person, and "
        "the intake-dlq-not-empty alarm pages operations as soon as one arrives.",
    )

    api = approval_api.api
    acknowledge(
        api,
        "AwsSolutions-APIG2",
        "The request validator enforces the two path parameters. The body is an optional free-text "
        "comment with no model to validate against; the handler treats anything else as no comment.",
    )
    acknowledge(
        api,
        "AwsSolutions-COG4",
        "Approvers call the API with IAM (SigV4) authorization; there is no Cognito user pool to use.",
    )
    waf = (
        "A SigV4-authorized callback API for a handful of approvers, throttled at the stage: unsigned "
        "requests are rejected before the integration. Attach a WAFv2 web ACL if a fork exposes it wider."
    )
    acknowledge(api, "AwsSolutions-APIG3", waf)
    acknowledge(api, "PCI.DSS.321-APIGWAssociatedWithWAF", waf)
    acknowledge(
        api,
        "PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
        "The only method is a POST that answers one task token exactly once: a cached response would be "
        "wrong, so the stage has no cache (and no cached data to encrypt).",
    )
    acknowledge(
        api,
        "PCI.DSS.321-APIGWSSLEnabled",
        "Stage client certificates authenticate API Gateway to HTTP backends; this API's only backend is a "
        "Lambda proxy integration, which API Gateway invokes with IAM, not over HTTP.",
    )


def _logical_id(function: lambda_.IFunction) -> str:
    resource = function.node.default_child
    assert isinstance(resource, CfnResource)
    return Stack.of(function).resolve(resource.logical_id)
