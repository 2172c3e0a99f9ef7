"""Typed models of orders, payments, stock and outcomes. Money is Decimal everywhere."""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt
from pydantic_core import PydanticCustomError

from .identity import InvalidOrderId, canonical_order_id

CENT = Decimal("0.01")
_DECIMAL_TEXT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")


def _invalid(problem: str) -> PydanticCustomError:
    # The problem text becomes the whole message: "items[0].unitPrice: must be greater than 0".
    return PydanticCustomError("order_field", "{problem}", {"problem": problem})


def _to_money(value: Any) -> Decimal:
    """Accepts a positive decimal string ("19.99") or JSON number (19.99 or 20); rejects anything lossy."""
    if isinstance(value, bool):
        raise _invalid("must be a decimal amount, not a boolean")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _invalid("must be a finite decimal amount")
        value = repr(value)  # shortest round-trip text: 19.99 -> "19.99", never 19.989999...
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, Decimal):
        value = format(value, "f")
    if not isinstance(value, str) or not _DECIMAL_TEXT.match(value):
        raise _invalid("must be a positive decimal amount with at most 2 decimal places")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guarantees a valid literal
        raise _invalid("must be a decimal amount") from exc
    if amount <= 0:
        raise _invalid(f"must be greater than 0, got {value}")
    return amount


def _to_order_id(value: Any) -> str:
    """The canonical order id (see identity.py): what validation accepts is the order's identity."""
    try:
        return canonical_order_id(value)
    except InvalidOrderId as exc:
        raise _invalid(str(exc)) from None


def _to_text(value: Any) -> Any:
    """Refuses strings that are not plain text: an unpaired surrogate cannot be stored or sent, and a control
    character inside a customer id, SKU or token (surrounding whitespace is stripped, as for every field) is
    never part of one. Other types are left to the field's type check."""
    if isinstance(value, str):
        inner = value.strip()
        for position, char in enumerate(value, start=1):
            category = unicodedata.category(char)
            if category == "Cs":
                raise _invalid(f"character {position} is U+{ord(char):04X}, an unpaired surrogate, not Unicode text")
        for position, char in enumerate(inner, start=len(value) - len(value.lstrip()) + 1):
            if unicodedata.category(char) == "Cc":
                raise _invalid(f"character {position} is U+{ord(char):04X}, a control character")
    return value


Money = Annotated[Decimal, BeforeValidator(_to_money)]
Text = Annotated[str, BeforeValidator(_to_text)]
NonEmpty = Annotated[Text, Field(min_length=1, max_length=128)]


class OrderStatus(StrEnum):
    RECEIVED = "RECEIVED"
    RESERVED = "RESERVED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    APPROVAL_REJECTED = "APPROVAL_REJECTED"
    APPROVAL_TIMEOUT = "APPROVAL_TIMEOUT"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        OrderStatus.COMPLETED,
        OrderStatus.REJECTED,
        OrderStatus.PAYMENT_DECLINED,
        OrderStatus.OUT_OF_STOCK,
        OrderStatus.APPROVAL_REJECTED,
        OrderStatus.APPROVAL_TIMEOUT,
        OrderStatus.FAILED,
    }
)


class PaymentStatus(StrEnum):
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    DECLINED = "DECLINED"
    REFUNDED = "REFUNDED"


# ---- the intake message ------------------------------------------------------------------------------


# Every model is built (its validator compiled) on its first use, not at import: a function uses a few of them,
# and building them all cost its cold start ~10 ms.
class _Incoming(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, defer_build=True)


class OrderLineMessage(_Incoming):
    sku: Annotated[Text, Field(min_length=1, max_length=64)]
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)]
    unitPrice: Money


class PaymentMessage(_Incoming):
    token: NonEmpty


class OrderMessage(_Incoming):
    """The order message on the intake queue (see README). Unknown fields are ignored."""

    orderId: Annotated[str, BeforeValidator(_to_order_id)]
    customerId: NonEmpty
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    # A reservation is one DynamoDB transaction (<= 100 writes): each line may touch both warehouses.
    items: Annotated[list[OrderLineMessage], Field(min_length=1, max_length=40)]
    payment: PaymentMessage


# ---- the order as it flows through the workflow ------------------------------------------------------


class _State(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


class OrderLine(_State):
    sku: str
    quantity: int
    unitPrice: Decimal


class ApprovalPolicyDecision(_State):
    required: bool
    timeoutSeconds: int


class Order(_State):
    orderId: str
    customerId: str
    currency: str
    items: list[OrderLine]
    total: Decimal
    paymentToken: str
    approval: ApprovalPolicyDecision


class Authorization(_State):
    orderId: str
    authorizationId: str
    amount: Decimal
    currency: str
    status: PaymentStatus


class WarehouseStock(_State):
    warehouse: str
    available: dict[str, int]


class Allocation(_State):
    sku: str
    warehouse: str
    quantity: int


class Reservation(_State):
    orderId: str
    allocations: list[Allocation]


class Outcome(_State):
    """What the customer is told and what the orders table ends with."""

    orderId: str
    customerId: str | None = None
    status: OrderStatus
    reason: str | None = None
    total: Decimal | None = None
    currency: str | None = None


def to_state(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict for Step Functions: Decimals become strings so no amount ever passes through float."""
    return model.model_dump(mode="json")
