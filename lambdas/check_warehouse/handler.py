"""CheckWarehouse1/2: the stock one warehouse holds of the ordered SKUs."""

from order_domain import services
from order_domain.deferred import event_parser
from order_domain.models import OrderLine, to_state
from order_domain.observability import logger, metrics, tracer
from order_domain.wiring import inventory
from pydantic import BaseModel, ConfigDict

stock = inventory(reserving=False)


class WarehouseQuery(BaseModel):
    model_config = ConfigDict(defer_build=True)

    warehouse: str
    items: list[OrderLine]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=WarehouseQuery)
def lambda_handler(event: WarehouseQuery, context: object) -> dict:
    return to_state(services.check_warehouse(event.warehouse, event.items, stock))
