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


def test_orders_file_that_is_not_utf8_is_named(tmp_path: Path):
    orders = tmp_path / "orders.jsonl"
    orders.write_bytes(b"\xff\xfe not utf-8")
    done = localrun("--orders", str(orders))
    assert done.returncode == 2
    assert str(orders) in done.stderr
