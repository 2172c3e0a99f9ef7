"""Shared fixtures: one in-process synth of the CDK app per environment per test session."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict:
    """The context block of cdk.json, as the CDK CLI would pass it to app.py."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Synthesize the whole app (cdk-nag included) for an environment name; returns the cloud assembly dir.

    Same code path as `cdk synth`: app.build_app with cdk.json's context plus `env`.
    """
    from app import build_app

    cache: dict[str, Path] = {}

    def _synth(env: str = "dev") -> Path:
        if env not in cache:
            outdir = tmp_path_factory.mktemp(f"cdk.out-{env}")
            build_app(context={**cdk_json_context(), "env": env}, outdir=str(outdir)).synth()
            cache[env] = outdir
        return cache[env]

    return _synth


@pytest.fixture(scope="session")
def dev_assembly(synth: Callable[[str], Path]) -> Path:
    return synth("dev")


# The Lambda code's shared package imports as `order_domain`, as it does in the Lambda runtime.
sys.path.insert(0, str(ROOT / "lambdas"))
