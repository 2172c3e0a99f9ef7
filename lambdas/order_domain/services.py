"""Use cases, one per workflow step. Each takes its ports as arguments and is safe to run twice
(Step Functions retries steps): a repeated call finds the work done and returns the same result."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .errors import ApprovalRejected, InventoryContention
from .models import (
    Authorization,
    Order,
    OrderLine,
    OrderStatus,
    Outcome,
    Reservation,
    WarehouseStock,
    to_state,
)
from .ports import (
    AlreadyReserved,
    ApprovalRequests,
    Inventory,
    OrderRepository,
    PaymentProvider,
    StockChanged,
    TaskCallbacks,
)
from .rules import (
    allocate,
    decode_task_token,
    demand_by_sku,
    encode_task_token,
    order_id_of,
    parse_decision,
    parse_order,
    reason_for_error,
    status_for_error,
)

RESERVATION_ATTEMPTS = 3


def validate_order(
    raw: Any, *, approval_threshold: Decimal, approval_timeout_seconds: int, orders: OrderRepository, now: str
) -> dict[str, Any]:
    """ValidateOrder: parse and price the order, record it as RECEIVED."""
    order = parse_order(raw, approval_threshold, approval_timeout_seconds)
    orders.create_received(order, now)
    return {"orderId": order.orderId, "order": to_state(order)}


def authorize_payment(
    order_id: str, amount: Decimal, currency: str, token: str, provider: PaymentProvider
) -> Authorization:
    """ValidatePayment: authorize the order total."""
    return provider.authorize(order_id, amount, currency, token)


def check_warehouse(warehouse: str, items: list[OrderLine], inventory: Inventory) -> WarehouseStock:
    """CheckWarehouse1/2: what one warehouse holds of the ordered SKUs."""
    skus = list(demand_by_sku(items))
    return WarehouseStock(warehouse=warehouse, available=inventory.available(warehouse, skus))


def reserve_inventory(
    order_id: str, items: list[OrderLine], stock: list[WarehouseStock], inventory: Inventory, now: str
) -> Reservation:
    """ReserveInventory: all lines or nothing. Plans from the parallel checks; when a concurrent order
    took the stock in between, re-reads it and re-plans (OutOfStock when it is really gone)."""
    demand = demand_by_sku(items)
    for _ in range(RESERVATION_ATTEMPTS):
        allocations = allocate(demand, stock)
        try:
            inventory.reserve(order_id, allocations, now)
            return Reservation(orderId=order_id, allocations=allocations)
        except AlreadyReserved as held:
            return Reservation(orderId=order_id, allocations=held.allocations)
        except StockChanged:
            stock = inventory.available_everywhere(list(demand))
    raise InventoryContention(f"stock kept changing while reserving order {order_id}")


def request_approval(
    order: Order,
    task_token: str,
    *,
    api_url: str,
    orders: OrderRepository,
    approvals: ApprovalRequests,
    now: str,
) -> None:
    """WaitForApproval: mark the order, send approvers links that answer the waiting task."""
    orders.advance(order.orderId, OrderStatus.AWAITING_APPROVAL, {OrderStatus.RESERVED}, now)
    token = encode_task_token(task_token)
    base = api_url if api_url.endswith("/") else api_url + "/"
    approvals.send(
        order,
        approve_url=f"{base}approvals/{token}/approve",
        reject_url=f"{base}approvals/{token}/reject",
        timeout_seconds=order.approval.timeoutSeconds,
    )


def process_order(order: Order, provider: PaymentProvider, orders: OrderRepository, now: str) -> Outcome:
    """ProcessOrder: capture the authorized payment and complete the order."""
    provider.capture(order.orderId)
    outcome = Outcome(
        orderId=order.orderId,
        customerId=order.customerId,
        status=OrderStatus.COMPLETED,
        total=order.total,
        currency=order.currency,
    )
    return orders.finish(outcome, now)


def compensate_order(
    state: dict[str, Any], provider: PaymentProvider, inventory: Inventory, orders: OrderRepository, now: str
) -> Outcome:
    """CompensateOrder: undo what this order holds (from the tables, not the state, so a step that died
    after its write is undone too), then record its terminal status. An order already COMPLETED (ProcessOrder
    captured and recorded it, then died before returning) is never undone: its outcome is reported as is."""
    error = state.get("error") or {}
    error_name = str(error.get("Error") or "States.Runtime")
    order = state.get("order") or {}
    # A failed ValidateOrder leaves the raw message as the state: key it as the intake did.
    order_id = order_id_of(state.get("orderId"))
    customer = order.get("customerId", state.get("customerId"))
    outcome = Outcome(
        orderId=order_id,
        customerId=customer if isinstance(customer, str) else None,
        status=status_for_error(error_name),
        reason=reason_for_error(error_name, error.get("Cause")),
        total=order.get("total"),
        currency=order.get("currency"),
    )
    recorded = orders.get(order_id) or {}
    if recorded.get("status") == OrderStatus.COMPLETED:
        return outcome.model_copy(update={"status": OrderStatus.COMPLETED, "reason": recorded.get("reason")})
    inventory.release(order_id, now)
    provider.void(order_id)
    return orders.finish(outcome, now)


def answer_approval(
    encoded_token: str, decision: str, *, approver: str, comment: str | None, callbacks: TaskCallbacks
) -> str:
    """The approval API: resume the waiting WaitForApproval task with the approver's decision."""
    task_token = decode_task_token(encoded_token)
    if parse_decision(decision):
        callbacks.succeed(task_token, {"decision": "APPROVED", "approver": approver, "comment": comment})
        return "APPROVED"
    reason = f"rejected by {approver}" + (f": {comment}" if comment else "")
    callbacks.fail(task_token, ApprovalRejected.__name__, reason)
    return "REJECTED"
