"""Business rules without AWS: parsing, pricing, approval policy, allocation, naming, outcomes."""

import json
import random
from decimal import Decimal

import pytest
from order_domain.errors import InvalidApprovalRequest, MalformedOrderMessage, OrderValidationError, OutOfStock
from order_domain.models import OrderLine, OrderStatus, WarehouseStock
from order_domain.rules import (
    ORDER_MESSAGE_MAX_BYTES,
    allocate,
    decode_task_token,
    encode_task_token,
    order_key,
    order_total,
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
    # given a message with fields the product does not know
    order = parse_order(message(giftWrap=True, note="hi"), THRESHOLD, 60)
    # then it is the same order as without them, and they are carried nowhere
    assert order == parse_order(message(), THRESHOLD, 60)
    assert "giftWrap" not in order.model_dump_json()


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
        ({"orderId": ""}, "orderId"),
        ({"orderId": " \t"}, "orderId"),
        ({"orderId": "o\u200b1"}, "orderId"),
        ({"orderId": "x" * 81}, "orderId"),
        ({"customerId": "c\x00"}, "customerId"),
        ({"items": [{"sku": "\ud800", "quantity": 1, "unitPrice": "1.00"}]}, "items[0].sku"),
        ({"payment": {"token": "tok\udfff"}}, "payment.token"),
    ],
)
def test_invalid_order_is_rejected_naming_the_field(overrides, field):
    with pytest.raises(OrderValidationError) as raised:
        parse_order(message(**overrides), THRESHOLD, 60)
    assert str(raised.value).startswith(f"{field}:")


@pytest.mark.parametrize("price", ["0", "0.00", 0, 0.0, "00.0"])
def test_a_unit_price_of_zero_is_rejected_naming_the_field(price):
    # given a line whose unit price is zero, as a string or a JSON number
    with pytest.raises(OrderValidationError) as raised:
        parse_order(message(items=[{"sku": "A", "quantity": 1, "unitPrice": price}]), THRESHOLD, 60)
    # then it is refused, not captured at 0.00
    assert str(raised.value).startswith("items[0].unitPrice: must be greater than 0")


def test_the_smallest_positive_unit_price_is_accepted():
    order = parse_order(message(items=[{"sku": "A", "quantity": 1, "unitPrice": "0.01"}]), THRESHOLD, 60)
    assert order.total == Decimal("0.01")


def test_validation_keeps_the_canonical_order_id():
    # given the id the intake keys on, with surrounding whitespace and in decomposed form
    order = parse_order(message(orderId="  cafe\u0301-1\n"), THRESHOLD, 60)
    # then the validated order carries the same identity as the execution name and the tables
    assert order.orderId == "caf\u00e9-1"
    assert order.orderId == order_key(json.dumps(message(orderId="  cafe\u0301-1\n")))


@pytest.mark.parametrize(("order_id", "reason"), [("", "must not be empty"), ("   ", "must not be blank")])
def test_a_blank_order_id_is_rejected_naming_the_field(order_id, reason):
    with pytest.raises(OrderValidationError, match=f"^orderId: {reason}$"):
        parse_order(message(orderId=order_id), THRESHOLD, 60)


def test_surrounding_whitespace_of_text_fields_is_stripped_not_refused():
    raw = message(customerId=" c-1\n", items=[{"sku": "\tA ", "quantity": 1, "unitPrice": "1.00"}])
    order = parse_order(raw, THRESHOLD, 60)
    assert (order.customerId, order.items[0].sku) == ("c-1", "A")


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

    # given two lines of one SKU, and a warehouse that holds their sum, another that holds only the first line
    lines = [OrderLine(sku="A", quantity=2, unitPrice=Decimal(1)), OrderLine(sku="A", quantity=3, unitPrice=Decimal(1))]
    # when the reservation is planned
    allocations = allocate(demand_by_sku(lines), stock({"A": 2}, {"A": 5}))
    # then one allocation takes all 5 units from the warehouse that holds them all
    assert [(a.sku, a.warehouse, a.quantity) for a in allocations] == [("A", "warehouse-2", 5)]


def test_task_tokens_survive_a_url_round_trip():
    token = "AAAAKgAAAAIAAAAAAAAAA+/=wjP9w+/KZ=="
    encoded = encode_task_token(token)
    assert all(c.isalnum() or c in "-_" for c in encoded)
    assert decode_task_token(encoded) == token


@pytest.mark.parametrize("bad", ["", "not base64!", "%2F"])
def test_malformed_approval_token_is_refused(bad):
    with pytest.raises(InvalidApprovalRequest):
        decode_task_token(bad)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "message body is not JSON"),
        ("[1, 2]", "message body is not a JSON object"),
        ("{}", "orderId: missing"),
        ('{"orderId": 7}', "orderId: must be a string, got a number"),
        ('{"orderId": null}', "orderId: must be a string, got null"),
        ('{"orderId": ""}', "orderId: must not be empty"),
        ('{"orderId": "  "}', "orderId: must not be blank"),
        ('{"orderId": "\\ud800"}', "orderId: character 1 is U+D800, an unpaired surrogate"),
        ('{"orderId": "a", "orderId": "b"}', "message body repeats the key 'orderId'"),
        ('{"orderId": "a", "total": NaN}', "message body is not JSON: NaN is not a JSON value"),
        ("[" * 100_000, "message body is not JSON"),
    ],
)
def test_message_that_cannot_be_keyed_is_refused_naming_the_problem(body, reason):
    with pytest.raises(MalformedOrderMessage) as raised:
        order_key(body)
    assert str(raised.value).startswith(reason)


def test_a_message_is_keyed_by_its_canonical_order_id():
    assert order_key('{"orderId": " o-1\\t"}') == "o-1"
    assert order_key('{"orderId": "cafe\\u0301"}') == "caf\u00e9"


def padded_to(size: int) -> str:
    """A keyable message body of exactly `size` UTF-8 bytes (the padding in an extra field)."""
    body = json.dumps({"orderId": "big-1", "note": ""})
    return body.replace('"note": ""', '"note": "' + "x" * (size - len(body)) + '"')


def test_a_message_over_the_size_limit_cannot_be_started_and_says_why():
    # given messages of exactly the limit and one byte over
    assert len(padded_to(ORDER_MESSAGE_MAX_BYTES).encode()) == ORDER_MESSAGE_MAX_BYTES
    # then the first is keyed, the second refused with its size and the limit
    assert order_key(padded_to(ORDER_MESSAGE_MAX_BYTES)) == "big-1"
    with pytest.raises(MalformedOrderMessage, match=r"is 196,609 bytes; an order message may be at most 196,608"):
        order_key(padded_to(ORDER_MESSAGE_MAX_BYTES + 1))


def test_the_size_limit_leaves_room_for_the_error_within_the_step_functions_limit():
    assert ORDER_MESSAGE_MAX_BYTES + 64 * 1024 == 256 * 1024


def test_keying_never_fails_with_anything_but_a_refusal_whatever_the_body():
    # given bodies a hostile producer could send: random text, and a valid message cut or altered anywhere
    rng = random.Random(10)
    valid = json.dumps(message(orderId="o-1"))
    alphabet = ["a", " ", '"', "\\", "{", "}", "[", "]", ":", ",", "0", "-", "e", "\u00e9", "\ud800", "\x00", "\u2028"]
    bodies = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    bodies += [valid[:cut] for cut in range(len(valid))]
    bodies += [valid[:i] + rng.choice(alphabet) + valid[i + 1 :] for i in range(len(valid)) for _ in range(3)]
    # when each is keyed, then it is either a canonical id or a MalformedOrderMessage, never a crash
    for body in bodies:
        try:
            order_id = order_key(body)
        except MalformedOrderMessage:
            continue
        assert order_key(json.dumps({"orderId": order_id})) == order_id, body


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
    # a technical failure keeps the error's name in front of its message
    assert (
        reason_for_error("PaymentProviderUnavailable", cause)
        == "PaymentProviderUnavailable: items[0].quantity: too small"
    )


def test_a_line_either_warehouse_can_serve_comes_from_the_first():
    allocations = allocate({"A": 3}, stock({"A": 5}, {"A": 10}))
    assert [(a.warehouse, a.quantity) for a in allocations] == [("warehouse-1", 3)]


def test_a_warehouse_holding_exactly_the_line_serves_it_alone():
    allocations = allocate({"A": 3}, stock({"A": 3}, {"A": 5}))
    assert [(a.warehouse, a.quantity) for a in allocations] == [("warehouse-1", 3)]


def test_a_split_line_takes_from_the_best_stocked_warehouse_first():
    allocations = allocate({"A": 6}, stock({"A": 2}, {"A": 5}))
    assert [(a.warehouse, a.quantity) for a in allocations] == [("warehouse-2", 5), ("warehouse-1", 1)]


def test_every_short_sku_is_named_and_nothing_is_planned():
    with pytest.raises(OutOfStock) as raised:
        allocate({"A": 3, "B": 1, "C": 9}, stock({"A": 1, "B": 1, "C": 4}, {"A": 1, "C": 4}))
    assert str(raised.value) == "not enough stock for A (requested 3, available 2), C (requested 9, available 8)"


@pytest.mark.parametrize(
    ("price", "problem"),
    [
        (True, "must be a decimal amount, not a boolean"),
        (float("inf"), "must be a finite decimal amount"),
        (float("nan"), "must be a finite decimal amount"),
        ("1.005", "must be a positive decimal amount with at most 2 decimal places"),
        ("-1", "must be a positive decimal amount with at most 2 decimal places"),
        ("1e3", "must be a positive decimal amount with at most 2 decimal places"),
        (None, "must be a positive decimal amount with at most 2 decimal places"),
        (Decimal("0.005"), "must be a positive decimal amount with at most 2 decimal places"),
    ],
)
def test_a_unit_price_that_is_not_an_amount_is_refused_saying_why(price, problem):
    with pytest.raises(OrderValidationError) as raised:
        parse_order(message(items=[{"sku": "A", "quantity": 1, "unitPrice": price}]), THRESHOLD, 60)
    assert str(raised.value) == f"items[0].unitPrice: {problem}"


@pytest.mark.parametrize(
    ("price", "amount"),
    [(Decimal("19.99"), "19.99"), (Decimal("1E+1"), "10"), (Decimal("12.50"), "12.50"), (Decimal("7"), "7")],
)
def test_a_unit_price_already_decimal_is_taken_exactly(price, amount):
    # as boto3 reads numbers from DynamoDB, in any exponent
    order = parse_order(message(items=[{"sku": "A", "quantity": 1, "unitPrice": price}]), THRESHOLD, 60)
    assert order.items[0].unitPrice == Decimal(amount)
    assert order.total == Decimal(amount).quantize(Decimal("0.01"))


def test_the_total_of_no_lines_is_zero():
    assert order_total([]) == Decimal("0.00")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {"items": [{"sku": "\udfff", "quantity": 1, "unitPrice": "1.00"}]},
            "items[0].sku: character 1 is U+DFFF, an unpaired surrogate, not Unicode text",
        ),
        (
            {"payment": {"token": "tok\ud800"}},
            "payment.token: character 4 is U+D800, an unpaired surrogate, not Unicode text",
        ),
        # positions count the characters as sent, surrounding whitespace included
        ({"customerId": "  c\x00-1 "}, "customerId: character 4 is U+0000, a control character"),
        ({"customerId": "c-1\x7f"}, "customerId: character 4 is U+007F, a control character"),
        ({"customerId": "\t\nc\x1b"}, "customerId: character 4 is U+001B, a control character"),
    ],
)
def test_text_that_is_not_plain_text_is_refused_saying_which_character(overrides, reason):
    with pytest.raises(OrderValidationError) as raised:
        parse_order(message(**overrides), THRESHOLD, 60)
    assert str(raised.value) == reason


def test_control_characters_around_a_text_field_are_whitespace_not_refused():
    order = parse_order(message(customerId="\t c-1\r\n"), THRESHOLD, 60)
    assert order.customerId == "c-1"


@pytest.mark.parametrize("raw", [["o-1"], "o-1", None, 42])
def test_an_order_that_is_not_a_json_object_is_refused_as_such(raw):
    with pytest.raises(OrderValidationError, match=r"^order: must be a JSON object$"):
        parse_order(raw, THRESHOLD, 60)
