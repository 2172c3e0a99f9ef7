"""`python -m localrun.chaos` (`make chaos`): the order workflow under injected faults, swept over seeds and rates.

One generated set of orders (every outcome: completed, declined, flaky and failing providers, out of stock, approved and
rejected high-value orders, invalid, duplicate and unkeyable messages) runs once without faults, then once per seed and
rate with `--faults RATE --fault-seed SEED`. The table gives, per rate, the outcomes, the faults injected, how many of
the orders that complete without faults still complete (the worst seed), and the invariants broken. Exit 1 when an
invariant is broken or, at RATE 0.1, fewer than 95% of those orders still complete."""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .faults import Faults
from .orders import run_orders

RATES = (0.1, 0.2, 0.3)
SEEDS = 20
ORDERS = 100
# at RATE 0.1, the share of the orders that complete without faults that must still complete
KEPT_AT_TENTH = 0.95
STATUS_COLUMNS = ("COMPLETED", "FAILED", "DEAD_LETTERED", "OUT_OF_STOCK", "PAYMENT_DECLINED", "APPROVAL_REJECTED")
INVENTORY = {
    "SKU-PLENTY": {"warehouse-1": 500, "warehouse-2": 500},
    "SKU-SPLIT": {"warehouse-1": 6, "warehouse-2": 6},
    "SKU-SCARCE": {"warehouse-1": 4, "warehouse-2": 1},
    "SKU-GOLD": {"warehouse-1": 3, "warehouse-2": 2},
}


def generate_orders(count: int = ORDERS, seed: int = 0) -> list[str]:
    """`count` lines of intake messages, the same for the same seed: mostly orders that complete, and every other outcome."""
    rng = random.Random(seed)
    lines: list[str] = []
    n = 0
    while len(lines) < count - 1:
        n += 1
        order_id = f"chaos-{n:03d}"
        kind = rng.choices(
            ["plain", "split", "scarce", "flaky", "decline", "error", "approve", "reject", "invalid"],
            weights=[40, 12, 12, 8, 5, 3, 8, 4, 3],
        )[0]
        token = {"flaky": "tok_flaky", "decline": "tok_decline", "error": "tok_error"}.get(kind, "tok_visa")
        sku, quantity, price = "SKU-PLENTY", rng.randint(1, 3), f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}"
        if kind == "split":
            sku, quantity = "SKU-SPLIT", rng.randint(2, 5)
        elif kind == "scarce":
            sku, quantity = "SKU-SCARCE", rng.randint(1, 2)
        elif kind in ("approve", "reject"):
            sku, quantity, price = "SKU-GOLD", 1, "12500.00"
        elif kind == "invalid":
            quantity = 0
        message: dict[str, Any] = {
            "orderId": order_id,
            "customerId": f"c-{n}",
            "currency": "USD",
            "items": [{"sku": sku, "quantity": quantity, "unitPrice": price}],
            "payment": {"token": token},
        }
        if kind in ("approve", "reject"):
            message["localApproval"] = kind
        lines.append(json.dumps(message))
        if rng.random() < 0.04 and len(lines) < count - 1:  # the same order again, its id padded
            lines.append(json.dumps({**message, "orderId": f" {order_id} "}))
    lines.insert(len(lines) // 2, "not an order")
    return lines


def one_run(assembly: Path, orders: int, rate: float, seed: int) -> dict[str, Any]:
    """One run of the generated orders with faults (in a worker process: each has its own emulated AWS)."""
    import warnings

    warnings.filterwarnings("ignore", module="pydantic")
    started = time.perf_counter()
    run = run_orders(generate_orders(orders), INVENTORY, assembly=assembly, faults=Faults(rate, seed=seed))
    return {
        "rate": rate,
        "seed": seed,
        "results": [(r["line"], r["status"]) for r in run.results],
        "kinds": Counter(f.kind for f in run.faults),
        "violations": list(run.violations or []),
        "seconds": time.perf_counter() - started,
    }


def sweep(
    assembly: Path,
    *,
    rates: tuple[float, ...],
    seeds: int,
    orders: int,
    jobs: int = 1,
    out: Any = sys.stdout,
    progress: Any = sys.stderr,
) -> tuple[list[dict[str, Any]], bool]:
    """Runs the sweep (`jobs` runs at once, each in its own process) and prints its table; returns one row per
    rate and whether every check passed."""
    lines = generate_orders(orders)
    tasks = [(assembly, orders, 0.0, 0)] + [
        (assembly, orders, rate, seed) for rate in rates for seed in range(1, seeds + 1)
    ]
    runs = []
    with contextlib.ExitStack() as stack:
        if jobs > 1:
            pool = stack.enter_context(ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")))
            done: Iterator[dict[str, Any]] = pool.map(one_run, *zip(*tasks, strict=True))
        else:
            done = (one_run(*task) for task in tasks)
        for n, run in enumerate(done, start=1):
            runs.append(run)
            completed_here = sum(1 for _, status in run["results"] if status == "COMPLETED")
            print(
                f"[{n}/{len(tasks)}] rate {run['rate']} seed {run['seed']}: COMPLETED {completed_here},"
                f" {sum(run['kinds'].values())} faults, invariants {'ok' if not run['violations'] else 'BROKEN'}"
                f" ({run['seconds']:.0f}s)",
                file=progress,
                flush=True,
            )
    baseline = runs[0]
    completed = {line for line, status in baseline["results"] if status == "COMPLETED"}
    ok = not baseline["violations"]
    print(
        f"{len(lines)} lines; without faults: "
        + ", ".join(f"{s} {n}" for s, n in sorted(Counter(status for _, status in baseline["results"]).items()))
        + f"; invariants {'ok' if not baseline['violations'] else 'BROKEN'}",
        file=out,
    )
    for violation in baseline["violations"]:
        print(f"  rate 0: {violation}", file=out)
    rows = []
    for rate in rates:
        statuses: Counter = Counter()
        kinds: Counter = Counter()
        kept: list[float] = []
        broken: list[str] = []
        seconds = 0.0
        for run in (r for r in runs[1:] if r["rate"] == rate):
            statuses.update(status for _, status in run["results"])
            kinds.update(run["kinds"])
            still = sum(1 for line, status in run["results"] if line in completed and status == "COMPLETED")
            kept.append(still / len(completed) if completed else 1.0)
            broken += [f"rate {rate} seed {run['seed']}: {v}" for v in run["violations"]]
            seconds += run["seconds"]
        row = {
            "rate": rate,
            "runs": seeds,
            "statuses": {s: statuses[s] / seeds for s in statuses},
            "faults": sum(kinds.values()) / seeds,
            "kinds": {k: kinds[k] / seeds for k in sorted(kinds)},
            "kept_min": min(kept),
            "kept_mean": sum(kept) / len(kept),
            "violations": broken,
            "seconds_per_run": seconds / seeds,
        }
        rows.append(row)
        if broken or (abs(rate - 0.1) < 1e-9 and row["kept_min"] < KEPT_AT_TENTH):
            ok = False
    print(table(rows, len(completed)), file=out)
    for row in rows:
        for violation in row["violations"]:
            print(f"  {violation}", file=out)
    return rows, ok


def table(rows: list[dict[str, Any]], completed: int) -> str:
    """The sweep as a Markdown table: mean outcomes per run, faults per run, completions kept, invariants."""
    head = ["rate", "runs", *(s.lower().replace("_", " ") for s in STATUS_COLUMNS), "other"]
    head += ["faults/run", f"still completed (of {completed}): worst / mean", "invariants"]
    text = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        statuses = row["statuses"]
        other = sum(n for s, n in statuses.items() if s not in STATUS_COLUMNS)
        cells = [f"{row['rate']:.1f}", str(row["runs"])]
        cells += [f"{statuses.get(s, 0):.1f}" for s in STATUS_COLUMNS] + [f"{other:.1f}"]
        cells += [
            f"{row['faults']:.0f}",
            f"{row['kept_min']:.0%} / {row['kept_mean']:.1%}",
            "ok" if not row["violations"] else f"{len(row['violations'])} broken",
        ]
        text.append("| " + " | ".join(cells) + " |")
    kinds = sorted({k for row in rows for k in row["kinds"]})
    text += [
        "",
        "faults per run, by kind: "
        + "; ".join(
            f"{row['rate']:.1f}: " + ", ".join(f"{k} {row['kinds'].get(k, 0):.0f}" for k in kinds) for row in rows
        ),
    ]
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localrun.chaos", description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"), help="the cloud assembly (default cdk.out)")
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds per rate (default {SEEDS})")
    parser.add_argument("--orders", type=int, default=ORDERS, help=f"orders per run (default {ORDERS})")
    parser.add_argument(
        "--rates", default=",".join(str(r) for r in RATES), help="comma-separated fault rates (default 0.1,0.2,0.3)"
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="runs at once, one process each (default: CPU count)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rates = tuple(float(r) for r in args.rates.split(","))
    started = time.perf_counter()
    rows, ok = sweep(args.cdk_out, rates=rates, seeds=args.seeds, orders=args.orders, jobs=args.jobs)
    print(f"{len(rates) * args.seeds + 1} runs in {time.perf_counter() - started:.0f}s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
