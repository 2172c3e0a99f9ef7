"""One identity per order: the canonical order id, and execution names that are valid and never shared."""

import base64
import hashlib
import random
import re
import unicodedata

import pytest
from order_domain.identity import (
    ORDER_ID_MAX_CHARS,
    InvalidOrderId,
    canonical_order_id,
    execution_name,
)

VALID_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def hostile_ids(count: int, seed: int = 10) -> list[str]:
    """Random ids drawn mostly from characters that sanitize alike (all of them become '_' or fold to 'a')."""
    rng = random.Random(seed)
    alphabet = [
        "a",
        "A",
        "_",
        "-",
        "/",
        " ",
        ":",
        "#",
        "á",
        "à",
        "ä",
        "a\u0301",
        "\uff41",
        "é",
        "ß",
        "\u00e5",
        "名",
        "😀",
        ".",
    ]
    ids = set()
    while len(ids) < count:
        candidate = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        try:
            ids.add(canonical_order_id(candidate))
        except InvalidOrderId:
            continue
    return sorted(ids)


# ---- the canonical id ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("o-1", "o-1"),
        (" o-1", "o-1"),
        ("o-1 \t\n", "o-1"),
        ("\u3000o-1\u00a0", "o-1"),  # ideographic and no-break spaces around the id are whitespace too
        ("cafe\u0301", "caf\u00e9"),  # one text, two Unicode spellings: NFC
        ("order 42", "order 42"),  # a space inside is part of the id
        ("O-1", "O-1"),  # ids are case-sensitive
    ],
)
def test_surrounding_whitespace_and_unicode_spelling_do_not_change_the_identity(raw, canonical):
    assert canonical_order_id(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "must not be empty"),
        ("  \t ", "must not be blank"),
        (42, "must be a string, got a number"),
        (None, "must be a string, got null"),
        (["o-1"], "must be a string, got an array"),
        (True, "must be a string, got a boolean"),
        ({"id": "o-1"}, "must be a string, got an object"),
        (1.5, "must be a string, got a number"),
        (b"o-1", "must be a string, got bytes"),  # not from JSON: named by its Python type
        ("\ud800", "character 1 is U+D800, an unpaired surrogate, not Unicode text"),
        ("o-1\udc00", "character 4 is U+DC00, an unpaired surrogate"),
        ("  o\ud800", "character 4 is U+D800, an unpaired surrogate"),  # counted as sent, before stripping
        ("o\x00-1", "character 2 is U+0000, a control character"),
        ("o-\u200b1", "character 3 is U+200B, an invisible format character"),
        ("o-\u202e1", "character 3 is U+202E, an invisible format character"),
        ("o\u00a01", "character 2 is U+00A0, a space other than U+0020"),
        ("o\u20281", "character 2 is U+2028, a line separator"),
        ("o\ue0001", "character 2 is U+E000, a private-use character"),
        ("o\ufffe", "character 2 is U+FFFE, an unassigned code point or noncharacter"),
        ("x" * (ORDER_ID_MAX_CHARS + 1), "must be at most 80 characters, got 81"),
    ],
)
def test_a_value_without_a_canonical_form_is_refused_saying_why(raw, problem):
    with pytest.raises(InvalidOrderId) as raised:
        canonical_order_id(raw)
    assert str(raised.value).startswith(problem)


def test_the_length_limit_counts_the_canonical_characters():
    # given 80 letters each spelled as base letter + combining accent (160 code points before NFC)
    decomposed = "e\u0301" * ORDER_ID_MAX_CHARS
    # then the canonical id is 80 characters and accepted
    assert canonical_order_id(decomposed) == "\u00e9" * ORDER_ID_MAX_CHARS
    assert canonical_order_id("  " + "x" * ORDER_ID_MAX_CHARS + "  ") == "x" * ORDER_ID_MAX_CHARS


def test_the_canonical_form_is_its_own_canonical_form():
    rng = random.Random(7)
    pieces = [
        " ",
        "\t",
        "\u3000",
        "a",
        "e\u0301",
        "\u00e9",
        "\u0301",
        "\u1100\u1161",
        "\uac00",
        "Å",
        "A\u030a",
        "-",
        "名",
    ]
    for _ in range(3000):
        raw = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 20)))
        try:
            canonical = canonical_order_id(raw)
        except InvalidOrderId:
            continue
        assert canonical_order_id(canonical) == canonical
        assert unicodedata.is_normalized("NFC", canonical)
        assert canonical == canonical.strip()


# ---- execution names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("order_id", ["o-1001", "ORD_42", "a", "x" * 80, "a--b", "2026-01-01_A"])
def test_an_id_that_is_already_a_safe_name_is_its_own_execution_name(order_id):
    assert execution_name(order_id) == order_id


def test_every_message_of_one_order_maps_to_one_execution():
    assert execution_name(" o-1 ") == execution_name("o-1") == "o-1"
    assert execution_name("cafe\u0301/1") == execution_name("caf\u00e9/1 ")


@pytest.mark.parametrize(
    "order_id", ["a/b", "a b", "名前", "😀", "x" * 79 + "/", "-", "ä" * 80, "a" * 26 + "-" * 10 + "/"]
)
def test_execution_names_are_valid_for_step_functions_and_cloudwatch(order_id):
    name = execution_name(order_id)
    assert VALID_NAME.fullmatch(name), name
    assert name == execution_name(order_id)


def test_ids_that_sanitize_alike_get_distinct_names():
    # given ids that differ only in characters a name cannot hold, or in accents the readable prefix folds away
    alike = ["a/b", "a b", "a:b", "a#b", "a_b", "á/b", "a\u0301 b", "\uff41/b", "a/b/", "a//b"]
    canonical = {canonical_order_id(i) for i in alike}
    # when each is named
    names = {execution_name(i) for i in alike}
    # then no two different orders share an execution name
    assert len(names) == len(canonical)
    assert all(VALID_NAME.fullmatch(n) for n in names)


def test_an_id_copied_from_another_orders_name_cannot_take_that_name():
    # given a customer's order "a/b" and someone who knows its execution name and sends it as an order id
    victim = execution_name("a/b")
    assert victim != "a/b"
    assert VALID_NAME.fullmatch(victim)
    # then the copy is named differently, so the customer's order is still started
    assert execution_name(victim) != victim
    assert execution_name(victim) != execution_name("a/b")


def test_thousands_of_hostile_ids_never_share_a_name():
    # given random ids that sanitize alike, and ids an attacker copies from their execution names
    generated = hostile_ids(5000)
    ids = set(generated) | {execution_name(i) for i in generated[:500]}
    # when every one is named
    names = {execution_name(i) for i in ids}
    # then there are as many names as ids, all valid
    assert len(names) == len(ids)
    assert all(VALID_NAME.fullmatch(n) for n in names)


def hashed(order_id: str) -> str:
    return base64.b32encode(hashlib.sha256(order_id.encode()).digest()).decode().rstrip("=").lower()


@pytest.mark.parametrize(
    ("order_id", "prefix"),
    [
        ("a/b", "a_b"),  # what a name cannot hold becomes "_"
        ("Order 7/B", "Order_7_B"),  # letters keep their case
        ("caf\u00e9/1", "cafe_1"),  # accents fold to ASCII
        ("AX-\u540d", "AX"),  # what folds to nothing is dropped, and the prefix never ends in "-"
        ("x-\u540d\u524d-", "x"),
        ("\u540d\u524d", ""),
    ],
)
def test_a_hashed_name_is_a_readable_prefix_then_the_ids_full_digest(order_id, prefix):
    assert execution_name(order_id) == f"{prefix}--{hashed(order_id)}"


def test_a_readable_prefix_is_cut_to_leave_room_for_the_digest():
    order_id = "a" * 60 + "/"
    name = execution_name(order_id)
    assert name == "a" * 26 + "--" + hashed(order_id)
    assert len(name) == 80
