"""ReserveInventory: reserve every line of the order across the two warehouses, atomically."""

from __future__ import annotations

from typing import Any

from order_domain.deferred import on_first_call
from order_domain.environment import now_iso, table
from order_domain.observability import logger, metrics, tracer

inventory_table = table("INVENTORY_TABLE_NAME")
orders_table = table("ORDERS_TABLE_NAME")


@on_first_call
def handler() -> Any:
    """The handler proper, built for the first event: the models, the domain and the parser are imported then."""
    from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
    from order_domain import services
    from order_domain.adapters.dynamodb import DynamoDBInventory
    from order_domain.models import OrderLine, WarehouseStock, to_state

    stock = DynamoDBInventory(inventory_table, orders_table)

    class ReservationRequest(BaseModel):
        orderId: str
        items: list[OrderLine]
        stock: list[WarehouseStock]

    @event_parser(model=ReservationRequest)
    def reserve(event: ReservationRequest, context: object) -> dict:
        reservation = services.reserve_inventory(event.orderId, event.items, event.stock, stock, now_iso())
        return to_state(reservation)

    return reserve


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return handler()(event, context)
