"""The pipeline's configuration, read when a task runs, never while the DAG file is parsed.

Each key comes from the Airflow configuration section `[financial_etl]` (on MWAA an environment
configuration option `financial_etl.<key>`, exported as `AIRFLOW__FINANCIAL_ETL__<KEY>`), unless the JSON
Variable `financial_etl_config` overrides it (an operator can then change a value without a deployment):

| key | what |
| --- | --- |
| `landing_bucket`, `raw_bucket`, `curated_bucket`, `reports_bucket` | bucket names |
| `glue_job_extract_transactions`, `glue_job_extract_market_data`, `glue_job_transform_data`, `glue_job_generate_reports` | Glue job names |
| `redshift_workgroup`, `redshift_database`, `redshift_copy_role_arn` | where the Data API loads, and the role COPY assumes |
| `redshift_secret_arn` (optional), `redshift_schema` (optional, `finance`) | credentials other than IAM; the warehouse schema |
| `operations_topic_arn` | the SNS topic failures are published to |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SECTION = "financial_etl"
VARIABLE = "financial_etl_config"
GLUE_TASKS = ("extract_transactions", "extract_market_data", "transform_data", "generate_reports")
REQUIRED_KEYS = (
    "landing_bucket",
    "raw_bucket",
    "curated_bucket",
    "reports_bucket",
    *(f"glue_job_{task}" for task in GLUE_TASKS),
    "redshift_workgroup",
    "redshift_database",
    "redshift_copy_role_arn",
    "operations_topic_arn",
)
OPTIONAL_KEYS = ("redshift_secret_arn", "redshift_schema")
KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,126}$")


class ConfigError(ValueError):
    """A key is missing or has a wrong value; the message names the key."""


@dataclass(frozen=True)
class RedshiftConfig:
    workgroup_name: str
    database: str
    copy_role_arn: str
    schema: str = "finance"
    secret_arn: str | None = None


@dataclass(frozen=True)
class EtlConfig:
    landing_bucket: str
    raw_bucket: str
    curated_bucket: str
    reports_bucket: str
    glue_jobs: Mapping[str, str]
    redshift: RedshiftConfig
    operations_topic_arn: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EtlConfig:
        """Validate the flat key/value settings; ConfigError names the first bad key."""
        for key in REQUIRED_KEYS:
            if not isinstance(data.get(key), str) or not data[key]:
                raise ConfigError(f"{SECTION}.{key} must be set (a non-empty string)")
        schema = data.get("redshift_schema") or "finance"
        if not _IDENTIFIER.match(schema):
            raise ConfigError(f"{SECTION}.redshift_schema must be a lower-case SQL identifier, got {schema!r}")
        return cls(
            landing_bucket=data["landing_bucket"],
            raw_bucket=data["raw_bucket"],
            curated_bucket=data["curated_bucket"],
            reports_bucket=data["reports_bucket"],
            glue_jobs={task: data[f"glue_job_{task}"] for task in GLUE_TASKS},
            redshift=RedshiftConfig(
                workgroup_name=data["redshift_workgroup"],
                database=data["redshift_database"],
                copy_role_arn=data["redshift_copy_role_arn"],
                schema=schema,
                secret_arn=data.get("redshift_secret_arn") or None,
            ),
            operations_topic_arn=data["operations_topic_arn"],
        )


def load_config() -> EtlConfig:
    """The `[financial_etl]` section overlaid with the Variable (call it in a task or template, not at top level)."""
    from airflow.sdk import Variable
    from airflow.sdk.configuration import conf

    values: dict[str, Any] = {key: conf.get(SECTION, key, fallback=None) for key in KEYS}
    override = Variable.get(VARIABLE, default=None, deserialize_json=True)
    if override is not None:
        if not isinstance(override, dict):
            raise ConfigError(f"Variable {VARIABLE} must be a JSON object of {SECTION} keys")
        unknown = sorted(set(override) - set(KEYS))
        if unknown:
            raise ConfigError(f"Variable {VARIABLE} has unknown keys: {', '.join(unknown)}")
        values.update(override)
    return EtlConfig.from_mapping(values)
