"""Command line: `python -m localrun orders|etl|mwaa|upload ...` (see README, "Run it locally")."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .iam import IamUnavailable
from .mwaa.cli import register as register_mwaa
from .orders import APPROVAL_MODES, SAMPLES, ApproverError, InputError, read_inventory, read_orders, run_orders
from .template import TemplateError, add_cdk_out_option


def _orders(args: argparse.Namespace) -> int:
    lines = read_orders(args.orders)
    inventory = read_inventory(args.inventory)
    faults = None
    if args.faults is not None:
        from .faults import Faults

        faults = Faults(args.faults, seed=args.fault_seed)
    run = run_orders(
        lines,
        inventory,
        assembly=args.assembly,
        stack=args.stack,
        approvals=args.approvals,
        concurrency=args.concurrency,
        iam=not args.no_iam,
        faults=faults,
    )
    text = "".join(json.dumps(result) + "\n" for result in run.results)
    if args.out:
        args.out.write_text(text)
    elif not args.summary:
        sys.stdout.write(text)
    if args.state_out:
        args.state_out.write_text(json.dumps(run.state, indent=2) + "\n")
    if args.summary:
        print(run.summary())
    if run.violations is not None:
        # on stderr: stdout may be the RESULTS stream
        for violation in run.violations or ["ok"]:
            print(f"invariants: {violation}", file=sys.stderr)
        if run.violations:
            return 3
    return 0


def _fault_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= rate < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return rate


def _etl(args: argparse.Namespace) -> int:
    # Imported here: Airflow and Spark are heavy, and `orders` needs neither.
    from .etl import EtlRunError, report_counts, run_etl

    if args.generate < 1:
        raise InputError("--generate must be at least 1")
    try:
        reconciliation = run_etl(
            args.date,
            args.out,
            transactions=args.transactions,
            market_data=args.market_data,
            generate=args.generate,
            assembly=args.assembly,
            stack=args.stack,
        )
    except EtlRunError as exc:
        print(f"error: the ETL run failed: {exc}", file=sys.stderr)
        return 1
    counts = report_counts(args.out)
    print(
        f"{reconciliation['business_date']}: input {reconciliation['input_rows']} = curated {reconciliation['curated_rows']}"
        f" + quarantined {reconciliation['quarantined_rows']} + duplicates {reconciliation['duplicate_rows']};"
        f" control total {reconciliation['control_total_usd']} USD; warehouse rows {reconciliation['warehouse_rows']}"
    )
    print("reports: " + ", ".join(f"{name} {count}" for name, count in counts.items()) + f" (in {args.out})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localrun", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    orders = commands.add_parser("orders", help="run order messages through the synthesized state machine")
    orders.add_argument("--orders", type=Path, default=SAMPLES / "orders.jsonl", help="one intake message per line")
    orders.add_argument(
        "--inventory", type=Path, default=SAMPLES / "inventory.json", help="stock per SKU and warehouse"
    )
    orders.add_argument(
        "--approvals",
        choices=APPROVAL_MODES,
        default=None,
        help="how the local approver answers high-value orders (default: each sample's localApproval hint, else approve)",
    )
    orders.add_argument("--concurrency", type=int, default=1, help="executions in flight at once")
    orders.add_argument("--out", type=Path, help="RESULTS.jsonl (default: stdout)")
    orders.add_argument("--state-out", type=Path, help="STATE.json: the emulated tables, payments, notifications, DLQ")
    orders.add_argument("--summary", action="store_true", help="print a readable summary instead of JSON lines")
    add_cdk_out_option(
        orders,
        "DIR: the cloud assembly to run (default cdk.out, from `make synth`); a modified template can be run",
        "--assembly",
    )
    orders.add_argument(
        "--no-iam",
        action="store_true",
        help="do not authorize the stack's requests against its IAM, resource and key policies (default: enforced)",
    )
    orders.add_argument("--stack", help="stack name, when the assembly holds several order stacks")
    orders.add_argument(
        "--faults",
        metavar="RATE",
        type=_fault_rate,
        help="inject the faults AWS produces, each with probability RATE (0 <= RATE < 1) per opportunity; results"
        " count them, and the run checks its invariants (exit 3 when one is broken)",
    )
    orders.add_argument(
        "--fault-seed", metavar="N", type=int, default=0, help="the faults' seed: same seed, same faults (default 0)"
    )
    orders.set_defaults(handler=_orders)
    etl = commands.add_parser("etl", help="run one business date through the financial ETL DAG (dag.test())")
    etl.add_argument("--date", required=True, help="business date, YYYY-MM-DD (UTC)")
    etl.add_argument("--transactions", type=Path, help="a landing CSV file or a folder of them (default: generated)")
    etl.add_argument("--market-data", type=Path, help="FX rates CSV: currency,usd_rate (default: generated)")
    etl.add_argument("--generate", type=int, default=200, help="rows of the generated day (default 200)")
    etl.add_argument("--out", type=Path, required=True, help="DIR for reconciliation.json, quarantine.csv, reports/...")
    add_cdk_out_option(
        etl, "DIR: the cloud assembly whose DataPlatform stack is emulated (default cdk.out, from `make synth`)"
    )
    etl.add_argument("--stack", help="stack name, when the assembly holds several DataPlatform stacks")
    etl.set_defaults(handler=_etl)
    register_mwaa(commands)  # mwaa, upload (localrun/mwaa/cli.py)
    args = parser.parse_args(argv)
    if getattr(args, "concurrency", 1) < 1:
        parser.error("--concurrency must be at least 1")
    try:
        return args.handler(args)
    except (InputError, TemplateError, IamUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ApproverError as exc:
        print(f"error: the orders run stopped: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
