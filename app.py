#!/usr/bin/env python3
"""CDK entry point: builds the app for the environment chosen with `-c env=<name>` (default in cdk.json)."""

from __future__ import annotations

import os

import aws_cdk as cdk

from stacks.compliance import CompliantApp, apply_rule_packs
from stacks.config import load_environment
from stacks.order_processing_stack import OrderProcessingStack


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    """The whole app, rule packs included; `context` None means the context the CDK CLI provides."""
    app = CompliantApp(context=context, outdir=outdir) if context is not None else CompliantApp(outdir=outdir)
    config = load_environment(
        {"env": app.node.try_get_context("env"), "environments": app.node.try_get_context("environments")},
        os.environ,
    )
    env = cdk.Environment(account=config.account, region=config.region)
    OrderProcessingStack(app, config.order_processing_stack_name, config=config, env=env)
    apply_rule_packs(app)
    return app


if __name__ == "__main__":
    build_app().synth()
