"""CheckWarehouse1/2: the stock one warehouse holds of the ordered SKUs."""

from __future__ import annotations

from typing import Any

from order_domain.deferred import on_first_call
from order_domain.environment import table
from order_domain.observability import logger, metrics, tracer

inventory_table = table("INVENTORY_TABLE_NAME")


@on_first_call
def handler() -> Any:
    """The handler proper, built for the first event: the models, the domain and the parser are imported then."""
    from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
    from order_domain import services
    from order_domain.adapters.dynamodb import DynamoDBInventory
    from order_domain.models import OrderLine, to_state

    stock = DynamoDBInventory(inventory_table, None)

    class WarehouseQuery(BaseModel):
        warehouse: str
        items: list[OrderLine]

    @event_parser(model=WarehouseQuery)
    def check(event: WarehouseQuery, context: object) -> dict:
        return to_state(services.check_warehouse(event.warehouse, event.items, stock))

    return check


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return handler()(event, context)
