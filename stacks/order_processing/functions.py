"""The workload's Lambda functions: one per folder under `lambdas/`, each with its own role and log group."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import jsii
from aws_cdk import Annotations, Duration, IgnoreMode, IResolvable, IResolveContext, RemovalPolicy, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks.config import EnvironmentConfig, OrdersConfig

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
SHARED_PACKAGE = "order_domain"
FUNCTION_NAMES = (
    "intake",
    "validate_order",
    "validate_payment",
    "check_warehouse",
    "reserve_inventory",
    "request_approval",
    "approval_api",
    "process_order",
    "compensate_order",
)
_APPLICATION_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARNING": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}


# The alias every caller invokes when SnapStart is on: SnapStart applies to published versions only, never to
# $LATEST (docs.aws.amazon.com/lambda/latest/dg/snapstart.html), so the state machine, the intake's event source
# mapping and the approval API call this alias of the function's current version.
LIVE_ALIAS = "live"


class _OrderFunction(lambda_.Function):
    """A Function whose event sources bind to its live alias when it has one, and which keeps its environment
    variables (for its versions' fingerprint: the L1 property is not readable from Python)."""

    live: lambda_.Alias | None = None

    def __init__(self, scope: Construct, construct_id: str, *, environment: Mapping[str, str] | None = None, **kwargs):
        super().__init__(scope, construct_id, environment=environment, **kwargs)
        self.variables: dict[str, str] = dict(environment or {})

    def add_environment(self, key: str, value: str, *, remove_in_edge: bool | None = None) -> lambda_.Function:
        self.variables[key] = value
        return super().add_environment(key, value, remove_in_edge=remove_in_edge)

    def add_event_source(self, source: lambda_.IEventSource) -> None:
        if self.live is None:
            super().add_event_source(source)
        else:
            self.live.add_event_source(source)


# What a published version depends on: the function's properties that Lambda copies into a version (and its
# environment variables, kept by _OrderFunction).
_VERSIONED_PROPERTIES = (
    "architectures",
    "code",
    "description",
    "ephemeral_storage",
    "handler",
    "layers",
    "logging_config",
    "memory_size",
    "role",
    "runtime",
    "snap_start",
    "timeout",
    "tracing_config",
)


@jsii.implements(IResolvable)
class _Fingerprint:
    """A version's description: the SHA-256 of its function's resolved versioned properties (code included),
    computed when the template is written, after every environment variable has been added."""

    def __init__(self, function: _OrderFunction):
        self._function = function

    @property
    def creation_stack(self) -> list[str]:
        return []

    def to_string(self) -> str:
        return Token.as_string(self)

    def resolve(self, context: IResolveContext) -> str:
        resource = self._function.node.default_child
        properties = {name: context.resolve(getattr(resource, name)) for name in _VERSIONED_PROPERTIES}
        properties["environment"] = context.resolve(self._function.variables)
        digest = hashlib.sha256(json.dumps(properties, sort_keys=True, default=str).encode()).hexdigest()
        return f"Published for SnapStart; function fingerprint {digest}"


def version_fingerprint(function: _OrderFunction) -> str:
    """The description of a version of `function`: it changes whenever the function's code or configuration does."""
    return Token.as_string(_Fingerprint(function))


def invoked(function: lambda_.IFunction) -> lambda_.IFunction:
    """What a caller invokes: the function's live alias (SnapStart), or the function itself."""
    return getattr(function, "live", None) or function


def asset_excludes(function_name: str) -> list[str]:
    """Gitignore-style patterns that keep only `lambdas/<function_name>/` and the shared package."""
    return [
        "/*",
        f"!/{function_name}/",
        f"!/{SHARED_PACKAGE}/",
        "__pycache__/",
        "*.pyc",
        "tests/",
        "test_*.py",
        "conftest.py",
    ]


class ServiceFunction(Construct):
    """A Python 3.14 / arm64 function with Powertools, X-Ray, JSON logs into its own encrypted log group,
    and a role of its own that starts with nothing but writing to that log group; with SnapStart, a published
    version and the alias its callers invoke."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        powertools_layer: lambda_.ILayerVersion,
        orders: OrdersConfig,
        log_group_name: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {name} function",
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.function = _OrderFunction(
            self,
            "Function",
            description=f"Order processing: {name}",
            code=lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=asset_excludes(name), ignore_mode=IgnoreMode.GIT),
            handler=f"{name}.handler.lambda_handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            layers=[powertools_layer],
            memory_size=orders.lambda_memory_mb,
            timeout=Duration.seconds(orders.lambda_timeout_seconds),
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=_APPLICATION_LOG_LEVELS[orders.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.INFO,
            log_group=self.log_group,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if orders.snap_start else None,
            environment={
                "POWERTOOLS_SERVICE_NAME": orders.service_name,
                "POWERTOOLS_METRICS_NAMESPACE": orders.metrics_namespace,
                "POWERTOOLS_LOG_LEVEL": orders.log_level,
            },
        )
        self.log_group.grant_write(self.role)
        if orders.snap_start:
            # CDK warns that SnapStart needs a published version, at creation, before there is one: here it is.
            Annotations.of(self.function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish", "the live alias publishes the current version"
            )
            # A version with a stable logical id whose description carries a fingerprint of the function: when the
            # code or the configuration changes, the description does, CloudFormation replaces the version (it
            # publishes the new one, moves the alias, then deletes the old), and the alias follows. Not
            # `current_version`: its logical id carries a hash that, synthesized in one process after another app,
            # came out different for the same template.
            self.version = lambda_.Version(
                self,
                "Version",
                lambda_=self.function,
                description=version_fingerprint(self.function),
            )
            self.function.live = lambda_.Alias(
                self,
                "LiveAlias",
                alias_name=LIVE_ALIAS,
                version=self.version,
                description=f"What callers invoke: the current version of {name}, restored by SnapStart",
            )
        # What callers invoke: the alias with SnapStart, the function without.
        self.invoked: lambda_.IFunction = invoked(self.function)


class OrderFunctions(Construct):
    """The nine functions, exposed by name. Permissions and resource names are wired by the stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        orders = config.orders
        # Resolved by CloudFormation at deploy time (a parameter of type AWS::SSM::Parameter::Value<String>),
        # so synth needs no lookup and the layer is exactly the pinned release in every region.
        layer_arn = ssm.StringParameter.value_for_string_parameter(
            self, f"{orders.powertools_layer_parameter_prefix}/{orders.powertools_version}"
        )
        powertools = lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", layer_arn)

        def build(name: str) -> ServiceFunction:
            return ServiceFunction(
                self,
                _construct_id(name),
                name=name,
                powertools_layer=powertools,
                orders=orders,
                log_group_name=config.log_group_name("functions", name),
                log_retention=config.log_retention,
                encryption_key=encryption_key,
                removal_policy=config.removal_policy,
            )

        self.by_name: Mapping[str, ServiceFunction] = {name: build(name) for name in FUNCTION_NAMES}
        self.intake = self.by_name["intake"].function
        self.validate_order = self.by_name["validate_order"].function
        self.validate_payment = self.by_name["validate_payment"].function
        self.check_warehouse = self.by_name["check_warehouse"].function
        self.reserve_inventory = self.by_name["reserve_inventory"].function
        self.request_approval = self.by_name["request_approval"].function
        self.approval_api = self.by_name["approval_api"].function
        self.process_order = self.by_name["process_order"].function
        self.compensate_order = self.by_name["compensate_order"].function


def _construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
