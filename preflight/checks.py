"""The checks. Each is a small function of boto3 clients and plain values that makes read-only calls and returns
one Result; a failed call becomes a `fix` line naming the call, never an exception.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from preflight.project import BootstrapRequirement
from preflight.report import Result, fix, ok

CDK_BOOTSTRAP_DOC = "docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html"
REDSHIFT_SERVERLESS_AZ_DOC = "docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html"
MWAA_ENDPOINTS_DOC = "docs.aws.amazon.com/general/latest/gr/mwaa.html"
REDSHIFT_SERVERLESS_ENDPOINTS_DOC = "docs.aws.amazon.com/general/latest/gr/redshift-service.html"
POWERTOOLS_LAYER_DOC = "docs.aws.amazon.com/powertools/python/latest/#lambda-layer"

# CloudFormation stack states in which a stack is settled and usable.
_SETTLED_STACK_STATES = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
)
# States in which a stack holds none of its resources any more (or never did).
_EMPTY_STACK_STATES = frozenset({"ROLLBACK_COMPLETE", "DELETE_COMPLETE", "REVIEW_IN_PROGRESS"})


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def describe_stack(cloudformation: Any, stack_name: str) -> dict[str, Any] | None:
    """The stack, or None when CloudFormation says it does not exist (a ValidationError)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    return stacks[0] if stacks else None


def stack_is_deployed(cloudformation: Any, stack_name: str) -> bool:
    """True when the stack exists with its resources, so a deploy updates it rather than creating everything."""
    stack = describe_stack(cloudformation, stack_name)
    return stack is not None and stack["StackStatus"] not in _EMPTY_STACK_STATES


# --- CDK bootstrap -------------------------------------------------------------------------------------------


def check_bootstrap(
    cloudformation: Any,
    ssm: Any,
    *,
    requirement: BootstrapRequirement,
    toolkit_stack_name: str,
    bootstrap_command: str,
    region: str,
) -> Result:
    """The bootstrap stack exists, is settled, and its version is at least what the cloud assembly requires.

    The CDK CLI reads the version from the SSM parameter (`/cdk-bootstrap/<qualifier>/version`) before each deploy;
    the toolkit stack's `BootstrapVersion` output carries the same figure (docs: CDK_BOOTSTRAP_DOC).
    """
    check = "cdk bootstrap"
    parameter = requirement.ssm_parameter
    stack = describe_stack(cloudformation, toolkit_stack_name)
    try:
        from_ssm: int | None = int(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    except ClientError as error:
        if error_code(error) != "ParameterNotFound":
            raise
        from_ssm = None
    if stack is None and from_ssm is None:
        return fix(
            check,
            f"no bootstrap stack {toolkit_stack_name} and no SSM parameter {parameter} in {region}: "
            f"the environment is not bootstrapped; run `{bootstrap_command}` ({CDK_BOOTSTRAP_DOC})",
        )
    if stack is not None and stack["StackStatus"] not in _SETTLED_STACK_STATES:
        return fix(
            check,
            f"bootstrap stack {toolkit_stack_name} is {stack['StackStatus']}: wait for it to settle, or delete it "
            f"and run `{bootstrap_command}`",
        )
    from_output = None
    if stack is not None:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if outputs.get("BootstrapVersion", "").isdigit():
            from_output = int(outputs["BootstrapVersion"])
    version, where = (from_ssm, parameter) if from_ssm is not None else (from_output, "stack output BootstrapVersion")
    if version is None:
        return fix(
            check,
            f"bootstrap stack {toolkit_stack_name} has no BootstrapVersion output and {parameter} is missing: "
            f"run `{bootstrap_command}` again",
        )
    if version < requirement.version:
        return fix(
            check,
            f"bootstrap version {version} ({where}) is older than {requirement.version}, required by "
            f"{requirement.source}: run `{bootstrap_command}` to upgrade it",
        )
    return ok(
        check,
        f"{toolkit_stack_name} version {version} ({where}) >= {requirement.version} required by {requirement.source}",
    )


# --- Powertools layer ------------------------------------------------------------------------------------------


def check_powertools_layer(ssm: Any, *, parameter_name: str, region: str) -> Result:
    """The public SSM parameter the stacks resolve the Powertools layer ARN from exists in this region.

    CloudFormation resolves it at deploy time; a release, Python version or architecture not published in the
    region fails the deploy with a missing parameter.
    """
    check = "powertools layer"
    try:
        arn = ssm.get_parameter(Name=parameter_name)["Parameter"]["Value"]
    except ClientError as error:
        if error_code(error) != "ParameterNotFound":
            raise
        prefix = parameter_name.rsplit("/", 1)[0]
        return fix(
            check,
            f"{parameter_name} does not exist in {region}: this Powertools release is not published there for "
            f"this Python version and architecture; set orders.powertoolsVersion in cdk.json to one that "
            f"`aws ssm get-parameters-by-path --path {prefix}` lists (and the same pin in requirements-dev.txt), "
            f"or deploy to another region ({POWERTOOLS_LAYER_DOC})",
        )
    return ok(check, f"{parameter_name} = {arn}")


# --- Availability Zones and regional services -----------------------------------------------------------------


def usable_availability_zones(ec2: Any) -> list[dict[str, Any]]:
    """Zones (not Local or Wavelength Zones) that are available and enabled for the account."""
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    return [
        zone
        for zone in zones
        if zone.get("ZoneType", "availability-zone") == "availability-zone"
        and zone.get("State") == "available"
        and zone.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in")
    ]


def check_availability_zones(ec2: Any, *, region: str, required: int, reason: str) -> Result:
    """The region offers enough Availability Zones for the subnets the platform needs."""
    check = "availability zones"
    zones = usable_availability_zones(ec2)
    zone_ids = {zone.get("ZoneId") or zone["ZoneName"] for zone in zones}
    names = ", ".join(sorted(f"{z['ZoneName']}={z.get('ZoneId', '?')}" for z in zones)) or "none"
    if len(zone_ids) >= required:
        return ok(check, f"{len(zone_ids)} in {region} ({names}); {reason}")
    exception = ""
    if region == "us-west-1" and required == 3:
        exception = (
            " (us-west-1 is the documented exception: three subnets over two zones, which this project's "
            "one-subnet-per-zone VPC does not build)"
        )
    return fix(
        check,
        f"only {len(zone_ids)} available in {region} ({names}); {reason}{exception}: deploy to a region with "
        f"{required} or more ({REDSHIFT_SERVERLESS_AZ_DOC})",
    )


def _service_answers(check: str, label: str, call: Callable[[], int], *, region: str, doc: str) -> Result:
    try:
        count = call()
    except EndpointConnectionError:
        return fix(check, f"{label} has no endpoint in {region}: deploy to a region that offers it ({doc})")
    return ok(check, f"{label} answers in {region} ({count} in the region now)")


def count_mwaa_environments(mwaa: Any) -> int:
    return sum(len(page.get("Environments", [])) for page in mwaa.get_paginator("list_environments").paginate())


def count_redshift_serverless_workgroups(redshift_serverless: Any) -> int:
    paginator = redshift_serverless.get_paginator("list_workgroups")
    return sum(len(page.get("workgroups", [])) for page in paginator.paginate())


def check_mwaa_region(mwaa: Any, *, region: str) -> Result:
    """MWAA's API answers in the region (ListEnvironments, read-only)."""
    return _service_answers(
        "mwaa region", "MWAA", lambda: count_mwaa_environments(mwaa), region=region, doc=MWAA_ENDPOINTS_DOC
    )


def check_redshift_serverless_region(redshift_serverless: Any, *, region: str) -> Result:
    """Redshift Serverless's API answers in the region (ListWorkgroups, read-only)."""
    return _service_answers(
        "redshift serverless region",
        "Redshift Serverless",
        lambda: count_redshift_serverless_workgroups(redshift_serverless),
        region=region,
        doc=REDSHIFT_SERVERLESS_ENDPOINTS_DOC,
    )


# --- Quotas ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaSpec:
    """One Service Quotas quota, where its code comes from, and its documented default when the docs give one."""

    check: str
    service_code: str
    # None: found at run time by `quota_name` among the service's quotas.
    quota_code: str | None
    quota_name: str
    doc: str
    # Whether the code was confirmed from an AWS source while writing this (see the README): when not, the output
    # line says so.
    code_verified: bool
    documented_default: int | None = None


# Names and defaults: docs.aws.amazon.com/general/latest/gr/vpc-service.html ("VPCs per Region", "Internet gateways
# per Region", "NAT gateways per Availability Zone", "Gateway VPC endpoints per Region"). That page shows no codes;
# the codes are those of AWS's own ListAWSDefaultServiceQuotas answer for service "vpc" (recorded in moto 5.2.5,
# moto/servicequotas/resources/default_quotas/vpc.py); L-F678F1CE also in Pulumi's getServiceQuota docs example
# beside its name.
VPCS = QuotaSpec(
    "quota vpcs",
    "vpc",
    "L-F678F1CE",
    "VPCs per Region",
    "docs.aws.amazon.com/general/latest/gr/vpc-service.html",
    code_verified=True,
    documented_default=5,
)
INTERNET_GATEWAYS = QuotaSpec(
    "quota internet gateways",
    "vpc",
    "L-A4707A72",
    "Internet gateways per Region",
    "docs.aws.amazon.com/general/latest/gr/vpc-service.html",
    code_verified=True,
    documented_default=5,
)
NAT_GATEWAYS_PER_AZ = QuotaSpec(
    "quota nat gateways per az",
    "vpc",
    "L-FE5A380F",
    "NAT gateways per Availability Zone",
    "docs.aws.amazon.com/general/latest/gr/vpc-service.html",
    code_verified=True,
    documented_default=5,
)
GATEWAY_ENDPOINTS = QuotaSpec(
    "quota gateway endpoints",
    "vpc",
    "L-1B52E74A",
    "Gateway VPC endpoints per Region",
    "docs.aws.amazon.com/general/latest/gr/vpc-service.html",
    code_verified=True,
    documented_default=20,
)
# docs.aws.amazon.com/general/latest/gr/ec2-service.html lists EC2's quotas without codes; L-0263D0A3 is the code
# public quota tooling uses for "EC2-VPC Elastic IPs", not found on an AWS page: the line says so, and names the
# quota the account returns so the user can see it is the right one.
ELASTIC_IPS = QuotaSpec(
    "quota elastic ips",
    "ec2",
    "L-0263D0A3",
    "EC2-VPC Elastic IPs",
    "docs.aws.amazon.com/general/latest/gr/ec2-service.html",
    code_verified=False,
)
# docs.aws.amazon.com/general/latest/gr/mwaa.html: MWAA's quotas, without codes. The Service Quotas service code is
# "airflow"; the environments quota's code was not found in any AWS source, so it is looked up by name at run time.
MWAA_ENVIRONMENTS = QuotaSpec(
    "quota mwaa environments",
    "airflow",
    None,
    "environments",
    "docs.aws.amazon.com/general/latest/gr/mwaa.html",
    code_verified=False,
)


class QuotaUnavailable(Exception):
    """The quota's value could not be read from Service Quotas."""


@dataclass(frozen=True)
class QuotaValue:
    value: float
    source: str
    code: str
    name: str


def _find_quota_by_name(service_quotas: Any, spec: QuotaSpec) -> dict[str, Any]:
    wanted = spec.quota_name.lower()
    for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
        try:
            pages = service_quotas.get_paginator(operation).paginate(ServiceCode=spec.service_code)
            for page in pages:
                for quota in page.get("Quotas", []):
                    if wanted in quota.get("QuotaName", "").lower():
                        return quota
        except ClientError as error:
            if error_code(error) != "NoSuchResourceException":
                raise QuotaUnavailable(f"{operation}: {error_code(error)}") from error
    raise QuotaUnavailable(f"no {spec.service_code} quota named like '{spec.quota_name}'")


def read_quota(service_quotas: Any, spec: QuotaSpec) -> QuotaValue:
    """The account's applied value (GetServiceQuota), else AWS's default (GetAWSDefaultServiceQuota)."""
    if spec.quota_code is None:
        found = _find_quota_by_name(service_quotas, spec)
        code = found["QuotaCode"]
    else:
        code = spec.quota_code
    try:
        quota = service_quotas.get_service_quota(ServiceCode=spec.service_code, QuotaCode=code)["Quota"]
        source = "applied"
    except ClientError as error:
        if error_code(error) != "NoSuchResourceException":
            raise QuotaUnavailable(f"GetServiceQuota {spec.service_code}/{code}: {error_code(error)}") from error
        try:
            quota = service_quotas.get_aws_default_service_quota(ServiceCode=spec.service_code, QuotaCode=code)["Quota"]
        except ClientError as default_error:
            raise QuotaUnavailable(
                f"GetAWSDefaultServiceQuota {spec.service_code}/{code}: {error_code(default_error)}"
            ) from default_error
        source = "AWS default"
    return QuotaValue(float(quota["Value"]), source, code, quota.get("QuotaName", ""))


def check_quota(service_quotas: Any, spec: QuotaSpec, *, usage: int, needed: int, needed_for: str) -> Result:
    """Current usage plus what the deploy creates stays within the quota."""
    try:
        quota = read_quota(service_quotas, spec)
        value, source, code = quota.value, quota.source, quota.code
        named = quota.name
    except (QuotaUnavailable, BotoCoreError) as error:
        if spec.documented_default is None:
            return fix(
                spec.check,
                f"could not read the quota ({error}); {usage} in use, {needed} needed for {needed_for}: "
                f"check '{spec.quota_name}' in the Service Quotas console ({spec.doc})",
            )
        value, source, code = (
            float(spec.documented_default),
            f"documented default; not readable: {error}",
            spec.quota_code,
        )
        named = spec.quota_name
    label = f"{spec.service_code}/{code}"
    if not spec.code_verified:
        label += f", code not confirmed by AWS docs; the account names it '{named}'"
    elif named and named.lower() != spec.quota_name.lower():
        label += f", the account names it '{named}', expected '{spec.quota_name}'"
    total = usage + needed
    if total > value:
        return fix(
            spec.check,
            f"{usage} in use + {needed} for {needed_for} = {total} > {value:g} ({source}; {label}): release some or "
            f"request an increase: aws service-quotas request-service-quota-increase --service-code "
            f"{spec.service_code} --quota-code {code} --desired-value {total} ({spec.doc})",
        )
    return ok(spec.check, f"{usage} in use + {needed} for {needed_for} = {total} <= {value:g} ({source}; {label})")


# --- Usage -------------------------------------------------------------------------------------------------------


def count_vpcs(ec2: Any) -> int:
    return sum(len(page["Vpcs"]) for page in ec2.get_paginator("describe_vpcs").paginate())


def count_internet_gateways(ec2: Any) -> int:
    return sum(len(page["InternetGateways"]) for page in ec2.get_paginator("describe_internet_gateways").paginate())


def count_elastic_ips(ec2: Any) -> int:
    return len(ec2.describe_addresses()["Addresses"])


def count_gateway_endpoints(ec2: Any) -> int:
    return sum(
        1
        for page in ec2.get_paginator("describe_vpc_endpoints").paginate()
        for endpoint in page["VpcEndpoints"]
        if endpoint.get("VpcEndpointType") == "Gateway"
        and endpoint.get("State", "").lower() not in ("deleted", "deleting")
    )


def max_nat_gateways_in_one_zone(ec2: Any) -> int:
    """NAT gateways (pending or available) in the busiest zone: the new ones may land in any zone."""
    gateways = [
        gateway
        for page in ec2.get_paginator("describe_nat_gateways").paginate(
            Filters=[{"Name": "state", "Values": ["pending", "available"]}]
        )
        for gateway in page["NatGateways"]
    ]
    if not gateways:
        return 0
    subnet_ids = sorted({g["SubnetId"] for g in gateways})
    zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]}
    return max(Counter(zone_of.get(g["SubnetId"], "?") for g in gateways).values())
