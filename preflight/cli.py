"""`python -m preflight`: loads the environment's configuration, asks the account, prints one line per check.

Exit status: 0 all ok, 1 something to fix, 2 nothing could be asked (no credentials or region, bad configuration).
Every AWS call is a read: Describe*, Get*, List*.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from preflight import checks, project
from preflight.report import EXIT_CANNOT_RUN, Result, exit_status, fix, ok
from stacks.config import ConfigError, EnvironmentConfig, load_environment

ROOT = Path(__file__).resolve().parent.parent
# The CDK CLI this project installs (Makefile: CDK := node_modules/.bin/cdk).
CDK = "node_modules/.bin/cdk"


@dataclass(frozen=True)
class Clients:
    """The boto3 clients the checks use, all for one region."""

    ec2: Any
    ssm: Any
    cloudformation: Any
    service_quotas: Any
    mwaa: Any
    redshift_serverless: Any

    @classmethod
    def from_session(cls, session: boto3.Session, region: str) -> Clients:
        def client(name: str) -> Any:
            return session.client(name, region_name=region)

        return cls(
            ec2=client("ec2"),
            ssm=client("ssm"),
            cloudformation=client("cloudformation"),
            service_quotas=client("service-quotas"),
            mwaa=client("mwaa"),
            redshift_serverless=client("redshift-serverless"),
        )


def _guarded(check: str, run: Callable[[], Result]) -> Result:
    """A read call that fails (access denied, throttled, no endpoint) becomes a fix line, and the others still run."""
    try:
        return run()
    except ClientError as error:
        operation = error.operation_name
        return fix(
            check, f"{operation} failed: {checks.error_code(error)}: allow this read call to the deploying identity"
        )
    except BotoCoreError as error:
        return fix(check, f"the read call failed: {error}")


def check_target(config: EnvironmentConfig, *, account: str, region: str) -> Result:
    """Credentials point at the account and region the stacks are pinned to (CDK_DEFAULT_ACCOUNT/REGION), if any."""
    pinned = [
        f"{what} {want} (CDK_DEFAULT_{what.upper()}) but credentials are for {have}"
        for what, want, have in (("account", config.account, account), ("region", config.region, region))
        if want and want != have
    ]
    if pinned:
        return fix("target", "; ".join(pinned) + ": use the profile or region of the target environment")
    return ok("target", f"environment {config.name} in account {account}, region {region}")


def run_checks(
    clients: Clients,
    *,
    config: EnvironmentConfig,
    cdk_json: dict[str, Any],
    cdk_out: Path,
    account: str,
    region: str,
) -> list[Result]:
    """Every check, in the order a first deploy would meet them."""
    results = [check_target(config, account=account, region=region)]

    qualifier = project.qualifier(cdk_json)
    toolkit_stack = project.toolkit_stack_name(cdk_json)
    command = f"{CDK} bootstrap aws://{account}/{region}"
    if qualifier != project.DEFAULT_QUALIFIER:
        command += f" --qualifier {qualifier}"
    if toolkit_stack != project.DEFAULT_TOOLKIT_STACK_NAME:
        command += f" --toolkit-stack-name {toolkit_stack}"
    requirement = project.bootstrap_requirement(cdk_out, config, cdk_json)
    results.append(
        _guarded(
            "cdk bootstrap",
            lambda: checks.check_bootstrap(
                clients.cloudformation,
                clients.ssm,
                requirement=requirement,
                toolkit_stack_name=toolkit_stack,
                bootstrap_command=command,
                region=region,
            ),
        )
    )
    results.append(
        _guarded(
            "powertools layer",
            lambda: checks.check_powertools_layer(
                clients.ssm, parameter_name=project.powertools_parameter_name(config), region=region
            ),
        )
    )
    required_zones, reason = project.required_availability_zones(config)
    results.append(
        _guarded(
            "availability zones",
            lambda: checks.check_availability_zones(clients.ec2, region=region, required=required_zones, reason=reason),
        )
    )
    results.append(_guarded("mwaa region", lambda: checks.check_mwaa_region(clients.mwaa, region=region)))
    if config.data_platform.warehouse.existing_workgroup_name is None:
        results.append(
            _guarded(
                "redshift serverless region",
                lambda: checks.check_redshift_serverless_region(clients.redshift_serverless, region=region),
            )
        )
    results.extend(_quota_results(clients, config=config, cdk_out=cdk_out))
    return results


def _quota_results(clients: Clients, *, config: EnvironmentConfig, cdk_out: Path) -> list[Result]:
    stack = config.data_platform_stack_name
    needs = project.data_platform_needs(cdk_out, config)
    try:
        deployed = checks.stack_is_deployed(clients.cloudformation, stack)
    except (ClientError, BotoCoreError):
        deployed = False
    # An update of a deployed stack creates none of these again; a first deploy creates all of them.
    factor = 0 if deployed else 1
    needed_for = f"{stack} (already deployed)" if deployed else f"{stack} (from {needs.source})"
    ec2 = clients.ec2
    sq = clients.service_quotas
    plan = [
        (checks.VPCS, lambda: checks.count_vpcs(ec2), needs.vpcs),
        (checks.INTERNET_GATEWAYS, lambda: checks.count_internet_gateways(ec2), needs.internet_gateways),
        (checks.ELASTIC_IPS, lambda: checks.count_elastic_ips(ec2), needs.elastic_ips),
        # CDK puts at most one NAT gateway in each zone, so a zone gains one at most.
        (checks.NAT_GATEWAYS_PER_AZ, lambda: checks.max_nat_gateways_in_one_zone(ec2), min(needs.nat_gateways, 1)),
        (checks.GATEWAY_ENDPOINTS, lambda: checks.count_gateway_endpoints(ec2), needs.gateway_endpoints),
        (checks.MWAA_ENVIRONMENTS, lambda: checks.count_mwaa_environments(clients.mwaa), needs.mwaa_environments),
    ]
    return [
        _guarded(
            spec.check,
            lambda spec=spec, usage=usage, needed=needed: checks.check_quota(
                sq, spec, usage=usage(), needed=needed * factor, needed_for=needed_for
            ),
        )
        for spec, usage, needed in plan
    ]


def _parse(argv: Sequence[str] | None, default_env: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=default_env, help=f"environment in cdk.json (default {default_env})")
    parser.add_argument(
        "--region", help="AWS region (default: AWS_REGION, else the boto3 chain: AWS_DEFAULT_REGION or the profile's)"
    )
    parser.add_argument("--profile", help="AWS profile (default: the boto3 chain, AWS_PROFILE)")
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out", help="cloud assembly to read, if present")
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None,
    *,
    session_factory: Callable[..., boto3.Session] = boto3.Session,
    root: Path = ROOT,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    cdk_json = project.read_cdk_json(root)
    context = cdk_json.get("context", {})
    args = _parse(argv, context.get("env", "dev"))

    def cannot_run(message: str) -> int:
        print(f"preflight cannot run: {message}", file=err)
        return EXIT_CANNOT_RUN

    try:
        config = load_environment({"env": args.env, "environments": context.get("environments")}, os.environ)
    except ConfigError as error:
        return cannot_run(f"cdk.json: {error}")
    try:
        # botocore itself reads AWS_DEFAULT_REGION and the profile, not AWS_REGION (the variable other SDKs and the
        # CDK CLI honour): it is passed on explicitly.
        session = session_factory(
            profile_name=args.profile, region_name=args.region or os.environ.get("AWS_REGION") or None
        )
    except BotoCoreError as error:
        return cannot_run(str(error))
    region = session.region_name
    if not region:
        return cannot_run(
            "no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION (or a region in the profile)"
        )
    if session.get_credentials() is None:
        return cannot_run(
            "no AWS credentials: set AWS_PROFILE (then `aws sso login` if it is an SSO profile) or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; preflight makes read-only calls only"
        )
    try:
        account = session.client("sts", region_name=region).get_caller_identity()["Account"]
    except (ClientError, NoCredentialsError, BotoCoreError) as error:
        return cannot_run(f"the credentials were refused (sts get-caller-identity): {error}")

    results = run_checks(
        Clients.from_session(session, region),
        config=config,
        cdk_json=cdk_json,
        cdk_out=args.cdk_out,
        account=account,
        region=region,
    )
    for result in results:
        print(result.line, file=out)
    to_fix = sum(1 for r in results if r.status == "fix")
    print(f"preflight: {len(results)} checks, {to_fix} to fix", file=err)
    return exit_status(results)
