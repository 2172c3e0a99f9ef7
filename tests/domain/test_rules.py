"""Business rules without AWS: parsing, pricing, approval policy, allocation, naming, outcomes."""

import json
from decimal import Decimal

import pytest
from order_domain.errors import InvalidApprovalRequest, MalformedOrderMessage, OrderValidationError, OutOfStock
from order_domain.models import OrderLine, OrderStatus, WarehouseStock
from order_domain.rules import (
    allocate,
    decode_task_token,
    encode_task_token,
    execution_name,
    order_key,
    parse_order,
    reason_for_error,
    status_for_error,
)

THRESHOLD = Decimal("10000")


def message(**overrides):
    base = {
        "orderId": "o-1",
        "customerId": "c-1",
        "currency": "USD",
        "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": "19.99"}],
        "payment": {"token": "tok_visa"},
    }
    base.update(overrides)
    return base


def test_valid_order_is_priced_in_decimal():
    order = parse_order(message(), THRESHOLD, 3600)
    assert order.total == Decimal("39.98")
    assert isinstance(order.items[0].unitPrice, Decimal)
    assert order.approval.required is False
    assert order.approval.timeoutSeconds == 3600


def test_prices_as_json_numbers_are_exact():
    # given a price sent as a JSON number, as json.loads delivers it (a float)
    order = parse_order(message(items=[{"sku": "A", "quantity": 3, "unitPrice": 0.1}]), THRESHOLD, 60)
    # then no binary-float error leaks into the amount
    assert order.total == Decimal("0.30")


def test_unknown_fields_are_ignored():
    order = parse_order(message(giftWrap=True, note="hi"), THRESHOLD, 60)
    assert order.orderId == "o-1"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customerId": ""}, "customerId"),
        ({"currency": "usd"}, "currency"),
        ({"items": []}, "items"),
        ({"items": [{"sku": "A", "quantity": 0, "unitPrice": "1.00"}]}, "items[0].quantity"),
        ({"items": [{"sku": "A", "quantity": 1.5, "unitPrice": "1.00"}]}, "items[0].quantity"),
        ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "1.005"}]}, "items[0].unitPrice"),
        ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "-1"}]}, "items[0].unitPrice"),
        ({"items": [{"sku": "A", "quantity": 1, "unitPrice": True}]}, "items[0].unitPrice"),
        ({"items": [{"sku": "A", "quantity": 1, "unitPrice": float("nan")}]}, "items[0].unitPrice"),
        ({"payment": {}}, "payment.token"),
    ],
)
def test_invalid_order_is_rejected_naming_the_field(overrides, field):
    with pytest.raises(OrderValidationError) as raised:
        parse_order(message(**overrides), THRESHOLD, 60)
    assert str(raised.value).startswith(f"{field}:")


def test_missing_field_is_named():
    raw = message()
    del raw["payment"]
    with pytest.raises(OrderValidationError, match=r"^payment: Field required"):
        parse_order(raw, THRESHOLD, 60)


def test_order_at_the_threshold_needs_approval_and_just_below_does_not():
    at = parse_order(message(items=[{"sku": "A", "quantity": 1, "unitPrice": "10000.00"}]), THRESHOLD, 60)
    below = parse_order(message(items=[{"sku": "A", "quantity": 1, "unitPrice": "9999.99"}]), THRESHOLD, 60)
    assert at.approval.required is True
    assert below.approval.required is False


def stock(w1: dict, w2: dict) -> list[WarehouseStock]:
    return [
        WarehouseStock(warehouse="warehouse-1", available=w1),
        WarehouseStock(warehouse="warehouse-2", available=w2),
    ]


def test_a_line_one_warehouse_can_serve_is_not_split():
    allocations = allocate({"A": 3}, stock({"A": 2}, {"A": 5}))
    assert [(a.warehouse, a.quantity) for a in allocations] == [("warehouse-2", 3)]


def test_a_line_is_split_across_warehouses_when_neither_holds_it_all():
    allocations = allocate({"A": 6}, stock({"A": 4}, {"A": 3}))
    assert sorted((a.warehouse, a.quantity) for a in allocations) == [("warehouse-1", 4), ("warehouse-2", 2)]


def test_unknown_sku_has_no_stock():
    with pytest.raises(OutOfStock, match="SKU-404"):
        allocate({"SKU-404": 1}, stock({}, {}))


def test_short_line_names_only_the_short_sku():
    with pytest.raises(OutOfStock) as raised:
        allocate({"A": 1, "B": 2}, stock({"A": 5, "B": 1}, {"B": 0}))
    assert "B (requested 2, available 1)" in str(raised.value)
    assert "A" not in str(raised.value).replace("available", "")


def test_duplicate_sku_lines_are_reserved_together():
    from order_domain.rules import demand_by_sku

    lines = [OrderLine(sku="A", quantity=2, unitPrice=Decimal(1)), OrderLine(sku="A", quantity=3, unitPrice=Decimal(1))]
    assert demand_by_sku(lines) == {"A": 5}


def test_execution_name_is_the_order_id_when_valid():
    assert execution_name("o-1001") == "o-1001"


def test_execution_name_is_stable_and_valid_for_awkward_ids():
    name = execution_name("order/42 with spaces and ünïcode" * 3)
    assert name == execution_name("order/42 with spaces and ünïcode" * 3)
    assert len(name) <= 80
    assert all(c.isalnum() or c in "-_" for c in name)
    assert execution_name("a/b") != execution_name("a_b")


def test_task_tokens_survive_a_url_round_trip():
    token = "AAAAKgAAAAIAAAAAAAAAA+/=wjP9w+/KZ=="
    encoded = encode_task_token(token)
    assert all(c.isalnum() or c in "-_" for c in encoded)
    assert decode_task_token(encoded) == token


@pytest.mark.parametrize("bad", ["", "not base64!", "%2F"])
def test_malformed_approval_token_is_refused(bad):
    with pytest.raises(InvalidApprovalRequest):
        decode_task_token(bad)


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"orderId": 7}', '{"orderId": "  "}', "{}"])
def test_message_without_a_string_order_id_cannot_be_keyed(body):
    with pytest.raises(MalformedOrderMessage):
        order_key(body)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("OrderValidationError", OrderStatus.REJECTED),
        ("PaymentDeclined", OrderStatus.PAYMENT_DECLINED),
        ("OutOfStock", OrderStatus.OUT_OF_STOCK),
        ("ApprovalRejected", OrderStatus.APPROVAL_REJECTED),
        ("States.Timeout", OrderStatus.APPROVAL_TIMEOUT),
        ("PaymentProviderUnavailable", OrderStatus.FAILED),
        ("States.Runtime", OrderStatus.FAILED),
    ],
)
def test_each_caught_error_maps_to_one_terminal_status(error, status):
    assert status_for_error(error) is status
    assert status.is_terminal


def test_reason_is_the_lambda_error_message():
    cause = json.dumps({"errorMessage": "items[0].quantity: too small", "errorType": "OrderValidationError"})
    assert reason_for_error("OrderValidationError", cause) == "items[0].quantity: too small"
    assert reason_for_error("PaymentProviderUnavailable", cause).startswith("PaymentProviderUnavailable: ")
