"""DynamoDB adapters: the orders table, the inventory table (reservations as conditional transactions)
and the simulated provider's payment ledger. Built on boto3's resource layer so numbers stay Decimal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from ..models import TERMINAL_STATUSES, Allocation, Order, OrderStatus, Outcome, PaymentStatus, WarehouseStock
from ..ports import AlreadyReserved, StockChanged

_TERMINAL = [str(s) for s in TERMINAL_STATUSES]


def _condition_failed(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _not_terminal_condition(values: dict[str, Any]) -> str:
    names = []
    for i, status in enumerate(_TERMINAL):
        values[f":t{i}"] = status
        names.append(f":t{i}")
    return f"NOT #status IN ({', '.join(names)})"


def _history(status: str, now: str, detail: str | None = None) -> list[dict[str, Any]]:
    entry = {"status": status, "at": now}
    if detail:
        entry["detail"] = detail
    return [entry]


class DynamoDBOrders:
    """One item per order: current status, reason, lines, reservation and the status history."""

    def __init__(self, table: Any):
        self._table = table

    def create_received(self, order: Order, now: str) -> None:
        item = {
            "orderId": order.orderId,
            "customerId": order.customerId,
            "currency": order.currency,
            "total": order.total,
            "items": [line.model_dump() for line in order.items],
            "approvalRequired": order.approval.required,
            "status": OrderStatus.RECEIVED.value,
            "history": _history(OrderStatus.RECEIVED, now),
            "createdAt": now,
            "updatedAt": now,
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(orderId)")
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def advance(self, order_id: str, status: OrderStatus, expected: set[OrderStatus], now: str) -> bool:
        values: dict[str, Any] = {":s": status.value, ":h": _history(status, now), ":now": now}
        allowed = []
        for i, source in enumerate(sorted(expected)):
            values[f":e{i}"] = source.value
            allowed.append(f":e{i}")
        try:
            self._table.update_item(
                Key={"orderId": order_id},
                UpdateExpression="SET #status = :s, history = list_append(history, :h), updatedAt = :now",
                ConditionExpression=f"#status IN ({', '.join(allowed)})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise

    def finish(self, outcome: Outcome, now: str) -> Outcome:
        values: dict[str, Any] = {
            ":s": outcome.status.value,
            ":reason": outcome.reason,
            ":h": _history(outcome.status, now, outcome.reason),
            ":empty": [],
            ":now": now,
        }
        sets = [
            "#status = :s",
            "reason = :reason",
            "history = list_append(if_not_exists(history, :empty), :h)",
            "updatedAt = :now",
            "createdAt = if_not_exists(createdAt, :now)",
        ]
        if outcome.customerId is not None:
            values[":c"] = outcome.customerId
            sets.append("customerId = if_not_exists(customerId, :c)")
        try:
            self._table.update_item(
                Key={"orderId": outcome.orderId},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_not_exists(orderId) OR " + _not_terminal_condition(values),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
            return outcome
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
        # Already terminal (a retried step): report what was recorded, never a second status.
        current = self.get(outcome.orderId) or {}
        return outcome.model_copy(update={"status": OrderStatus(current["status"]), "reason": current.get("reason")})

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")


class DynamoDBInventory:
    """Stock per (sku, warehouse) in `available`; reservations are transactions across both tables."""

    def __init__(self, inventory_table: Any, orders_table: Any | None):
        self._inventory = inventory_table
        self._orders = orders_table
        self._client = inventory_table.meta.client

    def available(self, warehouse: str, skus: list[str]) -> dict[str, int]:
        found: dict[str, int] = dict.fromkeys(skus, 0)
        keys = [{"sku": sku, "warehouse": warehouse} for sku in skus]
        for start in range(0, len(keys), 100):
            request = {self._inventory.name: {"Keys": keys[start : start + 100]}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._inventory.name, []):
                    found[item["sku"]] = int(item.get("available", 0))
                request = response.get("UnprocessedKeys") or None
        return found

    def available_everywhere(self, skus: list[str]) -> list[WarehouseStock]:
        by_warehouse: dict[str, dict[str, int]] = {}
        for sku in skus:
            response = self._inventory.query(KeyConditionExpression=Key("sku").eq(sku), ConsistentRead=True)
            for item in response["Items"]:
                by_warehouse.setdefault(item["warehouse"], {})[sku] = int(item.get("available", 0))
        return [WarehouseStock(warehouse=w, available=stock) for w, stock in sorted(by_warehouse.items())]

    def reserve(self, order_id: str, allocations: list[Allocation], now: str) -> None:
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._inventory.name,
                    "Key": {"sku": a.sku, "warehouse": a.warehouse},
                    "UpdateExpression": "SET available = available - :q",
                    "ConditionExpression": "available >= :q",
                    "ExpressionAttributeValues": {":q": a.quantity},
                }
            }
            for a in allocations
        ]
        writes.append(
            {
                "Update": {
                    "TableName": self._orders.name,
                    "Key": {"orderId": order_id},
                    "UpdateExpression": (
                        "SET reservation = :r, #status = :reserved, "
                        "history = list_append(history, :h), updatedAt = :now"
                    ),
                    "ConditionExpression": "attribute_not_exists(reservation) AND #status = :received",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":r": [a.model_dump() for a in allocations],
                        ":reserved": OrderStatus.RESERVED.value,
                        ":received": OrderStatus.RECEIVED.value,
                        ":h": _history(OrderStatus.RESERVED, now),
                        ":now": now,
                    },
                }
            }
        )
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                held = self._orders.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item") or {}
                if held.get("reservation") is not None:
                    raise AlreadyReserved([Allocation(**a) for a in held["reservation"]]) from None
                raise  # the order is not in a state that may reserve: a bug, let it fail the step
            raise StockChanged(str(reasons)) from None

    def release(self, order_id: str, now: str) -> list[Allocation]:
        order = self._orders.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item") or {}
        if not order.get("reservation") or order.get("reservationReleasedAt"):
            return []
        allocations = [Allocation(**a) for a in order["reservation"]]
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._inventory.name,
                    "Key": {"sku": a.sku, "warehouse": a.warehouse},
                    "UpdateExpression": "ADD available :q",
                    "ExpressionAttributeValues": {":q": a.quantity},
                }
            }
            for a in allocations
        ]
        writes.append(
            {
                "Update": {
                    "TableName": self._orders.name,
                    "Key": {"orderId": order_id},
                    "UpdateExpression": "SET reservationReleasedAt = :now",
                    "ConditionExpression": "attribute_exists(reservation) AND attribute_not_exists(reservationReleasedAt)",
                    "ExpressionAttributeValues": {":now": now},
                }
            }
        )
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if exc.response["Error"]["Code"] == "TransactionCanceledException" and reasons[-1:] == [
                "ConditionalCheckFailed"
            ]:
                return []  # the released stamp was set meanwhile: released concurrently by a retried compensation
            # e.g. TransactionConflict: nothing was applied, the step is retried
            raise
        return allocations


class DynamoDBPaymentLedger:
    """The simulated provider's records: orderId, status, amount, currency, authorizationId, attempts."""

    def __init__(self, table: Any):
        self._table = table

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")

    def count_attempt(self, order_id: str, amount: Decimal, currency: str, now: str) -> int:
        response = self._table.update_item(
            Key={"orderId": order_id},
            UpdateExpression=(
                "ADD attempts :one SET amount = if_not_exists(amount, :a), "
                "currency = if_not_exists(currency, :c), updatedAt = :now"
            ),
            ExpressionAttributeValues={":one": 1, ":a": amount, ":c": currency, ":now": now},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["attempts"])

    def record(self, order_id: str, status: PaymentStatus, authorization_id: str | None, now: str) -> None:
        values: dict[str, Any] = {":s": status.value, ":now": now}
        update = "SET #status = :s, updatedAt = :now"
        if authorization_id:
            values[":auth"] = authorization_id
            update += ", authorizationId = :auth"
        try:
            self._table.update_item(
                Key={"orderId": order_id},
                UpdateExpression=update,
                # A decision is made once: never overwrite an authorization that already exists.
                ConditionExpression="attribute_not_exists(authorizationId)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def transition(self, order_id: str, source: PaymentStatus, target: PaymentStatus, now: str) -> bool:
        try:
            self._table.update_item(
                Key={"orderId": order_id},
                UpdateExpression="SET #status = :target, updatedAt = :now",
                ConditionExpression="#status = :source",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":target": target.value, ":source": source.value, ":now": now},
            )
            return True
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
