"""Buckets: the MWAA source bucket and the data lake (landing, raw, curated, quarantine, reports)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

# Object versions superseded in the data lake are kept this long, then expire.
_NONCURRENT_VERSION_DAYS = 30


class DataLake(Construct):
    """Every bucket is KMS-encrypted (the access-log bucket excepted: S3 log delivery needs SSE-S3), TLS-only,
    versioned, closed to the public and logged to the access-log bucket.

    * `landing`: where a day's files arrive; expires after `landing_expiration_days`; its object events go
      to EventBridge (the trigger);
    * `raw`: the ingested copy; moves to Infrequent Access after `raw_transition_days`;
    * `curated`, `quarantine`: the transform's output and its rejected records;
    * `reports`: regulatory records; with `reports_retention_years`, S3 Object Lock in compliance mode.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        landing_expiration_days: int,
        raw_transition_days: int,
        reports_retention_years: int | None,
        access_log_retention_days: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        disposable = removal_policy == RemovalPolicy.DESTROY
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(access_log_retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=disposable,
        )

        def bucket(
            bucket_id: str,
            *,
            lifecycle_rules: list[s3.LifecycleRule] | None = None,
            event_bridge_enabled: bool = False,
            object_lock_years: int | None = None,
        ) -> s3.Bucket:
            locked = object_lock_years is not None
            return s3.Bucket(
                self,
                bucket_id,
                encryption=s3.BucketEncryption.KMS,
                encryption_key=encryption_key,
                bucket_key_enabled=True,
                enforce_ssl=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                versioned=True,
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix=f"{bucket_id.lower()}/",
                lifecycle_rules=[
                    *(lifecycle_rules or []),
                    s3.LifecycleRule(
                        id="expire-noncurrent-versions",
                        noncurrent_version_expiration=Duration.days(_NONCURRENT_VERSION_DAYS),
                        abort_incomplete_multipart_upload_after=Duration.days(7),
                    ),
                ],
                event_bridge_enabled=event_bridge_enabled,
                object_lock_enabled=True if locked else None,
                object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(365 * object_lock_years))
                if locked
                else None,
                # A locked bucket cannot be emptied before its retention ends: never auto-delete it.
                removal_policy=RemovalPolicy.RETAIN if locked else removal_policy,
                auto_delete_objects=disposable and not locked,
            )

        self.source = bucket("MwaaSource")
        self.landing = bucket(
            "Landing",
            lifecycle_rules=[s3.LifecycleRule(id="expire-landing", expiration=Duration.days(landing_expiration_days))],
            event_bridge_enabled=True,
        )
        self.raw = bucket(
            "Raw",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="raw-to-infrequent-access",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(raw_transition_days),
                        )
                    ],
                )
            ],
        )
        self.curated = bucket("Curated")
        self.quarantine = bucket("Quarantine")
        self.reports = bucket("Reports", object_lock_years=reports_retention_years)
        self.data_buckets = {
            "landing": self.landing,
            "raw": self.raw,
            "curated": self.curated,
            "quarantine": self.quarantine,
            "reports": self.reports,
        }
