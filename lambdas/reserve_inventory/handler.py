"""ReserveInventory: reserve every line of the order across the two warehouses, atomically."""

from order_domain import services
from order_domain.deferred import event_parser
from order_domain.models import OrderLine, WarehouseStock, to_state
from order_domain.observability import logger, metrics, tracer
from order_domain.wiring import inventory, now_iso
from pydantic import BaseModel, ConfigDict

stock = inventory()


class ReservationRequest(BaseModel):
    model_config = ConfigDict(defer_build=True)

    orderId: str
    items: list[OrderLine]
    stock: list[WarehouseStock]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ReservationRequest)
def lambda_handler(event: ReservationRequest, context: object) -> dict:
    reservation = services.reserve_inventory(event.orderId, event.items, event.stock, stock, now_iso())
    return to_state(reservation)
