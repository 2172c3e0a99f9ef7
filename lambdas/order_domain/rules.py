"""Business rules as pure functions: parsing and pricing an order, the approval policy, allocating stock
across warehouses, naming executions, and mapping a failure to the order's terminal status."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import ValidationError

from .errors import InvalidApprovalRequest, MalformedOrderMessage, OrderValidationError, OutOfStock
from .models import (
    CENT,
    Allocation,
    ApprovalPolicyDecision,
    Order,
    OrderLine,
    OrderMessage,
    OrderStatus,
    WarehouseStock,
)


def describe_validation_error(error: ValidationError) -> str:
    """'items[0].quantity: Input should be greater than or equal to 1' - the first problem, by field."""
    first = error.errors()[0]
    path = ""
    for part in first["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return f"{path or 'order'}: {first['msg']}"


def parse_order(raw: Any, approval_threshold: Decimal, approval_timeout_seconds: int) -> Order:
    """Validates an intake message and prices it. Raises OrderValidationError naming the field."""
    if not isinstance(raw, Mapping):
        raise OrderValidationError("order: must be a JSON object")
    try:
        message = OrderMessage.model_validate(dict(raw))
    except ValidationError as exc:
        raise OrderValidationError(describe_validation_error(exc)) from None
    lines = [OrderLine(sku=i.sku, quantity=i.quantity, unitPrice=i.unitPrice) for i in message.items]
    total = order_total(lines)
    return Order(
        orderId=message.orderId,
        customerId=message.customerId,
        currency=message.currency,
        items=lines,
        total=total,
        paymentToken=message.payment.token,
        approval=ApprovalPolicyDecision(required=total >= approval_threshold, timeoutSeconds=approval_timeout_seconds),
    )


def order_total(lines: Iterable[OrderLine]) -> Decimal:
    """Sum of quantity x unit price, rounded half-even to cents."""
    total = sum((line.unitPrice * line.quantity for line in lines), Decimal("0"))
    return total.quantize(CENT, rounding=ROUND_HALF_EVEN)


# ---- inventory ---------------------------------------------------------------------------------------


def demand_by_sku(lines: Iterable[OrderLine]) -> OrderedDict[str, int]:
    """Quantity per SKU, in first-seen order (an order may list a SKU twice)."""
    demand: OrderedDict[str, int] = OrderedDict()
    for line in lines:
        demand[line.sku] = demand.get(line.sku, 0) + line.quantity
    return demand


def allocate(demand: Mapping[str, int], stock: Iterable[WarehouseStock]) -> list[Allocation]:
    """Plans where every unit comes from. A line is served by one warehouse when one can; otherwise it is
    split, taking from the best-stocked warehouse first. Raises OutOfStock naming the short SKUs."""
    views = sorted(stock, key=lambda view: view.warehouse)
    allocations: list[Allocation] = []
    short: list[str] = []
    for sku, wanted in demand.items():
        available = [(view.warehouse, max(0, view.available.get(sku, 0))) for view in views]
        if sum(n for _, n in available) < wanted:
            short.append(f"{sku} (requested {wanted}, available {sum(n for _, n in available)})")
            continue
        single = next((w for w, n in available if n >= wanted), None)
        if single is not None:
            allocations.append(Allocation(sku=sku, warehouse=single, quantity=wanted))
            continue
        remaining = wanted
        for warehouse, n in sorted(available, key=lambda item: (-item[1], item[0])):
            take = min(n, remaining)
            if take:
                allocations.append(Allocation(sku=sku, warehouse=warehouse, quantity=take))
                remaining -= take
            if not remaining:
                break
    if short:
        raise OutOfStock("not enough stock for " + ", ".join(short))
    return allocations


# ---- executions and approvals -----------------------------------------------------------------------


def order_key(body: str) -> str:
    """The orderId of an intake message body; MalformedOrderMessage when it has none."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise MalformedOrderMessage(f"message body is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MalformedOrderMessage("message body is not a JSON object")
    order_id = message.get("orderId")
    if not isinstance(order_id, str) or not order_id.strip():
        raise MalformedOrderMessage("message has no string orderId")
    return order_id


_EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def execution_name(order_id: str) -> str:
    """A Step Functions execution name derived only from the order id, so a repeated order maps to the
    same execution. Ids that are not valid names get a readable prefix plus a hash of the full id."""
    if _EXECUTION_NAME.match(order_id):
        return order_id
    digest = hashlib.sha256(order_id.encode("utf-8")).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", order_id)[:55]
    return f"{readable}-{digest}"


def encode_task_token(task_token: str) -> str:
    """Task tokens hold '+', '/' and '='; approval URLs carry them base64url-encoded without padding."""
    return base64.urlsafe_b64encode(task_token.encode("utf-8")).decode("ascii").rstrip("=")


def decode_task_token(encoded: str) -> str:
    if not encoded or not re.fullmatch(r"[A-Za-z0-9_-]+", encoded):
        raise InvalidApprovalRequest("token is not a base64url string")
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidApprovalRequest("token is not a valid approval token") from exc


APPROVAL_DECISIONS = ("approve", "reject")


def parse_decision(decision: str) -> bool:
    """True to approve, False to reject."""
    if decision not in APPROVAL_DECISIONS:
        raise InvalidApprovalRequest(f"decision must be one of {', '.join(APPROVAL_DECISIONS)}")
    return decision == "approve"


# ---- outcomes ----------------------------------------------------------------------------------------

_STATUS_BY_ERROR = {
    "OrderValidationError": OrderStatus.REJECTED,
    "PaymentDeclined": OrderStatus.PAYMENT_DECLINED,
    "OutOfStock": OrderStatus.OUT_OF_STOCK,
    "ApprovalRejected": OrderStatus.APPROVAL_REJECTED,
    # Only WaitForApproval has a state timeout; Lambda timeouts surface as Sandbox.Timedout/TaskFailed.
    "States.Timeout": OrderStatus.APPROVAL_TIMEOUT,
}


def status_for_error(error_name: str) -> OrderStatus:
    """The terminal status a caught error leads to; anything unexpected is a technical FAILED."""
    return _STATUS_BY_ERROR.get(error_name, OrderStatus.FAILED)


def reason_for_error(error_name: str, cause: str | None) -> str:
    """A human-readable reason from a Step Functions error: the Lambda errorMessage when there is one."""
    message = cause or ""
    try:
        parsed = json.loads(message) if message else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        message = str(parsed.get("errorMessage") or parsed.get("reason") or "")
    if error_name == "States.Timeout":
        return "no approval decision before the approval timeout"
    status = status_for_error(error_name)
    if status is OrderStatus.FAILED:
        return f"{error_name}: {message}" if message else error_name
    return message or error_name
