"""What a function builds from its environment at cold start (order_domain.wiring), on the stack's own tables:
each adapter on the table its variable names, the payment provider it names, and refusals that name the variable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from order_domain import wiring
from order_domain.models import Allocation, OrderStatus
from order_domain.payments import SimulatedPaymentProvider

from tests.handlers.test_dynamodb_adapters import NOW, W1, Tables

TABLE_VARIABLES = ("ORDERS_TABLE_NAME", "INVENTORY_TABLE_NAME", "PAYMENTS_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME")


@pytest.fixture(scope="module")
def tables(aws, functions) -> Tables:
    return Tables(aws, functions)


@pytest.fixture
def environment(functions, monkeypatch) -> pytest.MonkeyPatch:
    """The reserving function's environment (it names every table), and a fresh DynamoDB resource."""
    for variable in TABLE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("ORDERS_TABLE_NAME", functions.env("reserve_inventory", "ORDERS_TABLE_NAME"))
    monkeypatch.setenv("INVENTORY_TABLE_NAME", functions.env("reserve_inventory", "INVENTORY_TABLE_NAME"))
    wiring.dynamodb.cache_clear()
    yield monkeypatch
    wiring.dynamodb.cache_clear()


@pytest.mark.parametrize("value", [None, ""])
def test_a_variable_that_is_missing_or_empty_is_refused_naming_it(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("ORDERS_TABLE_NAME", raising=False)
    else:
        monkeypatch.setenv("ORDERS_TABLE_NAME", value)
    with pytest.raises(RuntimeError, match=r"^environment variable ORDERS_TABLE_NAME is not set$"):
        wiring.required_env("ORDERS_TABLE_NAME")


def test_a_set_variable_is_read_as_it_is(monkeypatch):
    monkeypatch.setenv("APPROVAL_API_URL", "https://api.example/prod/")
    assert wiring.required_env("APPROVAL_API_URL") == "https://api.example/prod/"


def test_the_orders_adapter_reads_the_table_its_variable_names(environment, tables):
    order_id = tables.received(("SKU-1", 1))
    assert wiring.orders().get(order_id)["status"] == OrderStatus.RECEIVED


def test_a_reserving_function_reserves_into_the_orders_table_its_variable_names(environment, tables):
    sku = tables.seed({W1: 4})
    order_id = tables.received((sku, 3))
    wiring.inventory().reserve(order_id, [Allocation(sku=sku, warehouse=W1, quantity=3)], NOW)
    assert tables.stock(sku) == {W1: 1}
    assert tables.order(order_id)["reservation"] == [{"sku": sku, "warehouse": W1, "quantity": 3}]


def test_a_function_that_only_checks_stock_needs_no_orders_table(environment, tables):
    environment.delenv("ORDERS_TABLE_NAME")
    sku = tables.seed({W1: 4})
    assert wiring.inventory(reserving=False).available(W1, [sku]) == {sku: 4}


def test_the_simulated_provider_keeps_its_ledger_in_the_payments_table_with_the_time_of_each_change(
    environment, functions, tables
):
    environment.setenv("PAYMENT_PROVIDER", "simulated")
    environment.setenv("PAYMENTS_TABLE_NAME", functions.env("validate_payment", "PAYMENTS_TABLE_NAME"))
    provider = wiring.payment_provider()
    assert isinstance(provider, SimulatedPaymentProvider)
    before = datetime.now(UTC)
    provider.authorize("wired-1", Decimal("4.00"), "USD", "tok_visa")
    record = tables.payments.get_item(Key={"orderId": "wired-1"})["Item"]
    assert record["status"] == "AUTHORIZED"
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(record["updatedAt"]) <= datetime.now(UTC)


def test_a_payment_provider_other_than_the_simulated_one_is_refused_naming_the_choices(environment):
    environment.setenv("PAYMENT_PROVIDER", "stripe")
    with pytest.raises(RuntimeError, match=r"^PAYMENT_PROVIDER must be one of \('simulated',\), got 'stripe'$"):
        wiring.payment_provider()


def test_times_are_utc_iso_8601_with_milliseconds():
    stamp = wiring.now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", stamp), stamp
    assert abs(datetime.fromisoformat(stamp) - datetime.now(UTC)) < timedelta(seconds=5)
