"""`python -m localrun orders` as a user runs it: files in, files out, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.workflow.conftest import order


def localrun(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "localrun", "orders", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_cli_writes_one_result_per_line_in_order_and_the_state(tmp_path: Path, dev_assembly: Path):
    orders = tmp_path / "orders.jsonl"
    orders.write_text(order("cli-1", ("A", 1, "3.00")) + "\n" + "[]\n")
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"A": {"warehouse-1": 1, "warehouse-2": 0}}))
    results, state = tmp_path / "results.jsonl", tmp_path / "state.json"

    done = localrun(
        "--assembly",
        str(dev_assembly),
        "--orders",
        str(orders),
        "--inventory",
        str(inventory),
        "--out",
        str(results),
        "--state-out",
        str(state),
    )

    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert lines == [
        {"line": 1, "orderId": "cli-1", "status": "COMPLETED", "reason": None, "transitions": 9},
        {
            "line": 2,
            "orderId": None,
            "status": "DEAD_LETTERED",
            "reason": "message body is not a JSON object",
            "transitions": 0,
        },
    ]
    final = json.loads(state.read_text())
    assert set(final) >= {"orders", "inventory", "payments", "notifications", "dlq"}
    assert final["inventory"] == {"A": {"warehouse-1": 0, "warehouse-2": 0}}
    assert final["payments"] == [{"orderId": "cli-1", "status": "CAPTURED", "amount": "3.00"}]
    assert final["dlq"] == ["[]"]


def test_bad_inventory_file_is_named_and_nothing_is_written(tmp_path: Path):
    inventory = tmp_path / "stock.json"
    inventory.write_text('{"A": {"warehouse-1": -2}}')
    results = tmp_path / "results.jsonl"
    done = localrun("--inventory", str(inventory), "--out", str(results))
    assert done.returncode == 2
    assert str(inventory) in done.stderr
    assert "A.warehouse-1 must be a non-negative integer" in done.stderr
    assert not results.exists()


def test_every_line_gets_one_result_numbered_as_in_the_file_whatever_its_bytes(tmp_path: Path, dev_assembly: Path):
    # given a file with a blank line, CRLF endings, a line that is not UTF-8, and a U+2028 inside a JSON string
    # (a line break to str.splitlines, not to the file)
    orders = tmp_path / "orders.jsonl"
    orders.write_bytes(
        b"\n".join(
            [
                order("cli-2", ("A", 1, "3.00")).encode() + b"\r",
                b"",
                b"\xff\xfe not utf-8",
                order("cli-3", ("A", 1, "3.00"), note="one\u2028line").replace("\\u2028", "\u2028").encode(),
                b"   ",
                b'{"orderId": "cli-2 ", "customerId": "c", "currency": "USD", "items": [], "payment": {"token": "t"}}',
            ]
        )
        + b"\n"
    )
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"A": {"warehouse-1": 2, "warehouse-2": 0}}))
    results = tmp_path / "results.jsonl"
    # when it runs
    done = localrun(
        "--assembly", str(dev_assembly), "--orders", str(orders), "--inventory", str(inventory), "--out", str(results)
    )
    # then each non-blank line has one result, numbered by its line in the file, and the run went on
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["line"], r["orderId"], r["status"]) for r in lines] == [
        (1, "cli-2", "COMPLETED"),
        (3, None, "REFUSED"),
        (4, "cli-3", "COMPLETED"),
        (6, "cli-2", "DUPLICATE"),
    ]
    assert lines[1]["reason"].startswith("the line is not UTF-8 text (invalid start byte: byte 0xff at column 1)")


def test_orders_file_that_cannot_be_read_is_named(tmp_path: Path):
    orders = tmp_path / "missing.jsonl"
    done = localrun("--orders", str(orders))
    assert done.returncode == 2
    assert str(orders) in done.stderr
