"""Business rules as pure functions: parsing and pricing an order, the approval policy, allocating stock
across warehouses, keying intake messages, and mapping a failure to the order's terminal status."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import ValidationError

from .errors import InvalidApprovalRequest, MalformedOrderMessage, OrderValidationError, OutOfStock
from .identity import InvalidOrderId, canonical_order_id
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


# ---- intake messages and approvals ------------------------------------------------------------------


# Step Functions refuses an execution input over 256 KiB, and a state's input or output over 256 KiB, in UTF-8
# bytes (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Maximum input or output size
# for a task, state, or execution"). Until ValidateOrder replaces it, the raw message is the state, and a failed
# validation adds its error (a Cause of up to 32,768 characters) before CompensateOrder records the outcome. A
# message over 256 KiB - 64 KiB could end the execution in States.DataLimitExceeded, which no Catch handles, with
# no terminal status: the intake refuses it instead.
STEP_FUNCTIONS_PAYLOAD_BYTES = 256 * 1024
ORDER_MESSAGE_MAX_BYTES = STEP_FUNCTIONS_PAYLOAD_BYTES - 64 * 1024


def order_key(body: str) -> str:
    """The canonical orderId of an intake message body (see identity.py); MalformedOrderMessage, naming the
    problem, when the message cannot be keyed or started. Never raises anything else, whatever the body."""
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > ORDER_MESSAGE_MAX_BYTES:
        raise MalformedOrderMessage(
            f"message body is {size:,} bytes; an order message may be at most {ORDER_MESSAGE_MAX_BYTES:,} bytes"
            f" of UTF-8 (the Step Functions limit of {STEP_FUNCTIONS_PAYLOAD_BYTES:,} bytes less room for an error)"
        )
    try:
        message = json.loads(body, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except _DuplicateKey as exc:
        raise MalformedOrderMessage(f"message body repeats the key {exc.args[0]!r} in one object") from None
    except (ValueError, RecursionError) as exc:
        raise MalformedOrderMessage(f"message body is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MalformedOrderMessage("message body is not a JSON object")
    if "orderId" not in message:
        raise MalformedOrderMessage("orderId: missing")
    return order_id_of(message["orderId"])


def order_id_of(value: Any) -> str:
    """canonical_order_id, with its refusal as a MalformedOrderMessage naming the field."""
    try:
        return canonical_order_id(value)
    except InvalidOrderId as exc:
        raise MalformedOrderMessage(f"orderId: {exc}") from None


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON parsers disagree on a repeated key (first or last wins): the intake and Step Functions could then
    # read two different orderIds from one message.
    message: dict[str, Any] = {}
    for key, value in pairs:
        if key in message:
            raise _DuplicateKey(key)
        message[key] = value
    return message


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


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
