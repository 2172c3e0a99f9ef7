"""`make chaos`'s pure parts: the generated orders and the table (the sweep itself runs the workflow, minutes)."""

from __future__ import annotations

import json

from localrun.chaos import INVENTORY, generate_orders, table


def test_the_generated_orders_are_the_same_for_a_seed_and_cover_every_outcome():
    # when the orders are generated twice
    lines = generate_orders(100)

    # then they are the same, one per line, and hold every kind the sweep needs
    assert lines == generate_orders(100)
    assert len(lines) == 100
    messages = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(lines) - len(messages) == 1  # one line that cannot be keyed
    tokens = {m["payment"]["token"] for m in messages}
    assert tokens == {"tok_visa", "tok_flaky", "tok_decline", "tok_error"}
    assert {m.get("localApproval") for m in messages} == {None, "approve", "reject"}
    assert {m["items"][0]["sku"] for m in messages} == set(INVENTORY)
    assert any(m["items"][0]["quantity"] == 0 for m in messages)  # invalid
    ids = [m["orderId"].strip() for m in messages]
    assert len(ids) > len(set(ids))  # duplicates, padded


def test_the_table_gives_outcomes_faults_completions_kept_and_invariants_per_rate():
    rows = [
        {
            "rate": 0.1,
            "runs": 2,
            "statuses": {"COMPLETED": 60.5, "FAILED": 1.0, "DUPLICATE": 8.0, "REJECTED": 3.0},
            "faults": 351.4,
            "kinds": {"lambda-invoke": 80.0, "lambda-timeout": 70.0},
            "kept_min": 0.97,
            "kept_mean": 0.985,
            "violations": [],
        },
        {
            "rate": 0.3,
            "runs": 2,
            "statuses": {"COMPLETED": 58.0},
            "faults": 1500.0,
            "kinds": {"lambda-invoke": 380.0},
            "kept_min": 0.9,
            "kept_mean": 0.93,
            "violations": ["rate 0.3 seed 2: order x left in RESERVED"],
        },
    ]

    text = table(rows, completed=62).splitlines()

    assert text[0].startswith("| rate | runs | completed | failed | dead lettered |")
    assert text[2] == ("| 0.1 | 2 | 60.5 | 1.0 | 0.0 | 0.0 | 0.0 | 0.0 | 11.0 | 351 | 97% / 98.5% | ok |")
    assert text[3].endswith("| 1500 | 90% / 93.0% | 1 broken |")
    assert text[-1] == (
        "faults per run, by kind: 0.1: lambda-invoke 80, lambda-timeout 70; 0.3: lambda-invoke 380, lambda-timeout 0"
    )
