"""The workload's DynamoDB tables: orders, inventory, the simulated payment ledger and the idempotency store."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct


class OrderTables(Construct):
    """Four on-demand tables, encrypted with the environment's CMK, with point-in-time recovery.

    Key schemas are a contract with `lambdas/order_domain/adapters/dynamodb.py` (and the offline runner,
    which recreates the tables from the synthesized KeySchema / AttributeDefinitions).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, construct_id)

        def table(
            table_id: str,
            partition_key: str,
            sort_key: str | None = None,
            time_to_live_attribute: str | None = None,
        ) -> dynamodb.Table:
            return dynamodb.Table(
                self,
                table_id,
                partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=(dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
                encryption_key=encryption_key,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=time_to_live_attribute,
                removal_policy=removal_policy,
                deletion_protection=deletion_protection,
            )

        self.orders = table("Orders", partition_key="orderId")
        # Stock per SKU and warehouse; the `available` count is a plain number attribute.
        self.inventory = table("Inventory", partition_key="sku", sort_key="warehouse")
        # The simulated payment provider's ledger of authorizations, captures and voids.
        self.payments = table("Payments", partition_key="orderId")
        # Layout required by Powertools' DynamoDBPersistenceLayer defaults.
        self.idempotency = table("Idempotency", partition_key="id", time_to_live_attribute="expiration")
