"""cdk-nag acknowledgments of the data-platform stack: each names its rule (and finding) and why.

Every acknowledgment is scoped to the construct it concerns; none is stack-wide. CDK's own singleton
functions (bucket deployment, AwsCustomResource, bucket notifications) live at the stack's root, so they are
found there by their fixed id prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnResource, DefaultStackSynthesizer, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from stacks.compliance import acknowledge

if TYPE_CHECKING:
    from stacks.data_platform.airflow import AirflowEnvironment, AirflowFiles
    from stacks.data_platform.glue_jobs import GlueJobs
    from stacks.data_platform.network import DataPlatformNetwork
    from stacks.data_platform.storage import DataLake
    from stacks.data_platform.trigger import EtlTrigger
    from stacks.data_platform.warehouse import Warehouse

# Prefixes of the ids CDK gives its singleton functions at the root of the stack.
BUCKET_DEPLOYMENT_HANDLER = "Custom::CDKBucketDeployment"
AWS_CUSTOM_RESOURCE_HANDLER = "AWS679f53fac002430cb0da5b7982bd2287"
BUCKET_NOTIFICATIONS_HANDLER = "BucketNotificationsHandler"

S3_READ = (
    "CDK's bucket read grant: s3:GetObject*, s3:GetBucket* and s3:List* are the read family of actions "
    "(object versions, ACL reads, ListBucket), granted on one bucket (or one prefix of it), never on '*'."
)
S3_WRITE = (
    "CDK's bucket read-write grant adds s3:DeleteObject* and s3:Abort* (overwriting a partition deletes "
    "the previous files; multipart uploads of large Parquet files may be aborted) on one bucket only."
)
S3_OBJECTS = (
    "Object ARNs are '<bucket>/*' or '<bucket>/<prefix>/*' by nature: the grant covers the objects of one "
    "bucket (or one prefix), which is the narrowest S3 resource there is for data whose keys are per day."
)
KMS_DATA_KEYS = (
    "Writing objects (or messages) encrypted with the platform key needs kms:GenerateDataKey* and, when S3 "
    "re-encrypts with a bucket key, kms:ReEncrypt*; the statement's Resource is the one key ARN, not '*'."
)
INLINE_POLICY = (
    "CDK grants attach an AWS::IAM::Policy created for and attached to exactly one role; it is never "
    "shared, which is what the control guards against. Its statements are scoped to resource ARNs."
)
REPLICATION = (
    "A reference deployment in one region: cross-region replication doubles storage and needs a second "
    "region and key the fork chooses. Versioning (and Object Lock for reports in prod) protect the data."
)
CDK_SINGLETON = (
    "A CDK-provided deployment-time function (CloudFormation custom resource handler), invoked only by "
    "CloudFormation during deploys; its runtime and packaging are CDK's, pinned by aws-cdk-lib."
)


def acknowledge_findings(
    stack: Stack,
    *,
    network: DataPlatformNetwork,
    lake: DataLake,
    files: AirflowFiles,
    glue: GlueJobs,
    warehouse: Warehouse,
    airflow: AirflowEnvironment,
    trigger: EtlTrigger,
    airflow_secrets: tuple[str, ...],
) -> None:
    """Acknowledge, with reasons, the findings this stack keeps by design."""
    _acknowledge_network(network)
    _acknowledge_buckets(lake)
    _acknowledge_cdk_singletons(stack)

    # Roles built from bucket grants: the read family everywhere, the write family where they write.
    _acknowledge_grants(files.role, (lake.source,), write=True)
    readers: list[tuple[iam.IRole, tuple[s3.IBucket, ...], tuple[str, ...]]] = [
        (airflow.role, (lake.source, lake.curated), (f"{_logical(lake.landing)}.Arn>/transactions/*",)),
    ]
    readers.append((warehouse.copy_role, (lake.curated,), ()))
    for role, buckets, extra in readers:
        _acknowledge_grants(role, buckets, write=False, extra_objects=extra)
    for family, role in glue.roles.items():
        buckets = {
            "ingest": (lake.landing, lake.raw),
            "transform": (lake.raw, lake.curated, lake.quarantine),
            "reports": (lake.curated, lake.reports),  # reads curated, puts to reports
        }[family]
        _acknowledge_grants(
            role,
            buckets,
            write=True,
            extra_objects=(f"{_logical(lake.source)}.Arn>/glue/scripts/*", f"{_logical(lake.raw)}.Arn>/_glue-temp/*"),
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "Glue 5.0 creates log streams per job run (named by run id) in the <prefix>/error and <prefix>/output "
            "groups, and with a security configuration associates the key with them: only the groups this stack "
            "creates for the jobs are named, each with ':*', the form of a log group's ARN.",
            findings=[f"Resource::{rendered(glue, arn)}" for arn in glue.key_association_arns if "*" in arn],
        )
    acknowledge(
        files.role,
        "AwsSolutions-IAM5",
        "The bucket deployment copies its zip assets from the CDK bootstrap bucket, whose objects are named "
        "by content hash: CDK grants read on that bucket's objects.",
        findings=[
            "Resource::"
            + rendered(
                stack,
                Fn.join(
                    "",
                    [
                        "arn:",
                        stack.partition,
                        f":s3:::cdk-{DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-",
                        stack.account,
                        "-",
                        stack.region,
                        "/*",
                    ],
                ),
            )
        ],
    )
    _acknowledge_execution_role(airflow, airflow_secrets)
    acknowledge(
        trigger.role,
        "AwsSolutions-IAM5",
        "Lambda manages the function's VPC network interfaces with this role: the six EC2 actions of "
        "AWSLambdaVPCAccessExecutionRole (Create/Describe/DeleteNetworkInterface, DescribeSubnets, Assign/"
        "UnassignPrivateIpAddresses, per docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html) on '*': "
        "DescribeNetworkInterfaces works on '*' only, and the ENIs do not exist before Lambda creates them. "
        "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
        findings=["Resource::*"],
    )
    acknowledge(
        trigger.role,
        "AwsSolutions-IAM5",
        "CDK's send grant on the trigger's KMS-encrypted dead-letter queue: a producer to such a queue needs "
        "kms:GenerateDataKey* (SQS key management) and CDK's grant adds kms:ReEncrypt*, on the platform key's ARN only.",
        findings=["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
    )
    acknowledge(trigger.role, "PCI.DSS.321-IAMNoInlinePolicy", INLINE_POLICY)
    acknowledge(
        trigger.function,
        "Serverless-LambdaAsyncFailureDestination",
        "EventBridge invokes the function asynchronously; after Lambda's retries a failed event goes to the "
        "function's dead-letter queue (the same queue EventBridge dead-letters to), watched by an alarm.",
    )
    acknowledge(
        trigger.dead_letter_queue,
        "Serverless-SQSRedrivePolicy",
        "This is the terminal dead-letter queue of the trigger and of the Glue-failure rule; its messages "
        "wait for a person, and the events-dlq-not-empty alarm pages operations as soon as one arrives.",
    )
    smg4 = (
        "{what}: Redshift Serverless has no managed rotation of a namespace's admin password through a "
        "hosted rotation function; rotate it with the namespace's admin password update when required."
    )
    if warehouse.namespace is None:
        acknowledge(
            airflow.role,
            "AwsSolutions-IAM5",
            "An existing workgroup is named in config, and a workgroup's ARN carries its id, not its name: the "
            "Data API statement covers this account's workgroups in this region (ExecuteStatement only).",
            findings=[f"Resource::{rendered(warehouse, warehouse.workgroup_arn)}"],
        )
    if warehouse.admin_secret is not None:
        acknowledge(warehouse.admin_secret, "AwsSolutions-SMG4", smg4.format(what="The namespace admin secret"))


def _acknowledge_network(network: DataPlatformNetwork) -> None:
    acknowledge(
        network.security_group,
        "PCI.DSS.321-EC2RestrictedCommonPorts",
        "The only ingress rule is self-referencing (MWAA, Glue's Spark workers and Redshift talk to each "
        "other on ports the services choose); no CIDR, let alone 0.0.0.0/0, may connect.",
    )
    if network.flow_log_group is None:
        return
    vpc = network.vpc
    acknowledge(
        vpc,
        "PCI.DSS.321-VPCSubnetAutoAssignPublicIpDisabled",
        "Only the public subnets, which hold nothing but the NAT gateways, assign public IPs; every workload "
        "runs in the private subnets.",
    )
    acknowledge(
        vpc,
        "PCI.DSS.321-VPCNoUnrestrictedRouteToIGW",
        "The public subnets route to the internet gateway so the NAT gateways can give the private "
        "subnets egress (Python packages, AWS APIs without an interface endpoint); no workload sits there.",
    )
    acknowledge(
        vpc,
        "PCI.DSS.321-VPCDefaultSecurityGroupClosed",
        "Nothing is attached to the default security group: every ENI of the platform uses its own "
        "self-referencing group. Closing it needs one more custom-resource function per VPC.",
    )
    acknowledge(vpc, "PCI.DSS.321-IAMNoInlinePolicy", INLINE_POLICY)


def _acknowledge_buckets(lake: DataLake) -> None:
    for bucket in (lake.access_logs, lake.source, *lake.data_buckets.values()):
        acknowledge(bucket, "PCI.DSS.321-S3BucketReplicationEnabled", REPLICATION)
    acknowledge(
        lake.access_logs,
        "PCI.DSS.321-S3DefaultEncryptionKMS",
        "S3 server access log delivery writes only to buckets encrypted with SSE-S3, not SSE-KMS.",
    )
    acknowledge(
        lake.landing,
        "PCI.DSS.321-IAMNoInlinePolicy",
        "The policy of CDK's bucket-notifications handler, which turns on EventBridge delivery of the "
        "landing bucket; attached to that handler's role only.",
    )


def _acknowledge_cdk_singletons(stack: Stack) -> None:
    for child in stack.node.children:
        if child.node.id.startswith(BUCKET_DEPLOYMENT_HANDLER):
            acknowledge(child, "AwsSolutions-L1", CDK_SINGLETON)
            acknowledge(child, "Serverless-LambdaLatestVersion", CDK_SINGLETON)
        if child.node.id.startswith((BUCKET_DEPLOYMENT_HANDLER, AWS_CUSTOM_RESOURCE_HANDLER)):
            acknowledge(
                child,
                "Serverless-LambdaDLQ",
                "CloudFormation invokes custom-resource handlers synchronously through its own callback "
                "protocol; a failed invocation fails the deploy and rolls it back, so no event is lost.",
            )
            acknowledge(child, "Serverless-LambdaTracing", CDK_SINGLETON + " It runs once per deploy.")
            acknowledge(
                child,
                "PCI.DSS.321-LambdaInsideVPC",
                "It reaches only S3 (the bootstrap and source buckets) over TLS with SigV4 during deploys; "
                "it holds no data between deploys and nothing can invoke it but CloudFormation.",
            )
        if child.node.id.startswith(BUCKET_NOTIFICATIONS_HANDLER):
            acknowledge(
                child,
                "AwsSolutions-IAM4",
                "CDK's bucket-notifications handler (it only calls PutBucketNotificationConfiguration on the "
                "landing bucket) comes with the AWS-managed AWSLambdaBasicExecutionRole for its logs.",
                findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            )


def _acknowledge_grants(
    role: iam.IRole, buckets: tuple[s3.IBucket, ...], *, write: bool, extra_objects: tuple[str, ...] = ()
) -> None:
    acknowledge(
        role,
        "AwsSolutions-IAM5",
        S3_READ,
        findings=["Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*"],
    )
    acknowledge(role, "AwsSolutions-IAM5", KMS_DATA_KEYS, findings=["Action::kms:GenerateDataKey*"])
    if write:
        acknowledge(role, "AwsSolutions-IAM5", S3_WRITE, findings=["Action::s3:DeleteObject*", "Action::s3:Abort*"])
        acknowledge(role, "AwsSolutions-IAM5", KMS_DATA_KEYS, findings=["Action::kms:ReEncrypt*"])
    acknowledge(
        role,
        "AwsSolutions-IAM5",
        S3_OBJECTS,
        findings=[f"Resource::{_logical(b)}.Arn>/*" for b in buckets] + [f"Resource::{o}" for o in extra_objects],
    )
    acknowledge(role, "PCI.DSS.321-IAMNoInlinePolicy", INLINE_POLICY)


def _acknowledge_execution_role(airflow: AirflowEnvironment, secrets: tuple[str, ...]) -> None:
    role = airflow.role
    acknowledge(
        role,
        "AwsSolutions-IAM5",
        "AWS's documented MWAA execution role: logs:DescribeLogGroups, s3:GetAccountPublicAccessBlock and "
        "cloudwatch:PutMetricData support no resource-level permissions; the Redshift Data API's "
        "DescribeStatement/GetStatementResult/CancelStatement take a statement id, not an ARN, and are "
        "limited to statements this role ran (redshift-data:statement-owner-iam-userid).",
        findings=["Resource::*"],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM5",
        "MWAA's Celery queues live in an account AWS owns (not ours) and are named airflow-celery-<id>: "
        "AWS documents exactly this ARN, with the account left open.",
        findings=[f"Resource::{rendered(airflow, airflow.celery_queues_arn)}"],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM5",
        "MWAA writes to the log groups airflow-<environment>-<Component> (one per component) and creates "
        "streams in them: this environment's groups only.",
        findings=[f"Resource::{rendered(airflow, airflow.log_groups_arn)}"],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM5",
        "Airflow's Secrets Manager backend reads connections and variables by name under this environment's "
        "two prefixes; operators add them after the deploy, so the names are not known in advance.",
        findings=[f"Resource::{rendered(airflow, arn)}" for arn in secrets],
    )


def rendered(scope: IConstruct, value: str) -> str:
    """A resource as cdk-nag writes it in a finding: literals as they are, Ref as <Id>, Fn::GetAtt as <Id.Attr>.

    Pseudo parameters resolve to literals when the stack has an explicit account or region (the CDK CLI always
    passes a region), so findings are computed from the same ARN the policy holds, not written out.
    """
    return _flatten(Stack.of(scope).resolve(value))


def _flatten(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return f"<{logical_id}.{attribute}>"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(_flatten(part) for part in parts)
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding")


def _logical(construct: IConstruct) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    return "<" + Stack.of(construct).resolve(resource.logical_id)
