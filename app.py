#!/usr/bin/env python3
"""CDK entry point: builds the app for the environment chosen with `-c env=<name>` (default in cdk.json)."""

from __future__ import annotations

import os

import aws_cdk as cdk

from stacks.api_gateway_account_stack import ApiGatewayAccountStack
from stacks.compliance import CompliantApp, apply_rule_packs
from stacks.config import load_environment
from stacks.data_platform_stack import DataPlatformStack
from stacks.order_processing_stack import OrderProcessingStack

# What the CDK CLI passes besides cdk.json: an in-process synth (the tests) then writes the same template.
CLI_DEFAULT_CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True}


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    """The whole app, rule packs included; `context` None means the context the CDK CLI provides."""
    if context is None:
        app = CompliantApp(outdir=outdir)
    else:
        app = CompliantApp(context={**CLI_DEFAULT_CONTEXT, **context}, outdir=outdir)
    config = load_environment(
        {"env": app.node.try_get_context("env"), "environments": app.node.try_get_context("environments")},
        os.environ,
    )
    env = cdk.Environment(account=config.account, region=config.region)
    orders = OrderProcessingStack(app, config.order_processing_stack_name, config=config, env=env)
    if config.creates_api_gateway_account:
        # Deployed first: the approval API's stage logging needs the account's CloudWatch role in place.
        orders.add_dependency(ApiGatewayAccountStack(app, config.api_gateway_account_stack_name, env=env))
    DataPlatformStack(app, config.data_platform_stack_name, config=config, env=env)
    apply_rule_packs(app)
    return app


if __name__ == "__main__":
    build_app().synth()
