"""One snapshot per environment of DataPlatform-<env>: detects any template change. What matters is pinned by
the fine-grained tests beside it."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infrastructure.cfn import CfnTemplate
from tests.infrastructure.test_snapshot import masked

# The content digest in the object-version readers' ids changes with every edit of requirements.txt or
# startup.sh (files other people own); test_data_platform_stack pins it against the files themselves.
_CONTENT_DIGEST = re.compile(r"(requirements\.txt|startup\.sh)@[0-9a-f]{16}")


def masked_template(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: masked_template(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked_template(v) for v in value]
    if isinstance(value, str):
        return _CONTENT_DIGEST.sub(r"\1@<content-digest>", value)
    return value


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_data_platform_template_matches_snapshot(
    env: str, data_dev: CfnTemplate, data_prod: CfnTemplate, json_snapshot: SnapshotAssertion
):
    template = {"dev": data_dev, "prod": data_prod}[env]
    assert masked_template(masked(copy.deepcopy(template.data))) == json_snapshot
