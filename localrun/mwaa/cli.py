"""The `mwaa` and `upload` subcommands of `python -m localrun` (registered by `localrun/__main__.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..template import add_cdk_out_option

DEFAULT_HOME = Path("out/mwaa")


def _mwaa(args: argparse.Namespace) -> int:
    from .runner import MwaaOptions, run_mwaa

    return run_mwaa(
        MwaaOptions(
            home=args.home,
            airflow_port=args.airflow_port,
            aws_port=args.aws_port,
            stack=args.stack,
            assembly=args.assembly,
            paused=args.paused,
            keep_retries=args.keep_retries,
        )
    )


def _upload(args: argparse.Namespace) -> int:
    from .upload import day_files, read_endpoints, upload_day

    endpoints = read_endpoints(args.home)
    transactions, market_data = day_files(args.date, args.transactions, args.market_data, args.generate)
    upload = upload_day(endpoints, args.date, transactions, market_data)
    bucket = endpoints["landing_bucket"]
    for key in upload.keys:
        print(f"uploaded s3://{bucket}/{key}")
    print(f"the manifest starts DAG run {upload.run_id}: {upload.run_url}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add `mwaa` and `upload` to the `python -m localrun` subcommands."""
    mwaa = commands.add_parser(
        "mwaa",
        help="run the DataPlatform stack's MWAA environment locally: Airflow UI and REST API, one AWS endpoint",
        description="Airflow 3 (API server and UI, scheduler, DAG processor, triggerer; LocalExecutor, SQLite) "
        "configured from the synthesized MWAA environment, and one emulated AWS endpoint holding the stack's "
        "resources. Prints `ready: {json}` and writes DIR/endpoints.json when ready; SIGINT/SIGTERM stops it.",
    )
    mwaa.add_argument("--home", type=Path, default=DEFAULT_HOME, help=f"DIR for state, logs (default {DEFAULT_HOME})")
    mwaa.add_argument("--airflow-port", type=int, default=8080, help="Airflow UI and REST API port (default 8080)")
    mwaa.add_argument("--aws-port", type=int, default=4566, help="emulated AWS endpoint port (default 4566)")
    mwaa.add_argument("--stack", help="the stack with the MWAA environment, e.g. DataPlatform-dev")
    add_cdk_out_option(mwaa, "the cloud assembly (default cdk.out, from `make synth`)")
    mwaa.add_argument("--paused", action="store_true", help="leave the DAG paused, as MWAA creates it")
    mwaa.add_argument(
        "--keep-retries", action="store_true", help="keep the DAG's task retries (default: none, failures show at once)"
    )
    mwaa.set_defaults(handler=_mwaa)

    upload = commands.add_parser(
        "upload",
        help="put a business day into the landing bucket of a running `localrun mwaa` (files first, manifest last)",
    )
    upload.add_argument("--date", required=True, help="business date, YYYY-MM-DD")
    upload.add_argument("--transactions", type=Path, help="a transactions CSV or a folder of them (default: generated)")
    upload.add_argument("--market-data", type=Path, help="FX rates CSV: currency,usd_rate (default: generated)")
    upload.add_argument("--generate", type=int, default=200, help="rows of the generated day (default 200)")
    upload.add_argument(
        "--home", type=Path, default=DEFAULT_HOME, help=f"the environment's DIR (default {DEFAULT_HOME})"
    )
    upload.set_defaults(handler=_upload)
