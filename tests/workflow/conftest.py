"""Workflow fixtures: orders run through the synthesized state machine by the local runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from localrun.orders import SAMPLES, OrdersRun, read_inventory, read_orders, run_orders


def order(order_id: str, *lines: tuple[str, int, str], token: str = "tok_visa", **extra) -> str:
    """One intake message body."""
    return json.dumps(
        {
            "orderId": order_id,
            "customerId": f"c-{order_id}",
            "currency": "USD",
            "items": [{"sku": sku, "quantity": q, "unitPrice": price} for sku, q, price in lines],
            "payment": {"token": token},
            **extra,
        }
    )


@pytest.fixture(scope="session")
def run(dev_assembly: Path) -> Callable[..., OrdersRun]:
    def _run(lines: list[str], inventory: dict, **options) -> OrdersRun:
        return run_orders(lines, inventory, assembly=dev_assembly, **options)

    return _run


@pytest.fixture(scope="session")
def sample_run(run) -> OrdersRun:
    """The bundled sample set (every outcome), run once for the whole session."""
    return run(read_orders(SAMPLES / "orders.jsonl"), read_inventory(SAMPLES / "inventory.json"))


def by_order(run: OrdersRun) -> dict[str, dict]:
    return {r["orderId"]: r for r in run.results if r["status"] != "DUPLICATE" and r["orderId"]}


def execution_of(run: OrdersRun, order_id: str) -> dict:
    return next(e for e in run.state["executions"] if e["name"] == order_id)


def payment_of(run: OrdersRun, order_id: str) -> dict | None:
    return next((p for p in run.state["payments"] if p["orderId"] == order_id), None)


def stored_order(run: OrdersRun, order_id: str) -> dict:
    return next(o for o in run.state["orders"] if o["orderId"] == order_id)
