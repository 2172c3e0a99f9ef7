"""Typed, validated deployment configuration: one frozen dataclass per environment, read from cdk.json.

The only place names, limits and thresholds live. `app.py` calls `load_environment` once and passes the
result down as keyword arguments; constructs never read context themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, ClassVar

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs


class ConfigError(ValueError):
    """A missing, unknown or malformed configuration value; the message names its key path."""


# CloudWatch Logs accepts only these retention periods.
_RETENTION_DAYS: Mapping[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
_REMOVAL_POLICIES: Mapping[str, RemovalPolicy] = {
    "destroy": RemovalPolicy.DESTROY,
    "retain": RemovalPolicy.RETAIN,
}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")


@dataclass(frozen=True)
class AlarmThresholds:
    """When the order-processing alarms notify the operations topic."""

    lambda_errors: int
    failed_executions: int
    timed_out_executions: int
    period_minutes: int


@dataclass(frozen=True)
class OrdersConfig:
    """Settings of the order-processing workload (state machine, functions, queue, approval API)."""

    approval_threshold: Decimal
    approval_timeout_seconds: int
    lambda_memory_mb: int
    lambda_timeout_seconds: int
    intake_batch_size: int
    max_receive_count: int
    # The aws-lambda-powertools release the functions run: the AWS-published layer carrying it is resolved at
    # deploy time from its public SSM parameter, so the layer always matches what tests run locally
    # (requirements-dev.txt pins the same version; a test keeps the two equal).
    powertools_version: str
    approval_api_rate_limit: int
    approval_api_burst_limit: int
    alarms: AlarmThresholds
    approver_emails: tuple[str, ...] = ()
    log_level: str = "INFO"

    service_name: ClassVar[str] = "order-processing"
    metrics_namespace: ClassVar[str] = "OrderProcessing"
    payment_provider: ClassVar[str] = "simulated"
    approval_api_stage_name: ClassVar[str] = "v1"
    # Public SSM parameter (one per architecture, runtime and release) whose value is the layer ARN.
    powertools_layer_parameter_prefix: ClassVar[str] = "/aws/service/powertools/python/arm64/python3.14"
    # SQS messages must stay invisible while every retry of one batch runs (AWS: 6x the function timeout).
    visibility_timeout_factor: ClassVar[int] = 6
    dlq_retention_days: ClassVar[int] = 14

    @property
    def intake_visibility_timeout_seconds(self) -> int:
        return self.visibility_timeout_factor * self.lambda_timeout_seconds


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between deployment environments (dev, prod, ...)."""

    name: str
    removal_policy: RemovalPolicy
    log_retention_days: int
    orders: OrdersConfig
    account: str | None = None
    region: str | None = None
    operations_emails: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def deletion_protection(self) -> bool:
        """Retained environments also refuse table deletion, so a stray `cdk destroy` cannot drop data."""
        return self.removal_policy == RemovalPolicy.RETAIN

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION_DAYS[self.log_retention_days]

    @property
    def order_processing_stack_name(self) -> str:
        return f"OrderProcessing-{self.name}"

    @property
    def state_machine_name(self) -> str:
        return f"OrderProcessing-{self.name}"

    @property
    def alarm_name_prefix(self) -> str:
        return f"OrderProcessing-{self.name}-"

    @property
    def approval_api_name(self) -> str:
        return f"OrderProcessing-{self.name}-approvals"

    def log_group_name(self, *parts: str) -> str:
        """Log groups of the environment live under one prefix (the KMS key policy admits only those)."""
        return "/".join((f"/order-processing/{self.name}", *parts))

    @property
    def state_machine_log_group_name(self) -> str:
        # Step Functions delivers "vended" logs; under /aws/vendedlogs/ CloudWatch Logs does not grow a
        # resource policy per log group (whose size is capped).
        return f"/aws/vendedlogs/states/{self.state_machine_name}"

    @property
    def log_group_name_patterns(self) -> tuple[str, ...]:
        """Every log group name this environment may create (for the KMS key policy)."""
        return (self.log_group_name("*"), self.state_machine_log_group_name)


def load_environment(context: Mapping[str, Any], environ: Mapping[str, str]) -> EnvironmentConfig:
    """Build the configuration of the environment selected by context `env` from context `environments`.

    Account and region come from CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION when set; otherwise the stacks
    are environment-agnostic.
    """
    environments = context.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError("environments must be an object with one entry per environment, e.g. 'dev'")
    name = context.get("env")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"env must name an environment, one of {sorted(environments)}, got {name!r}")
    if name not in environments:
        raise ConfigError(f"env {name!r} is not configured; known environments: {sorted(environments)}")
    if not _ENV_NAME.match(name):
        raise ConfigError(f"env must be lower-case letters, digits and '-' (max 20), got {name!r}")
    return _parse_environment(_Reader(environments[name], f"environments.{name}"), name, environ)


def _parse_environment(r: _Reader, name: str, environ: Mapping[str, str]) -> EnvironmentConfig:
    removal = r.choice("removalPolicy", tuple(_REMOVAL_POLICIES))
    retention = r.positive_int("logRetentionDays")
    if retention not in _RETENTION_DAYS:
        raise ConfigError(
            f"{r.path}.logRetentionDays must be one of CloudWatch's periods {sorted(_RETENTION_DAYS)}, "
            f"got {retention!r}"
        )
    config = EnvironmentConfig(
        name=name,
        account=environ.get("CDK_DEFAULT_ACCOUNT") or None,
        region=environ.get("CDK_DEFAULT_REGION") or None,
        removal_policy=_REMOVAL_POLICIES[removal],
        log_retention_days=retention,
        operations_emails=r.emails("operationsEmails"),
        tags=r.tags("tags"),
        orders=_parse_orders(r.child("orders")),
    )
    r.reject_unknown()
    return config


def _parse_orders(r: _Reader) -> OrdersConfig:
    alarms = r.child("alarms")
    config = OrdersConfig(
        approval_threshold=r.positive_decimal("approvalThreshold"),
        approval_timeout_seconds=r.positive_int("approvalTimeoutSeconds", maximum=365 * 24 * 3600),
        lambda_memory_mb=r.positive_int("lambdaMemoryMb", minimum=128, maximum=10240),
        lambda_timeout_seconds=r.positive_int("lambdaTimeoutSeconds", maximum=900),
        intake_batch_size=r.positive_int("intakeBatchSize", maximum=10),
        max_receive_count=r.positive_int("maxReceiveCount", maximum=1000),
        powertools_version=r.version("powertoolsVersion"),
        approval_api_rate_limit=r.positive_int("approvalApiRateLimit"),
        approval_api_burst_limit=r.positive_int("approvalApiBurstLimit"),
        approver_emails=r.emails("approverEmails"),
        log_level=r.choice("logLevel", _LOG_LEVELS, default="INFO"),
        alarms=AlarmThresholds(
            lambda_errors=alarms.positive_int("lambdaErrorsThreshold"),
            failed_executions=alarms.positive_int("failedExecutionsThreshold"),
            timed_out_executions=alarms.positive_int("timedOutExecutionsThreshold"),
            period_minutes=alarms.positive_int("periodMinutes", maximum=1440),
        ),
    )
    # Lambda's SQS poller rejects visibility timeouts over 12 hours; the factor makes this the binding limit.
    if config.intake_visibility_timeout_seconds > 43200:
        raise ConfigError(f"{r.path}.lambdaTimeoutSeconds is too large for the intake queue's visibility timeout")
    alarms.reject_unknown()
    r.reject_unknown()
    return config


class _Reader:
    """Typed access to one JSON object of the configuration; every error names the full key path."""

    _MISSING: ClassVar[object] = object()

    def __init__(self, data: Any, path: str):
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path} must be an object, got {data!r}")
        self._data = data
        self._seen: set[str] = set()
        self.path = path

    def _get(self, key: str, default: Any = _MISSING) -> Any:
        self._seen.add(key)
        if key in self._data:
            return self._data[key]
        if default is self._MISSING:
            raise ConfigError(f"{self.path}.{key} is missing")
        return default

    def _fail(self, key: str, expectation: str, value: Any) -> ConfigError:
        return ConfigError(f"{self.path}.{key} must be {expectation}, got {value!r}")

    def child(self, key: str) -> _Reader:
        return _Reader(self._get(key), f"{self.path}.{key}")

    def positive_int(self, key: str, *, minimum: int = 1, maximum: int | None = None) -> int:
        value = self._get(key)
        # bool is an int in Python; `true` is never a sensible count.
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"an integer >= {minimum}", value)
        if maximum is not None and value > maximum:
            raise self._fail(key, f"an integer <= {maximum}", value)
        return value

    def positive_decimal(self, key: str) -> Decimal:
        value = self._get(key)
        # A string, so JSON never turns an amount of money into a float.
        if not isinstance(value, str):
            raise self._fail(key, 'a positive decimal written as a string (e.g. "10000")', value)
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise self._fail(key, "a positive decimal", value) from None
        if not amount.is_finite() or amount <= 0:
            raise self._fail(key, "a positive decimal", value)
        return amount

    def version(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not re.fullmatch(r"\d+\.\d+\.\d+", value):
            raise self._fail(key, 'a release number such as "3.37.0"', value)
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if value not in allowed:
            raise self._fail(key, f"one of {list(allowed)}", value)
        return value

    def emails(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and _EMAIL.match(v) for v in value):
            raise self._fail(key, "a list of e-mail addresses", value)
        return tuple(value)

    def tags(self, key: str) -> Mapping[str, str]:
        value = self._get(key, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and _TAG_KEY.match(k) and isinstance(v, str) and len(v) <= 256 for k, v in value.items()
        ):
            raise self._fail(key, "an object of tag names to string values", value)
        return MappingProxyType(dict(value))

    def reject_unknown(self) -> None:
        """A misspelt key would otherwise be silently ignored and its default used."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ConfigError(f"{self.path} has unknown keys {unknown}; known keys: {sorted(self._seen)}")
