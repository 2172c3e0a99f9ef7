"""One snapshot per stack: detects any template change. What matters is pinned by the other tests."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infrastructure.cfn import CfnTemplate

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(value: Any) -> Any:
    """The template with the Lambda asset hashes (S3Key, aws:asset:path) masked: they change with any code edit."""
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
    return value


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_order_processing_template_matches_snapshot(
    env: str, dev: CfnTemplate, prod: CfnTemplate, json_snapshot: SnapshotAssertion
):
    template = {"dev": dev, "prod": prod}[env]
    assert masked(copy.deepcopy(template.data)) == json_snapshot
